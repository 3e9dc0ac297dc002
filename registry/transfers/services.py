"""Case transfers (ärendeöverlämning vid jäv) and their insight log.

A requesting municipality hands a case to a performing municipality but keeps the responsibility
(huvudmannaskap). The case is identified only by a generated pseudonymous reference
(`JAV-<kommunkod>-<year>-<nnnn>`); no client identity is ever stored.

Lifecycle (TRANSFER_TRANSITIONS; `transition_transfer` is the one function that moves a transfer):

    requested -> accepted | declined            the performing municipality answers
    accepted -> investigating                   the performing municipality
    investigating -> decided                    the performing municipality
    decided -> executed                         the municipality named as executor (`Executor`)
    decided | executed -> closed                the requesting municipality (it keeps responsibility)
    accepted | investigating | decided | executed -> interrupted      either party
    interrupted -> <the status it was interrupted in>                 either party ("resume")
    interrupted -> closed                       the requesting municipality (never resumed)
    declined, closed                            final

Resuming is not a pseudo-status: the target of a resume is the status the transfer had when it was
interrupted (kept in `status_before_interruption`), so every event holds real statuses and the timeline
reads "Avbruten -> Utredning pågår". Only administrators and caseworkers (TRANSFER_EDIT) of the
party whose turn it is may move a transfer; other roles of either party may read it.

Insight (insyn): the requesting municipality owns the case. Every time a user of the performing
municipality opens a transfer (its page, or the transfer or its timeline in the API) an
`InsightLogEntry` is written; views by the requesting municipality's own users are not logged. Lists
are not views. Both parties can read the insight log.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Literal

from marshmallow import ValidationError
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.db import swedish
from core.errors import PermissionDenied, ValidationFailed
from core.formatting import local_today
from core.models import Municipality, User
from core.permissions import can_any, require, require_any
from registry.errors import IllegalTransition, TransferNotFound
from registry.models import (
    AGREEMENT_STATUS_LABELS,
    TRANSFER_STATUS_LABELS,
    Agreement,
    AgreementParty,
    AgreementStatus,
    CaseTransfer,
    CaseTransferEvent,
    Executor,
    InsightLogEntry,
    ResolutionType,
    TransferStatus,
)
from registry.permissions import TRANSFER_EDIT, TRANSFER_READ
from registry.reference import next_reference
from registry.transfers.schemas import TransferCreateSchema, TransitionSchema

S = TransferStatus

REFERENCE_PREFIX = "JAV"

# The only legal moves; everything else is refused with IllegalTransition. From INTERRUPTED the table
# lists every status a transfer can be resumed to; `allowed_targets` narrows it to the one it was
# interrupted in.
TRANSFER_TRANSITIONS: dict[TransferStatus, frozenset[TransferStatus]] = {
    S.REQUESTED: frozenset({S.ACCEPTED, S.DECLINED}),
    S.ACCEPTED: frozenset({S.INVESTIGATING, S.INTERRUPTED}),
    S.DECLINED: frozenset(),
    S.INVESTIGATING: frozenset({S.DECIDED, S.INTERRUPTED}),
    S.DECIDED: frozenset({S.EXECUTED, S.CLOSED, S.INTERRUPTED}),
    S.EXECUTED: frozenset({S.CLOSED, S.INTERRUPTED}),
    S.INTERRUPTED: frozenset({S.ACCEPTED, S.INVESTIGATING, S.DECIDED, S.EXECUTED, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# Statuses in lifecycle order: the order next steps are offered in.
_ORDER = (
    S.REQUESTED,
    S.ACCEPTED,
    S.DECLINED,
    S.INVESTIGATING,
    S.DECIDED,
    S.EXECUTED,
    S.CLOSED,
    S.INTERRUPTED,
)
ACTIVE_AGREEMENT_STATUSES = (AgreementStatus.ACTIVE, AgreementStatus.RENEGOTIATION)

Channel = Literal["sida", "api"]
CHANNEL_LABELS = {"sida": "Webbsidan", "api": "API"}


class Side(enum.StrEnum):
    """Which party a user acts for on a transfer."""

    REQUESTING = "requesting"
    PERFORMING = "performing"


BOTH_SIDES = frozenset({Side.REQUESTING, Side.PERFORMING})

# Who may do what, in words, for the detail page (mirrors `acting_sides`).
TRANSITION_RULES = (
    ("Svara på begäran (acceptera eller avböja med skäl)", "Den utförande kommunen"),
    ("Starta utredning och registrera beslut", "Den utförande kommunen"),
    ("Registrera verkställighet", "Den kommun som enligt överlämningen verkställer beslutet"),
    ("Avsluta ärendet", "Den begärande kommunen, som behåller ansvaret"),
    ("Registrera avbrott och återuppta", "Båda kommunerna"),
)


@dataclass(frozen=True)
class NextStep:
    """A legal move from the transfer's current status, with the party that may make it."""

    target: TransferStatus
    label: str
    sides: frozenset[Side]

    @property
    def needs_reason(self) -> bool:
        return self.target == S.DECLINED

    @property
    def confirm(self) -> str | None:
        if self.target == S.DECLINED:
            return "Avböja överlämningen? Beslutet är slutligt och kan inte ångras."
        if self.target == S.CLOSED:
            return "Avsluta ärendet? Ett avslutat ärende kan inte öppnas igen."
        return None


