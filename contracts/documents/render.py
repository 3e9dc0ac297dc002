"""The contract as a document: a version's terms in Swedish prose and tables, rendered from the Jinja
template contracts/documents/contract.html to PDF through the project's single PDF function
(core.pdf.render_pdf). A version that is not approved is marked UTKAST on every page.

The sentences that describe a compensation component are built here (not in the template), so they
can be tested and read in one place.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from flask import render_template
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from contracts.indexation import ROUNDING_LABELS
from contracts.models import (
    CEILING_PER_LABELS,
    INDEX_KIND_LABELS,
    INVOICE_FREQUENCY_LABELS,
    PERSONAL_DATA_ROLE_LABELS,
    PRICE_MEANING,
    SHARE_BASIS_LABELS,
    USAGE_MEASURE_LABELS,
    CompensationComponent,
    CompensationModel,
    ContractVersion,
    DocumentKind,
    FeePeriod,
    ShareBasis,
    VersionStatus,
)
from contracts.versions import versions_of
from core.formatting import format_date, format_money, format_number, local_today
from core.pdf import render_pdf
from registry.agreements.services import ordered_parties
from registry.models import (
    AREA_LABELS,
    COOPERATION_FORM_LABELS,
    EXECUTOR_LABELS,
    AgreementParty,
    SharedRoleAllocation,
)

TEMPLATE = "contracts/documents/contract.html"
# A diagonal UTKAST every 650 CSS pixels; a page holds about 1 300 (A4 at wkhtmltopdf's scale), so every
# page carries at least one whole mark whatever the page height. Marks past the end are clipped.
WATERMARK_COUNT = 80

MONTHS = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)
YEAR_OFFSETS = {0: "debiteringsåret", -1: "året före debiteringsåret", -2: "två år före debiteringsåret"}
# Mileage and outlays have their own section of the contract; the rest is "Ersättning".
TRAVEL_MODELS = frozenset({CompensationModel.MILEAGE, CompensationModel.OUTLAYS})


def day_and_month(day: int | None, month: int | None) -> str:
    """`1 november`; `november` without a day; `` without a month."""
    if not month:
        return ""
    return f"{day} {MONTHS[month - 1]}" if day else MONTHS[month - 1]


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def keep_dates(text: str) -> Markup:
    """Escape the text and keep every ISO date on one line (wkhtmltopdf would break it at a hyphen)."""
    return Markup(_ISO_DATE.sub(lambda m: f'<span class="nw">{m.group(0)}</span>', str(escape(text))))


def months(n: int) -> str:
    return "1 månad" if n == 1 else f"{n} månader"


def percent_text(value: Decimal) -> str:
    return f"{format_number(value)}\u00a0%"


def hours_text(value: Decimal) -> str:
    return f"{format_number(value)} timmar"


# --- Compensation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceRow:
    year: int
    case_type: str
    amount: Decimal


@dataclass(frozen=True)
class AllocationSet:
    valid_from: dt.date
    rows: list[tuple[str, Decimal]]  # (municipality name, percent)


@dataclass
class ComponentView:
    """One compensation component as the contract shows it."""

    component: CompensationComponent
    heading: str
    applies_to: str
    terms: list[str]
    price_meaning: str
    unit: str
    prices: list[PriceRow]
    per_case_type: bool
    fixed_shares: list[tuple[str, Decimal]] = field(default_factory=list)
    allocations: list[AllocationSet] = field(default_factory=list)


def _reference_date_rule(component: CompensationComponent) -> str:
    when = day_and_month(component.population_ref_day, component.population_ref_month)
    offset = YEAR_OFFSETS.get(component.population_ref_year_offset or 0, "debiteringsåret")
    if not when:
        return "Invånarantalet enligt SCB används; referensdatumet är inte angivet."
    return f"Invånarantalet enligt SCB den {when} {offset} används."


def _population_terms(component: CompensationComponent) -> list[str]:
    terms = [_reference_date_rule(component)]
    if component.equal_split_percent:
        rest = Decimal(100) - component.equal_split_percent
        terms.append(
            f"{percent_text(component.equal_split_percent)} av kostnaden fördelas lika mellan parterna och "
            f"{percent_text(rest)} efter invånarantal."
        )
    return terms


def _host_terms(component: CompensationComponent) -> str:
    if component.include_host:
        return "Utföraren ingår i fördelningen och bär sin egen andel av kostnaden."
    return "Utföraren ingår inte i fördelningen; hela kostnaden fördelas mellan köparna."


def component_terms(component: CompensationComponent) -> list[str]:
    """The component's parameters as Swedish sentences, per compensation model."""
    model = component.model
    terms: list[str] = []
    if model == CompensationModel.HOURLY:
        if component.time_rounding_minutes:
            terms.append(
                f"Tiden avrundas uppåt till närmast påbörjade {component.time_rounding_minutes}-minutersperiod."
            )
        else:
            terms.append("Faktiskt nedlagd tid debiteras, utan avrundning.")
    elif model == CompensationModel.PER_CASE:
        terms.append("Ett fast pris per ärende debiteras enligt ärendetyp i prislistan nedan.")
    elif model == CompensationModel.FIXED_FEE:
        period = {
            FeePeriod.MONTHLY: "månadsvis med en tolftedel",
            FeePeriod.QUARTERLY: "kvartalsvis med en fjärdedel",
        }.get(component.fee_period, "enligt faktureringsintervallet")
        timing = {True: " i förskott", False: " i efterskott"}.get(component.in_advance, "")
        terms.append(f"Årsavgiften faktureras {period} av avgiften{timing}.")
    elif model == CompensationModel.POPULATION_SHARE:
        terms.append("Kostnaden fördelas mellan parterna efter invånarantal.")
        terms.extend(_population_terms(component))
        terms.append(_host_terms(component))
    elif model == CompensationModel.USAGE_SHARE:
        measure = USAGE_MEASURE_LABELS.get(component.usage_measure, "nyttjande").lower()
        terms.append(f"Kostnaden fördelas efter varje parts nyttjande, mätt som {measure}.")
        terms.append(_host_terms(component))
    elif model == CompensationModel.SHARED_ROLE:
        role = component.shared_role
        if role is None:
            terms.append(
                "Kostnaden för den gemensamma tjänsten fördelas enligt registrets kostnadsfördelning."
            )
        else:
            terms.append(
                f"Kostnaden för den gemensamma tjänsten {role.title} (anställd av {role.employer.name}) "
                "fördelas enligt kostnadsfördelningen i tabellen nedan."
            )
            cost = format_money(role.salary_per_month)
            terms.append(
                f"Kostnadsunderlag: lön {cost} per månad, personalomkostnadspålägg "
                f"{percent_text(role.po_percent)} och övriga kostnader {format_money(role.overhead_per_month)} "
                "per månad."
            )
    elif model == CompensationModel.PRELIMINARY:
        basis = SHARE_BASIS_LABELS.get(component.share_basis, "avtalad grund").lower()
        terms.append(
            "Under året debiteras preliminärt på budgeterad kostnad. Vid årets slut räknas den slutliga "
            f"ersättningen fram som faktisk kostnad gånger slutlig andel (fördelning efter {basis})."
        )
        if component.share_basis == ShareBasis.POPULATION:
            terms.extend(_population_terms(component))
        elif component.share_basis == ShareBasis.USAGE and component.usage_measure:
            measure = USAGE_MEASURE_LABELS[component.usage_measure].lower()
            terms.append(f"Nyttjandet mäts som {measure}.")
        deadline = day_and_month(
            component.reconciliation_deadline_day, component.reconciliation_deadline_month
        )
        if deadline:
            terms.append(
                f"Avräkning mot faktisk kostnad görs senast den {deadline} året efter; skillnaden faktureras "
                "eller krediteras."
            )
        else:
            terms.append(
                "Avräkning mot faktisk kostnad görs efter årets slut; skillnaden faktureras eller krediteras."
            )
        if component.reconciliation_threshold:
            terms.append(
                f"Skillnader under {format_money(component.reconciliation_threshold)} per part faktureras "
                "eller krediteras inte."
            )
        if component.share_basis != ShareBasis.FIXED:
            terms.append(_host_terms(component))
    elif model == CompensationModel.MILEAGE:
        terms.append("Resor i uppdraget ersätts per kilometer enligt prislistan nedan.")
    elif model == CompensationModel.OUTLAYS:
        terms.append("Utlägg i uppdraget ersätts till självkostnad, utan påslag, mot underlag.")
    if component.ceiling_hours is not None:
        per = CEILING_PER_LABELS.get(component.ceiling_per, "")
        terms.append(
            f"Endast timmar över {hours_text(component.ceiling_hours)} {per} debiteras enligt timpris.".replace(
                "  ", " "
            )
        )
    return terms


