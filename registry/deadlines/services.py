"""Deadlines of a municipality, computed from the registry's tables, and the secret calendar feeds.

What counts, for municipality M on `today`, with the horizon H days (default 90); "within" includes
both ends (today <= date <= today + H):
- Agreements M is a party of, status active or under renegotiation:
  * the last notice date of the current period (registry.dates.current_end_date / last_notice_date)
    and of later periods, when within the horizon; one that passed in the last 30 days while the
    period still runs is kept as overdue ("passerad");
  * the end of the current period (and of later periods) within the horizon; an agreement without
    renewal whose end date passed in the last 30 days is kept as overdue: it has ended but is still
    marked as running.
- Case transfers with status requested: where M performs, the request waits for M's answer (severity
  soon: M must act); where M requested, it waits for the other side (info). Dated by the request and
  shown however old they are.
- Decisions M is responsible for, not closed, under a legal basis subject to IVO reporting: not
  executed (or interrupted and not resumed) with the three-month deadline within 30 days (soon) or
  passed (overdue, to be reported to IVO), dated by the deadline (registry.dates.decision_status).
- IVO's reporting window: while open, its last day (soon); the next window's first day when within
  the horizon (info).
Severity: overdue when the date has passed, soon within 30 days, info further out (except as above).
Sorted by date, then by kind.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, selectinload

from core.auth import hash_token
from core.db import utcnow
from core.errors import PermissionDenied
from core.formatting import format_date, local_today  # noqa: F401  (the part's clock: views and tests use it)
from core.models import User
from core.permissions import can, require
from registry.dates import (
    DecisionState,
    add_months,
    current_end_date,
    decision_status,
    last_notice_date,
    next_ivo_window,
    open_ivo_window,
    renewal_ends,
)
from registry.models import (
    Agreement,
    AgreementParty,
    AgreementStatus,
    CalendarFeed,
    CaseTransfer,
    Decision,
    LegalBasis,
    TransferStatus,
)
from registry.permissions import AGREEMENT_READ, DEADLINES_READ, DECISION_READ, TRANSFER_READ

log = logging.getLogger(__name__)

DEFAULT_HORIZON_DAYS = 90
SOON_DAYS = 30  # a date this close (or closer) is "soon"
PASSED_DAYS = 30  # a passed notice or end date stays on the list this long
DECISION_WARNING_DAYS = 30  # decisions show up this long before their three-month deadline

# Pages the deadlines link to. Endpoints that are not registered (yet) give a deadline without a link.
AGREEMENT_ENDPOINT = "registry_agreements.agreement_detail"
TRANSFER_ENDPOINT = "registry_transfers.transfer_detail"
DECISION_ENDPOINT = "registry_decisions.decision_detail"
IVO_ENDPOINT = "registry_decisions.ivo_report"


class DeadlineKind(StrEnum):
    NOTICE = "notice"
    AGREEMENT_END = "agreement_end"
    TRANSFER_TO_ANSWER = "transfer_to_answer"
    TRANSFER_AWAITING = "transfer_awaiting"
    DECISION = "decision"
    DECISION_INTERRUPTED = "decision_interrupted"
    IVO_WINDOW_OPEN = "ivo_window_open"
    IVO_WINDOW_NEXT = "ivo_window_next"


KIND_LABELS = {
    DeadlineKind.NOTICE: "Sista dag för uppsägning",
    DeadlineKind.AGREEMENT_END: "Avtalstiden löper ut",
    DeadlineKind.TRANSFER_TO_ANSWER: "Begäran väntar på ert svar",
    DeadlineKind.TRANSFER_AWAITING: "Väntar på svar från utföraren",
    DeadlineKind.DECISION: "Beslut ska verkställas",
    DeadlineKind.DECISION_INTERRUPTED: "Avbrott ska upphöra",
    DeadlineKind.IVO_WINDOW_OPEN: "IVO-rapportering pågår",
    DeadlineKind.IVO_WINDOW_NEXT: "IVO-rapportering öppnar",
}
_KIND_ORDER = {kind: index for index, kind in enumerate(DeadlineKind)}


class DeadlineGroup(StrEnum):
    AGREEMENTS = "agreements"
    TRANSFERS = "transfers"
    DECISIONS = "decisions"
    IVO = "ivo"


GROUP_LABELS = {
    DeadlineGroup.AGREEMENTS: "Avtal: uppsägning och avtalstid",
    DeadlineGroup.TRANSFERS: "Ärendeöverlämningar som väntar på svar",
    DeadlineGroup.DECISIONS: "Beslut och tremånadersgränsen",
    DeadlineGroup.IVO: "Rapportering till IVO",
}
KIND_GROUPS = {
    DeadlineKind.NOTICE: DeadlineGroup.AGREEMENTS,
    DeadlineKind.AGREEMENT_END: DeadlineGroup.AGREEMENTS,
    DeadlineKind.TRANSFER_TO_ANSWER: DeadlineGroup.TRANSFERS,
    DeadlineKind.TRANSFER_AWAITING: DeadlineGroup.TRANSFERS,
    DeadlineKind.DECISION: DeadlineGroup.DECISIONS,
    DeadlineKind.DECISION_INTERRUPTED: DeadlineGroup.DECISIONS,
    DeadlineKind.IVO_WINDOW_OPEN: DeadlineGroup.IVO,
    DeadlineKind.IVO_WINDOW_NEXT: DeadlineGroup.IVO,
}
# What a user must be allowed to read to see a kind of deadline.
GROUP_PERMISSIONS = {
    DeadlineGroup.AGREEMENTS: AGREEMENT_READ,
    DeadlineGroup.TRANSFERS: TRANSFER_READ,
    DeadlineGroup.DECISIONS: DECISION_READ,
    DeadlineGroup.IVO: DECISION_READ,
}


class Severity(StrEnum):
    OVERDUE = "overdue"
    SOON = "soon"
    INFO = "info"


SEVERITY_LABELS = {
    Severity.OVERDUE: "Passerad",
    Severity.SOON: "Snart",
    Severity.INFO: "Kommande",
}


@dataclass(frozen=True)
class Deadline:
    date: dt.date
    kind: DeadlineKind
    title: str
    endpoint: str | None
    args: Mapping[str, Any]
    severity: Severity
    uid: str  # stable for the same deadline across runs: the calendar event's UID
    detail: str | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]

    @property
    def group(self) -> DeadlineGroup:
        return KIND_GROUPS[self.kind]


def _severity(date: dt.date, today: dt.date) -> Severity:
    if date < today:
        return Severity.OVERDUE
    if (date - today).days <= SOON_DAYS:
        return Severity.SOON
    return Severity.INFO


def _uid(*parts: object) -> str:
    return "-".join(str(p) for p in parts) + "@samverkan"


# --- Agreements ---------------------------------------------------------------------------------


def _period_ends(agreement: Agreement, current_end: dt.date, until: dt.date) -> list[dt.date]:
    """The current period's end and, with automatic renewal, later ends up to `until`."""
    if not agreement.renewal_months:
        return [current_end]
    return [
        end for end in renewal_ends(agreement.end_date, agreement.renewal_months, until) if end >= current_end
    ]