_STEP_LABELS = {
    S.ACCEPTED: "Acceptera överlämningen",
    S.DECLINED: "Avböj överlämningen",
    S.INVESTIGATING: "Starta utredning",
    S.DECIDED: "Markera att beslut är fattat",
    S.EXECUTED: "Registrera verkställighet",
    S.CLOSED: "Avsluta ärendet",
    S.INTERRUPTED: "Registrera avbrott",
}


def status_label(status: TransferStatus | None) -> str:
    return TRANSFER_STATUS_LABELS[status] if status is not None else ""


# --- The state machine --------------------------------------------------------------------------


def allowed_targets(transfer: CaseTransfer) -> list[TransferStatus]:
    """The statuses the transfer may move to now, in lifecycle order."""
    targets = TRANSFER_TRANSITIONS[transfer.status]
    if transfer.status == S.INTERRUPTED:
        before = transfer.status_before_interruption
        targets = frozenset(t for t in targets if t == S.CLOSED or t == before)
    return [t for t in _ORDER if t in targets]


def acting_sides(transfer: CaseTransfer, target: TransferStatus) -> frozenset[Side]:
    """The party (or parties) that may move `transfer` to `target` (assumed legal)."""
    if target == S.INTERRUPTED or (transfer.status == S.INTERRUPTED and target != S.CLOSED):
        return BOTH_SIDES
    if target == S.CLOSED:
        return frozenset({Side.REQUESTING})
    if target == S.EXECUTED:
        return frozenset({Side.REQUESTING if transfer.executor == Executor.REQUESTING else Side.PERFORMING})
    return frozenset({Side.PERFORMING})


def next_steps(transfer: CaseTransfer) -> list[NextStep]:
    """Every legal move from the current status and who may make it."""
    steps = []
    for target in allowed_targets(transfer):
        is_resume = transfer.status == S.INTERRUPTED and target != S.CLOSED
        label = f"Återuppta (tillbaka till ”{status_label(target)}”)" if is_resume else _STEP_LABELS[target]
        steps.append(NextStep(target, label, acting_sides(transfer, target)))
    return steps


def side_of(user: User, transfer: CaseTransfer) -> Side | None:
    if user.municipality_id is None:
        return None
    if user.municipality_id == transfer.requesting_municipality_id:
        return Side.REQUESTING
    if user.municipality_id == transfer.performing_municipality_id:
        return Side.PERFORMING
    return None


def steps_for(user: User, transfer: CaseTransfer) -> list[NextStep]:
    """The moves `user` may make now: a role that may edit transfers, on the party whose turn it is."""
    if not can_any(user, TRANSFER_EDIT, transfer.party_municipality_ids):
        return []
    side = side_of(user, transfer)
    return [step for step in next_steps(transfer) if side in step.sides]


def _side_name(transfer: CaseTransfer, sides: frozenset[Side]) -> str:
    if sides == BOTH_SIDES:
        return "båda kommunerna"
    if Side.REQUESTING in sides:
        return f"den begärande kommunen ({transfer.requesting_municipality.name})"
    return f"den utförande kommunen ({transfer.performing_municipality.name})"


# --- Requesting and moving ----------------------------------------------------------------------


