"""Agreements (samverkansavtal): registration and editing, parties, the status lifecycle, computed
end and notice dates, attachments, scoped search and the CSV import.

Functions take the session and the acting user, add and flush, never commit: the request or
`unit_of_work()` owns the transaction. `user` None means the command line (trusted, no scope).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session, selectinload

from core.db import swedish, swedish_sort_key
from core.errors import Conflict, NotFound, ValidationFailed
from core.formatting import local_today
from core.models import Municipality, User
from core.permissions import can_any, require, require_any
from core.personal_numbers import check_no_personal_number
from core.services import UNREADABLE_CSV, decode_csv_bytes, load_or_raise, sniff_delimiter
from registry import dates
from registry.agreements.schemas import (
    AgreementAttachmentFormSchema,
    AgreementCreateSchema,
    AgreementTransitionSchema,
    AgreementUpdateSchema,
)
from registry.errors import AgreementNotFound, AttachmentRejected, IllegalTransition
from registry.models import (
    AGREEMENT_STATUS_LABELS,
    AGREEMENT_TRANSITIONS,
    AREA_LABELS,
    COOPERATION_FORM_LABELS,
    Agreement,
    AgreementAttachment,
    AgreementParty,
    AgreementStatus,
    Area,
    CooperationForm,
    PartyRole,
)
from registry.permissions import AGREEMENT_EDIT, AGREEMENT_READ

SCALAR_FIELDS = (
    "number",
    "title",
    "area",
    "cooperation_form",
    "legal_basis",
    "description",
    "start_date",
    "end_date",
    "renewal_months",
    "notice_months",
)
PARTY_FIELDS = (
    "board",
    "contact_name",
    "contact_email",
    "contact_phone",
    "decision_reference",
    "decision_date",
)
# Swedish names of the fields: the form's error summary and the CSV import's messages.
FIELD_LABELS = {
    "number": "Avtalsnummer",
    "title": "Titel",
    "area": "Område",
    "cooperation_form": "Samverkansform",
    "legal_basis": "Rättslig grund",
    "description": "Beskrivning",
    "start_date": "Startdatum",
    "end_date": "Slutdatum",
    "renewal_months": "Automatisk förlängning (månader)",
    "notice_months": "Uppsägningstid (månader)",
    "owner_id": "Avtalsansvarig",
    "parties": "Parter",
    "municipality_id": "Kommun",
    "kommunkod": "Kommunkod",
    "role": "Roll",
    "board": "Ansvarig nämnd",
    "contact_name": "Kontaktperson",
    "contact_email": "Kontaktpersonens e-post",
    "contact_phone": "Kontaktpersonens telefon",
    "decision_reference": "Beslutsparagraf",
    "decision_date": "Beslutsdatum",
    "status": "Status",
    "reason": "Skäl",
    "date": "Datum",
    "file": "Fil",
}

_LOAD_FOR_DISPLAY = (
    selectinload(Agreement.parties).selectinload(AgreementParty.municipality),
    selectinload(Agreement.owner),
)


# --- Computed dates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementDates:
    """The dates people act on, computed from the terms (see registry/dates.py for the rules).

    `current_end_date`: the end of the period running today, after automatic renewals; for a
    terminated agreement the end the notice takes effect at, for an expired one the end it reached.
    `last_notice_date`: the last day to give notice so that the agreement ends at `current_end_date`.
    `next_notice_date`: the first last-notice day that has not passed (the one still actionable) and
    `next_notice_end_date` the end it leads to. The last two are None once the agreement has ended or
    been terminated, for open-ended agreements and when no notice period is recorded.
    """

    current_end_date: dt.date | None
    last_notice_date: dt.date | None
    next_notice_date: dt.date | None = None
    next_notice_end_date: dt.date | None = None

    def notice_passed(self, today: dt.date) -> bool:
        return self.last_notice_date is not None and self.last_notice_date < today


def _end_after_termination(agreement, today: dt.date) -> dt.date | None:
    """Where notice given on `termination_date` ends the agreement: the end of the period in which
    notice was given in time (a late notice only takes effect at the following period end)."""
    given = agreement.termination_date
    end, renewal, notice = agreement.end_date, agreement.renewal_months, agreement.notice_months
    if given is None:
        return dates.current_end_date(end, renewal, today)
    if end is None:  # open-ended (tills vidare): the notice period runs from the notice
        return dates.add_months(given, notice or 0)
    period_end = dates.current_end_date(end, renewal, given)
    if renewal and notice is not None:
        while dates.last_notice_date(period_end, notice) < given:
            period_end = dates.current_end_date(end, renewal, period_end + dt.timedelta(days=1))
    return period_end


def agreement_dates(agreement, today: dt.date) -> AgreementDates:
    """Computed end and notice dates of an agreement (or of any row with the same attributes)."""
    end, renewal, notice = agreement.end_date, agreement.renewal_months, agreement.notice_months
    if agreement.status == AgreementStatus.TERMINATED:
        return AgreementDates(_end_after_termination(agreement, today), None)
    if agreement.status == AgreementStatus.EXPIRED:
        ends = dates.renewal_ends(end, renewal, today)
        return AgreementDates(ends[-1] if ends else end, None)
    current = dates.current_end_date(end, renewal, today)
    last_notice = dates.last_notice_date(current, notice)
    if last_notice is None or last_notice >= today:
        return AgreementDates(current, last_notice, last_notice, current if last_notice else None)
    if not renewal:
        return AgreementDates(current, last_notice)
    # The notice day of this period has passed, so the agreement renews: find the first later period
    # whose notice day is still ahead (more than one when the notice period exceeds the renewal period).
    candidate = current
    while True:
        candidate = dates.current_end_date(end, renewal, candidate + dt.timedelta(days=1))
        notice_day = dates.last_notice_date(candidate, notice)
        if notice_day >= today:
            return AgreementDates(current, last_notice, notice_day, candidate)


# --- Reading ------------------------------------------------------------------------------------


def _visible_to(user):
    """The scope of every query: agreements the user's municipality is a party to."""
    if user.municipality_id is None:
        return false()
    return Agreement.parties.any(AgreementParty.municipality_id == user.municipality_id)