def _allocation_sets(component: CompensationComponent, on: dt.date) -> list[AllocationSet]:
    """The registry's allocation of the shared role in force on `on`, and every later set."""
    role = component.shared_role
    if role is None:
        return []
    by_date: dict[dt.date, list[SharedRoleAllocation]] = {}
    for allocation in role.allocations:
        by_date.setdefault(allocation.valid_from, []).append(allocation)
    dates = sorted(by_date)
    earlier = [d for d in dates if d <= on]
    shown = ([earlier[-1]] if earlier else []) + [d for d in dates if d > on]
    return [
        AllocationSet(d, sorted(((a.municipality.name, a.percent) for a in by_date[d]), key=lambda r: r[0]))
        for d in shown
    ]


def component_view(component: CompensationComponent, version: ContractVersion) -> ComponentView:
    service = component.service_type
    heading = component.model_label
    if component.description:
        heading = f"{heading}: {component.description}"
    per_case_type = any(p.case_type for p in component.prices)
    return ComponentView(
        component=component,
        heading=heading,
        applies_to=(
            f"Gäller {component.buyer.name}." if component.buyer is not None else "Gäller samtliga köpare."
        ),
        terms=component_terms(component),
        price_meaning=PRICE_MEANING.get(component.model) or "Belopp",
        unit=f"{service.name} ({service.unit_label})" if service is not None else "",
        prices=[PriceRow(p.year, p.case_type, p.amount) for p in component.prices],
        per_case_type=per_case_type,
        fixed_shares=sorted(
            ((s.municipality.name, s.percent) for s in component.fixed_shares), key=lambda r: r[0]
        ),
        allocations=(
            _allocation_sets(component, version.effective_from)
            if component.model == CompensationModel.SHARED_ROLE
            else []
        ),
    )


