"""Structured terms of a contract version: the version's own terms (scope, invoicing, indexation rule,
personal data, term changes), service types with their VAT treatment, compensation components validated
per model, prices per year, fixed shares and the buyers' references. Also what billing and the other
parts read: `price_for` (never invents a price), `terms_outline` (every term as a keyed, displayable
entry) and `compare_versions` (exactly what changed between two versions of an agreement).

Everything that changes terms works on a draft only (`versions.assert_editable`) and needs
CONTRACT_EDIT for one of the agreement's parties. Functions add and flush, never commit.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.errors import VersionImmutable, VersionInUse
from contracts.indexation import ROUNDING_LABELS
from contracts.models import (
    CEILING_PER_LABELS,
    COMPENSATION_MODEL_LABELS,
    FEE_PERIOD_LABELS,
    INDEX_KIND_SHORT,
    INVOICE_FREQUENCY_LABELS,
    PERSONAL_DATA_ROLE_LABELS,
    PRICE_MEANING,
    SERVICE_UNIT_LABELS,
    SHARE_BASIS_LABELS,
    USAGE_MEASURE_LABELS,
    CompensationComponent,
    CompensationModel,
    ContractBuyerTerms,
    ContractFixedShare,
    ContractPrice,
    ContractServiceType,
    ContractVersion,
    ShareBasis,
    VatCategory,
    VersionStatus,
)
from contracts.permissions import CONTRACT_EDIT
from contracts.terms.schemas import (
    CompensationComponentInputSchema,
    CompensationComponentUpdateSchema,
    ContractBuyerTermsInputSchema,
    ContractBuyerTermsUpdateSchema,
    ContractPriceInputSchema,
    ContractServiceTypeInputSchema,
    ContractVersionCreateSchema,
    ContractVersionTermsSchema,
)
from contracts.versions import (
    assert_editable,
    create_version,
    ends_before,
    superseded_on,
    version_in_force,
    versions_of,
)
from core.errors import Conflict, ValidationFailed
from core.formatting import format_money, format_number
from core.permissions import require_any
from core.services import load_or_raise
from registry.models import EXECUTOR_LABELS, Agreement, SharedRole

FIRST_VERSION_TITLE = "Ursprungligt avtal"
VATEX_O_CODE = "VATEX-EU-O"
VATEX_O_TEXT = "Myndighetsutövning – utanför momsens tillämpningsområde"
DEFAULT_S_RATE = Decimal("25.00")
HUNDRED = Decimal("100.00")

MONTHS = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)  # fmt: skip


class PriceMissing(Conflict):
    """Billing asked for a price the version does not have. Never guessed: someone must add it."""

    code = "price_missing"
    default_message = "Priset saknas i avtalsversionen."


# --- Labels ---------------------------------------------------------------------------------------

FIELD_LABELS = {
    "title": "Rubrik",
    "effective_from": "Gäller från",
    "change_summary": "Vad versionen ändrar",
    "scope": "Omfattning",
    "executor": "Vem verkställer besluten",
    "invoice_frequency": "Faktureringsintervall",
    "payment_terms_days": "Betalningsvillkor",
    "invoice_series": "Fakturaserie",
    "cost_cap_amount": "Kostnadstak per köpande kommun och kalenderår",
    "index_kind": "Index",
    "index_edition": "Indexutgåva",
    "index_effective_from": "Första indexuppräkning",
    "index_rounding": "Avrundning av nya priser",
    "personal_data_role": "Personuppgifter",
    "claims_cost_coverage": "Ersättningen ska täcka självkostnaden",
    "changes_term": "Versionen ändrar avtalstiden",
    "term_end_date": "Nytt slutdatum",
    "term_renewal_months": "Automatisk förlängning",
    "term_notice_months": "Uppsägningstid",
    # service types
    "code": "Kod",
    "name": "Benämning",
    "unit": "Enhet",
    "vat_category": "Momskategori",
    "vat_rate": "Momssats",
    "vat_exemption_reason_code": "Kod för momsbefrielse",
    "vat_exemption_reason": "Skäl till momsbefrielse",
    # components
    "model": "Ersättningsmodell",
    "service_type_id": "Tjänstetyp",
    "buyer_municipality_id": "Gäller köpare",
    "description": "Beskrivning",
    "position": "Ordning",
    "time_rounding_minutes": "Avrundning av tid",
    "ceiling_hours": "Timtak",
    "ceiling_per": "Taket gäller",
    "fee_period": "Fakturering av årsavgiften",
    "in_advance": "Förskott eller efterskott",
    "population_ref_month": "Referensdag för invånarantal: månad",
    "population_ref_day": "Referensdag för invånarantal: dag",
    "population_ref_year_offset": "Referensdag för invånarantal: år",
    "equal_split_percent": "Andel som delas lika",
    "include_host": "Utföraren bär sin egen andel",
    "usage_measure": "Mått på nyttjande",
    "shared_role_id": "Gemensam tjänst",
    "share_basis": "Grund för andelarna",
    "reconciliation_deadline_month": "Avräkning senast: månad",
    "reconciliation_deadline_day": "Avräkning senast: dag",
    "reconciliation_threshold": "Beloppsgräns för avräkning",
    "fixed_shares": "Avtalade andelar",
    # prices and buyers
    "year": "År",
    "case_type": "Ärendetyp",
    "amount": "Belopp",
    "municipality_id": "Kommun",
    "buyer_reference": "Er referens",
}

SECTIONS = {
    "general": "Grunduppgifter",
    "invoicing": "Fakturering",
    "indexation": "Indexering",
    "personal_data": "Personuppgifter och självkostnad",
    "term": "Avtalstid",
    "service_types": "Tjänstetyper",
    "compensation": "Ersättning",
    "prices": "Priser",
    "fixed_shares": "Avtalade andelar",
    "buyer_references": "Köparnas referenser",
}

TERM_FIELDS = (
    "title",
    "effective_from",
    "change_summary",
    "scope",
    "executor",
    "invoice_frequency",
    "payment_terms_days",
    "invoice_series",
    "cost_cap_amount",
    "index_kind",
    "index_edition",
    "index_effective_from",
    "index_rounding",
    "personal_data_role",
    "claims_cost_coverage",
    "changes_term",
    "term_end_date",
    "term_renewal_months",
    "term_notice_months",
)
_NOT_NULL_TERMS = {
    "invoice_frequency": "Välj hur ofta köparna faktureras.",
    "payment_terms_days": "Ange betalningsvillkor i dagar, t.ex. 30.",
    "index_rounding": "Välj hur nya priser avrundas.",
    "personal_data_role": "Välj hur personuppgifter behandlas.",
    "claims_cost_coverage": "Ange ja eller nej.",
    "changes_term": "Ange ja eller nej.",
}
_TERM_DATES = ("term_end_date", "term_renewal_months", "term_notice_months")
_AGREEMENT_TERM = {
    "term_end_date": "end_date",
    "term_renewal_months": "renewal_months",
    "term_notice_months": "notice_months",
}

# The fields of each compensation model (besides service type, buyer, description and position).
_POPULATION = (
    "population_ref_month",
    "population_ref_day",
    "population_ref_year_offset",
    "equal_split_percent",
)
MODEL_FIELDS: dict[CompensationModel, tuple[str, ...]] = {
    CompensationModel.HOURLY: ("time_rounding_minutes", "ceiling_hours", "ceiling_per"),
    CompensationModel.PER_CASE: (),
    CompensationModel.FIXED_FEE: ("fee_period", "in_advance"),
    CompensationModel.POPULATION_SHARE: (*_POPULATION, "include_host"),
    CompensationModel.USAGE_SHARE: ("usage_measure", "include_host"),
    CompensationModel.SHARED_ROLE: ("shared_role_id",),
    CompensationModel.PRELIMINARY: (
        "share_basis",
        *_POPULATION,
        "usage_measure",
        "include_host",
        "reconciliation_deadline_month",
        "reconciliation_deadline_day",
        "reconciliation_threshold",
    ),
    CompensationModel.MILEAGE: (),
    CompensationModel.OUTLAYS: (),
}
# Preliminary billing: which share fields apply to which basis.
BASIS_FIELDS = {
    ShareBasis.POPULATION: (*_POPULATION, "include_host"),
    ShareBasis.USAGE: ("usage_measure", "include_host"),
    ShareBasis.FIXED: (),
}
MODEL_SPECIFIC = tuple(dict.fromkeys(f for fields_ in MODEL_FIELDS.values() for f in fields_))
# Models that share a cost between parties: they apply to every party, never to one buyer.
SHARE_MODELS = frozenset(
    {
        CompensationModel.POPULATION_SHARE,
        CompensationModel.USAGE_SHARE,
        CompensationModel.SHARED_ROLE,
        CompensationModel.PRELIMINARY,
    }
)
# Models without a price list: outlays at cost, and the shared role (the registry's cost base).
PRICELESS_MODELS = frozenset({CompensationModel.OUTLAYS, CompensationModel.SHARED_ROLE})
MODEL_HINTS = {
    CompensationModel.HOURLY: "Antal timmar gånger årets timpris. Avrundning per påbörjad kvart eller halvtimme "
    "och ett timtak (bara timmar över taket faktureras) är frivilliga.",
    CompensationModel.PER_CASE: "Antal ärenden gånger priset för ärendetypen. Priserna anges per ärendetyp och år.",
    CompensationModel.FIXED_FEE: "En årsavgift som faktureras med 1/12 per månad eller 1/4 per kvartal.",
    CompensationModel.POPULATION_SHARE: "Årets kostnad fördelas efter invånarantal på en referensdag, "
    "eventuellt med en del som delas lika.",
    CompensationModel.USAGE_SHARE: "Årets kostnad fördelas efter hur mycket varje kommun har använt tjänsten "
    "(ärenden, timmar eller dygn).",
    CompensationModel.SHARED_ROLE: "Kostnaden för en gemensam tjänst (lön, PO och omkostnader) fördelas enligt "
    "registrets kostnadsfördelning.",
    CompensationModel.PRELIMINARY: "Preliminära fakturor på budget under året; vid årets slut räknas den "
    "faktiska kostnaden fram och skillnaden faktureras eller krediteras.",
    CompensationModel.MILEAGE: "Antal kilometer gånger årets pris per kilometer.",
    CompensationModel.OUTLAYS: "Utlägg faktureras till självkostnad, utan påslag. Inget pris anges.",
}
_COMPONENT_MESSAGES = {
    "fee_period": "Välj om årsavgiften faktureras månadsvis eller kvartalsvis.",
    "in_advance": "Välj om avgiften faktureras i förskott eller i efterskott.",
    "population_ref_month": "Ange referensdagens månad, t.ex. 11 för november.",
    "population_ref_day": "Ange referensdagens dag, t.ex. 1.",
    "population_ref_year_offset": "Ange vilket år referensdagen ligger i, t.ex. året före.",
    "usage_measure": "Välj vad nyttjandet mäts i.",
    "shared_role_id": "Välj den gemensamma tjänsten i registret.",
    "share_basis": "Välj vad de preliminära andelarna bygger på.",
    "reconciliation_deadline_month": "Ange månaden då avräkningen senast ska göras.",
    "reconciliation_deadline_day": "Ange dagen då avräkningen senast ska göras.",
}


# --- Shared helpers -------------------------------------------------------------------------------


def _require_edit(user, version: ContractVersion) -> None:
    """Permission for a party first (403), then the version must be a draft (409)."""
    require_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids)
    assert_editable(version)


def _fail(errors: dict, message: str | None = None) -> None:
    if errors:
        raise ValidationFailed(message, errors=errors)


def _municipality_names(agreement: Agreement) -> dict[int, str]:
    return {p.municipality_id: p.municipality.name for p in agreement.parties}


def _buyer_ids(agreement: Agreement) -> set[int]:
    return {p.municipality_id for p in agreement.buyers}


def _valid_day(month: int | None, day: int | None) -> bool:
    """Whether the day exists in the month in every year (29 February does not)."""
    if month is None or day is None:
        return True
    return day <= calendar.monthrange(2023, month)[1]


# --- Versions -------------------------------------------------------------------------------------


def create_contract_version(session: Session, user, agreement: Agreement, data: Mapping) -> ContractVersion:
    """A new draft version of the agreement. The first is the original ("Ursprungligt avtal", from the
    agreement's start date unless told otherwise); later ones are amendments that start as a copy of an
    approved version (the latest, or `based_on_id`)."""
    require_any(user, CONTRACT_EDIT, agreement.party_municipality_ids)
    values = load_or_raise(ContractVersionCreateSchema(), dict(data))
    existing = versions_of(session, agreement.id)
    first = not existing
    title = values.get("title") or (FIRST_VERSION_TITLE if first else f"Tilläggsavtal {len(existing)}")
    effective_from = values.get("effective_from") or (agreement.start_date if first else None)
    based_on = None
    if values.get("based_on_id") is not None:
        based_on = next((v for v in existing if v.id == values["based_on_id"]), None)
        if based_on is None or not based_on.is_approved:
            raise ValidationFailed(
                errors={"based_on_id": ["Välj en godkänd version av samma avtal att utgå från."]}
            )
    if effective_from is None:
        raise ValidationFailed(errors={"effective_from": ["Ange från vilket datum tilläggsavtalet gäller."]})
    return create_version(
        session,
        user,
        agreement,
        title=title,
        effective_from=effective_from,
        change_summary=values.get("change_summary"),
        based_on=based_on,
    )


def delete_version(session: Session, user, version: ContractVersion) -> None:
    """Delete a draft version with all its terms. Versions in review or approved stay."""
    require_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids)
    if version.status == VersionStatus.APPROVED:
        raise VersionImmutable("Versionen är godkänd och kan inte tas bort.")
    if version.status != VersionStatus.DRAFT:
        raise VersionImmutable(
            "Versionen är under juridisk granskning och kan inte tas bort. Skicka tillbaka den till utkast först."
        )
    try:
        # In a savepoint: a refusal by the database (another package's row refers to the draft, with
        # ON DELETE RESTRICT) leaves the request's transaction usable for the answer.
        with session.begin_nested():
            session.delete(version)
            session.flush()
    except IntegrityError as exc:
        raise VersionInUse() from exc


def term_defaults_from_agreement(version: ContractVersion) -> dict:
    """The term values a version that starts changing the term begins with: the agreement's own."""
    agreement = version.agreement
    return {f: getattr(agreement, a) for f, a in _AGREEMENT_TERM.items()}


def update_version_terms(session: Session, user, version: ContractVersion, data: Mapping) -> ContractVersion:
    """Change the version's own terms. Absent fields stay as they are; cross-field rules (index rule
    complete, term dates coherent, effective date within the agreement) are checked on the result."""
    _require_edit(user, version)
    values = load_or_raise(ContractVersionTermsSchema(), dict(data), partial=True)
    agreement = version.agreement
    errors: dict[str, list[str]] = {}
    for name, message in _NOT_NULL_TERMS.items():
        if name in values and values[name] is None:
            errors[name] = [message]
    if "title" in values and not values["title"]:
        errors["title"] = ["Ange en rubrik för versionen."]
    merged = {name: values.get(name, getattr(version, name)) for name in TERM_FIELDS}

    if "effective_from" in values:
        day = values["effective_from"]
        if day is None:
            errors["effective_from"] = ["Ange från vilket datum versionen gäller."]
        elif day < agreement.start_date:
            errors["effective_from"] = ["Versionen kan inte gälla från före avtalets startdatum."]
        elif ends_before(agreement, day):
            errors["effective_from"] = ["Versionen kan inte gälla från efter avtalets slutdatum."]
        elif day != version.effective_from and any(
            v.is_approved and v.effective_from == day for v in versions_of(session, agreement.id)
        ):
            errors["effective_from"] = [
                "En godkänd version gäller redan från det datumet. Välj ett annat datum."
            ]

    # Indexation rule: an index needs its edition and the date of the first adjustment.
    if merged["index_kind"] is not None:
        if not merged["index_edition"] and "index_edition" not in errors:
            errors["index_edition"] = ["Ange vilken utgåva av indexet som gäller, t.ex. ”PKV oktober”."]
        if merged["index_effective_from"] is None and "index_effective_from" not in errors:
            errors["index_effective_from"] = ["Ange från vilket datum priserna räknas upp, t.ex. 1 januari."]
    else:
        merged["index_edition"] = None
        merged["index_effective_from"] = None

    # Term changes: prefilled from the agreement when switched on; cleared when switched off.
    if merged["changes_term"]:
        if not version.changes_term:
            for name, value in term_defaults_from_agreement(version).items():
                if name not in values:
                    merged[name] = value
        end = merged["term_end_date"]
        if end is not None and end < agreement.start_date:
            errors.setdefault("term_end_date", ["Slutdatumet kan inte vara före avtalets startdatum."])
        elif end is not None and merged["effective_from"] and end < merged["effective_from"]:
            errors.setdefault("term_end_date", ["Slutdatumet kan inte vara före versionens giltighetsdatum."])
        if merged["term_renewal_months"] and end is None:
            errors.setdefault(
                "term_renewal_months",
                [
                    "Automatisk förlängning kräver ett slutdatum. Ange slutdatum, eller lämna förlängningen tom."
                ],
            )
    else:
        for name in _TERM_DATES:
            merged[name] = None
    _fail(errors)
    for name, value in merged.items():
        if getattr(version, name) != value:
            setattr(version, name, value)
    session.flush()
    return version


# --- Service types --------------------------------------------------------------------------------


def _check_service_type(version: ContractVersion, values: dict, current: ContractServiceType | None) -> dict:
    """Merge and check a service type; returns the complete values. VAT: O and E have rate 0 and an
    exemption reason (O defaults to VATEX-EU-O, myndighetsutövning); S has a rate above 0 (default 25)."""
    merged = {
        name: values.get(name, getattr(current, name) if current is not None else None)
        for name in ContractServiceTypeInputSchema._declared_fields
    }
    errors: dict[str, list[str]] = {}
    for name, message in (
        ("code", "Ange en kod, t.ex. utredning."),
        ("name", "Ange tjänstetypens benämning."),
        ("unit", "Välj enhet."),
        ("vat_category", "Välj momskategori."),
    ):
        if merged[name] in (None, ""):
            errors[name] = [message]
    if merged["code"] and any(
        st.code == merged["code"] and st is not current for st in version.service_types
    ):
        errors["code"] = ["Koden används redan av en annan tjänstetyp i versionen. Välj en annan kod."]
    category = merged["vat_category"]
    category_changed = current is not None and category != current.vat_category
    if category_changed:
        # A new category starts from its own defaults unless told otherwise.
        for name in ("vat_rate", "vat_exemption_reason_code", "vat_exemption_reason"):
            if name not in values:
                merged[name] = None
    if category == VatCategory.S:
        if merged["vat_rate"] is None:
            merged["vat_rate"] = DEFAULT_S_RATE
        elif merged["vat_rate"] <= 0:
            errors["vat_rate"] = ["En momspliktig tjänst (S) har en momssats över 0 %, vanligen 25 %."]
        merged["vat_exemption_reason_code"] = None
        merged["vat_exemption_reason"] = None
    elif category in (VatCategory.O, VatCategory.E):
        if "vat_rate" in values and values["vat_rate"] not in (None, Decimal(0)):
            errors["vat_rate"] = [f"Kategori {category.value} har momssats 0 %."]
        merged["vat_rate"] = Decimal("0.00")
        if category == VatCategory.O:
            merged["vat_exemption_reason_code"] = merged["vat_exemption_reason_code"] or VATEX_O_CODE
            merged["vat_exemption_reason"] = merged["vat_exemption_reason"] or VATEX_O_TEXT
        elif not merged["vat_exemption_reason"]:
            errors["vat_exemption_reason"] = [
                "Ange skälet till att tjänsten är undantagen från moms, t.ex. ”Social omsorg, "
                "undantagen enligt mervärdesskattelagen”."
            ]
    _fail(errors)
    return merged


def add_service_type(session: Session, user, version: ContractVersion, data: Mapping) -> ContractServiceType:
    _require_edit(user, version)
    values = load_or_raise(ContractServiceTypeInputSchema(), dict(data))
    merged = _check_service_type(version, values, None)
    service_type = ContractServiceType(**merged)
    version.service_types.append(service_type)
    session.flush()
    return service_type


def update_service_type(
    session: Session, user, service_type: ContractServiceType, data: Mapping
) -> ContractServiceType:
    version = service_type.version
    _require_edit(user, version)
    values = load_or_raise(ContractServiceTypeInputSchema(), dict(data), partial=True)
    merged = _check_service_type(version, values, service_type)
    for name, value in merged.items():
        if getattr(service_type, name) != value:
            setattr(service_type, name, value)
    session.flush()
    return service_type


def delete_service_type(session: Session, user, service_type: ContractServiceType) -> None:
    """Refused while a compensation component uses the service type (it is what billing bills)."""
    version = service_type.version
    _require_edit(user, version)
    users = [c for c in version.components if c.service_type_id == service_type.id]
    if users:
        names = ", ".join(component_title(c) for c in users)
        raise Conflict(
            f"Tjänstetypen ”{service_type.name}” används av {names} och kan inte tas bort. "
            "Ta bort ersättningsmodellen eller byt dess tjänstetyp först.",
            errors={"service_type": [f"Används av {names}."]},
        )
    version.service_types.remove(service_type)
    session.flush()


# --- Compensation components -----------------------------------------------------------------------


def model_fields(model: CompensationModel, share_basis: ShareBasis | None = None) -> tuple[str, ...]:
    """The model-specific fields that apply; for preliminary billing they depend on the share basis."""
    model = CompensationModel(model)
    if model != CompensationModel.PRELIMINARY:
        return MODEL_FIELDS[model]
    basis_fields = BASIS_FIELDS.get(share_basis, ()) if share_basis else ()
    return (
        "share_basis",
        *basis_fields,
        "reconciliation_deadline_month",
        "reconciliation_deadline_day",
        "reconciliation_threshold",
    )


def _default(name: str):
    return True if name == "include_host" else None


def _check_component(
    session: Session, version: ContractVersion, model: CompensationModel, values: dict, current
) -> tuple[dict, list[tuple[int, Decimal]] | None]:
    """Merge and check a component's fields for its model. Returns the values to store and the fixed
    shares to set (None: leave the shares as they are)."""
    agreement = version.agreement
    label = COMPENSATION_MODEL_LABELS[model]

    def current_value(name):
        return getattr(current, name) if current is not None else _default(name)

    general = ("service_type_id", "buyer_municipality_id", "description", "position")
    merged = {name: values.get(name, current_value(name)) for name in general + MODEL_SPECIFIC}
    errors: dict[str, list[str]] = {}

    share_basis = merged["share_basis"] if model == CompensationModel.PRELIMINARY else None
    applicable = set(model_fields(model, share_basis))
    if model == CompensationModel.PRELIMINARY:
        applicable.add("share_basis")
    for name in MODEL_SPECIFIC:
        if name in applicable:
            continue
        given = values.get(name)
        if name in values and given is not None and not (name == "include_host" and given is True):
            errors[name] = [f"Gäller inte för {label.lower()}."]
        merged[name] = _default(name)
    if "fixed_shares" in values and values["fixed_shares"] and share_basis != ShareBasis.FIXED:
        errors["fixed_shares"] = [
            "Avtalade andelar anges bara för preliminär debitering med avtalade andelar."
        ]

    # Service type and buyer
    service_type = next((st for st in version.service_types if st.id == merged["service_type_id"]), None)
    if merged["service_type_id"] is None:
        errors["service_type_id"] = ["Välj vilken tjänstetyp ersättningen gäller."]
    elif service_type is None:
        errors["service_type_id"] = ["Välj en tjänstetyp i den här versionen."]
    buyer_id = merged["buyer_municipality_id"]
    if buyer_id is not None:
        if model in SHARE_MODELS:
            errors["buyer_municipality_id"] = [
                f"{label} fördelar kostnaden mellan alla parter och kan inte gälla bara en köpare."
            ]
        elif buyer_id not in _buyer_ids(agreement):
            errors["buyer_municipality_id"] = ["Kommunen är inte köpare i avtalet."]
    if service_type is not None and "buyer_municipality_id" not in errors:
        clash = next(
            (
                c
                for c in version.components
                if c is not current
                and c.model == model
                and c.service_type_id == service_type.id
                and c.buyer_municipality_id == buyer_id
            ),
            None,
        )
        if clash is not None:
            whom = _municipality_names(agreement).get(buyer_id, "alla köpare") if buyer_id else "alla köpare"
            errors["service_type_id"] = [
                f"Det finns redan {label.lower()} för tjänstetypen ”{service_type.name}” ({whom}). "
                "Ändra den i stället."
            ]

    # Completeness per model
    required = {
        CompensationModel.FIXED_FEE: ("fee_period", "in_advance"),
        CompensationModel.POPULATION_SHARE: _POPULATION[:3],
        CompensationModel.USAGE_SHARE: ("usage_measure",),
        CompensationModel.SHARED_ROLE: ("shared_role_id",),
        CompensationModel.PRELIMINARY: (
            "share_basis",
            "reconciliation_deadline_month",
            "reconciliation_deadline_day",
        ),
    }.get(model, ())
    if model == CompensationModel.PRELIMINARY and share_basis == ShareBasis.POPULATION:
        required = (*required, *_POPULATION[:3])
    if model == CompensationModel.PRELIMINARY and share_basis == ShareBasis.USAGE:
        required = (*required, "usage_measure")
    for name in required:
        if merged[name] is None and name not in errors:
            errors[name] = [_COMPONENT_MESSAGES[name]]

    if model == CompensationModel.HOURLY:
        if (merged["ceiling_hours"] is None) != (merged["ceiling_per"] is None):
            target = "ceiling_per" if merged["ceiling_per"] is None else "ceiling_hours"
            errors.setdefault(
                target,
                [
                    "Ange både antal timmar i taket och om taket gäller per ärende, månad eller år, eller inget av dem."
                ],
            )
    if not _valid_day(merged["population_ref_month"], merged["population_ref_day"]):
        errors.setdefault("population_ref_day", ["Dagen finns inte i den månaden."])
    if not _valid_day(merged["reconciliation_deadline_month"], merged["reconciliation_deadline_day"]):
        errors.setdefault("reconciliation_deadline_day", ["Dagen finns inte i den månaden."])
    if model == CompensationModel.SHARED_ROLE and merged["shared_role_id"] is not None:
        role = session.get(SharedRole, merged["shared_role_id"])
        if role is None or role.agreement_id != agreement.id:
            errors.setdefault("shared_role_id", ["Välj en gemensam tjänst som hör till det här avtalet."])

    # Fixed shares (preliminary billing on agreed shares)
    shares: list[tuple[int, Decimal]] | None = None
    if model == CompensationModel.PRELIMINARY and share_basis == ShareBasis.FIXED:
        if "fixed_shares" in values and values["fixed_shares"] is not None:
            shares = [(s["municipality_id"], s["percent"]) for s in values["fixed_shares"]]
        elif current is not None and current.share_basis == ShareBasis.FIXED:
            shares = None  # unchanged
            existing = [(s.municipality_id, s.percent) for s in current.fixed_shares]
            message = fixed_share_errors(agreement, existing)
            if message:
                errors.setdefault("fixed_shares", message)
        else:
            shares = []
        if shares is not None:
            message = fixed_share_errors(agreement, shares)
            if message:
                errors.setdefault("fixed_shares", message)
    elif current is not None and current.fixed_shares:
        shares = []  # no longer on agreed shares: drop them
    _fail(errors)
    if merged["position"] is None:
        merged["position"] = max((c.position for c in version.components), default=0) + 1
    return merged, shares


def fixed_share_errors(agreement: Agreement, shares: list[tuple[int, Decimal]]) -> list[str]:
    """Agreed shares name only parties of the agreement, each once, and sum to exactly 100,00 %."""
    messages = []
    if not shares:
        return ["Ange de avtalade andelarna i procent för parterna; summan ska vara exakt 100,00 %."]
    parties = agreement.party_municipality_ids
    ids = [m for m, _ in shares]
    if any(m not in parties for m in ids):
        messages.append("Andelar kan bara anges för kommuner som är parter i avtalet.")
    if len(set(ids)) != len(ids):
        messages.append("En kommun får bara ha en andel.")
    total = sum((p for _, p in shares), Decimal(0))
    if total != HUNDRED:
        messages.append(
            f"Andelarna ska tillsammans bli exakt 100,00 %; nu är summan {format_number(total, 2)} %."
        )
    return messages


def _apply_component(component: CompensationComponent, merged: dict, shares) -> None:
    for name, value in merged.items():
        if getattr(component, name) != value:
            setattr(component, name, value)
    if shares is not None:
        wanted = dict(shares)
        for share in list(component.fixed_shares):
            if share.municipality_id not in wanted:
                component.fixed_shares.remove(share)
            elif share.percent != wanted[share.municipality_id]:
                share.percent = wanted[share.municipality_id]
        have = {s.municipality_id for s in component.fixed_shares}
        for municipality_id, percent in shares:
            if municipality_id not in have:
                component.fixed_shares.append(
                    ContractFixedShare(municipality_id=municipality_id, percent=percent)
                )


def _reload_references(session: Session, component: CompensationComponent) -> None:
    """Only the foreign keys were set: load the related rows anew when next read."""
    session.expire(component, ["service_type", "buyer", "shared_role"])


def add_component(session: Session, user, version: ContractVersion, data: Mapping) -> CompensationComponent:
    """Add a compensation component; several may be combined (e.g. a fixed fee plus hourly work above a
    ceiling). Prices are added per year afterwards."""
    _require_edit(user, version)
    values = load_or_raise(CompensationComponentInputSchema(), dict(data))
    model = values["model"]
    merged, shares = _check_component(session, version, model, values, None)
    component = CompensationComponent(model=model)
    _apply_component(component, merged, shares)
    version.components.append(component)
    session.flush()
    _reload_references(session, component)
    return component


def update_component(
    session: Session, user, component: CompensationComponent, data: Mapping
) -> CompensationComponent:
    """Change a component (not its model: remove it and add another for that)."""
    version = component.version
    _require_edit(user, version)
    values = load_or_raise(CompensationComponentUpdateSchema(), dict(data), partial=True)
    merged, shares = _check_component(session, version, component.model, values, component)
    _apply_component(component, merged, shares)
    session.flush()
    _reload_references(session, component)
    return component


def delete_component(session: Session, user, component: CompensationComponent) -> None:
    version = component.version
    _require_edit(user, version)
    version.components.remove(component)
    session.flush()


# --- Prices -----------------------------------------------------------------------------------------


def _check_price(component: CompensationComponent, values: dict, current: ContractPrice | None) -> dict:
    model = component.model
    if model in PRICELESS_MODELS:
        message = (
            "Utlägg faktureras till självkostnad och har inget pris."
            if model == CompensationModel.OUTLAYS
            else "Kostnaden för en gemensam tjänst kommer från registret och har inget pris här."
        )
        raise ValidationFailed(message, errors={"amount": [message]})
    merged = {
        "year": values.get("year", current.year if current else None),
        "case_type": values.get("case_type", current.case_type if current else "") or "",
        "amount": values.get("amount", current.amount if current else None),
    }
    errors: dict[str, list[str]] = {}
    if merged["year"] is None:
        errors["year"] = ["Ange vilket år priset gäller."]
    if merged["amount"] is None:
        errors["amount"] = ["Ange beloppet i kronor."]
    if model == CompensationModel.PER_CASE and not merged["case_type"]:
        errors["case_type"] = ["Ange ärendetypen som priset gäller, t.ex. ”Faderskapsutredning”."]
    if model != CompensationModel.PER_CASE and merged["case_type"]:
        errors["case_type"] = ["Ärendetyp anges bara för styckpris per ärendetyp."]
    if not errors:
        clash = any(
            p is not current and p.year == merged["year"] and p.case_type == merged["case_type"]
            for p in component.prices
        )
        if clash:
            what = f" för ärendetypen ”{merged['case_type']}”" if merged["case_type"] else ""
            errors["year"] = [
                f"Det finns redan ett pris för {merged['year']}{what}. Ändra det priset i stället."
            ]
    _fail(errors)
    merged["amount"] = Decimal(merged["amount"]).quantize(Decimal("0.01"))
    return merged


def add_price(session: Session, user, component: CompensationComponent, data: Mapping) -> ContractPrice:
    """A price of the component for a year (and a case type, for per-case fees)."""
    _require_edit(user, component.version)
    values = load_or_raise(ContractPriceInputSchema(), dict(data))
    merged = _check_price(component, values, None)
    price = ContractPrice(**merged)
    component.prices.append(price)
    session.flush()
    return price


def update_price(session: Session, user, price: ContractPrice, data: Mapping) -> ContractPrice:
    component = price.component
    _require_edit(user, component.version)
    values = load_or_raise(ContractPriceInputSchema(), dict(data), partial=True)
    merged = _check_price(component, values, price)
    for name, value in merged.items():
        if getattr(price, name) != value:
            setattr(price, name, value)
    session.flush()
    return price


def delete_price(session: Session, user, price: ContractPrice) -> None:
    component = price.component
    _require_edit(user, component.version)
    component.prices.remove(price)
    session.flush()


def price_for(
    version: ContractVersion, component: CompensationComponent, year: int, case_type: str = ""
) -> ContractPrice:
    """The price row billing uses for `year`. With an indexation rule, the year's row must exist (the
    index is applied as a reviewable amendment, never on the fly); without one, the latest earlier
    year's price still applies. A price is never invented: otherwise PriceMissing."""
    if component.version_id != version.id and component.version is not version:
        raise ValueError("the component belongs to another version")
    what = component_title(component)
    if component.model in PRICELESS_MODELS:
        raise PriceMissing(f"{what} har inget pris i avtalet.")
    case_type = case_type or ""
    rows = [p for p in component.prices if p.case_type == case_type]
    suffix = f" (ärendetyp ”{case_type}”)" if case_type else ""
    for row in rows:
        if row.year == year:
            return row
    if version.index_kind is not None:
        raise PriceMissing(
            f"Priset för {year} saknas – indexuppräkningen är inte gjord. {what}{suffix}: "
            f"räkna upp priset med {INDEX_KIND_SHORT[version.index_kind]} i en ny version."
        )
    earlier = [row for row in rows if row.year < year]
    if earlier:
        return max(earlier, key=lambda row: row.year)
    raise PriceMissing(f"Priset för {year} saknas i avtalet. {what}{suffix}.")


# --- Buyer terms -------------------------------------------------------------------------------------


def _check_buyer(version: ContractVersion, municipality_id: int) -> None:
    if municipality_id not in _buyer_ids(version.agreement):
        raise ValidationFailed(errors={"municipality_id": ["Kommunen är inte köpare i avtalet."]})


def add_buyer_terms(session: Session, user, version: ContractVersion, data: Mapping) -> ContractBuyerTerms:
    """The buyer reference ("Er referens", Peppol BT-10) of one buying municipality."""
    _require_edit(user, version)
    values = load_or_raise(ContractBuyerTermsInputSchema(), dict(data))
    _check_buyer(version, values["municipality_id"])
    if any(t.municipality_id == values["municipality_id"] for t in version.buyer_terms):
        raise ValidationFailed(
            errors={"municipality_id": ["Kommunen har redan en referens i versionen. Ändra den i stället."]}
        )
    terms = ContractBuyerTerms(
        municipality_id=values["municipality_id"], buyer_reference=values["buyer_reference"]
    )
    version.buyer_terms.append(terms)
    session.flush()
    return terms


def update_buyer_terms(
    session: Session, user, terms: ContractBuyerTerms, data: Mapping
) -> ContractBuyerTerms:
    _require_edit(user, terms.version)
    values = load_or_raise(ContractBuyerTermsUpdateSchema(), dict(data))
    terms.buyer_reference = values["buyer_reference"]
    session.flush()
    return terms


def delete_buyer_terms(session: Session, user, terms: ContractBuyerTerms) -> None:
    version = terms.version
    _require_edit(user, version)
    version.buyer_terms.remove(terms)
    session.flush()


def save_buyer_references(
    session: Session, user, version: ContractVersion, references: Mapping[int, str | None]
) -> None:
    """The form's way: a reference per buyer; an empty one removes the buyer's reference. Errors are
    keyed by municipality id."""
    _require_edit(user, version)
    buyers = _buyer_ids(version.agreement)
    errors: dict = {}
    cleaned: dict[int, str | None] = {}
    for municipality_id, text in references.items():
        if municipality_id not in buyers:
            errors[str(municipality_id)] = ["Kommunen är inte köpare i avtalet."]
            continue
        text = (text or "").strip()
        if not text:
            cleaned[municipality_id] = None
            continue
        try:
            cleaned[municipality_id] = load_or_raise(
                ContractBuyerTermsUpdateSchema(), {"buyer_reference": text}
            )["buyer_reference"]
        except ValidationFailed as exc:
            errors[str(municipality_id)] = exc.errors.get("buyer_reference", ["Ogiltigt värde."])
    _fail(errors)
    existing = {t.municipality_id: t for t in version.buyer_terms}
    for municipality_id, text in cleaned.items():
        terms = existing.get(municipality_id)
        if text is None and terms is not None:
            version.buyer_terms.remove(terms)
        elif text is not None and terms is None:
            version.buyer_terms.append(
                ContractBuyerTerms(municipality_id=municipality_id, buyer_reference=text)
            )
        elif text is not None and terms.buyer_reference != text:
            terms.buyer_reference = text
    session.flush()


# --- Display --------------------------------------------------------------------------------------


def _yes_no(value) -> str:
    return "Ja" if value else "Nej"


def _percent(value: Decimal | None) -> str:
    return f"{format_number(value, 2)}\u00a0%" if value is not None else ""


def _day_of_month(month: int | None, day: int | None) -> str:
    if month is None or day is None:
        return "Ej angivet"
    return f"{day} {MONTHS[month - 1]}"


_YEAR_OFFSET = {0: "samma år", -1: "året före", -2: "två år före"}


def population_reference(component: CompensationComponent) -> str:
    """`1 november året före` (SCB's figure on that day)."""
    when = _day_of_month(component.population_ref_month, component.population_ref_day)
    offset = component.population_ref_year_offset
    return f"{when} {_YEAR_OFFSET.get(offset, '')}".strip() if offset is not None else when


def buyer_label(component: CompensationComponent) -> str:
    if component.buyer_municipality_id and component.buyer:
        return component.buyer.name
    return "Alla parter enligt fördelningen" if component.model in SHARE_MODELS else "Alla köpare"


def component_title(component: CompensationComponent) -> str:
    """`Timpris – Utredning och handläggning` (+ `, Härryda` when for one buyer)."""
    name = component.service_type.name if component.service_type is not None else "?"
    title = f"{COMPENSATION_MODEL_LABELS[component.model]} – {name}"
    if component.buyer_municipality_id:
        title += f", {buyer_label(component)}"
    return title


def component_key(component: CompensationComponent) -> str:
    """Stable across versions: model + service type code + buyer (kommunkod or `alla`)."""
    buyer = component.buyer.kommunkod if component.buyer_municipality_id and component.buyer else "alla"
    code = component.service_type.code if component.service_type is not None else "?"
    return f"component:{component.model.value}:{code}:{buyer}"


def _time_rounding(minutes: int | None) -> str:
    return {
        15: "Per påbörjad kvart (15 minuter)",
        30: "Per påbörjad halvtimme (30 minuter)",
    }.get(minutes, "Ingen avrundning (faktisk tid)")


def component_details(component: CompensationComponent) -> list[tuple[str, str, str]]:
    """(field, label, display value) of the component's model fields, in reading order."""
    model = component.model
    rows: list[tuple[str, str, str]] = [
        ("buyer", "Gäller", buyer_label(component)),
    ]
    if component.description:
        rows.append(("description", FIELD_LABELS["description"], component.description))
    if model == CompensationModel.HOURLY:
        rows.append(
            (
                "time_rounding_minutes",
                FIELD_LABELS["time_rounding_minutes"],
                _time_rounding(component.time_rounding_minutes),
            )
        )
        if component.ceiling_hours is not None:
            ceiling = (
                f"Bara timmar över {format_number(component.ceiling_hours)} "
                f"{CEILING_PER_LABELS[component.ceiling_per]} faktureras"
            )
        else:
            ceiling = "Inget tak: alla timmar faktureras"
        rows.append(("ceiling", FIELD_LABELS["ceiling_hours"], ceiling))
    elif model == CompensationModel.FIXED_FEE:
        rows.append(
            (
                "fee_period",
                FIELD_LABELS["fee_period"],
                FEE_PERIOD_LABELS[component.fee_period] if component.fee_period else "Ej angivet",
            )
        )
        rows.append(
            (
                "in_advance",
                FIELD_LABELS["in_advance"],
                "I förskott"
                if component.in_advance
                else ("I efterskott" if component.in_advance is False else "Ej angivet"),
            )
        )
    elif model == CompensationModel.SHARED_ROLE:
        role = component.shared_role
        rows.append(
            (
                "shared_role_id",
                FIELD_LABELS["shared_role_id"],
                f"{role.title} ({role.employer.name})" if role else "Ej vald",
            )
        )
    elif model == CompensationModel.PRELIMINARY:
        rows.append(
            (
                "share_basis",
                FIELD_LABELS["share_basis"],
                SHARE_BASIS_LABELS[component.share_basis] if component.share_basis else "Ej angivet",
            )
        )
    if model in (CompensationModel.POPULATION_SHARE, CompensationModel.PRELIMINARY) and (
        model == CompensationModel.POPULATION_SHARE or component.share_basis == ShareBasis.POPULATION
    ):
        rows.append(("population_reference", "Invånarantal per", population_reference(component)))
        rows.append(
            (
                "equal_split_percent",
                FIELD_LABELS["equal_split_percent"],
                f"{_percent(component.equal_split_percent)} delas lika, resten efter invånarantal"
                if component.equal_split_percent
                else "Ingen: allt efter invånarantal",
            )
        )
    if model == CompensationModel.USAGE_SHARE or (
        model == CompensationModel.PRELIMINARY and component.share_basis == ShareBasis.USAGE
    ):
        rows.append(
            (
                "usage_measure",
                FIELD_LABELS["usage_measure"],
                USAGE_MEASURE_LABELS[component.usage_measure] if component.usage_measure else "Ej angivet",
            )
        )
    if model in (CompensationModel.POPULATION_SHARE, CompensationModel.USAGE_SHARE) or (
        model == CompensationModel.PRELIMINARY
        and component.share_basis in (ShareBasis.POPULATION, ShareBasis.USAGE)
    ):
        rows.append(
            (
                "include_host",
                FIELD_LABELS["include_host"],
                "Ja, utföraren bär sin egen andel"
                if component.include_host
                else "Nej, bara köparna delar kostnaden",
            )
        )
    if model == CompensationModel.PRELIMINARY:
        rows.append(
            (
                "reconciliation_deadline",
                "Avräkning senast",
                f"{_day_of_month(component.reconciliation_deadline_month, component.reconciliation_deadline_day)} året efter",
            )
        )
        rows.append(
            (
                "reconciliation_threshold",
                FIELD_LABELS["reconciliation_threshold"],
                f"Skillnader under {format_money(component.reconciliation_threshold)} faktureras inte"
                if component.reconciliation_threshold
                else "Ingen: alla skillnader faktureras eller krediteras",
            )
        )
    if model == CompensationModel.OUTLAYS:
        rows.append(("at_cost", "Pris", "Till självkostnad, utan påslag"))
    return rows


def price_label(component: CompensationComponent, price: ContractPrice) -> str:
    meaning = PRICE_MEANING[component.model] or "Pris"
    what = f", {price.case_type}" if price.case_type else ""
    return f"{meaning} {price.year}{what}"


def vat_display(service_type: ContractServiceType) -> str:
    """`S (25,00 %) – momspliktig`, `O (0 %) – VATEX-EU-O: Myndighetsutövning – …`."""
    category = service_type.vat_category
    if category == VatCategory.S:
        return f"S ({_percent(service_type.vat_rate)}) – momspliktig"
    code = f"{service_type.vat_exemption_reason_code}: " if service_type.vat_exemption_reason_code else ""
    return f"{category.value} (0\u00a0%) – {code}{service_type.vat_exemption_reason or ''}"


def header_terms(version: ContractVersion) -> list[tuple[str, str, str]]:
    """(section, field, display value) of the version's own terms, in reading order."""
    v = version
    rows = [
        ("general", "title", v.title),
        ("general", "effective_from", v.effective_from.isoformat()),
        ("general", "change_summary", v.change_summary or "Ej angivet"),
        ("general", "scope", v.scope or "Ej angiven"),
        ("general", "executor", EXECUTOR_LABELS[v.executor] if v.executor else "Ej angivet"),
        ("invoicing", "invoice_frequency", INVOICE_FREQUENCY_LABELS[v.invoice_frequency]),
        ("invoicing", "payment_terms_days", f"{v.payment_terms_days} dagar netto"),
        ("invoicing", "invoice_series", v.invoice_series or "Ej angiven (standardserien)"),
        (
            "invoicing",
            "cost_cap_amount",
            format_money(v.cost_cap_amount) if v.cost_cap_amount else "Inget kostnadstak",
        ),
        (
            "indexation",
            "index_kind",
            INDEX_KIND_SHORT[v.index_kind] if v.index_kind else "Ingen indexuppräkning",
        ),
    ]
    if v.index_kind:
        rows += [
            ("indexation", "index_edition", v.index_edition or ""),
            (
                "indexation",
                "index_effective_from",
                v.index_effective_from.isoformat() if v.index_effective_from else "",
            ),
            ("indexation", "index_rounding", ROUNDING_LABELS[v.index_rounding]),
        ]
    rows += [
        ("personal_data", "personal_data_role", PERSONAL_DATA_ROLE_LABELS[v.personal_data_role]),
        ("personal_data", "claims_cost_coverage", _yes_no(v.claims_cost_coverage)),
        ("term", "changes_term", "Ja" if v.changes_term else "Nej, avtalstiden i registret gäller"),
    ]
    if v.changes_term:
        rows += [
            (
                "term",
                "term_end_date",
                v.term_end_date.isoformat() if v.term_end_date else "Tills vidare (inget slutdatum)",
            ),
            (
                "term",
                "term_renewal_months",
                f"{v.term_renewal_months} månader i taget" if v.term_renewal_months else "Ingen",
            ),
            (
                "term",
                "term_notice_months",
                f"{v.term_notice_months} månader" if v.term_notice_months is not None else "Ej angiven",
            ),
        ]
    return rows


@dataclass(frozen=True)
class OutlineEntry:
    key: str
    section: str
    label: str
    value: str

    @property
    def section_label(self) -> str:
        return SECTIONS[self.section]


def terms_outline(version: ContractVersion) -> list[OutlineEntry]:
    """Every term of the version as an ordered list of keyed entries with Swedish display values. Keys
    are stable across versions of an agreement (a component by model + service type code + buyer, a
    price by that + year + case type), so two outlines can be compared entry by entry."""
    entries = [
        OutlineEntry(f"version:{name}", section, FIELD_LABELS[name], value)
        for section, name, value in header_terms(version)
    ]
    for st in sorted(version.service_types, key=lambda s: s.code):
        base = f"service_type:{st.code}"
        title = f"Tjänstetyp {st.code}"
        entries += [
            OutlineEntry(f"{base}:name", "service_types", f"{title}: benämning", st.name),
            OutlineEntry(f"{base}:unit", "service_types", f"{title}: enhet", SERVICE_UNIT_LABELS[st.unit]),
            OutlineEntry(f"{base}:vat", "service_types", f"{title}: moms", vat_display(st)),
        ]
    components = sorted(version.components, key=lambda c: (c.position, c.id or 0))
    for component in components:
        key = component_key(component)
        title = component_title(component)
        entries.append(OutlineEntry(key, "compensation", title, COMPENSATION_MODEL_LABELS[component.model]))
        for name, label, value in component_details(component):
            entries.append(OutlineEntry(f"{key}:{name}", "compensation", f"{title}: {label.lower()}", value))
    for component in components:
        key = component_key(component)
        title = component_title(component)
        for price in sorted(component.prices, key=lambda p: (p.year, p.case_type)):
            entries.append(
                OutlineEntry(
                    f"{key}:price:{price.year}:{price.case_type}",
                    "prices",
                    f"{title}: {price_label(component, price).lower()}",
                    format_money(price.amount),
                )
            )
    for component in components:
        if not component.fixed_shares:
            continue
        key = component_key(component)
        title = component_title(component)
        for share in sorted(component.fixed_shares, key=lambda s: s.municipality.kommunkod):
            entries.append(
                OutlineEntry(
                    f"{key}:share:{share.municipality.kommunkod}",
                    "fixed_shares",
                    f"{title}: andel för {share.municipality.name}",
                    _percent(share.percent),
                )
            )
    for terms in sorted(version.buyer_terms, key=lambda t: t.municipality.kommunkod):
        entries.append(
            OutlineEntry(
                f"buyer_reference:{terms.municipality.kommunkod}",
                "buyer_references",
                f"Er referens för {terms.municipality.name}",
                terms.buyer_reference,
            )
        )
    return entries


# --- Comparison -----------------------------------------------------------------------------------

CHANGE_KIND_LABELS = {"added": "Tillagt", "removed": "Borttaget", "changed": "Ändrat"}


@dataclass(frozen=True)
class Change:
    key: str
    section: str
    label: str
    kind: str  # added, removed, changed
    old: str | None
    new: str | None

    @property
    def section_label(self) -> str:
        return SECTIONS[self.section]

    @property
    def kind_label(self) -> str:
        return CHANGE_KIND_LABELS[self.kind]


@dataclass(frozen=True)
class ComparisonSection:
    section: str
    changes: list[Change]

    @property
    def section_label(self) -> str:
        return SECTIONS[self.section]


@dataclass
class Comparison:
    a: ContractVersion
    b: ContractVersion
    changes: list[Change] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.changes

    @property
    def sections(self) -> list[ComparisonSection]:
        grouped: dict[str, list[Change]] = {}
        for change in self.changes:
            grouped.setdefault(change.section, []).append(change)
        return [ComparisonSection(s, grouped[s]) for s in SECTIONS if s in grouped]


def compare_versions(a: ContractVersion, b: ContractVersion) -> Comparison:
    """What changed from version `a` to version `b` of the same agreement: entries added, removed and
    changed (old and new display values), grouped by section in reading order."""
    if a.agreement_id != b.agreement_id:
        raise ValidationFailed(
            "Bara versioner av samma avtal kan jämföras.",
            errors={"with": ["Välj en version av samma avtal."]},
        )
    old = {e.key: (i, e) for i, e in enumerate(terms_outline(a))}
    new = {e.key: (i, e) for i, e in enumerate(terms_outline(b))}
    ordered: list[tuple[int, float, Change]] = []
    section_rank = {s: i for i, s in enumerate(SECTIONS)}
    for key, (index, entry) in new.items():
        if key not in old:
            change = Change(key, entry.section, entry.label, "added", None, entry.value)
        elif old[key][1].value != entry.value:
            change = Change(key, entry.section, entry.label, "changed", old[key][1].value, entry.value)
        else:
            continue
        ordered.append((section_rank[entry.section], index, change))
    for key, (index, entry) in old.items():
        if key in new:
            continue
        # Removed entries sit where they stood in the old version, relative to the new order.
        ordered.append(
            (
                section_rank[entry.section],
                index - 0.5,
                Change(key, entry.section, entry.label, "removed", entry.value, None),
            )
        )
    ordered.sort(key=lambda item: (item[0], item[1]))
    return Comparison(a=a, b=b, changes=[change for _, _, change in ordered])


# --- Version list helpers -------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    version: ContractVersion
    superseded_on: dt.date | None
    in_force: bool


def version_rows(session: Session, agreement: Agreement, today: dt.date) -> list[VersionRow]:
    """The agreement's versions with the day each was superseded and which is in force today."""
    current = version_in_force(session, agreement.id, today, load=False)
    return [
        VersionRow(v, superseded_on(session, v), current is not None and v.id == current.id)
        for v in versions_of(session, agreement.id)
    ]


def shared_role_choices(session: Session, version: ContractVersion) -> list[SharedRole]:
    return list(
        session.scalars(
            select(SharedRole)
            .where(SharedRole.agreement_id == version.agreement_id)
            .order_by(SharedRole.title)
        )
    )
