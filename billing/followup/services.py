"""The annual follow-up (årlig uppföljning) of an agreement and calendar year: open it, write the text
sections and the recommendation, send it (which freezes the figures and the PDF for good).

Who may do what:
- every role of a party municipality reads (FOLLOWUP_READ); a non-party gets 404;
- an administrator of the host municipality (FOLLOWUP_EDIT) or the agreement's owner (avtalsansvarig,
  Agreement.owner_id) writes and sends;
- the year must lie within the agreement's life and not in the future (422 otherwise).

A draft row is created the first time someone who may edit opens the follow-up; readers see the figures
computed live without a row. A sent follow-up shows its snapshot (figures as sent, stored PDF with
sha256); nothing in it changes afterwards (here, in billing.guards and in the database's triggers).

Functions add and flush, never commit: the request or `unit_of_work()` owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import false, select
from sqlalchemy.orm import Session, selectinload

from billing.errors import FollowupImmutable
from billing.exports.services import Download
from billing.followup import figures as figures_module
from billing.followup.figures import FollowupFigures
from billing.followup.schemas import FollowupSendSchema, FollowupUpdateSchema
from billing.models import FOLLOWUP_STATUS_LABELS, AnnualFollowup, FollowupStatus
from billing.permissions import FOLLOWUP_EDIT, FOLLOWUP_READ
from core.db import utcnow
from core.errors import PermissionDenied, ValidationFailed
from core.formatting import local_today
from core.models import User
from core.permissions import can
from core.services import load_or_raise
from registry.agreements.services import agreement_dates
from registry.errors import AgreementNotFound
from registry.models import Agreement, AgreementParty, AgreementStatus

TEXT_FIELDS = ("quality_text", "complaints_text", "deviations_text", "lex_sarah_text", "recommendation_text")
FIELD_LABELS = {
    "quality_text": "Kvalitet",
    "complaints_text": "Klagomål",
    "deviations_text": "Avvikelser",
    "lex_sarah_text": "Lex Sarah",
    "recommendation": "Rekommendation",
    "recommendation_text": "Motivering",
    "sent_to": "Mottagare",
    "year": "År",
}
ENDED_STATUSES = frozenset({AgreementStatus.TERMINATED, AgreementStatus.EXPIRED})

_LOAD = (
    selectinload(Agreement.parties).selectinload(AgreementParty.municipality),
    selectinload(Agreement.owner),
)


# --- The agreement and its years --------------------------------------------------------------------


def _visible_to(user):
    if user is None or user.municipality_id is None or not can(user, FOLLOWUP_READ, user.municipality_id):
        return false()
    return Agreement.parties.any(AgreementParty.municipality_id == user.municipality_id)


def get_agreement(session: Session, user, agreement_id: int) -> Agreement:
    """The agreement, when the user's municipality is a party to it; otherwise 404."""
    agreement = session.scalar(
        select(Agreement).where(Agreement.id == agreement_id, _visible_to(user)).options(*_LOAD)
    )
    if agreement is None:
        raise AgreementNotFound()
    return agreement


def find_agreement_by_number(session: Session, number: str) -> Agreement:
    """The agreement with that number, for the command line (which acts for every municipality)."""
    agreement = session.scalar(select(Agreement).where(Agreement.number == number.strip()).options(*_LOAD))
    if agreement is None:
        raise AgreementNotFound(f"Det finns inget avtal med nummer {number.strip()}.")
    return agreement


def followup_years(agreement: Agreement, today: dt.date) -> range:
    """The calendar years a follow-up can be made for: from the start year through this year, or
    through the end year of an agreement that has ended or been terminated."""
    last = today.year
    if agreement.status in ENDED_STATUSES:
        end = agreement_dates(agreement, today).current_end_date
        if end is not None:
            last = min(last, end.year)
    return range(agreement.start_date.year, last + 1)


def check_year(agreement: Agreement, year: int, today: dt.date) -> None:
    """Refuse (422) a year outside the agreement's life or in the future."""
    years = followup_years(agreement, today)
    if year in years:
        return
    span = f"{years.start}–{years.stop - 1}" if len(years) > 1 else str(years.start)
    if year > today.year:
        message = f"Året {year} har inte börjat än. Uppföljning kan göras för {span}."
    elif not years:
        message = f"Avtalet {agreement.number} har ännu inget år att följa upp."
    else:
        message = f"Året {year} ligger utanför avtalets löptid. Uppföljning kan göras för {span}."
    raise ValidationFailed(message, errors={"year": [message]})


# --- Who may edit -------------------------------------------------------------------------------------