# --- Term and notice --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    start_date: dt.date
    end_date: dt.date | None
    renewal_months: int | None
    notice_months: int | None
    changed_here: bool

    @property
    def sentences(self) -> list[str]:
        start = format_date(self.start_date)
        if self.end_date is None:
            text = [f"Avtalet gäller från och med {start} och tills vidare."]
        else:
            text = [f"Avtalet gäller från och med {start} till och med {format_date(self.end_date)}."]
        if self.renewal_months and self.end_date is not None:
            text.append(
                f"Om avtalet inte sägs upp i tid förlängs det automatiskt med {months(self.renewal_months)} "
                "i taget."
            )
        elif self.end_date is not None:
            text.append("Avtalet förlängs inte automatiskt.")
        if self.notice_months is None:
            text.append("Ingen uppsägningstid är angiven.")
        elif self.end_date is None:
            text.append(f"Avtalet kan sägas upp med {months(self.notice_months)} uppsägningstid.")
        else:
            text.append(
                f"Uppsägning ska ske skriftligen senast {months(self.notice_months)} före avtalstidens utgång."
            )
        return text


def term_of(session: Session, version: ContractVersion) -> Term:
    """The term that applies to the version: its own change, else the latest earlier approved version
    that changed the term, else the registry's agreement."""
    agreement = version.agreement
    source = version if version.changes_term else None
    if source is None:
        earlier = [
            v
            for v in versions_of(session, agreement.id)
            if v.status == VersionStatus.APPROVED and v.number < version.number and v.changes_term
        ]
        source = max(earlier, key=lambda v: v.number) if earlier else None
    if source is None:
        return Term(
            agreement.start_date, agreement.end_date, agreement.renewal_months, agreement.notice_months, False
        )
    return Term(
        agreement.start_date,
        source.term_end_date,
        source.term_renewal_months,
        source.term_notice_months,
        source is version,
    )