def _agreement_deadlines(session: Session, municipality_id: int, today: dt.date, horizon_end: dt.date):
    party = exists().where(
        AgreementParty.agreement_id == Agreement.id, AgreementParty.municipality_id == municipality_id
    )
    agreements = session.scalars(
        select(Agreement).where(
            party, Agreement.status.in_([AgreementStatus.ACTIVE, AgreementStatus.RENEGOTIATION])
        )
    )
    passed_limit = today - dt.timedelta(days=PASSED_DAYS)
    for agreement in agreements:
        current_end = current_end_date(agreement.end_date, agreement.renewal_months, today)
        if current_end is None:  # open-ended: no end and no fixed last notice date
            continue
        link = {"agreement_id": agreement.id}
        name = f"{agreement.number} {agreement.title}"
        renews = bool(agreement.renewal_months)
        # Month arithmetic clamps to month ends, so look a few days past the exact inverse of the notice
        # period and filter on the computed notice date itself.
        until = add_months(horizon_end, agreement.notice_months or 0) + dt.timedelta(days=3)
        for end in _period_ends(agreement, current_end, until):
            runs = end >= today
            after = (
                f"utan uppsägning förlängs avtalet med {agreement.renewal_months} månader"
                if renews
                else "avtalet upphör då"
            )
            notice = last_notice_date(end, agreement.notice_months)
            if notice is not None and runs and passed_limit <= notice <= horizon_end:
                yield Deadline(
                    date=notice,
                    kind=DeadlineKind.NOTICE,
                    title=f"Sista dag för uppsägning av {name}",
                    endpoint=AGREEMENT_ENDPOINT,
                    args=link,
                    severity=_severity(notice, today),
                    uid=_uid("notice", agreement.id, end.isoformat()),
                    detail=(
                        f"Uppsägningstid {agreement.notice_months} månader. Avtalsperioden slutar "
                        f"{format_date(end)}; {after}."
                    ),
                )
            if end <= horizon_end and (runs or (not renews and end >= passed_limit)):
                if runs:
                    detail = (
                        f"Förlängs automatiskt med {agreement.renewal_months} månader om det inte har sagts upp."
                        if renews
                        else "Avtalet förlängs inte automatiskt."
                    )
                else:
                    detail = "Slutdatumet har passerat men avtalet är fortfarande registrerat som gällande."
                yield Deadline(
                    date=end,
                    kind=DeadlineKind.AGREEMENT_END,
                    title=f"{'Avtalsperioden slutar' if renews else 'Avtalet upphör'}: {name}",
                    endpoint=AGREEMENT_ENDPOINT,
                    args=link,
                    severity=_severity(end, today),
                    uid=_uid("end", agreement.id, end.isoformat()),
                    detail=detail,
                )


