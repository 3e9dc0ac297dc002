"""Performed services: register, change, delete, attest and list what a municipality performed for the
buyers of its agreements (docs/billing.md, "Performed services").

Rules (the same for the form, the API and the CSV import, which all end in `check_service`):
- the performing municipality is the agreement's host and must be the user's municipality; the buyer
  is a buyer of the agreement;
- the service type code is one of the contract version in force on the service's date
  (`contracts.versions.version_in_force`); its unit is the service's unit (defaulted from it); a code
  priced per case needs a case type of that version's per-case price list;
- quantity > 0 with at most two decimals (schemas); a note never holds a personal identity number;
- a case transfer must be the agreement's and requested by the buyer; a shared role the agreement's;
- only the performing side changes or deletes a service, and only while it is not billed (a
  BilledService row exists -> ServiceLocked, 409); a change removes an attest;
- finance of the performing municipality attests (who and when), and may take an attest back while the
  service is not billed.

A user sees the services their municipality performed or bought (in SQL); anything else is 404.
Functions add and flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from marshmallow import ValidationError
from sqlalchemy import Select, exists, false, func, or_, select
from sqlalchemy.orm import Session, object_session, selectinload

from billing.errors import ServiceLocked, ServiceNotFound
from billing.models import (
    INVOICE_STATUS_LABELS,
    BilledService,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    PerformedService,
)
from billing.permissions import SERVICE_ATTEST, SERVICE_EDIT, SERVICE_READ
from billing.services.schemas import PerformedServiceInputSchema, PerformedServiceUpdateSchema
from contracts.models import (
    SERVICE_UNIT_LABELS,
    CompensationModel,
    ContractServiceType,
    ContractVersion,
    ServiceUnit,
)
from contracts.versions import ends_before, version_in_force
from core import formatting
from core.db import swedish_sort_key, utcnow
from core.errors import PermissionDenied, ValidationFailed
from core.models import Municipality
from core.permissions import require
from registry.models import Agreement, AgreementParty, AgreementStatus, CaseTransfer, PartyRole, SharedRole

FIELD_LABELS = {
    "agreement_id": "Avtal",
    "service_date": "Datum",
    "buying_municipality_id": "Köpare",
    "service_type_code": "Tjänstetyp",
    "case_type": "Ärendetyp",
    "quantity": "Antal",
    "unit": "Enhet",
    "case_transfer_id": "Ärende",
    "shared_role_id": "Gemensam tjänst",
    "note": "Anteckning",
}

# What the form, the API and the import give (the input schema's fields), in the model's terms.
INPUT_FIELDS = tuple(PerformedServiceInputSchema().fields)

SERVICE_LOAD = (
    selectinload(PerformedService.agreement),
    selectinload(PerformedService.performing_municipality),
    selectinload(PerformedService.buying_municipality),
    selectinload(PerformedService.case_transfer),
    selectinload(PerformedService.shared_role),
    selectinload(PerformedService.registered_by),
    selectinload(PerformedService.attested_by),
)


def local_today() -> dt.date:
    return formatting.local_today()


# --- Reading ------------------------------------------------------------------------------------


def visible_to(user):
    """The scope of every query: services the user's municipality performed or bought."""
    if user.municipality_id is None:
        return false()
    return or_(
        PerformedService.performing_municipality_id == user.municipality_id,
        PerformedService.buying_municipality_id == user.municipality_id,
    )


def _billed():
    return exists().where(BilledService.performed_service_id == PerformedService.id)


def _conditions(
    user,
    agreement_id: int | None = None,
    buying_municipality_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    state: str | None = None,
    side: str | None = None,
) -> list:
    conditions = [visible_to(user)]
    if agreement_id is not None:
        conditions.append(PerformedService.agreement_id == agreement_id)
    if buying_municipality_id is not None:
        conditions.append(PerformedService.buying_municipality_id == buying_municipality_id)
    if date_from is not None:
        conditions.append(PerformedService.service_date >= date_from)
    if date_to is not None:
        conditions.append(PerformedService.service_date <= date_to)
    if state == "unattested":
        conditions.append(PerformedService.attested_at.is_(None))
    elif state == "attested":
        conditions += [PerformedService.attested_at.is_not(None), ~_billed()]
    elif state == "billed":
        conditions.append(_billed())
    if side == "performed":
        conditions.append(PerformedService.performing_municipality_id == user.municipality_id)
    elif side == "bought":
        conditions.append(PerformedService.buying_municipality_id == user.municipality_id)
    return conditions