# --- The whole document ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyView:
    party: AgreementParty
    role: str  # "Utförare" / "Köpare"
    name: str
    org_number: str | None
    board: str | None
    contact: str
    decision: str
    buyer_reference: str | None


def _party_view(party: AgreementParty, references: dict[int, str]) -> PartyView:
    contact = ", ".join(x for x in (party.contact_name, party.contact_email, party.contact_phone) if x)
    if party.decision_reference and party.decision_date:
        decision = f"{party.decision_reference}, {format_date(party.decision_date)}"
    else:
        decision = party.decision_reference or (
            format_date(party.decision_date) if party.decision_date else ""
        )
    is_host = party.role.value == "host"
    return PartyView(
        party=party,
        role="Utförare" if is_host else "Köpare",
        name=party.municipality.name,
        org_number=party.municipality.org_number,
        board=party.board,
        contact=contact,
        decision=decision,
        buyer_reference=None if is_host else references.get(party.municipality_id),
    )


def is_draft_document(version: ContractVersion) -> bool:
    """Everything not approved is printed as UTKAST."""
    return version.status != VersionStatus.APPROVED


def contract_context(session: Session, version: ContractVersion) -> dict:
    agreement = version.agreement
    references = {t.municipality_id: t.buyer_reference for t in version.buyer_terms}
    parties = [_party_view(p, references) for p in ordered_parties(agreement)]
    components = [component_view(c, version) for c in version.components]
    appendices = [d for d in version.documents if d.kind != DocumentKind.SIGNED_SCAN]
    return {
        "version": version,
        "agreement": agreement,
        "draft": is_draft_document(version),
        "host": parties[0] if parties and parties[0].role == "Utförare" else None,
        "buyers": [p for p in parties if p.role == "Köpare"],
        "parties": parties,
        "area": AREA_LABELS[agreement.area],
        "cooperation_form": COOPERATION_FORM_LABELS[agreement.cooperation_form],
        "executor": EXECUTOR_LABELS.get(version.executor) if version.executor else None,
        "term": term_of(session, version),
        "components": [c for c in components if c.component.model not in TRAVEL_MODELS],
        "mileage": [c for c in components if c.component.model == CompensationModel.MILEAGE],
        "outlays": [c for c in components if c.component.model == CompensationModel.OUTLAYS],
        "index_kind": INDEX_KIND_LABELS.get(version.index_kind) if version.index_kind else None,
        "index_rounding": ROUNDING_LABELS[version.index_rounding].lower(),
        "invoice_frequency": INVOICE_FREQUENCY_LABELS[version.invoice_frequency].lower(),
        "personal_data_role": PERSONAL_DATA_ROLE_LABELS[version.personal_data_role],
        "pub_documents": [d for d in version.documents if d.kind == DocumentKind.PUB_AGREEMENT],
        "appendices": appendices,
        "printed_on": local_today(),
        "nw": keep_dates,
        # Draft marks repeated down the document (wkhtmltopdf repeats no fixed element on each page).
        "watermarks": WATERMARK_COUNT if is_draft_document(version) else 0,
    }


def render_contract_html(session: Session, version: ContractVersion) -> str:
    return render_template(TEMPLATE, **contract_context(session, version))


def render_contract_pdf(session: Session, version: ContractVersion) -> bytes:
    """The contract as PDF bytes; core.pdf.PdfUnavailable (503) when wkhtmltopdf is missing."""
    return render_pdf(render_contract_html(session, version))


def pdf_filename(version: ContractVersion) -> str:
    """`GR-JAV-2024_version-2.pdf`; a version that is not approved gets `_utkast` before `.pdf`.
    ASCII only (å, ä, ö become a, a, o), so every browser and mail program keeps the name."""
    number = unicodedata.normalize("NFKD", version.agreement.number).encode("ascii", "ignore").decode()
    number = re.sub(r"[^A-Za-z0-9._-]+", "-", number).strip("-.") or f"avtal-{version.agreement_id}"
    suffix = "_utkast" if is_draft_document(version) else ""
    return f"{number}_version-{version.number}{suffix}.pdf"