def get_agreement_for(session: Session, user, agreement_id: int) -> Agreement:
    """The agreement, if the user's municipality is a party to it; otherwise AgreementNotFound (404)."""
    require(user, AGREEMENT_READ)
    agreement = session.scalar(
        select(Agreement).where(Agreement.id == agreement_id, _visible_to(user)).options(*_LOAD_FOR_DISPLAY)
    )
    if agreement is None:
        raise AgreementNotFound()
    return agreement


# Statuses the computed-date filters consider: drafts are not in force, ended agreements need no notice.
ENDING_STATUSES = frozenset(
    {AgreementStatus.ACTIVE, AgreementStatus.RENEGOTIATION, AgreementStatus.TERMINATED}
)
NOTICE_STATUSES = frozenset({AgreementStatus.ACTIVE, AgreementStatus.RENEGOTIATION})


def search_agreements(
    session: Session,
    user,
    q: str | None = None,
    area: Area | str | None = None,
    party_municipality_id: int | None = None,
    status: AgreementStatus | str | None = None,
    ends_within_days: int | None = None,
    notice_within_days: int | None = None,
    today: dt.date | None = None,
) -> Select:
    """A select() of the agreements the user may see, filtered, ordered by number.

    `ends_within_days`: the current period (or a terminated agreement) ends between today and today
    + N days. `notice_within_days`: the next last notice day of an active agreement, or one under
    renegotiation, falls in that window. Those dates are computed in Python over the scoped set
    (a municipality is party to few agreements) and turned into an id filter, so the result stays a
    select() that pages and counts correctly.
    """
    require(user, AGREEMENT_READ)
    stmt = select(Agreement).where(_visible_to(user))
    if q and q.strip():
        needle = q.strip().lower()
        stmt = stmt.where(
            func.lower(Agreement.number).contains(needle, autoescape=True)
            | func.lower(Agreement.title).contains(needle, autoescape=True)
        )
    if area:
        stmt = stmt.where(Agreement.area == Area(area))
    if status:
        stmt = stmt.where(Agreement.status == AgreementStatus(status))
    if party_municipality_id is not None:
        stmt = stmt.where(Agreement.parties.any(AgreementParty.municipality_id == party_municipality_id))
    if ends_within_days is not None or notice_within_days is not None:
        today = today or local_today()
        rows = session.execute(
            stmt.with_only_columns(
                Agreement.id,
                Agreement.status,
                Agreement.end_date,
                Agreement.renewal_months,
                Agreement.notice_months,
                Agreement.termination_date,
            )
        ).all()
        ids = []
        for row in rows:
            computed = agreement_dates(row, today)
            if ends_within_days is not None and not (
                row.status in ENDING_STATUSES and _within(computed.current_end_date, today, ends_within_days)
            ):
                continue
            if notice_within_days is not None and not (
                row.status in NOTICE_STATUSES
                and _within(computed.next_notice_date, today, notice_within_days)
            ):
                continue
            ids.append(row.id)
        stmt = stmt.where(Agreement.id.in_(ids))
    return stmt.options(*_LOAD_FOR_DISPLAY).order_by(swedish(Agreement.number), Agreement.id)


def _within(day: dt.date | None, today: dt.date, days: int) -> bool:
    return day is not None and today <= day <= today + dt.timedelta(days=days)


def party_municipality_choices(session: Session, user) -> list[Municipality]:
    """Municipalities that appear as parties in the agreements the user sees (for the list filter)."""
    require(user, AGREEMENT_READ)
    visible = select(Agreement.id).where(_visible_to(user))
    party_ids = select(AgreementParty.municipality_id).where(AgreementParty.agreement_id.in_(visible))
    return list(
        session.scalars(
            select(Municipality).where(Municipality.id.in_(party_ids)).order_by(swedish(Municipality.name))
        )
    )


def owner_choices(session: Session, municipality_ids: Iterable[int]) -> list[User]:
    """Active users of the given municipalities, who may be an agreement's owner (avtalsansvarig)."""
    ids = set(municipality_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(User)
            .join(User.municipality)
            .where(User.municipality_id.in_(ids), User.active.is_(True))
            .order_by(swedish(Municipality.name), swedish(User.name), User.id)
        )
    )