def search_services(session: Session, user, **filters) -> Select:
    """A select() of the services the user may see, filtered, newest first. Filters: agreement_id,
    buying_municipality_id, date_from, date_to (inclusive), state (unattested, attested = attested and
    not billed, billed), side (performed, bought)."""
    require(user, SERVICE_READ)
    return (
        select(PerformedService)
        .where(*_conditions(user, **filters))
        .options(*SERVICE_LOAD)
        .order_by(PerformedService.service_date.desc(), PerformedService.id.desc())
    )


@dataclass(frozen=True)
class UnitTotal:
    unit: ServiceUnit
    count: int
    quantity: Decimal

    @property
    def unit_label(self) -> str:
        return SERVICE_UNIT_LABELS[self.unit]


def totals_by_unit(session: Session, user, **filters) -> list[UnitTotal]:
    """Number of services and summed quantity per unit over the same filtered set (computed in SQL)."""
    require(user, SERVICE_READ)
    rows = session.execute(
        select(PerformedService.unit, func.count(), func.sum(PerformedService.quantity))
        .where(*_conditions(user, **filters))
        .group_by(PerformedService.unit)
    ).all()
    order = list(ServiceUnit)
    totals = [UnitTotal(ServiceUnit(unit), count, Decimal(total or 0)) for unit, count, total in rows]
    return sorted(totals, key=lambda t: order.index(t.unit))


def get_service(session: Session, user, service_id: int) -> PerformedService:
    """The service, if the user's municipality performed or bought it; otherwise ServiceNotFound (404)."""
    require(user, SERVICE_READ)
    service = session.scalar(
        select(PerformedService)
        .where(PerformedService.id == service_id, visible_to(user))
        .options(*SERVICE_LOAD, selectinload(PerformedService.service_import))
    )
    if service is None:
        raise ServiceNotFound()
    return service


@dataclass(frozen=True)
class BillingInfo:
    """Where a service is billed: the invoice line and its invoice (the invoicing part owns those)."""

    invoice_id: int
    invoice_line_id: int
    invoice_status: str
    invoice_number: str | None

    @property
    def invoice_status_label(self) -> str:
        return INVOICE_STATUS_LABELS[self.invoice_status]