# --- Case transfers -----------------------------------------------------------------------------


def _transfer_deadlines(session: Session, municipality_id: int, today: dt.date):
    transfers = session.scalars(
        select(CaseTransfer)
        .where(
            CaseTransfer.status == TransferStatus.REQUESTED,
            or_(
                CaseTransfer.performing_municipality_id == municipality_id,
                CaseTransfer.requesting_municipality_id == municipality_id,
            ),
        )
        .options(
            selectinload(CaseTransfer.requesting_municipality),
            selectinload(CaseTransfer.performing_municipality),
        )
    )
    for transfer in transfers:
        days = (today - transfer.requested_on).days
        waited = (
            f"Begärd {format_date(transfer.requested_on)}, väntat {days} {'dag' if days == 1 else 'dagar'}."
        )
        link = {"transfer_id": transfer.id}
        if transfer.performing_municipality_id == municipality_id:
            yield Deadline(
                date=transfer.requested_on,
                kind=DeadlineKind.TRANSFER_TO_ANSWER,
                title=(f"Svara på begäran {transfer.reference} från {transfer.requesting_municipality.name}"),
                endpoint=TRANSFER_ENDPOINT,
                args=link,
                severity=Severity.SOON,
                uid=_uid("transfer-answer", transfer.id),
                detail=waited,
            )
        else:
            yield Deadline(
                date=transfer.requested_on,
                kind=DeadlineKind.TRANSFER_AWAITING,
                title=f"{transfer.reference} väntar på svar från {transfer.performing_municipality.name}",
                endpoint=TRANSFER_ENDPOINT,
                args=link,
                severity=Severity.INFO,
                uid=_uid("transfer-awaiting", transfer.id),
                detail=waited,
            )


# --- Decisions ----------------------------------------------------------------------------------