def ordered_parties(agreement: Agreement) -> list[AgreementParty]:
    """The host first, then the buyers in Swedish alphabetical order."""
    buyers = sorted(agreement.buyers, key=lambda party: swedish_sort_key(party.municipality.name))
    return ([agreement.host] if agreement.host is not None else []) + buyers


def allowed_transitions(agreement: Agreement) -> list[AgreementStatus]:
    """The statuses the agreement may move to next, in lifecycle order."""
    allowed = AGREEMENT_TRANSITIONS[agreement.status]
    return [status for status in AgreementStatus if status in allowed]


def can_edit(user, agreement: Agreement) -> bool:
    """May the user change the agreement (an administrator of one of its parties)?"""
    return can_any(user, AGREEMENT_EDIT, agreement.party_municipality_ids)


def _require_edit(user, agreement: Agreement) -> None:
    if user is not None:
        require_any(user, AGREEMENT_EDIT, agreement.party_municipality_ids)


# --- Validation shared by registering, editing and importing --------------------------------------


@dataclass
class _Party:
    values: dict
    municipality: Municipality

    @property
    def role(self) -> PartyRole:
        return self.values["role"]


def _check_parties(session: Session, parties: list[dict], errors: dict) -> list[_Party]:
    """Resolve the parties' municipalities and check the set: exactly one host, at least one buyer,
    no municipality twice. Errors go into `errors["parties"]`; returns [] when there are any."""
    ids = {p["municipality_id"] for p in parties if p.get("municipality_id") is not None}
    codes = {p["kommunkod"] for p in parties if p.get("kommunkod")}
    by_id = {m.id: m for m in session.scalars(select(Municipality).where(Municipality.id.in_(ids)))}
    by_code = {
        m.kommunkod: m for m in session.scalars(select(Municipality).where(Municipality.kommunkod.in_(codes)))
    }
    row_errors: dict[int, dict] = {}
    resolved: list[_Party] = []
    for index, party in enumerate(parties):
        if party.get("municipality_id") is not None:
            municipality = by_id.get(party["municipality_id"])
            if municipality is None:
                row_errors[index] = {"municipality_id": ["Kommunen finns inte."]}
        else:
            municipality = by_code.get(party["kommunkod"])
            if municipality is None:
                row_errors[index] = {
                    "kommunkod": [f"Det finns ingen kommun med kommunkod {party['kommunkod']}."]
                }
        if municipality is not None:
            resolved.append(_Party(party, municipality))
    if row_errors:
        errors["parties"] = row_errors
        return []

    messages = []
    hosts = [p.municipality.name for p in resolved if p.role == PartyRole.HOST]
    if not hosts:
        messages.append("Ange den utförande kommunen (värdkommunen).")
    elif len(hosts) > 1:
        messages.append(
            f"Ett avtal har exakt en utförande kommun (värdkommun), men {len(hosts)} är angivna: "
            f"{', '.join(hosts)}. Ange de övriga som köpare."
        )
    if not any(p.role == PartyRole.BUYER for p in resolved):
        messages.append("Ange minst en köpande kommun.")
    seen: set[int] = set()
    repeated: list[str] = []
    for party in resolved:
        if party.municipality.id in seen and party.municipality.name not in repeated:
            repeated.append(party.municipality.name)
        seen.add(party.municipality.id)
    if repeated:
        messages.append(
            f"{', '.join(repeated)} finns med mer än en gång. Varje kommun kan bara vara part en gång."
        )
    if messages:
        errors["parties"] = messages
        return []
    return resolved


def _check_terms(values: dict, errors: dict) -> None:
    """End after start; renewal needs an end. Skipped for fields that already have an error."""
    if "end_date" in errors:
        return
    start, end = values.get("start_date"), values.get("end_date")
    if start is not None and end is not None and end < start:
        errors["end_date"] = ["Slutdatumet kan inte vara före startdatumet."]
    if values.get("renewal_months") and end is None and "renewal_months" not in errors:
        errors["renewal_months"] = [
            "Automatisk förlängning kräver ett slutdatum. Ange slutdatum, eller lämna fältet tomt "
            "om avtalet gäller tills vidare."
        ]


def _load(schema, data: dict, partial: bool | tuple[str, ...] = False) -> tuple[dict, dict]:
    """Load with the schema; on field errors return what did load too, so that the checks which need
    several fields or the database still run and every problem is reported at once."""
    try:
        return schema.load(data, partial=partial), {}
    except ValidationError as exc:
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        return valid, dict(exc.messages) if isinstance(exc.messages, dict) else {"_schema": exc.messages}


def _check_number_free(session: Session, number: str, agreement_id: int | None, errors: dict) -> None:
    """Agreement numbers are unique regardless of case (GR-JAV-2024 and gr-jav-2024 are one number)."""
    stmt = select(Agreement.number).where(func.lower(Agreement.number) == number.lower())
    if agreement_id is not None:
        stmt = stmt.where(Agreement.id != agreement_id)
    if session.scalar(stmt) is not None:
        errors["number"] = [f"Avtalsnumret {number} används redan av ett annat avtal. Välj ett annat nummer."]