def _billing_rows(session: Session, service_ids: Iterable[int]) -> dict[int, BillingInfo]:
    ids = list(service_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(
            BilledService.performed_service_id,
            InvoiceLine.id,
            Invoice.id,
            Invoice.status,
            Invoice.number,
            InvoiceSeries.code,
        )
        .join(InvoiceLine, InvoiceLine.id == BilledService.invoice_line_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .outerjoin(InvoiceSeries, InvoiceSeries.id == Invoice.series_id)
        .where(BilledService.performed_service_id.in_(ids))
    ).all()
    return {
        service_id: BillingInfo(
            invoice_id=invoice_id,
            invoice_line_id=line_id,
            invoice_status=status,
            invoice_number=f"{code or ''}{number}" if number is not None else None,
        )
        for service_id, line_id, invoice_id, status, number, code in rows
    }


def annotate_billing(session: Session, services: Iterable[PerformedService]) -> None:
    """Read where a page of services is billed in one query (billing_info then asks no more)."""
    services = list(services)
    found = _billing_rows(session, (s.id for s in services))
    for service in services:
        service._billing_info = found.get(service.id)


def billing_info(service: PerformedService) -> BillingInfo | None:
    if "_billing_info" not in service.__dict__:
        annotate_billing(object_session(service), [service])
    return service.__dict__["_billing_info"]


def is_billed(session: Session, service: PerformedService) -> bool:
    """Asked of the database every time (never a cached answer): a run may have billed it since."""
    found = session.scalar(
        select(BilledService.performed_service_id).where(BilledService.performed_service_id == service.id)
    )
    return found is not None


def list_imports(session: Session, user) -> Select:
    """The user's municipality's imports, newest first."""
    from billing.models import ServiceImport

    require(user, SERVICE_READ)
    return (
        select(ServiceImport)
        .where(ServiceImport.municipality_id == (user.municipality_id or -1))
        .options(selectinload(ServiceImport.imported_by))
        .order_by(ServiceImport.imported_at.desc(), ServiceImport.id.desc())
    )


# --- The rules ------------------------------------------------------------------------------------


class Lookups:
    """What the rules read from the database, cached: an import checks thousands of rows against a few
    agreements, versions, case transfers and shared roles."""

    def __init__(self, session: Session, user):
        self.session = session
        self.user = user
        self._agreements: dict = {}
        self._agreements_by_number: dict = {}
        self._versions: dict = {}
        self._transfers: dict = {}
        self._transfers_by_reference: dict = {}
        self._roles: dict = {}
        self._municipalities: dict | None = None

    def _agreement_query(self):
        return (
            select(Agreement)
            .where(Agreement.parties.any(AgreementParty.municipality_id == (self.user.municipality_id or -1)))
            .options(selectinload(Agreement.parties).selectinload(AgreementParty.municipality))
        )

    def agreement(self, agreement_id: int) -> Agreement | None:
        """The agreement if the user's municipality is a party to it."""
        if agreement_id not in self._agreements:
            self._agreements[agreement_id] = self.session.scalar(
                self._agreement_query().where(Agreement.id == agreement_id)
            )
        return self._agreements[agreement_id]

    def agreement_by_number(self, number: str) -> Agreement | None:
        key = number.strip().casefold()
        if key not in self._agreements_by_number:
            agreement = self.session.scalar(
                self._agreement_query().where(func.lower(Agreement.number) == number.strip().lower())
            )
            self._agreements_by_number[key] = agreement
            if agreement is not None:
                self._agreements[agreement.id] = agreement
        return self._agreements_by_number[key]

    def version(self, agreement_id: int, day: dt.date) -> ContractVersion | None:
        key = (agreement_id, day)
        if key not in self._versions:
            # Not eager-loaded per date: a version's terms are lazy-loaded once per version (the identity
            # map keeps them), so a file of many dates costs one small query per date.
            self._versions[key] = version_in_force(self.session, agreement_id, day, load=False)
        return self._versions[key]

    def transfer(self, transfer_id: int) -> CaseTransfer | None:
        if transfer_id not in self._transfers:
            self._transfers[transfer_id] = self.session.get(CaseTransfer, transfer_id)
        return self._transfers[transfer_id]

    def transfer_by_reference(self, reference: str) -> CaseTransfer | None:
        key = reference.strip().upper()
        if key not in self._transfers_by_reference:
            transfer = self.session.scalar(
                select(CaseTransfer).where(func.upper(CaseTransfer.reference) == key)
            )
            self._transfers_by_reference[key] = transfer
        return self._transfers_by_reference[key]

    def shared_role(self, role_id: int) -> SharedRole | None:
        if role_id not in self._roles:
            self._roles[role_id] = self.session.get(SharedRole, role_id)
        return self._roles[role_id]

    def municipality(self, text: str) -> Municipality | None:
        """By kommunkod (Excel drops Stockholm county's leading zero) or by name, any case."""
        if self._municipalities is None:
            self._municipalities = {}
            for m in self.session.scalars(select(Municipality)):
                self._municipalities[m.kommunkod] = m
                self._municipalities[m.name.casefold()] = m
        key = text.strip()
        if key.isdigit() and len(key) == 3:
            key = "0" + key
        return self._municipalities.get(key) or self._municipalities.get(key.casefold())


def service_type_of(version: ContractVersion, code: str) -> ContractServiceType | None:
    """The version's service type with `code` (exact, else ignoring case)."""
    exact = next((st for st in version.service_types if st.code == code), None)
    if exact is not None:
        return exact
    return next((st for st in version.service_types if st.code.casefold() == code.strip().casefold()), None)


def per_case_types(
    version: ContractVersion, service_type: ContractServiceType, buyer_id: int | None
) -> list[str] | None:
    """The case types of the version's per-case price list for the service type and buyer, or None when
    the service type is not priced per case."""
    components = [
        c
        for c in version.components
        if c.model == CompensationModel.PER_CASE
        and c.service_type_id == service_type.id
        and c.buyer_municipality_id in (None, buyer_id)
    ]
    if not components:
        return None
    return sorted({p.case_type for c in components for p in c.prices if p.case_type}, key=swedish_sort_key)


def _names(items: Iterable[str]) -> str:
    return ", ".join(items) or "inga"


def _unit_label(unit: ServiceUnit) -> str:
    return SERVICE_UNIT_LABELS[unit]


@dataclass
class Checked:
    """A performed service that passed every rule, in the model's terms."""

    agreement: Agreement
    values: dict


def check_service(lookups: Lookups, values: Mapping) -> tuple[dict[str, list[str]], Checked | None]:
    """Every rule that needs the database, for values the input schema has loaded. Returns the errors by
    field (Swedish) and, when there are none, the values to store. All problems are reported at once."""
    errors: dict[str, list[str]] = {}

    def fail(field_name: str, message: str) -> None:
        errors.setdefault(field_name, []).append(message)

    user = lookups.user
    agreement = lookups.agreement(values["agreement_id"])
    host = agreement.host if agreement is not None else None
    if agreement is None:
        fail("agreement_id", "Avtalet finns inte, eller så är er kommun inte part i det.")
    elif host is None or host.municipality_id != user.municipality_id:
        fail(
            "agreement_id",
            f"Er kommun är inte utförare i avtal {agreement.number}. Prestationer registreras av den "
            "kommun som utför tjänsterna (värdkommunen).",
        )
        agreement = None
    elif agreement.status == AgreementStatus.DRAFT:
        fail(
            "agreement_id",
            f"Avtal {agreement.number} är ett utkast. Prestationer registreras på gällande avtal.",
        )
        agreement = None

    buyer_id = values["buying_municipality_id"]
    if agreement is not None:
        buyers = {p.municipality_id: p.municipality for p in agreement.parties if p.role == PartyRole.BUYER}
        if buyer_id not in buyers:
            fail(
                "buying_municipality_id",
                f"Kommunen är inte köpare i avtal {agreement.number}. Köpare: "
                f"{_names(sorted((m.name for m in buyers.values()), key=swedish_sort_key))}.",
            )

    day: dt.date = values["service_date"]
    version = None
    if day > local_today():
        fail(
            "service_date",
            f"Datumet {day.isoformat()} har inte varit än. Registrera prestationer när de är utförda.",
        )
    elif agreement is not None:
        if ends_before(agreement, day):
            fail(
                "service_date",
                f"Avtal {agreement.number} upphörde {formatting.format_date(agreement.end_date)}; "
                f"{day.isoformat()} ligger efter avtalstiden.",
            )
        else:
            version = lookups.version(agreement.id, day)
            if version is None:
                fail(
                    "service_date",
                    f"Ingen godkänd avtalsversion gäller {day.isoformat()} för avtal {agreement.number}. "
                    "Prestationer kan bara registreras för datum då godkända villkor gäller.",
                )

    code = (values.get("service_type_code") or "").strip()
    service_type = None
    unit = values.get("unit")
    case_type = (values.get("case_type") or "").strip()
    if version is not None:
        service_type = service_type_of(version, code)
        if service_type is None:
            fail(
                "service_type_code",
                f"Tjänstetypen ”{code}” finns inte i avtalsversionen som gäller {day.isoformat()} "
                f"({version.title}). Välj en av: "
                f"{_names(st.code for st in version.service_types if st.unit != ServiceUnit.PERIOD)}.",
            )
        elif service_type.unit == ServiceUnit.PERIOD:
            fail(
                "service_type_code",
                f"Tjänstetypen ”{service_type.code}” faktureras per period (fast avgift eller andel) och "
                "registreras inte som prestation.",
            )
            service_type = None
    if service_type is not None:
        if unit is None:
            unit = service_type.unit
        elif unit != service_type.unit:
            fail(
                "unit",
                f"Tjänstetypen ”{service_type.code}” räknas i {_unit_label(service_type.unit)}, inte i "
                f"{_unit_label(unit)}.",
            )
        case_types = per_case_types(version, service_type, buyer_id)
        if case_types is None:
            if case_type:
                fail(
                    "case_type",
                    f"Tjänstetypen ”{service_type.code}” har inget styckpris per ärendetyp; lämna ärendetypen tom.",
                )
        elif not case_type:
            fail(
                "case_type",
                f"Ange ärendetyp: tjänstetypen ”{service_type.code}” har styckpris per ärendetyp "
                f"({_names(case_types)}).",
            )
        else:
            match = next((t for t in case_types if t.casefold() == case_type.casefold()), None)
            if match is None:
                fail(
                    "case_type",
                    f"Ärendetypen ”{case_type}” finns inte i prislistan för ”{service_type.code}”. "
                    f"Välj en av: {_names(case_types)}.",
                )
            else:
                case_type = match

    transfer_id = values.get("case_transfer_id")
    role_id = values.get("shared_role_id")
    if transfer_id is not None and role_id is not None:
        fail("shared_role_id", "Ange antingen ett ärende eller en gemensam tjänst, inte båda.")
    if transfer_id is not None and agreement is not None:
        transfer = lookups.transfer(transfer_id)
        if (
            transfer is None
            or transfer.agreement_id != agreement.id
            or user.municipality_id not in transfer.party_municipality_ids
        ):
            fail("case_transfer_id", f"Ärendet finns inte i avtal {agreement.number}.")
        elif transfer.requesting_municipality_id != buyer_id or transfer.performing_municipality_id != (
            user.municipality_id
        ):
            fail(
                "case_transfer_id",
                f"Ärendet {transfer.reference} är inte begärt av köparen hos er kommun; en prestation i ett "
                "ärende faktureras den kommun som lämnade över ärendet.",
            )
    if role_id is not None and agreement is not None:
        role = lookups.shared_role(role_id)
        if role is None or role.agreement_id != agreement.id:
            fail("shared_role_id", f"Den gemensamma tjänsten finns inte i avtal {agreement.number}.")

    if errors or agreement is None or service_type is None:
        return errors, None
    note = (values.get("note") or "").strip() or None
    return errors, Checked(
        agreement=agreement,
        values={
            "agreement_id": agreement.id,
            "service_date": day,
            "performing_municipality_id": user.municipality_id,
            "buying_municipality_id": buyer_id,
            "service_type_code": service_type.code,
            "case_type": case_type,
            "quantity": values.get("quantity"),
            "unit": unit,
            "case_transfer_id": transfer_id,
            "shared_role_id": role_id,
            "note": note,
        },
    )


def require_register(user) -> None:
    require(user, SERVICE_EDIT, user.municipality_id if user.municipality_id is not None else -1)


NEEDED_FOR_RULES = ("agreement_id", "buying_municipality_id", "service_date", "service_type_code")


def validate_service(
    lookups: Lookups, data: Mapping, current: Mapping | None = None
) -> tuple[dict[str, list[str]], Checked | None]:
    """The input schema, then the rules, reporting every problem at once (the rules run when the values
    they need are readable). `current`: the stored values a partial change (the API's PATCH) is merged
    into; there a new service type without a unit takes the new type's unit."""
    schema = PerformedServiceUpdateSchema() if current is not None else PerformedServiceInputSchema()
    errors: dict[str, list[str]] = {}
    try:
        loaded = schema.load(dict(data), partial=current is not None)
    except ValidationError as exc:
        loaded = exc.valid_data or {}
        errors = {k: (list(v) if isinstance(v, list) else [str(v)]) for k, v in exc.messages.items()}
    values = dict(current or {}) | loaded
    if current is not None and "service_type_code" in loaded and "unit" not in data:
        values["unit"] = None
    checked = None
    readable = all(values.get(key) is not None and key not in errors for key in NEEDED_FOR_RULES)
    if readable:
        rule_errors, checked = check_service(lookups, values)
        for key, messages in rule_errors.items():
            errors.setdefault(key, messages)  # a field the schema refused is not judged again
    return errors, (None if errors else checked)


def _validated(session: Session, user, data: Mapping, current: Mapping | None = None) -> Checked:
    errors, checked = validate_service(Lookups(session, user), data, current)
    if errors or checked is None:
        raise ValidationFailed(errors=errors)
    return checked


# --- Changing -------------------------------------------------------------------------------------


def register_service(session: Session, user, data: Mapping) -> PerformedService:
    """Register a service the user's municipality performed (administrator, caseworker or finance)."""
    require_register(user)
    checked = _validated(session, user, data)
    service = PerformedService(**checked.values, registered_by_id=user.id)
    session.add(service)
    session.flush()
    return service


def _require_change(session: Session, user, service: PerformedService) -> None:
    """The performing side only (403), and only while the service is not billed (409)."""
    require(user, SERVICE_EDIT, service.performing_municipality_id)
    if is_billed(session, service):
        raise ServiceLocked()


def current_values(service: PerformedService) -> dict:
    """The service as input values (for merging a change, and for the edit form)."""
    return {
        "agreement_id": service.agreement_id,
        "service_date": service.service_date,
        "buying_municipality_id": service.buying_municipality_id,
        "service_type_code": service.service_type_code,
        "case_type": service.case_type or None,
        "quantity": service.quantity,
        "unit": service.unit,
        "case_transfer_id": service.case_transfer_id,
        "shared_role_id": service.shared_role_id,
        "note": service.note,
    }


def update_service(
    session: Session, user, service: PerformedService, data: Mapping, partial: bool = False
) -> PerformedService:
    """Change a service. `partial` (the API's PATCH): absent fields keep their value; a new service type
    without a unit takes the new type's unit. Changing an attested service removes the attest: finance
    attests what is billed, not what it once was."""
    _require_change(session, user, service)
    checked = _validated(session, user, data, current_values(service) if partial else None)
    changed = False
    for key, value in checked.values.items():
        if getattr(service, key) != value:
            setattr(service, key, value)
            changed = True
    if changed and service.attested_at is not None:
        service.attested_at = None
        service.attested_by_id = None
    session.flush()
    # The relationships loaded with the service may describe the old values: read them again.
    session.expire(
        service, ["agreement", "buying_municipality", "case_transfer", "shared_role", "attested_by"]
    )
    return service


def delete_service(session: Session, user, service: PerformedService) -> None:
    _require_change(session, user, service)
    session.delete(service)
    session.flush()


# --- Attest ---------------------------------------------------------------------------------------


def _services_for(session: Session, user, service_ids: Iterable[int]) -> list[PerformedService]:
    """The services with these ids, each visible to the user (else 404 for the first that is not)."""
    ids = list(dict.fromkeys(service_ids))
    found = {
        s.id: s
        for s in session.scalars(
            select(PerformedService)
            .where(PerformedService.id.in_(ids), visible_to(user))
            .options(*SERVICE_LOAD)
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise ServiceNotFound(
            f"Prestation {missing[0]} finns inte, eller så har du inte behörighet att se den."
        )
    return [found[i] for i in ids]


def _require_attest(user, services: list[PerformedService]) -> None:
    require(user, SERVICE_ATTEST, user.municipality_id if user.municipality_id is not None else -1)
    for service in services:
        if service.performing_municipality_id != user.municipality_id:
            raise PermissionDenied(
                "Bara ekonomi i den utförande kommunen attesterar prestationer "
                f"(prestation {service.id} utförs av {service.performing_municipality.name})."
            )


def attest_services(session: Session, user, service_ids: Iterable[int]) -> list[PerformedService]:
    """Attest services (finance of the performing municipality): who and when. Already attested
    services keep their first attest. Returns the services that were attested now."""
    services = _services_for(session, user, service_ids)
    _require_attest(user, services)
    now = utcnow()
    attested = []
    for service in services:
        if service.attested_at is None:
            service.attested_at = now
            service.attested_by_id = user.id
            attested.append(service)
    session.flush()
    for service in attested:
        session.expire(service, ["attested_by"])  # loaded as None with the page; read it again
    return attested


def unattest_services(session: Session, user, service_ids: Iterable[int]) -> list[PerformedService]:
    """Take attests back; refused (nothing changes) if any of the services is billed."""
    services = _services_for(session, user, service_ids)
    _require_attest(user, services)
    billed = set(_billing_rows(session, (s.id for s in services)))
    if billed:
        raise ServiceLocked(
            "Attesten kan inte tas bort: prestationen är fakturerad "
            f"({', '.join(str(i) for i in sorted(billed))})."
        )
    changed = []
    for service in services:
        if service.attested_at is not None:
            service.attested_at = None
            service.attested_by_id = None
            changed.append(service)
    session.flush()
    for service in changed:
        session.expire(service, ["attested_by"])
    return changed


# --- Choices for the forms ------------------------------------------------------------------------


def performed_agreements(session: Session, user) -> list[Agreement]:
    """Agreements the user's municipality hosts (performs), not drafts, by number."""
    if user.municipality_id is None:
        return []
    agreements = session.scalars(
        select(Agreement)
        .where(
            Agreement.parties.any(
                (AgreementParty.municipality_id == user.municipality_id)
                & (AgreementParty.role == PartyRole.HOST)
            ),
            Agreement.status != AgreementStatus.DRAFT,
        )
        .options(selectinload(Agreement.parties).selectinload(AgreementParty.municipality))
    ).all()
    return sorted(agreements, key=lambda a: swedish_sort_key(a.number))


def party_agreements(session: Session, user) -> list[Agreement]:
    """Agreements the user's municipality is a party to (the list filter)."""
    if user.municipality_id is None:
        return []
    agreements = session.scalars(
        select(Agreement).where(Agreement.parties.any(AgreementParty.municipality_id == user.municipality_id))
    ).all()
    return sorted(agreements, key=lambda a: swedish_sort_key(a.number))


def counterparties(agreements: Iterable[Agreement], user) -> list[Municipality]:
    """The other parties of the agreements, by name."""
    seen = {}
    for agreement in agreements:
        for party in agreement.parties:
            if party.municipality_id != user.municipality_id:
                seen[party.municipality_id] = party.municipality
    return sorted(seen.values(), key=lambda m: swedish_sort_key(m.name))


def transfer_choices(session: Session, user, agreement_ids: Iterable[int]) -> list[CaseTransfer]:
    """Case transfers under the agreements that the user's municipality performs."""
    ids = list(agreement_ids)
    if not ids or user.municipality_id is None:
        return []
    return list(
        session.scalars(
            select(CaseTransfer)
            .where(
                CaseTransfer.agreement_id.in_(ids),
                CaseTransfer.performing_municipality_id == user.municipality_id,
            )
            .options(selectinload(CaseTransfer.requesting_municipality))
            .order_by(CaseTransfer.reference)
        )
    )


def role_choices(session: Session, agreement_ids: Iterable[int]) -> list[SharedRole]:
    ids = list(agreement_ids)
    if not ids:
        return []
    return list(
        session.scalars(select(SharedRole).where(SharedRole.agreement_id.in_(ids)).order_by(SharedRole.title))
    )


@dataclass(frozen=True)
class TermsSummary:
    """An agreement's service types in the version in force on a day, for the form's guide."""

    agreement: Agreement
    version: ContractVersion | None
    rows: list[tuple[ContractServiceType, list[str] | None]]


def terms_summaries(session: Session, agreements: Iterable[Agreement], day: dt.date) -> list[TermsSummary]:
    summaries = []
    for agreement in agreements:
        version = version_in_force(session, agreement.id, day)
        rows = []
        if version is not None:
            rows = [
                (st, per_case_types(version, st, None))
                for st in version.service_types
                if st.unit != ServiceUnit.PERIOD
            ]
        summaries.append(TermsSummary(agreement, version, rows))
    return summaries