def request_transfer(session: Session, user: User, data: dict) -> CaseTransfer:
    """Register a request to hand a case to another municipality, as the user's municipality.

    The user must be an administrator or caseworker of the requesting municipality. When an agreement
    is given, both municipalities must be parties to it and it must be in force (active or under
    renegotiation); avtalssamverkan with extern delegering needs one.
    """
    if user.municipality_id is None:
        raise PermissionDenied("Bara användare i en kommun kan begära en ärendeöverlämning.")
    require(user, TRANSFER_EDIT, user.municipality_id)
    # Field errors and the business rules are reported together, so the form is corrected in one go.
    try:
        values = TransferCreateSchema().load(data)
        errors: dict[str, list[str]] = {}
    except ValidationError as exc:
        values = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        errors = dict(exc.messages) if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    requesting = session.get(Municipality, user.municipality_id)
    today = local_today()

    performing = None
    if values.get("performing_municipality_id") is not None:
        performing = session.get(Municipality, values["performing_municipality_id"])
        if performing is None:
            errors["performing_municipality_id"] = ["Kommunen finns inte."]
        elif performing.id == requesting.id:
            errors["performing_municipality_id"] = [
                "Välj en annan kommun än er egen: ärendet lämnas över till en annan kommun."
            ]

    requested_on = values.get("requested_on") or today
    if requested_on > today:
        errors["requested_on"] = ["Datumet för begäran kan inte ligga i framtiden."]

    agreement = None
    if values.get("agreement_id") is not None:
        agreement = session.scalar(
            select(Agreement)
            .where(Agreement.id == values["agreement_id"], _is_party(user.municipality_id))
            .options(selectinload(Agreement.parties).selectinload(AgreementParty.municipality))
        )
        if agreement is None:
            errors["agreement_id"] = ["Avtalet finns inte, eller så är er kommun inte part i det."]
        elif performing is not None and performing.id not in agreement.party_municipality_ids:
            errors["agreement_id"] = [
                f"{performing.name} är inte part i avtalet {agreement.number}. Välj ett avtal där båda "
                "kommunerna är parter, eller lämna fältet tomt om lösningen inte bygger på ett avtal."
            ]
        elif agreement.status not in ACTIVE_AGREEMENT_STATUSES:
            state = AGREEMENT_STATUS_LABELS[agreement.status].lower()
            errors["agreement_id"] = [
                f"Avtalet {agreement.number} har status ”{state}”. Ärenden kan bara lämnas över under "
                "ett gällande avtal eller ett avtal under omförhandling."
            ]
    elif values.get("resolution_type") == ResolutionType.EXTERNAL_DELEGATION and "agreement_id" not in errors:
        errors["agreement_id"] = [
            "Avtalssamverkan med extern delegering kräver ett samverkansavtal: välj avtalet."
        ]
    if errors:
        raise ValidationFailed(errors=errors)

    transfer = CaseTransfer(
        reference=next_reference(session, REFERENCE_PREFIX, requesting.kommunkod, requested_on.year),
        agreement=agreement,
        requesting_municipality=requesting,
        performing_municipality=performing,
        jav_ground=values["jav_ground"],
        resolution_type=values["resolution_type"],
        case_area=values["case_area"],
        executor=values["executor"],
        delegation_decision=values.get("delegation_decision"),
        note=values.get("note"),
        status=S.REQUESTED,
        requested_on=requested_on,
        created_by_id=user.id,
    )
    transfer.events.append(
        CaseTransferEvent(from_status=None, to_status=S.REQUESTED, effective_on=requested_on, user=user)
    )
    session.add(transfer)
    session.flush()
    return transfer