def _check_owner(session: Session, owner_id: int | None, party_ids: set[int], errors: dict) -> None:
    if owner_id is None:
        return
    owner = session.get(User, owner_id)
    if owner is None or not owner.active or owner.municipality_id not in party_ids:
        errors["owner_id"] = ["Avtalsansvarig ska vara en aktiv användare i en av avtalets parter."]


def _own_municipality_message(user, editing: bool) -> str:
    name = user.municipality.name if user.municipality else "Din kommun"
    if editing:
        return (
            f"{name} måste vara kvar som part i avtalet. Om din kommun togs bort skulle ni förlora "
            "åtkomsten till avtalet; be en annan parts administratör göra ändringen."
        )
    return (
        f"{name} måste vara part i avtalet, som utförare eller köpare: du kan bara registrera avtal "
        "som din egen kommun deltar i."
    )


@dataclass
class _NewAgreement:
    values: dict
    parties: list[_Party]
    owner_id: int | None


def _validate_new(session: Session, user, data: dict, absent: tuple[str, ...] = ()) -> _NewAgreement:
    """Every check of a new agreement, all errors at once (ValidationFailed), nothing written.

    `absent`: required fields the caller has already reported as wrong and left out of `data`, so
    the remaining checks still run (the import reports every problem of a row at once).
    """
    values, errors = _load(AgreementCreateSchema(), data, partial=absent or False)
    parties = []
    if "parties" in values and "parties" not in errors:
        parties = _check_parties(session, values["parties"], errors)
    party_ids = {p.municipality.id for p in parties}
    if user is not None and parties and user.municipality_id not in party_ids:
        errors["parties"] = [_own_municipality_message(user, editing=False)]
    _check_terms(values, errors)
    if "number" in values and "number" not in errors:
        _check_number_free(session, values["number"], None, errors)
    if "owner_id" in values:
        owner_id = values["owner_id"]
    elif "owner_id" in data:
        owner_id = None  # given but not valid: already in `errors`
    else:
        owner_id = user.id if user is not None else None  # the registering user by default
    if parties and "owner_id" not in errors:
        _check_owner(session, owner_id, party_ids, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    return _NewAgreement(values, parties, owner_id)


def _create(session: Session, new: _NewAgreement) -> Agreement:
    agreement = Agreement(
        status=AgreementStatus.DRAFT,
        owner_id=new.owner_id,
        **{name: new.values.get(name) for name in SCALAR_FIELDS},
    )
    agreement.parties = [
        AgreementParty(
            municipality=party.municipality,
            role=party.role,
            **{name: party.values.get(name) for name in PARTY_FIELDS},
        )
        for party in new.parties
    ]
    session.add(agreement)
    session.flush()
    return agreement


# --- Writing ------------------------------------------------------------------------------------


def register_agreement(session: Session, user, data: dict) -> Agreement:
    """Register a new agreement as a draft, with its parties.

    The user must be an administrator of a municipality that is a party (normally as host or
    buyer). The owner defaults to the registering user.
    """
    if user is not None:
        require(user, AGREEMENT_EDIT)
    return _create(session, _validate_new(session, user, data))


def update_agreement(session: Session, user, agreement: Agreement, data: dict) -> Agreement:
    """Change an agreement's fields and, when `data` has "parties", replace its parties.

    Absent fields are left as they are. The status is changed only by `transition_agreement`.
    """
    _require_edit(user, agreement)
    values, errors = _load(AgreementUpdateSchema(), data, partial=True)
    merged = {name: values[name] if name in values else getattr(agreement, name) for name in SCALAR_FIELDS}
    parties: list[_Party] | None = None
    if "parties" in values and "parties" not in errors:
        parties = _check_parties(session, values["parties"], errors)
        if user is not None and parties and user.municipality_id not in {p.municipality.id for p in parties}:
            errors["parties"] = [_own_municipality_message(user, editing=True)]
    party_ids = {p.municipality.id for p in parties} if parties else agreement.party_municipality_ids
    _check_terms(merged, errors)
    if "number" in values and "number" not in errors:
        _check_number_free(session, values["number"], agreement.id, errors)
    owner_id = values["owner_id"] if "owner_id" in values else agreement.owner_id
    if "owner_id" in errors:
        pass  # not a valid id: already reported
    elif owner_id != agreement.owner_id:
        _check_owner(session, owner_id, party_ids, errors)
    elif parties and agreement.owner is not None and agreement.owner.municipality_id not in party_ids:
        errors["owner_id"] = [
            f"Avtalsansvarig {agreement.owner.name} hör till en kommun som inte längre är part. "
            "Välj en ny avtalsansvarig."
        ]
    if errors:
        raise ValidationFailed(errors=errors)

    for name in SCALAR_FIELDS:
        if name in values:
            setattr(agreement, name, values[name])
    agreement.owner_id = owner_id
    if parties:
        _replace_parties(session, agreement, parties)
    session.flush()
    return agreement


def set_agreement_parties(session: Session, user, agreement: Agreement, parties: list[dict]) -> Agreement:
    """Replace the parties (host and buyers with their nämnd, contact and decision) as one set."""
    return update_agreement(session, user, agreement, {"parties": parties})


def _replace_parties(session: Session, agreement: Agreement, parties: list[_Party]) -> None:
    """Update existing party rows in place (their history stays in the audit log), add new ones and
    remove the rest. Order matters for the unique indexes (one host per agreement, one row per
    municipality), which hold after every statement on PostgreSQL: removals first, then the old
    host steps down, then the new rows and roles."""
    current = {party.municipality_id: party for party in agreement.parties}
    wanted = {party.municipality.id: party for party in parties}
    for municipality_id, row in current.items():
        if municipality_id not in wanted:
            agreement.parties.remove(row)
    session.flush()
    for municipality_id, row in current.items():
        if (
            municipality_id in wanted
            and row.role == PartyRole.HOST
            and wanted[municipality_id].role != PartyRole.HOST
        ):
            row.role = PartyRole.BUYER
    session.flush()
    for party in parties:
        row = current.get(party.municipality.id)
        if row is None:
            row = AgreementParty(municipality=party.municipality, role=party.role)
            agreement.parties.append(row)
        row.role = party.role
        for name in PARTY_FIELDS:
            setattr(row, name, party.values.get(name))
    session.flush()


def transition_agreement(
    session: Session,
    user,
    agreement: Agreement,
    target: AgreementStatus | str,
    reason: str | None = None,
    on: dt.date | str | None = None,
) -> Agreement:
    """The one way to change an agreement's status, following AGREEMENT_TRANSITIONS.

    An illegal move raises IllegalTransition (409). Termination needs its reason and the day notice
    was given; reason and date belong to termination only. A draft becomes active only with a host
    and at least one buyer.
    """
    _require_edit(user, agreement)
    values = load_or_raise(AgreementTransitionSchema(), {"status": target, "reason": reason, "date": on})
    target, reason, on = values["status"], values.get("reason"), values.get("date")
    current = agreement.status
    if target not in AGREEMENT_TRANSITIONS[current]:
        raise IllegalTransition(
            "Avtalet",
            AGREEMENT_STATUS_LABELS[current],
            AGREEMENT_STATUS_LABELS[target],
            [AGREEMENT_STATUS_LABELS[s] for s in allowed_transitions(agreement)],
        )
    errors: dict = {}
    if target == AgreementStatus.TERMINATED:
        if not reason:
            errors["reason"] = ["Ange skälet till uppsägningen."]
        if on is None:
            errors["date"] = ["Ange dagen då uppsägningen gjordes."]
        elif on < agreement.start_date:
            errors["date"] = [
                f"Uppsägningen kan inte vara gjord före avtalets startdatum {agreement.start_date.isoformat()}."
            ]
    else:
        if reason:
            errors["reason"] = ["Skäl anges bara när avtalet sägs upp."]
        if on is not None:
            errors["date"] = ["Datum anges bara när avtalet sägs upp."]
    if target == AgreementStatus.ACTIVE and current == AgreementStatus.DRAFT:
        if agreement.host is None or not agreement.buyers:
            errors["parties"] = [
                "Avtalet kan bli gällande först när det har en utförande kommun och minst en köpare."
            ]
    if errors:
        raise ValidationFailed(errors=errors)
    agreement.status = target
    if target == AgreementStatus.TERMINATED:
        agreement.termination_reason = reason
        agreement.termination_date = on
    session.flush()
    return agreement


# --- Attachments --------------------------------------------------------------------------------

DEFAULT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = {
    "pdf": ("application/pdf", "PDF"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word (DOCX)"),
    "odt": ("application/vnd.oasis.opendocument.text", "OpenDocument-text (ODT)"),
}
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
# Entries read while sniffing are small; a larger one is not a real document (or is a zip bomb).
_MAX_SNIFFED_ENTRY = 1024 * 1024


def max_attachment_bytes() -> int:
    return int(current_app.config.get("REGISTRY_ATTACHMENT_MAX_BYTES", DEFAULT_ATTACHMENT_MAX_BYTES))


def detect_document_type(content: bytes) -> str | None:
    """'pdf', 'docx' or 'odt' judged by the bytes alone, or None.

    PDF: starts with %PDF-. DOCX: a zip with [Content_Types].xml and word/document.xml, not
    macro-enabled. ODT: a zip whose `mimetype` entry is the OpenDocument text type.
    """
    if content.startswith(b"%PDF-"):
        return "pdf"
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size <= 200 and archive.read(info).strip() == ODT_MIMETYPE:
                    return "odt"
                return None
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                info = archive.getinfo("[Content_Types].xml")
                if info.file_size > _MAX_SNIFFED_ENTRY or b"macroEnabled" in archive.read(info):
                    return None
                return "docx"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, OSError, EOFError, ValueError):
        return None
    return None


def clean_filename(name: str | None) -> str:
    """The file's own name without any path, control characters or characters that are unsafe in
    a file name or a Content-Disposition header; at most 255 characters, extension kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'[<>:"|?*;]', "_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        if dot and len(extension) <= 10:
            name = stem[: 254 - len(extension)] + "." + extension
        else:
            name = name[:255]
    return name


def format_size(size: int) -> str:
    """Bytes in Swedish: 512 byte, 12 kB, 3,4 MB."""
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size / 1024 / 1024:.1f}".replace(".", ",").removesuffix(",0") + " MB"


def add_attachment(
    session: Session,
    user,
    agreement: Agreement,
    filename: str | None,
    content: bytes,
    description: str | None = None,
) -> AgreementAttachment:
    """Store a PDF, DOCX or ODT file with the agreement, with its sha256 (administrators of a party).

    Attachments may be added in every status (a termination letter belongs to a terminated agreement).
    The checks are store_attachment's.
    """
    _require_edit(user, agreement)
    uploaded_by_id = user.id if user is not None else None
    return store_attachment(session, agreement, filename, content, description, uploaded_by_id=uploaded_by_id)


def store_attachment(
    session: Session,
    agreement: Agreement,
    filename: str | None,
    content: bytes,
    description: str | None = None,
    *,
    uploaded_by_id: int | None = None,
) -> AgreementAttachment:
    """Check and store a file with the agreement, with its sha256. No permission check: the caller has
    made its own (add_attachment here; contracts' documents for signed scans and appendices).

    The type is judged by the content, and the file name's extension must agree with it: a PDF
    named .odt, a zip named .pdf and a program renamed .pdf are all refused. Empty files and files
    over REGISTRY_ATTACHMENT_MAX_BYTES are refused, and so are file names with a personal identity
    number.
    """
    values = load_or_raise(AgreementAttachmentFormSchema(), {"description": description})
    name = clean_filename(filename)
    limit = max_attachment_bytes()
    shown = name or "Filen"
    problems = []
    if not content:
        problems.append(f"{shown} är tom (0 byte). Kontrollera att du valt rätt fil.")
    elif len(content) > limit:
        problems.append(f"{shown} är för stor. Högsta tillåtna storlek är {format_size(limit)}.")
    else:
        kind = detect_document_type(content)
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        if not name:
            problems.append("Filen saknar namn. Ge den ett namn som slutar på .pdf, .docx eller .odt.")
        elif kind is None:
            problems.append(
                f"{shown} är inte en PDF-, DOCX- eller ODT-fil. Filtypen avgörs av innehållet, inte av "
                "filnamnet; spara dokumentet som PDF och försök igen."
            )
        elif extension != kind:
            problems.append(
                f"Filnamnet {shown} stämmer inte med innehållet, som är {DOCUMENT_TYPES[kind][1]}. "
                f"Ge filen ändelsen .{kind} och försök igen."
            )
    try:
        check_no_personal_number(name)
    except ValidationError as exc:
        problems.extend(exc.messages)
    if problems:
        raise AttachmentRejected(errors={"file": problems})
    attachment = AgreementAttachment(
        agreement=agreement,
        filename=name,
        media_type=DOCUMENT_TYPES[kind][0],
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        description=values.get("description"),
        uploaded_by_id=uploaded_by_id,
    )
    session.add(attachment)
    session.flush()
    return attachment


def get_attachment(session: Session, user, agreement_id: int, attachment_id: int) -> AgreementAttachment:
    """An attachment of an agreement the user's municipality is party to; 404 otherwise."""
    agreement = get_agreement_for(session, user, agreement_id)
    attachment = session.scalar(
        select(AgreementAttachment).where(
            AgreementAttachment.id == attachment_id, AgreementAttachment.agreement_id == agreement.id
        )
    )
    if attachment is None:
        raise NotFound("Bilagan finns inte.")
    return attachment


def remove_attachment(session: Session, user, attachment: AgreementAttachment) -> None:
    """Attachments are evidence: they may be removed only while the agreement is a draft."""
    agreement = attachment.agreement
    _require_edit(user, agreement)
    if agreement.status != AgreementStatus.DRAFT:
        raise Conflict(
            "Bilagan kan inte tas bort: bilagor är underlag och får bara tas bort medan avtalet är ett "
            "utkast. Ladda upp en ny version i stället och beskriv vad den ersätter."
        )
    agreement.attachments.remove(attachment)
    session.flush()


# --- CSV import ---------------------------------------------------------------------------------

IMPORT_COLUMNS = {
    "number": ("avtalsnummer", "nummer", "number"),
    "title": ("titel", "benämning", "title"),
    "area": ("område", "omrade", "verksamhetsområde", "area"),
    "cooperation_form": ("samverkansform", "cooperation form"),
    "legal_basis": ("rättslig grund", "rattslig grund", "lagrum", "legal basis"),
    "description": ("beskrivning", "description"),
    "start_date": ("startdatum", "start", "start date"),
    "end_date": ("slutdatum", "slut", "end", "end date"),
    "renewal_months": (
        "förlängning månader",
        "förlängning",
        "automatisk förlängning",
        "automatisk förlängning månader",
        "tyst förlängning",
        "tyst förlängning månader",
        "renewal months",
    ),
    "notice_months": ("uppsägningstid månader", "uppsägningstid", "notice months"),
    "host": ("utförare", "utförare kommunkod", "värdkommun", "host", "host kommunkod"),
    "buyers": ("köpare", "köpare kommunkoder", "köpande kommuner", "buyers", "buyer kommunkoder"),
    "host_board": ("utförarens nämnd", "utförare nämnd", "host board"),
    "status": ("status",),
    "owner": ("avtalsansvarig", "ansvarig", "owner"),
}
IMPORT_COLUMN_NAMES = {key: aliases[0] for key, aliases in IMPORT_COLUMNS.items()}
REQUIRED_IMPORT_COLUMNS = (
    "number",
    "title",
    "area",
    "cooperation_form",
    "legal_basis",
    "start_date",
    "host",
    "buyers",
)
IMPORT_EXAMPLE_HEADER = (
    "avtalsnummer;titel;område;samverkansform;rättslig grund;startdatum;slutdatum;"
    "förlängning månader;uppsägningstid månader;utförare;köpare"
)
_IMPORT_STATUSES = {
    "utkast": AgreementStatus.DRAFT,
    "draft": AgreementStatus.DRAFT,
    "gällande": AgreementStatus.ACTIVE,
    "active": AgreementStatus.ACTIVE,
    "aktiv": AgreementStatus.ACTIVE,
    "under omförhandling": AgreementStatus.RENEGOTIATION,
    "under renegotiation": AgreementStatus.RENEGOTIATION,
    "omförhandling": AgreementStatus.RENEGOTIATION,
    "upphört": AgreementStatus.EXPIRED,
    "expired": AgreementStatus.EXPIRED,
}
# The lifecycle path from draft, through the one transition function, to an imported status.
_IMPORT_PATHS = {
    AgreementStatus.DRAFT: (),
    AgreementStatus.ACTIVE: (AgreementStatus.ACTIVE,),
    AgreementStatus.RENEGOTIATION: (AgreementStatus.ACTIVE, AgreementStatus.RENEGOTIATION),
    AgreementStatus.EXPIRED: (AgreementStatus.ACTIVE, AgreementStatus.EXPIRED),
}


@dataclass
class AgreementImportResult:
    rows: int = 0
    created: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _header_key(header: str) -> str:
    text = header.lstrip("\ufeff").strip().lower()
    return re.sub(r"[^\wåäöéü]+", " ", text).replace("_", " ").strip()


_COLUMN_BY_ALIAS = {alias: key for key, aliases in IMPORT_COLUMNS.items() for alias in aliases}


def _choice(enum_cls, labels: dict, text: str):
    wanted = text.strip().lower()
    for member in enum_cls:
        if wanted in (member.value, labels[member].lower()):
            return member
    return None


def _kommunkod(text: str) -> str:
    code = text.strip()
    return "0" + code if code.isdigit() and len(code) == 3 else code  # Excel drops Stockholm's 0


def _describe_errors(errors: dict, parties: list[dict]) -> list[str]:
    """Swedish one-line descriptions of a ValidationFailed's errors, for the import report."""
    problems = []
    for key, messages in errors.items():
        if key == "parties" and isinstance(messages, dict):
            for index, party_errors in messages.items():
                party = parties[int(index)] if int(index) < len(parties) else {}
                who = "utförare" if party.get("role") == PartyRole.HOST.value else "köpare"
                code = party.get("kommunkod") or ""
                for field_name, field_messages in party_errors.items():
                    label = FIELD_LABELS.get(field_name, field_name).lower()
                    problems.append(f"{who} {code}: {label}: {' '.join(field_messages)}")
            continue
        label = FIELD_LABELS.get(key, key)
        text = " ".join(messages) if isinstance(messages, list) else str(messages)
        problems.append(f"{label}: {text}")
    return problems


def import_agreements_csv(
    session: Session, data: bytes, default_owner_email: str | None = None
) -> AgreementImportResult:
    """Import agreements from CSV (the command line: no acting user, every municipality).

    All rows are checked first with the same rules as the form; if any row is wrong nothing is
    written and every error is reported with its line number, in Swedish. An agreement number that
    already exists (or appears twice in the file) is an error for that row. Rows become drafts, or
    move through the lifecycle to the status in the optional status column.
    """
    result = AgreementImportResult()
    try:
        text = decode_csv_bytes(data) if data else ""
    except UnicodeDecodeError:
        result.errors.append((0, UNREADABLE_CSV))
        return result
    if not text.strip():
        result.errors.append((0, "Filen är tom."))
        return result
    delimiter = sniff_delimiter(text.splitlines()[0])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, [])
    columns = [_COLUMN_BY_ALIAS.get(_header_key(h)) for h in header]
    unknown = [h.strip() for h, c in zip(header, columns, strict=True) if c is None and h.strip()]
    missing = [IMPORT_COLUMN_NAMES[c] for c in REQUIRED_IMPORT_COLUMNS if c not in columns]
    header_problems = []
    if missing:
        header_problems.append("rubrikraden saknar kolumn: " + ", ".join(missing))
    if unknown:
        header_problems.append("okänd kolumn: " + ", ".join(unknown))
    if header_problems:
        message = "; ".join(header_problems)
        result.errors.append(
            (1, f"{message[:1].upper()}{message[1:]}. Första raden ska vara t.ex. {IMPORT_EXAMPLE_HEADER}.")
        )
        return result

    default_owner = None
    if default_owner_email:
        default_owner = session.scalar(select(User).where(User.email == default_owner_email.strip().lower()))
        if default_owner is None:
            result.errors.append((0, f"Det finns ingen användare med e-postadressen {default_owner_email}."))
            return result

    accepted: list[tuple[_NewAgreement, AgreementStatus]] = []
    seen_numbers: dict[str, int] = {}
    for line_no, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        result.rows += 1
        if len(raw) > len(columns):
            result.errors.append((line_no, f"Raden har {len(raw)} fält men rubrikraden {len(columns)}."))
            continue
        row = {col: raw[i].strip() for i, col in enumerate(columns) if col and i < len(raw)}
        problems, new, status = _import_row(session, row, default_owner)
        number = row.get("number", "")
        if number:
            previous = seen_numbers.get(number.lower())
            if previous is not None:
                problems.append(f"avtalsnummer {number} finns redan på rad {previous}")
            else:
                seen_numbers[number.lower()] = line_no
        if problems:
            message = "; ".join(problem.rstrip(".") for problem in problems)
            result.errors.append((line_no, message[:1].upper() + message[1:] + "."))
        elif new is not None:
            accepted.append((new, status))
    if result.rows == 0 and not result.errors:
        result.errors.append((0, "Filen innehåller inga avtal, bara en rubrikrad."))
    if result.errors:
        return result

    for new, status in accepted:
        agreement = _create(session, new)
        for step in _IMPORT_PATHS[status]:
            transition_agreement(session, None, agreement, step)
        result.created.append(agreement.number)
    return result


def _import_row(
    session: Session, row: dict[str, str], default_owner: User | None
) -> tuple[list[str], _NewAgreement | None, AgreementStatus]:
    problems: list[str] = []
    area = _choice(Area, AREA_LABELS, row["area"]) if row.get("area") else None
    if row.get("area") and area is None:
        problems.append(f"okänt område '{row['area']}' (ett av: {', '.join(AREA_LABELS.values())})")
    form = (
        _choice(CooperationForm, COOPERATION_FORM_LABELS, row["cooperation_form"])
        if row.get("cooperation_form")
        else None
    )
    if row.get("cooperation_form") and form is None:
        problems.append(
            f"okänd samverkansform '{row['cooperation_form']}' "
            f"(en av: {', '.join(COOPERATION_FORM_LABELS.values())})"
        )
    status = AgreementStatus.DRAFT
    if row.get("status"):
        wanted = row["status"].strip().lower()
        if wanted in ("uppsagt", "terminated"):
            problems.append(
                "uppsagda avtal läses inte in: registrera avtalet och säg upp det på avtalets sida, "
                "med skäl och datum"
            )
        elif wanted not in _IMPORT_STATUSES:
            problems.append(
                f"okänd status '{row['status']}' (Utkast, Gällande, Under omförhandling eller Upphört)"
            )
        else:
            status = _IMPORT_STATUSES[wanted]
    dates_given = {}
    for key in ("start_date", "end_date"):
        if row.get(key):
            try:
                dates_given[key] = dt.date.fromisoformat(row[key])
            except ValueError:
                problems.append(f"ogiltigt {FIELD_LABELS[key].lower()} '{row[key]}' (ange ÅÅÅÅ-MM-DD)")
                dates_given[key] = None
    owner_id = default_owner.id if default_owner is not None else None
    if row.get("owner"):
        owner = session.scalar(select(User).where(User.email == row["owner"].lower()))
        if owner is None:
            problems.append(f"okänd avtalsansvarig '{row['owner']}' (ange användarens e-postadress)")
        else:
            owner_id = owner.id
    parties = []
    if row.get("host"):
        parties.append(
            {
                "kommunkod": _kommunkod(row["host"]),
                "role": PartyRole.HOST.value,
                "board": row.get("host_board") or None,
            }
        )
    buyer_codes = [code for code in (c.strip() for c in row.get("buyers", "").split("|")) if code]
    parties += [{"kommunkod": _kommunkod(code), "role": PartyRole.BUYER.value} for code in buyer_codes]

    data = {
        "number": row.get("number") or None,
        "title": row.get("title") or None,
        "area": area.value if area else None,
        "cooperation_form": form.value if form else None,
        "legal_basis": row.get("legal_basis") or None,
        "description": row.get("description") or None,
        "start_date": dates_given.get("start_date"),
        "end_date": dates_given.get("end_date"),
        "renewal_months": row.get("renewal_months") or None,
        "notice_months": row.get("notice_months") or None,
        "owner_id": owner_id,
        "parties": parties,
    }
    # Values already reported above (unreadable dates, unknown choices) are left out rather than
    # reported twice, and the other checks still run.
    absent = tuple(
        key
        for key in ("area", "cooperation_form", "start_date", "end_date")
        if row.get(key) and data[key] is None
    )
    if not row.get("host"):
        problems.append("utförare saknas (ange kommunkoden, t.ex. 1480)")
    if not buyer_codes:
        problems.append("köpare saknas (ange kommunkoder, flera åtskilda med |, t.ex. 1401|1441)")
    try:
        new = _validate_new(session, None, {k: v for k, v in data.items() if k not in absent}, absent)
    except ValidationFailed as exc:
        errors = exc.errors
        if (not row.get("host") or not buyer_codes) and isinstance(errors.get("parties"), list):
            # "One host, at least one buyer" is already said; an unknown kommunkod is still reported.
            errors = {key: value for key, value in errors.items() if key != "parties"}
        problems += [p[:1].lower() + p[1:] for p in _describe_errors(errors, parties)]
        return problems, None, status
    return problems, (None if problems else new), status