def _decision_deadlines(session: Session, municipality_id: int, today: dt.date, warning_days: int):
    decisions = session.scalars(
        select(Decision)
        .join(Decision.legal_basis)
        .where(
            LegalBasis.reportable.is_(True),  # the three-month watch is the IVO reporting duty
            Decision.responsible_municipality_id == municipality_id,
            Decision.closed_on.is_(None),
            Decision.decision_date <= today,
        )
        .options(
            selectinload(Decision.interruptions),
            selectinload(Decision.transfer),
            selectinload(Decision.agreement),
            selectinload(Decision.legal_basis),
        )
    )
    for decision in decisions:
        try:
            status = decision_status(
                decision.decision_date,
                decision.execution_date,
                [(i.interrupted_on, i.resumed_on) for i in decision.interruptions],
                today,
            )
        except ValueError as exc:
            # Contradictory dates are the decisions part's to refuse; here they must not hide the rest.
            log.warning("decision %s skipped in the deadlines: %s", decision.id, exc)
            continue
        state = status.state
        days_left = (status.deadline - today).days
        if status.reportable:
            severity = Severity.OVERDUE
        elif state in (DecisionState.PENDING, DecisionState.INTERRUPTED) and days_left <= warning_days:
            severity = Severity.SOON
        else:
            continue
        reportable = status.reportable
        interrupted = state in (DecisionState.INTERRUPTED, DecisionState.INTERRUPTED_OVER_THREE_MONTHS)
        context = (
            f"ärende {decision.transfer.reference}"
            if decision.transfer is not None
            else f"avtal {decision.agreement.number}"
            if decision.agreement is not None
            else f"beslut nr {decision.id}"
        )
        law = decision.legal_basis.law if decision.legal_basis else ""
        what = f"beslut {format_date(decision.decision_date)} ({law}, {context})"
        if interrupted:
            title = (
                f"Avbrott över tre månader, rapporteras till IVO: {what}"
                if reportable
                else f"Verkställigheten måste återupptas: {what}"
            )
            detail = f"Avbrutet {format_date(status.clock_start)}; tre månader går ut {format_date(status.deadline)}."
        else:
            title = (
                f"Ej verkställt inom tre månader, rapporteras till IVO: {what}"
                if reportable
                else f"Verkställ senast: {what}"
            )
            detail = f"Tre månader från beslutet går ut {format_date(status.deadline)}."
        yield Deadline(
            date=status.deadline,
            kind=DeadlineKind.DECISION_INTERRUPTED if interrupted else DeadlineKind.DECISION,
            title=title,
            endpoint=DECISION_ENDPOINT,
            args={"decision_id": decision.id},
            severity=severity,
            uid=_uid("decision", decision.id, status.clock_start.isoformat()),
            detail=detail,
        )


# --- IVO ----------------------------------------------------------------------------------------


def _ivo_deadlines(today: dt.date, horizon_end: dt.date):
    window = open_ivo_window(today)
    if window is not None:
        yield Deadline(
            date=window.closes,
            kind=DeadlineKind.IVO_WINDOW_OPEN,
            title=f"Sista dag att rapportera ej verkställda beslut för kvartal {window.quarter} {window.year} till IVO",
            endpoint=IVO_ENDPOINT,
            args={},
            severity=Severity.SOON,
            uid=_uid("ivo", window.year, f"q{window.quarter}", "closes"),
            detail=f"Rapporteringen är öppen {format_date(window.opens)}–{format_date(window.closes)}.",
        )
    upcoming = next_ivo_window(today)
    if upcoming.opens <= horizon_end:
        yield Deadline(
            date=upcoming.opens,
            kind=DeadlineKind.IVO_WINDOW_NEXT,
            title=f"IVO-rapporteringen för kvartal {upcoming.quarter} {upcoming.year} öppnar",
            endpoint=IVO_ENDPOINT,
            args={},
            severity=Severity.INFO,
            uid=_uid("ivo", upcoming.year, f"q{upcoming.quarter}", "opens"),
            detail=(
                f"Ej verkställda beslut rapporteras {format_date(upcoming.opens)}–{format_date(upcoming.closes)}."
            ),
        )


# --- The list -----------------------------------------------------------------------------------