def may_edit(user, agreement: Agreement) -> bool:
    """An administrator of the host municipality, or the agreement's owner (while a party's user)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.municipality_id not in agreement.party_municipality_ids:
        return False
    if agreement.owner_id is not None and agreement.owner_id == user.id:
        return True
    host = agreement.host
    return (
        host is not None
        and host.municipality_id == user.municipality_id
        and can(user, FOLLOWUP_EDIT, host.municipality_id)
    )


def require_edit(user, agreement: Agreement) -> None:
    if not may_edit(user, agreement):
        raise PermissionDenied(
            "Bara avtalets ägare (avtalsansvarig) eller en administratör i utförarkommunen får skriva och "
            "skicka uppföljningen."
        )


# --- Reading ------------------------------------------------------------------------------------------


def find_followup(session: Session, agreement: Agreement, year: int) -> AnnualFollowup | None:
    return session.scalar(
        select(AnnualFollowup).where(AnnualFollowup.agreement_id == agreement.id, AnnualFollowup.year == year)
    )


def followups_by_year(session: Session, agreement: Agreement) -> dict[int, AnnualFollowup]:
    return {
        f.year: f
        for f in session.scalars(select(AnnualFollowup).where(AnnualFollowup.agreement_id == agreement.id))
    }


def get_or_create_followup(
    session: Session, user, agreement: Agreement, year: int, today: dt.date | None = None
) -> AnnualFollowup | None:
    """The follow-up of the year; a draft is created for someone who may edit. Readers get None when
    there is no row yet (they see the figures computed live)."""
    check_year(agreement, year, today or local_today())
    followup = find_followup(session, agreement, year)
    if followup is None and may_edit(user, agreement):
        followup = AnnualFollowup(
            agreement=agreement,
            year=year,
            status=FollowupStatus.DRAFT,
            created_by_id=user.id,
            updated_by_id=user.id,
        )
        session.add(followup)
        session.flush()
    return followup


def followup_figures(
    session: Session,
    agreement: Agreement,
    year: int,
    followup: AnnualFollowup | None,
    today: dt.date | None = None,
) -> FollowupFigures:
    """The figures as sent for a sent follow-up; otherwise computed from the data now."""
    if followup is not None and followup.is_sent and followup.snapshot_figures is not None:
        return figures_module.figures_from_json(followup.snapshot_figures)
    return figures_module.compute_figures(session, agreement, year, today or local_today())


@dataclass(frozen=True)
class FollowupListRow:
    agreement: Agreement
    year: int
    followup: AnnualFollowup | None

    @property
    def status_label(self) -> str:
        return FOLLOWUP_STATUS_LABELS[self.followup.status] if self.followup else "Inte påbörjad"

    @property
    def is_sent(self) -> bool:
        return self.followup is not None and self.followup.is_sent


def followups_for(
    session: Session, user, year: int | None = None, today: dt.date | None = None
) -> list[FollowupListRow]:
    """Every (agreement, year) of the agreements the user's municipality is party to, newest year first,
    with its follow-up row when there is one. Draft agreements (not in force) are left out."""
    today = today or local_today()
    agreements = list(
        session.scalars(
            select(Agreement)
            .where(_visible_to(user), Agreement.status != AgreementStatus.DRAFT)
            .options(*_LOAD)
            .order_by(Agreement.number)
        )
    )
    return _rows(session, agreements, year, today)


def followups_of_municipality(
    session: Session, municipality_id: int, year: int | None = None, today: dt.date | None = None
) -> list[FollowupListRow]:
    """The same for a municipality (the command line's bulk form)."""
    today = today or local_today()
    agreements = list(
        session.scalars(
            select(Agreement)
            .where(
                Agreement.parties.any(AgreementParty.municipality_id == municipality_id),
                Agreement.status != AgreementStatus.DRAFT,
            )
            .options(*_LOAD)
            .order_by(Agreement.number)
        )
    )
    return _rows(session, agreements, year, today)


def _rows(session: Session, agreements: list[Agreement], year: int | None, today: dt.date):
    ids = [a.id for a in agreements]
    existing = {
        (f.agreement_id, f.year): f
        for f in session.scalars(select(AnnualFollowup).where(AnnualFollowup.agreement_id.in_(ids)))
    }
    rows = []
    for agreement in agreements:
        years = followup_years(agreement, today)
        for y in reversed(years):
            if year is None or y == year:
                rows.append(FollowupListRow(agreement, y, existing.get((agreement.id, y))))
    rows.sort(key=lambda r: (-r.year, r.agreement.number))
    return rows


# --- Writing and sending ------------------------------------------------------------------------------


def _refuse_sent(followup: AnnualFollowup) -> None:
    if followup.is_sent:
        raise FollowupImmutable()


def update_followup(
    session: Session, user, followup: AnnualFollowup, data: dict, loaded: bool = False
) -> AnnualFollowup:
    """Save the text sections and the recommendation of a draft (fields absent from `data` are kept;
    an empty field clears its text). `loaded`: `data` already went through FollowupUpdateSchema (API)."""
    require_edit(user, followup.agreement)
    _refuse_sent(followup)
    values = data if loaded else load_or_raise(FollowupUpdateSchema(), data)
    for key, value in values.items():
        setattr(followup, key, value)
    followup.updated_by_id = user.id
    session.flush()
    return followup


def send_followup(
    session: Session, user, followup: AnnualFollowup, sent_to: str | None, today: dt.date | None = None
) -> AnnualFollowup:
    """Freeze the follow-up: compute the figures, keep them as the snapshot, render the PDF once and
    store it with its sha256. Requires a recommendation and a recipient. Irreversible."""
    from billing.followup.document import render_followup_pdf

    require_edit(user, followup.agreement)
    _refuse_sent(followup)
    today = today or local_today()
    check_year(followup.agreement, followup.year, today)
    values = load_or_raise(FollowupSendSchema(), {"sent_to": sent_to})
    if followup.recommendation is None:
        message = (
            "Välj en rekommendation (fortsätta, omförhandla eller säga upp) innan uppföljningen skickas."
        )
        raise ValidationFailed(message, errors={"recommendation": [message]})
    figures = figures_module.compute_figures(session, followup.agreement, followup.year, today)
    snapshot = figures_module.figures_to_json(figures)
    sent_at = utcnow()
    pdf = render_followup_pdf(
        figures, followup, draft=False, sent_at=sent_at, sent_by=user, sent_to=values["sent_to"]
    )
    followup.snapshot_figures = snapshot
    followup.snapshot_pdf = pdf
    followup.snapshot_sha256 = hashlib.sha256(pdf).hexdigest()
    followup.snapshot_size = len(pdf)
    followup.sent_at = sent_at
    followup.sent_by_id = user.id
    followup.sent_to = values["sent_to"]
    followup.updated_by_id = user.id
    followup.status = FollowupStatus.SENT
    session.flush()
    return followup


# --- Files --------------------------------------------------------------------------------------------


def basename(agreement_number: str, year: int) -> str:
    """`uppfoljning-GR-JAV-2024-2025`: the agreement number kept to letters, digits and dashes."""
    safe = re.sub(r"[^A-Za-z0-9-]+", "-", agreement_number).strip("-") or "avtal"
    return f"uppfoljning-{safe}-{year}"


def followup_pdf(
    session: Session,
    agreement: Agreement,
    year: int,
    followup: AnnualFollowup | None,
    today: dt.date | None = None,
) -> Download:
    """The frozen PDF (exactly the stored bytes) of a sent follow-up; otherwise a draft marked UTKAST."""
    from billing.followup.document import render_followup_pdf

    name = basename(agreement.number, year)
    if followup is not None and followup.is_sent:
        return Download(followup.snapshot_pdf, f"{name}.pdf", "application/pdf")
    figures = followup_figures(session, agreement, year, followup, today)
    pdf = render_followup_pdf(figures, followup, draft=True)
    return Download(pdf, f"{name}-utkast.pdf", "application/pdf")


def followup_csv(
    session: Session,
    agreement: Agreement,
    year: int,
    followup: AnnualFollowup | None,
    today: dt.date | None = None,
) -> Download:
    """The figures as CSV for Excel (`;`, decimal comma, UTF-8 with BOM); a sent follow-up's as sent."""
    from billing.followup.document import build_csv

    figures = followup_figures(session, agreement, year, followup, today)
    suffix = "" if followup is not None and followup.is_sent else "-utkast"
    return Download(build_csv(figures), f"{basename(agreement.number, year)}{suffix}.csv", "text/csv")


def user_name(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id else None
    return user.name if user is not None else None


def default_recipients(agreement: Agreement) -> str:
    """A suggestion for "sent to": the parties' responsible boards (nämnder), else the municipalities."""
    names = []
    for party in sorted(agreement.parties, key=lambda p: (p.role.value != "host", p.municipality.name)):
        board = (party.board or "").strip()
        names.append(f"{board} i {party.municipality.name}" if board else party.municipality.name)
    text = ", ".join(names)
    return text if len(text) <= 300 else text[:297] + "..."


__all__ = [
    "Download",
    "FIELD_LABELS",
    "FollowupListRow",
    "check_year",
    "default_recipients",
    "find_agreement_by_number",
    "find_followup",
    "followup_csv",
    "followup_figures",
    "followup_pdf",
    "followup_years",
    "followups_for",
    "followups_by_year",
    "followups_of_municipality",
    "get_agreement",
    "get_or_create_followup",
    "may_edit",
    "require_edit",
    "send_followup",
    "update_followup",
]
