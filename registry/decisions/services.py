"""Decisions and the three-month watch: recording favourable decisions under a case transfer (or an
agreement), the performer's feedback (offers, execution, interruptions), closing, the watch list per
responsible municipality and the quarterly IVO report.

Who may do what: the responsible municipality (for a transfer, the requesting one, which keeps
huvudmannaskapet and reports to IVO) and, for a transfer, the performing municipality, which has to
feed execution dates back. Anyone else gets 404. A decision recorded directly under an agreement
concerns only the municipality that recorded it.

Functions add and flush; the request or `unit_of_work()` owns the transaction. The one clock is
`today()` (tests monkeypatch it); every function that depends on the date also takes `today`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

from marshmallow import ValidationError
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from core.errors import Conflict, NotFound, ValidationFailed
from core.formatting import local_today as today
from core.models import Municipality, User
from core.permissions import require, require_any
from registry.dates import (
    DecisionState,
    IvoWindow,
    days_since,
    ivo_window_for,
    load_ivo_windows,
    next_ivo_window,
    open_ivo_window,
    quarter_bounds,
    quarter_of,
)
from registry.decisions.schemas import (
    DecisionCloseSchema,
    DecisionCreateSchema,
    DecisionExecutionSchema,
    DecisionInterruptionCreateSchema,
    DecisionOfferCreateSchema,
    DecisionResumeSchema,
    DecisionUpdateSchema,
)
from registry.decisions.watch import (
    REPORT_TYPE_LABELS,
    DecisionWatch,
    ReportType,
    WatchRole,
    case_reference,
    ivo_sex,
    last_reportable_status,
    open_interruption,
    parse_ivo_person_ref,
    watch_of,
)
from registry.errors import AgreementNotFound, DecisionNotFound, TransferNotFound
from registry.models import (
    TRANSFER_STATUS_LABELS,
    Agreement,
    AgreementParty,
    CaseTransfer,
    Decision,
    DecisionInterruption,
    DecisionOffer,
    InsightLogEntry,
    LegalBasis,
    TransferStatus,
)
from registry.permissions import DECISION_EDIT, DECISION_READ

# A transfer the performer has not accepted (or has declined) has no decision to record under it.
TRANSFER_STATUSES_WITHOUT_DECISIONS = frozenset({TransferStatus.REQUESTED, TransferStatus.DECLINED})
# Dates before this are typing errors (a year 0226 parses as a date).
EARLIEST_DATE = dt.date(2000, 1, 1)


# --- Reading and scope --------------------------------------------------------------------------


def _with_everything(stmt: Select) -> Select:
    return stmt.options(
        selectinload(Decision.legal_basis),
        selectinload(Decision.offers),
        selectinload(Decision.interruptions),
        selectinload(Decision.responsible_municipality),
        selectinload(Decision.agreement),
        selectinload(Decision.transfer).selectinload(CaseTransfer.performing_municipality),
    )


def _scoped(municipality_id: int | None, role: WatchRole = WatchRole.ALL) -> Select:
    """Decisions the municipality answers for and/or performs (through a transfer), in the query."""
    stmt = select(Decision).outerjoin(CaseTransfer, Decision.transfer_id == CaseTransfer.id)
    responsible = Decision.responsible_municipality_id == municipality_id
    performing = CaseTransfer.performing_municipality_id == municipality_id
    if role == WatchRole.RESPONSIBLE:
        return stmt.where(responsible)
    if role == WatchRole.PERFORMING:
        return stmt.where(performing)
    return stmt.where(or_(responsible, performing))


def decision_party_ids(decision: Decision) -> set[int]:
    """The municipalities that may see and update the decision."""
    ids = {decision.responsible_municipality_id}
    if decision.transfer is not None:
        ids.add(decision.transfer.performing_municipality_id)
    return ids


def get_decision_for(session: Session, user: User, decision_id: int, channel: str | None = None) -> Decision:
    """The decision if the user's municipality is responsible for it or performs it (404 otherwise).

    With a `channel` ("sida" or "api") a view by the performing municipality is written to the
    transfer's insight log, as views of the transfer itself are: the case belongs to the requester.
    """
    if user.municipality_id is None:
        raise DecisionNotFound()
    decision = session.scalar(
        _with_everything(_scoped(user.municipality_id).where(Decision.id == decision_id))
    )
    if decision is None:
        raise DecisionNotFound()
    require_any(user, DECISION_READ, decision_party_ids(decision))
    transfer = decision.transfer
    if (
        channel is not None
        and transfer is not None
        and user.municipality_id == transfer.performing_municipality_id
    ):
        session.add(
            InsightLogEntry(
                transfer_id=transfer.id,
                user_id=user.id,
                user_label=f"{user.name} ({user.email})",
                municipality_id=user.municipality_id,
                channel=channel,
            )
        )
        session.flush()
    return decision


def decisions_for_watch(
    session: Session,
    user: User,
    today: dt.date | None = None,
    state: str | None = None,
    reportable_only: bool = False,
    role: WatchRole | str = WatchRole.RESPONSIBLE,
    transfer_id: int | None = None,
    agreement_id: int | None = None,
) -> list[DecisionWatch]:
    """The watch list of the user's municipality: each decision with its state and days since the
    decision, reportable ones first. By default the decisions it answers for (and reports to IVO);
    `role="performing"` gives those it performs for others, `"all"` both."""
    require(user, DECISION_READ)
    if user.municipality_id is None:
        return []
    day = _day(today)
    stmt = _with_everything(_scoped(user.municipality_id, WatchRole(role)))
    if transfer_id is not None:
        stmt = stmt.where(Decision.transfer_id == transfer_id)
    if agreement_id is not None:
        stmt = stmt.where(Decision.agreement_id == agreement_id)
    rows = [watch_of(d, day) for d in session.scalars(stmt)]
    if state is not None:
        rows = [w for w in rows if w.state_key == state]
    if reportable_only:
        rows = [w for w in rows if w.reportable]
    return sorted(rows, key=lambda w: w.sort_key)


def decisions_for_transfer(
    session: Session, user: User, transfer_id: int, today: dt.date | None = None
) -> list[DecisionWatch]:
    """The decisions under one transfer, for a party of it (the transfer's own page lists them)."""
    return decisions_for_watch(session, user, today, role=WatchRole.ALL, transfer_id=transfer_id)


def legal_bases(session: Session) -> list[LegalBasis]:
    return list(session.scalars(select(LegalBasis).order_by(LegalBasis.law.desc(), LegalBasis.code)))


# --- Where a decision is recorded ---------------------------------------------------------------


@dataclass(frozen=True)
class DecisionContext:
    """What a new decision hangs on, and the municipality that answers for it to IVO."""

    transfer: CaseTransfer | None
    agreement: Agreement | None
    responsible: Municipality


def decision_context(
    session: Session, user: User, transfer_id: int | None = None, agreement_id: int | None = None
) -> DecisionContext:
    """Look up the transfer or agreement a decision is to be recorded under, for a user who may record.

    Under a transfer the requesting municipality is responsible; both parties may record (under
    extern delegering the performer's employee decides on the requester's behalf). Under an agreement
    the user's own municipality is responsible and must be a party. Non-parties get 404.
    """
    mid = user.municipality_id
    if transfer_id is not None:
        transfer = session.scalar(
            select(CaseTransfer)
            .where(
                CaseTransfer.id == transfer_id,
                or_(
                    CaseTransfer.requesting_municipality_id == mid,
                    CaseTransfer.performing_municipality_id == mid,
                ),
            )
            .options(selectinload(CaseTransfer.requesting_municipality), selectinload(CaseTransfer.agreement))
        )
        if transfer is None or mid is None:
            raise TransferNotFound()
        require_any(user, DECISION_EDIT, transfer.party_municipality_ids)
        if transfer.status in TRANSFER_STATUSES_WITHOUT_DECISIONS:
            raise Conflict(
                f"Överlämningen {transfer.reference} är {TRANSFER_STATUS_LABELS[transfer.status].lower()}. "
                "Beslut kan registreras först när den utförande kommunen har accepterat överlämningen."
            )
        return DecisionContext(transfer, transfer.agreement, transfer.requesting_municipality)
    if agreement_id is not None:
        agreement = session.scalar(
            select(Agreement).where(
                Agreement.id == agreement_id,
                Agreement.parties.any(AgreementParty.municipality_id == mid),
            )
        )
        if agreement is None or mid is None:
            raise AgreementNotFound()
        require(user, DECISION_EDIT, mid)
        return DecisionContext(None, agreement, session.get(Municipality, mid))
    raise ValidationFailed(
        errors={"transfer_id": ["Ange ärendeöverlämningen eller avtalet som beslutet hör till."]}
    )


def transfers_open_for_decisions(session: Session, user: User) -> list[CaseTransfer]:
    """Transfers the user's municipality is party to and that can carry a decision (for a chooser)."""
    mid = user.municipality_id
    return list(
        session.scalars(
            select(CaseTransfer)
            .where(
                or_(
                    CaseTransfer.requesting_municipality_id == mid,
                    CaseTransfer.performing_municipality_id == mid,
                ),
                CaseTransfer.status.not_in(TRANSFER_STATUSES_WITHOUT_DECISIONS),
            )
            .order_by(CaseTransfer.reference)
        )
    )


def agreements_open_for_decisions(session: Session, user: User) -> list[Agreement]:
    mid = user.municipality_id
    return list(
        session.scalars(
            select(Agreement)
            .where(Agreement.parties.any(AgreementParty.municipality_id == mid))
            .order_by(Agreement.number)
        )
    )


# --- Validation helpers -------------------------------------------------------------------------


def _check_day(errors: dict, key: str, value: dt.date | None, day: dt.date) -> None:
    """A date that has happened: not after today, not an obvious typing error."""
    if value is None or key in errors:
        return
    if value > day:
        errors[key] = [
            f"Datumet {value.isoformat()} har inte inträffat än (i dag är det {day.isoformat()}). "
            "Registrera det när det har hänt."
        ]
    elif value < EARLIEST_DATE:
        errors[key] = [f"Datumet {value.isoformat()} är orimligt tidigt. Kontrollera året."]


def _not_before(errors: dict, key: str, value: dt.date | None, earliest: dt.date | None, what: str) -> None:
    if value is None or earliest is None or key in errors:
        return
    if value < earliest:
        errors[key] = [f"Datumet kan inte ligga före {what} ({earliest.isoformat()})."]


def _not_after(errors: dict, key: str, value: dt.date | None, latest: dt.date | None, what: str) -> None:
    if value is None or latest is None or key in errors:
        return
    if value > latest:
        errors[key] = [f"Datumet kan inte ligga efter {what} ({latest.isoformat()})."]


def _check_ivo_ref(errors: dict, ref: str | None, day: dt.date) -> None:
    if ref is None:
        return
    birth = parse_ivo_person_ref(ref).birth_date
    if birth > day:
        errors["ivo_person_ref"] = [f"Födelsedatumet {birth.isoformat()} ligger i framtiden."]


def _legal_basis(session: Session, code: str, errors: dict) -> LegalBasis | None:
    basis = session.scalar(select(LegalBasis).where(LegalBasis.code == code))
    if basis is None:
        errors["legal_basis"] = [f"Lagrummet {code} finns inte. Välj ett lagrum i listan."]
    return basis


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationFailed(errors=errors)


def _require_edit(user: User, decision: Decision) -> None:
    require_any(user, DECISION_EDIT, decision_party_ids(decision))


def _require_open(decision: Decision) -> None:
    if decision.closed_on is not None:
        raise Conflict(
            f"Beslutet avslutades {decision.closed_on.isoformat()} och kan inte längre ändras på det sättet."
        )


def _day(value: dt.date | None) -> dt.date:
    return value if value is not None else today()


# --- Recording and updating ---------------------------------------------------------------------


def _load(schema, data: dict) -> tuple[dict, dict]:
    """The fields that loaded and the errors of those that did not, so that the date rules can be
    checked on the valid fields at once and the user sees every problem in one answer."""
    try:
        return schema.load(data), {}
    except ValidationError as exc:
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return valid, dict(messages)


def record_decision(session: Session, user: User, data: dict, today: dt.date | None = None) -> Decision:
    """Record a favourable decision under a transfer or an agreement (see `decision_context`)."""
    day = _day(today)
    values, errors = _load(DecisionCreateSchema(), data)
    if {"transfer_id", "agreement_id", "_schema"} & errors.keys():
        _raise(errors)
    context = decision_context(session, user, values.get("transfer_id"), values.get("agreement_id"))
    basis = _legal_basis(session, values["legal_basis"], errors) if values.get("legal_basis") else None
    decided, executed = values.get("decision_date"), values.get("execution_date")
    _check_day(errors, "decision_date", decided, day)
    _check_day(errors, "execution_date", executed, day)
    _not_before(errors, "execution_date", executed, decided, "beslutsdatumet")
    _check_ivo_ref(errors, values.get("ivo_person_ref"), day)
    _raise(errors)
    decision = Decision(
        transfer=context.transfer,
        agreement=context.agreement,
        responsible_municipality=context.responsible,
        legal_basis=basis,
        insats_type=values["insats_type"],
        decision_date=decided,
        execution_date=executed,
        delay_reason=values.get("delay_reason"),
        ivo_person_ref=values.get("ivo_person_ref"),
    )
    session.add(decision)
    session.flush()
    return decision


def update_decision(
    session: Session, user: User, decision: Decision, data: dict, today: dt.date | None = None
) -> Decision:
    """Correct the legal basis, insats, decision date, delay reason or IVO reference."""
    _require_edit(user, decision)
    day = _day(today)
    values, errors = _load(DecisionUpdateSchema(), data)
    basis = _legal_basis(session, values["legal_basis"], errors) if values.get("legal_basis") else None
    if values.get("decision_date") is not None:
        new_date = values["decision_date"]
        _check_day(errors, "decision_date", new_date, day)
        later = [
            (decision.execution_date, "verkställigheten"),
            (min((o.offered_on for o in decision.offers), default=None), "det första erbjudandet"),
            (decision.closed_on, "avslutet"),
        ]
        for limit, what in later:
            _not_after(errors, "decision_date", new_date, limit, what)
    if "ivo_person_ref" not in errors:
        _check_ivo_ref(errors, values.get("ivo_person_ref"), day)
    _raise(errors)
    if basis is not None:
        decision.legal_basis = basis
    for key in ("insats_type", "decision_date", "delay_reason", "ivo_person_ref"):
        if key in values:
            setattr(decision, key, values[key])
    session.flush()
    return decision


def add_offer(
    session: Session, user: User, decision: Decision, data: dict, today: dt.date | None = None
) -> DecisionOffer:
    """Record that the insats was offered (and whether the person declined): IVO asks for every offer."""
    _require_edit(user, decision)
    _require_open(decision)
    day = _day(today)
    values, errors = _load(DecisionOfferCreateSchema(), data)
    _check_day(errors, "offered_on", values.get("offered_on"), day)
    _not_before(errors, "offered_on", values.get("offered_on"), decision.decision_date, "beslutsdatumet")
    _raise(errors)
    offer = DecisionOffer(
        offered_on=values["offered_on"], declined=values["declined"], note=values.get("note")
    )
    decision.offers.append(offer)
    session.flush()
    return offer


def record_execution(
    session: Session, user: User, decision: Decision, data: dict, today: dt.date | None = None
) -> Decision:
    """Record (or correct) the day the insats was executed (verkställdes)."""
    _require_edit(user, decision)
    _require_open(decision)
    day = _day(today)
    values, errors = _load(DecisionExecutionSchema(), data)
    executed = values.get("execution_date")
    _check_day(errors, "execution_date", executed, day)
    _not_before(errors, "execution_date", executed, decision.decision_date, "beslutsdatumet")
    first_interruption = min((i.interrupted_on for i in decision.interruptions), default=None)
    _not_after(errors, "execution_date", executed, first_interruption, "det första avbrottet")
    _raise(errors)
    decision.execution_date = executed
    session.flush()
    return decision


def add_interruption(
    session: Session, user: User, decision: Decision, data: dict, today: dt.date | None = None
) -> DecisionInterruption:
    """Record that an executed insats was interrupted; a new three-month period starts that day."""
    _require_edit(user, decision)
    _require_open(decision)
    if decision.execution_date is None:
        raise Conflict(
            "Beslutet är inte verkställt. Registrera verkställigheten innan du registrerar ett avbrott."
        )
    current = open_interruption(decision)
    if current is not None:
        raise Conflict(
            f"Avbrottet från {current.interrupted_on.isoformat()} pågår fortfarande. "
            "Registrera att insatsen återupptogs innan du registrerar ett nytt avbrott."
        )
    day = _day(today)
    values, errors = _load(DecisionInterruptionCreateSchema(), data)
    start = values.get("interrupted_on")
    _check_day(errors, "interrupted_on", start, day)
    _not_before(errors, "interrupted_on", start, decision.execution_date, "verkställigheten")
    last_resumed = max((i.resumed_on for i in decision.interruptions if i.resumed_on), default=None)
    _not_before(errors, "interrupted_on", start, last_resumed, "återupptagandet efter förra avbrottet")
    _raise(errors)
    interruption = DecisionInterruption(interrupted_on=start, reason=values.get("reason"))
    decision.interruptions.append(interruption)
    session.flush()
    return interruption


def resume_interruption(
    session: Session,
    user: User,
    decision: Decision,
    interruption_id: int,
    data: dict,
    today: dt.date | None = None,
) -> DecisionInterruption:
    """Record the day an interrupted insats was resumed."""
    _require_edit(user, decision)
    _require_open(decision)
    interruption = next((i for i in decision.interruptions if i.id == interruption_id), None)
    if interruption is None:
        raise NotFound("Avbrottet finns inte för det här beslutet.")
    if interruption.resumed_on is not None:
        raise Conflict(f"Avbrottet återupptogs redan {interruption.resumed_on.isoformat()}.")
    day = _day(today)
    values, errors = _load(DecisionResumeSchema(), data)
    resumed = values.get("resumed_on")
    _check_day(errors, "resumed_on", resumed, day)
    _not_before(errors, "resumed_on", resumed, interruption.interrupted_on, "avbrottet")
    _raise(errors)
    interruption.resumed_on = resumed
    session.flush()
    return interruption


def close_decision(
    session: Session, user: User, decision: Decision, data: dict, today: dt.date | None = None
) -> Decision:
    """Close the decision (e.g. the person declined or moved): it is no longer watched or reported,
    except that the report of the quarter it was closed in tells IVO the date and the reason."""
    _require_edit(user, decision)
    _require_open(decision)
    day = _day(today)
    values, errors = _load(DecisionCloseSchema(), data)
    closed = values.get("closed_on")
    _check_day(errors, "closed_on", closed, day)
    events = [
        (decision.decision_date, "beslutsdatumet"),
        (decision.execution_date, "verkställigheten"),
        *((i.interrupted_on, "avbrottet") for i in decision.interruptions),
        *((i.resumed_on, "återupptagandet efter avbrottet") for i in decision.interruptions),
    ]
    for limit, what in sorted((e for e in events if e[0] is not None), key=lambda e: e[0], reverse=True):
        _not_before(errors, "closed_on", closed, limit, what)
    _raise(errors)
    decision.closed_on = closed
    decision.closing_reason = values["closing_reason"]
    session.flush()
    return decision


# --- The quarterly IVO report -------------------------------------------------------------------


@dataclass(frozen=True)
class IvoOffer:
    offered_on: dt.date
    declined: bool


@dataclass(frozen=True)
class IvoReportRow:
    """One decision as IVO asks for it. Carries no client identity: only the pseudonymous case
    reference and IVO's own person reference (birth date, letter, three digits)."""

    decision_id: int
    case_reference: str
    ivo_person_ref: str | None
    sex: str | None
    report_type: ReportType
    legal_basis: LegalBasis
    insats_type: str
    decision_date: dt.date
    interruption_date: dt.date | None
    offers: tuple[IvoOffer, ...]
    delay_reason: str | None
    execution_date: dt.date | None
    resumed_on: dt.date | None
    closed_on: dt.date | None
    closing_reason: str | None
    days_since_decision: int
    situation: str

    @property
    def report_type_label(self) -> str:
        return REPORT_TYPE_LABELS[self.report_type]


def _report_row(decision: Decision, status, as_of: dt.date) -> IvoReportRow:
    """The row of a decision that was reportable with `status` at some point of the period up to
    `as_of`: events after `as_of` are left out, the report describes the quarter."""

    def known(value: dt.date | None) -> dt.date | None:
        return value if value is not None and value <= as_of else None

    interrupted = status.state == DecisionState.INTERRUPTED_OVER_THREE_MONTHS
    interruption = (
        next((i for i in decision.interruptions if i.interrupted_on == status.clock_start), None)
        if interrupted
        else None
    )
    closed = known(decision.closed_on)
    return IvoReportRow(
        decision_id=decision.id,
        case_reference=case_reference(decision),
        ivo_person_ref=decision.ivo_person_ref,
        sex=ivo_sex(decision.ivo_person_ref),
        report_type=ReportType.INTERRUPTED if interrupted else ReportType.NOT_EXECUTED,
        legal_basis=decision.legal_basis,
        insats_type=decision.insats_type,
        decision_date=decision.decision_date,
        interruption_date=interruption.interrupted_on if interruption else None,
        offers=tuple(
            IvoOffer(o.offered_on, o.declined)
            for o in sorted(decision.offers, key=lambda o: o.offered_on)
            if o.offered_on <= as_of
        ),
        delay_reason=decision.delay_reason,
        execution_date=known(decision.execution_date),
        resumed_on=known(interruption.resumed_on) if interruption else None,
        closed_on=closed,
        closing_reason=decision.closing_reason if closed else None,
        days_since_decision=days_since(decision.decision_date, as_of),
        situation=watch_of(decision, as_of).label,
    )


def report_as_of(year: int, quarter: int, today: dt.date | None = None) -> dt.date:
    """The day a quarter's report describes: its last day, or today while the quarter is running."""
    return min(quarter_bounds(year, quarter)[1], _day(today))


def reportable_in_quarter(
    session: Session, municipality: Municipality, year: int, quarter: int, today: dt.date | None = None
) -> list[IvoReportRow]:
    """The municipality's decisions to report to IVO for a quarter.

    A decision is in the report when, on some day of the quarter, it was not executed three months
    after the decision or its execution had been interrupted for more than three months, or when such
    a period ended during the quarter (executed, resumed or closed on a day of it; the row then carries
    that date). A decision closed before the quarter began is not in it, nor is one whose legal basis
    IVO does not supervise. The state is taken at the quarter's last day (today, while it is running).
    """
    start, _end = quarter_bounds(year, quarter)
    as_of = report_as_of(year, quarter, today)
    if as_of < start:
        return []
    stmt = _with_everything(
        select(Decision)
        .join(LegalBasis, Decision.legal_basis_id == LegalBasis.id)
        .where(
            Decision.responsible_municipality_id == municipality.id,
            LegalBasis.reportable.is_(True),
            Decision.decision_date <= as_of,
            or_(Decision.closed_on.is_(None), Decision.closed_on >= start),
            # Executed before the quarter and never interrupted: its watch ended before the quarter.
            or_(
                Decision.execution_date.is_(None),
                Decision.execution_date >= start,
                Decision.interruptions.any(),
            ),
        )
    )
    rows = []
    for decision in session.scalars(stmt):
        found = last_reportable_status(decision, start, as_of)
        if found is not None:
            rows.append(_report_row(decision, found[1], as_of))
    return sorted(rows, key=lambda r: (r.decision_date, r.case_reference))


@dataclass(frozen=True)
class IvoReport:
    municipality: Municipality
    year: int
    quarter: int
    quarter_start: dt.date
    quarter_end: dt.date
    as_of: dt.date
    window: IvoWindow
    window_open: bool
    rows: list[IvoReportRow]


def default_report_quarter(today: dt.date | None = None) -> tuple[int, int]:
    """The quarter a reporter most likely wants: the one whose window is open, else the last one ended."""
    day = _day(today)
    window = open_ivo_window(day)
    if window is not None:
        return window.year, window.quarter
    year, quarter = quarter_of(day)
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def ivo_report_for(
    session: Session, user: User, year: int, quarter: int, today: dt.date | None = None
) -> IvoReport:
    """The quarter's report of the user's municipality (the responsible nämnd reports)."""
    require(user, DECISION_READ)
    if user.municipality_id is None:
        raise NotFound("Du hör inte till någon kommun, så det finns ingen IVO-rapport för dig.")
    day = _day(today)
    municipality = session.get(Municipality, user.municipality_id)
    start, end = quarter_bounds(year, quarter)
    window = ivo_window_for(year, quarter)
    return IvoReport(
        municipality=municipality,
        year=year,
        quarter=quarter,
        quarter_start=start,
        quarter_end=end,
        as_of=report_as_of(year, quarter, day),
        window=window,
        window_open=window.is_open_on(day),
        rows=reportable_in_quarter(session, municipality, year, quarter, day),
    )


@dataclass(frozen=True)
class WindowNotice:
    """What the IVO page says about reporting windows today."""

    open_window: IvoWindow | None
    next_window: IvoWindow
    needs_confirmation: bool
    confirmed_for: int


def window_notice(today: dt.date | None = None) -> WindowNotice:
    day = _day(today)
    windows = load_ivo_windows()
    return WindowNotice(
        open_window=open_ivo_window(day, windows),
        next_window=next_ivo_window(day, windows),
        needs_confirmation=windows.needs_confirmation(day),
        confirmed_for=windows.confirmed_for,
    )


CSV_COLUMNS = (
    "Ärendereferens",
    "IVO-personreferens",
    "Kön",
    "Rapporttyp",
    "Lag",
    "Lagrum, benämning",
    "Lagrum (tidigare numrering)",
    "Lagrum (ny numrering)",
    "Typ av insats",
    "Beslutsdatum",
    "Avbrottsdatum",
    "Erbjudanden",
    "Skäl till dröjsmål",
    "Verkställighetsdatum",
    "Återupptaget datum",
    "Avslutsdatum",
    "Skäl till avslut",
    "Dagar sedan beslut",
    "Läge vid kvartalets slut",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """Dates ISO, None empty; text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def offers_text(offers: Iterable[IvoOffer]) -> str:
    return "; ".join(f"{o.offered_on.isoformat()} {'avböjt' if o.declined else 'ej avböjt'}" for o in offers)


def ivo_csv_bytes(rows: Iterable[IvoReportRow]) -> bytes:
    """The report as Excel opens it: UTF-8 with a byte order mark, ';' between fields, ISO dates."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        basis = row.legal_basis
        writer.writerow(
            [
                _cell(value)
                for value in (
                    row.case_reference,
                    row.ivo_person_ref,
                    row.sex,
                    row.report_type_label,
                    basis.law,
                    basis.title,
                    basis.old_reference,
                    basis.new_reference,
                    row.insats_type,
                    row.decision_date,
                    row.interruption_date,
                    offers_text(row.offers),
                    row.delay_reason,
                    row.execution_date,
                    row.resumed_on,
                    row.closed_on,
                    row.closing_reason,
                    row.days_since_decision,
                    row.situation,
                )
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


def export_ivo_csv(
    session: Session, municipality: Municipality, year: int, quarter: int, today: dt.date | None = None
) -> bytes:
    """The quarter's reportable decisions of `municipality` as a CSV file (see `ivo_csv_bytes`)."""
    return ivo_csv_bytes(reportable_in_quarter(session, municipality, year, quarter, today))


def ivo_csv_filename(municipality: Municipality, year: int, quarter: int) -> str:
    return f"ivo-ej-verkstallda-beslut-{municipality.kommunkod}-{year}-K{quarter}.csv"