def deadlines_for(
    session: Session,
    municipality_id: int,
    today: dt.date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    groups: Collection[DeadlineGroup] | None = None,
) -> list[Deadline]:
    """The municipality's deadlines as of `today` (see the module's rules), sorted by date.

    `groups` limits which kinds are computed (None: all).
    """
    if horizon_days < 0:
        raise ValueError("horizon_days must not be negative")
    wanted = set(DeadlineGroup) if groups is None else set(groups)
    horizon_end = today + dt.timedelta(days=horizon_days)
    found: list[Deadline] = []
    if DeadlineGroup.AGREEMENTS in wanted:
        found.extend(_agreement_deadlines(session, municipality_id, today, horizon_end))
    if DeadlineGroup.TRANSFERS in wanted:
        found.extend(_transfer_deadlines(session, municipality_id, today))
    if DeadlineGroup.DECISIONS in wanted:
        found.extend(
            _decision_deadlines(session, municipality_id, today, min(DECISION_WARNING_DAYS, horizon_days))
        )
    if DeadlineGroup.IVO in wanted:
        found.extend(_ivo_deadlines(today, horizon_end))
    return sorted(found, key=lambda d: (d.date, _KIND_ORDER[d.kind], d.title))


def require_deadlines_reader(user) -> None:
    """Deadlines belong to a municipality: users without one (system administrators) get 403."""
    if user.municipality_id is None:
        raise PermissionDenied("Tidsfristerna gäller en kommun; ditt konto hör inte till någon kommun.")
    require(user, DEADLINES_READ, user.municipality_id)


def readable_groups(user) -> set[DeadlineGroup]:
    return {
        group
        for group, permission in GROUP_PERMISSIONS.items()
        if can(user, permission, user.municipality_id)
    }


def deadlines_for_user(
    session: Session, user, today: dt.date, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> list[Deadline]:
    """The deadlines of the user's municipality that the user's roles may see (403 without one)."""
    require_deadlines_reader(user)
    return deadlines_for(session, user.municipality_id, today, horizon_days, readable_groups(user))


def group_deadlines(deadlines: Iterable[Deadline]) -> list[tuple[DeadlineGroup, list[Deadline]]]:
    """Deadlines grouped by topic, in the groups' fixed order, each group sorted by date; empty groups left out."""
    grouped: dict[DeadlineGroup, list[Deadline]] = {group: [] for group in DeadlineGroup}
    for deadline in deadlines:
        grouped[deadline.group].append(deadline)
    return [(group, items) for group, items in grouped.items() if items]


# --- Calendar feeds -----------------------------------------------------------------------------

FEED_TOKEN_PREFIX = "kal_"


def get_calendar_feed(session: Session, user) -> CalendarFeed | None:
    return session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def create_calendar_feed(session: Session, user) -> tuple[CalendarFeed, str]:
    """Create the user's secret feed address, or replace it (the old address stops working at once).

    Returns the feed and the secret token; only its sha256 is stored, so it is shown once.
    """
    require_deadlines_reader(user)
    secret = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
    feed = get_calendar_feed(session, user)
    if feed is None:
        feed = CalendarFeed(user_id=user.id, token_hash=hash_token(secret))
        session.add(feed)
    else:
        feed.token_hash = hash_token(secret)
        feed.created_at = utcnow()
    session.flush()
    return feed, secret


def delete_calendar_feed(session: Session, user) -> bool:
    """Remove the user's feed address; False if there was none."""
    feed = get_calendar_feed(session, user)
    if feed is None:
        return False
    session.delete(feed)
    session.flush()
    return True


def calendar_feed_owner(session: Session, secret: str) -> User | None:
    """The active user whose feed address carries `secret`, if they may still read deadlines."""
    if not secret.startswith(FEED_TOKEN_PREFIX):
        return None
    feed = session.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.token_hash == hash_token(secret))
        .options(selectinload(CalendarFeed.user))
    )
    if feed is None:
        return None
    user = feed.user
    if not user.active or user.municipality_id is None or not can(user, DEADLINES_READ, user.municipality_id):
        return None
    return user