def transition_transfer(
    session: Session,
    user: User,
    transfer: CaseTransfer,
    target: TransferStatus | str,
    on: dt.date | str | None = None,
    comment: str | None = None,
) -> CaseTransferEvent:
    """Move `transfer` to `target`, effective `on` (default today), and record who did it and when.

    The one way a transfer's status changes; see the module docstring for the rules. Refuses, in this
    order: a user without TRANSFER_EDIT on a party (403); a move the state machine does not allow
    (IllegalTransition, 409); a move that is the other party's to make (403); a decline without a
    reason, a date in the future or before the previous step, a comment with a personal identity
    number (422, all input errors together). `target` and `on` may be given as form text ("accepted",
    "2026-03-01"): TransitionSchema validates them here, so the page and the API share the rules.
    """
    require_any(user, TRANSFER_EDIT, transfer.party_municipality_ids)
    try:
        values = TransitionSchema().load({"target": target, "on": on, "comment": comment})
        errors: dict[str, list[str]] = {}
    except ValidationError as exc:
        values = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        errors = dict(exc.messages) if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    if "target" not in values:
        raise ValidationFailed(errors=errors)
    target = values["target"]
    comment = (values.get("comment") or "").strip() or None
    # Read the status under a row lock so two parties answering at once cannot both succeed.
    session.refresh(transfer, with_for_update=True)
    current = transfer.status

    # Whether the move is possible and whose it is come before the details of the input.
    allowed = allowed_targets(transfer)
    if target not in allowed:
        raise IllegalTransition(
            "Överlämningen", status_label(current), status_label(target), [status_label(t) for t in allowed]
        )
    sides = acting_sides(transfer, target)
    if side_of(user, transfer) not in sides:
        raise PermissionDenied(
            f"Steget ”{_STEP_LABELS.get(target, status_label(target))}” görs av {_side_name(transfer, sides)}."
        )

    today = local_today()
    effective_on = values.get("on") or today
    earliest = _last_effective_date(session, transfer)
    if target == S.DECLINED and not comment and "comment" not in errors:
        errors["comment"] = ["Ange skälet till att ni avböjer, så att den begärande kommunen kan gå vidare."]
    if "on" not in errors and effective_on > today:
        errors["on"] = ["Datumet kan inte ligga i framtiden."]
    elif "on" not in errors and effective_on < earliest:
        errors["on"] = [f"Datumet kan inte vara före föregående steg ({earliest.isoformat()})."]
    if errors:
        raise ValidationFailed(errors=errors)

    if current == S.REQUESTED:
        transfer.answered_on = effective_on
    if target == S.DECLINED:
        transfer.decline_reason = comment
    if target == S.INTERRUPTED:
        transfer.status_before_interruption = current
    elif current == S.INTERRUPTED:
        transfer.status_before_interruption = None
    if target == S.CLOSED:
        transfer.closed_on = effective_on
    transfer.status = target
    event = CaseTransferEvent(
        transfer=transfer,
        from_status=current,
        to_status=target,
        effective_on=effective_on,
        user=user,
        comment=comment,
    )
    session.add(event)
    session.flush()
    return event


def _last_effective_date(session: Session, transfer: CaseTransfer) -> dt.date:
    last = session.scalar(
        select(func.max(CaseTransferEvent.effective_on)).where(CaseTransferEvent.transfer_id == transfer.id)
    )
    return max(last, transfer.requested_on) if last else transfer.requested_on


# --- Reading: scope and insight -----------------------------------------------------------------


def _party_filter(municipality_id: int | None):
    return or_(
        CaseTransfer.requesting_municipality_id == municipality_id,
        CaseTransfer.performing_municipality_id == municipality_id,
    )


def _is_party(municipality_id: int | None):
    return exists().where(
        AgreementParty.agreement_id == Agreement.id, AgreementParty.municipality_id == municipality_id
    )


def lookup_transfer(session: Session, user: User, transfer_id: int) -> CaseTransfer:
    """The transfer if the user's municipality is a party (404 otherwise), without logging a view.

    For moves (which leave their own event) and for reading the insight log itself.
    """
    if user.municipality_id is None:
        raise TransferNotFound()
    transfer = session.scalar(
        select(CaseTransfer)
        .where(CaseTransfer.id == transfer_id, _party_filter(user.municipality_id))
        .options(
            selectinload(CaseTransfer.requesting_municipality),
            selectinload(CaseTransfer.performing_municipality),
            selectinload(CaseTransfer.agreement),
        )
    )
    if transfer is None:
        raise TransferNotFound()
    require_any(user, TRANSFER_READ, transfer.party_municipality_ids)
    return transfer


def get_transfer_for(
    session: Session, user: User, transfer_id: int, channel: Channel = "sida"
) -> CaseTransfer:
    """The transfer for a user of either party (TransferNotFound otherwise), recording the view.

    The requesting municipality owns the case: a view by a user of the performing municipality is
    written to the insight log (with the channel, "sida" or "api"); the owner's own views are not.
    """
    if channel not in CHANNEL_LABELS:
        raise ValueError(f"unknown channel {channel!r}")
    transfer = lookup_transfer(session, user, transfer_id)
    if user.municipality_id == transfer.performing_municipality_id:
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
    return transfer


def search_transfers(
    session: Session,
    user: User,
    status: TransferStatus | None = None,
    side: Side | str | None = None,
    q: str | None = None,
    waiting_for_answer: bool = False,
) -> Select:
    """A select() of the transfers where the user's municipality is a party, newest request first.

    `side` "requesting" (begärda av oss) or "performing" (utförs av oss); `waiting_for_answer` keeps
    requests not yet accepted or declined; `q` matches part of the reference.
    """
    require(user, TRANSFER_READ)
    stmt = (
        select(CaseTransfer)
        .where(_party_filter(user.municipality_id))
        .options(
            selectinload(CaseTransfer.requesting_municipality),
            selectinload(CaseTransfer.performing_municipality),
        )
        .order_by(CaseTransfer.requested_on.desc(), CaseTransfer.id.desc())
    )
    if side is not None:
        column = (
            CaseTransfer.requesting_municipality_id
            if Side(side) == Side.REQUESTING
            else CaseTransfer.performing_municipality_id
        )
        stmt = stmt.where(column == user.municipality_id)
    if status is not None:
        stmt = stmt.where(CaseTransfer.status == TransferStatus(status))
    if waiting_for_answer:
        stmt = stmt.where(CaseTransfer.status == S.REQUESTED)
    if q and q.strip():
        stmt = stmt.where(func.upper(CaseTransfer.reference).contains(q.strip().upper(), autoescape=True))
    return stmt


def count_awaiting_our_answer(session: Session, user: User) -> int:
    """Requests to the user's municipality that it has not yet accepted or declined."""
    if user.municipality_id is None:
        return 0
    return (
        session.scalar(
            select(func.count()).where(
                CaseTransfer.performing_municipality_id == user.municipality_id,
                CaseTransfer.status == S.REQUESTED,
            )
        )
        or 0
    )


def days_waiting(transfer: CaseTransfer, today: dt.date | None = None) -> int | None:
    """Days a request has waited for an answer (None once answered)."""
    if transfer.status != S.REQUESTED:
        return None
    return ((today or local_today()) - transfer.requested_on).days


def answer_days(transfer: CaseTransfer) -> int | None:
    """Days from request to answer, once answered."""
    if transfer.answered_on is None:
        return None
    return (transfer.answered_on - transfer.requested_on).days


def list_events(transfer: CaseTransfer) -> Select:
    """The transfer's timeline, in the order the steps were recorded (the caller has scoped it)."""
    return (
        select(CaseTransferEvent)
        .where(CaseTransferEvent.transfer_id == transfer.id)
        .options(selectinload(CaseTransferEvent.user).selectinload(User.municipality))
        .order_by(CaseTransferEvent.id)
    )


def list_insight(transfer: CaseTransfer) -> Select:
    """The insight log of a transfer, newest first (the caller has scoped it)."""
    return (
        select(InsightLogEntry)
        .where(InsightLogEntry.transfer_id == transfer.id)
        .options(selectinload(InsightLogEntry.municipality))
        .order_by(InsightLogEntry.viewed_at.desc(), InsightLogEntry.id.desc())
    )


# --- Choices for the request form ---------------------------------------------------------------


def agreement_choices(session: Session, user: User) -> list[Agreement]:
    """Agreements in force (active or under renegotiation) that the user's municipality is party to."""
    if user.municipality_id is None:
        return []
    return list(
        session.scalars(
            select(Agreement)
            .where(Agreement.status.in_(ACTIVE_AGREEMENT_STATUSES), _is_party(user.municipality_id))
            .options(selectinload(Agreement.parties).selectinload(AgreementParty.municipality))
            .order_by(Agreement.number)
        )
    )


def performing_choices(session: Session, user: User) -> tuple[list[Municipality], list[Municipality]]:
    """(partners in the user's agreements in force, every other municipality), each in Swedish order."""
    partners = {p.municipality_id for a in agreement_choices(session, user) for p in a.parties} - {
        user.municipality_id
    }
    everyone = session.scalars(
        select(Municipality)
        .where(Municipality.id != user.municipality_id)
        .order_by(swedish(Municipality.name))
    ).all()
    return [m for m in everyone if m.id in partners], [m for m in everyone if m.id not in partners]
