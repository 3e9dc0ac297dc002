"""Automatic pre-checks of the legal review: what the data of a version can tell a lawyer before she
reads the contract. Each check returns pass or fail with a Swedish explanation that names what is
wrong; the checklist data file (contracts/data/review_checklist.csv) says which row each one fills.

Pure functions of a loaded version (contracts.versions.VERSION_LOAD): no writes, no clock. Legal
references belong in the checklist file, not in these messages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from contracts.models import (
    COMPENSATION_MODEL_LABELS,
    PRICE_MEANING,
    CompensationComponent,
    CompensationModel,
    ContractVersion,
    DocumentKind,
    PersonalDataRole,
    ShareBasis,
)
from core.formatting import format_number
from registry.dates import add_months

# Organisation number prefixes of public bodies that may be parties (the Hamburg exception's
# "contracting authorities" among municipalities): municipality, region, kommunalförbund.
PUBLIC_BODY_PREFIXES = {
    "212000": "kommun",
    "232100": "region",
    "222000": "kommunalförbund",
}


@dataclass(frozen=True)
class PrecheckResult:
    ok: bool
    detail: str


@dataclass(frozen=True)
class Precheck:
    key: str
    title: str
    run: Callable[[ContractVersion], PrecheckResult]


def _names(items) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " och " + items[-1]


def _months(n: int) -> str:
    return f"{n} månad" if n == 1 else f"{n} månader"


# --- (a) All parties are public bodies --------------------------------------------------------------


def check_public_parties(version: ContractVersion) -> PrecheckResult:
    """Every party's organisation number starts with 212000 (municipality), 232100 (region) or
    222000 (kommunalförbund). A party without an organisation number fails: it cannot be shown."""
    agreement = version.agreement
    parties = list(agreement.parties)
    problems: list[str] = []
    if agreement.host is None:
        problems.append("Avtalet saknar utförande part.")
    if not agreement.buyers:
        problems.append("Avtalet saknar köpande part.")
    found: list[str] = []
    for party in parties:
        municipality = party.municipality
        org_number = (municipality.org_number or "").strip()
        if not org_number:
            problems.append(
                f"{municipality.name} saknar organisationsnummer i kommunregistret, så det går inte att "
                "visa att parten är ett offentligt organ."
            )
            continue
        kind = PUBLIC_BODY_PREFIXES.get(re.sub(r"\D", "", org_number)[:6])
        if kind is None:
            problems.append(
                f"{municipality.name} har organisationsnummer {org_number}, som inte börjar som en kommuns "
                "(212000), en regions (232100) eller ett kommunalförbunds (222000)."
            )
        else:
            found.append(f"{municipality.name} ({kind}, {org_number})")
    if problems:
        return PrecheckResult(False, " ".join(problems))
    return PrecheckResult(True, f"Alla parter är offentliga organ: {_names(found)}.")


# --- (b) The compensation model is complete for every buyer -----------------------------------------


def _describe(component: CompensationComponent) -> str:
    label = COMPENSATION_MODEL_LABELS[component.model]
    if component.service_type is not None:
        return f"{label} ({component.service_type.name})"
    return label


def _has_population_rule(component: CompensationComponent) -> bool:
    return (
        component.population_ref_month is not None
        and component.population_ref_day is not None
        and component.population_ref_year_offset is not None
    )


def _component_gaps(component: CompensationComponent, year: int) -> list[str]:
    """What a component lacks for its model, whoever the buyer (buyer-specific gaps come later)."""
    gaps: list[str] = []
    model = component.model
    if component.service_type is None and component.service_type_id is None:
        gaps.append("tjänstetyp saknas")
    if PRICE_MEANING.get(model):
        prices = [p for p in component.prices if p.year == year]
        if model == CompensationModel.PER_CASE:
            if not [p for p in prices if (p.case_type or "").strip()]:
                gaps.append(f"ingen ärendetyp har pris för {year}")
        elif not prices:
            what = PRICE_MEANING[model].lower()
            gaps.append(f"{what} för {year} saknas")
    if (
        model == CompensationModel.HOURLY
        and component.ceiling_hours is not None
        and component.ceiling_per is None
    ):
        gaps.append("det anges inte om taket för timmar gäller per ärende, månad eller år")
    if model == CompensationModel.FIXED_FEE:
        if component.fee_period is None:
            gaps.append("det anges inte om årsavgiften faktureras månadsvis eller kvartalsvis")
        if component.in_advance is None:
            gaps.append("det anges inte om årsavgiften faktureras i förskott eller i efterskott")
    if model == CompensationModel.POPULATION_SHARE and not _has_population_rule(component):
        gaps.append("referensdatum för invånarantalet saknas")
    if model == CompensationModel.USAGE_SHARE and component.usage_measure is None:
        gaps.append("måttet på nyttjande (ärenden, timmar eller dygn) saknas")
    if model == CompensationModel.SHARED_ROLE and component.shared_role_id is None:
        gaps.append("den gemensamma tjänsten saknas")
    if model == CompensationModel.PRELIMINARY:
        if component.share_basis is None:
            gaps.append("grunden för den slutliga andelen saknas")
        elif component.share_basis == ShareBasis.POPULATION and not _has_population_rule(component):
            gaps.append("referensdatum för invånarantalet saknas")
        elif component.share_basis == ShareBasis.USAGE and component.usage_measure is None:
            gaps.append("måttet på nyttjande (ärenden, timmar eller dygn) saknas")
        if component.reconciliation_deadline_month is None or component.reconciliation_deadline_day is None:
            gaps.append("sista dag för avräkningen saknas")
    if _uses_fixed_shares(component):
        total = sum((s.percent for s in component.fixed_shares), Decimal("0"))
        if total != Decimal("100"):
            gaps.append(f"de avtalade andelarna summerar till {format_number(total)} %, inte 100 %")
    return gaps


def _uses_fixed_shares(component: CompensationComponent) -> bool:
    return component.model == CompensationModel.PRELIMINARY and component.share_basis == ShareBasis.FIXED


def _allocation_set(component: CompensationComponent, on: dt.date) -> set[int]:
    """The municipalities of the shared role's allocation set in force on `on` (or its first set,
    when the role's allocation starts later)."""
    role = component.shared_role
    if role is None:
        return set()
    by_date: dict[dt.date, set[int]] = {}
    for allocation in role.allocations:
        by_date.setdefault(allocation.valid_from, set()).add(allocation.municipality_id)
    if not by_date:
        return set()
    in_force = [d for d in by_date if d <= on]
    return by_date[max(in_force) if in_force else min(by_date)]


def _buyer_gaps(component: CompensationComponent, buyer_id: int, on: dt.date) -> list[str]:
    gaps: list[str] = []
    if component.model == CompensationModel.SHARED_ROLE and component.shared_role is not None:
        if buyer_id not in _allocation_set(component, on):
            gaps.append(f"{component.shared_role.title} har ingen kostnadsfördelning för kommunen")
    if _uses_fixed_shares(component) and buyer_id not in {s.municipality_id for s in component.fixed_shares}:
        gaps.append("ingen avtalad andel för kommunen")
    return gaps


def compensation_gaps(version: ContractVersion) -> list[str]:
    """What stops billing every buying party under this version, in Swedish, one message per gap;
    an empty list means the compensation model is complete. Reused by other parts (e.g. terms).

    Every buyer must be covered by at least one component (a component without a buyer covers all)
    and each covering component must be complete for its model, with prices for the year of the
    version's effective date; every buyer needs an "Er referens"."""
    agreement = version.agreement
    year = version.effective_from.year
    buyers = [(p.municipality_id, p.municipality.name) for p in agreement.buyers]
    buyer_ids = {b for b, _ in buyers}
    names = {p.municipality_id: p.municipality.name for p in agreement.parties}
    gaps: list[str] = []
    if not version.components:
        return ["Versionen har ingen ersättningsmodell."]
    component_gaps: dict[int, list[str]] = {}
    for index, component in enumerate(version.components):
        if component.buyer_municipality_id is not None and component.buyer_municipality_id not in buyer_ids:
            who = names.get(component.buyer_municipality_id) or (
                component.buyer.name if component.buyer is not None else "en kommun"
            )
            gaps.append(f"{_describe(component)} gäller {who}, som inte är köpare i avtalet.")
        component_gaps[index] = _component_gaps(component, year)
    reported: set[int] = set()
    references = {t.municipality_id: (t.buyer_reference or "").strip() for t in version.buyer_terms}
    for buyer_id, name in buyers:
        covering = [
            (index, c)
            for index, c in enumerate(version.components)
            if c.buyer_municipality_id in (None, buyer_id)
        ]
        if not covering:
            gaps.append(f"{name}: ingen ersättningsmodell gäller kommunen.")
        for index, component in covering:
            if component_gaps[index] and index not in reported:
                reported.add(index)
                whom = "alla köpare" if component.buyer_municipality_id is None else name
                gaps.append(f"{_describe(component)} för {whom}: {'; '.join(component_gaps[index])}.")
            for gap in _buyer_gaps(component, buyer_id, version.effective_from):
                gaps.append(f"{name}: {_describe(component)}: {gap}.")
        if not references.get(buyer_id):
            gaps.append(f"{name}: fakturareferens (Er referens) saknas.")
    return gaps


def check_compensation(version: ContractVersion) -> PrecheckResult:
    gaps = compensation_gaps(version)
    if gaps:
        return PrecheckResult(False, "Ersättningsmodellen är inte komplett. " + " ".join(gaps))
    buyers = _names(p.municipality.name for p in version.agreement.buyers)
    return PrecheckResult(
        True,
        f"Ersättningsmodellen är komplett för varje köpare ({buyers}) med priser för "
        f"{version.effective_from.year} och fakturareferenser.",
    )


# --- (c) Notice and term are coherent ----------------------------------------------------------------


def term_of(version: ContractVersion) -> tuple[dt.date, dt.date | None, int | None, int | None]:
    """(start, end, renewal months, notice months): the version's term changes when it changes the
    term, otherwise the agreement's registered dates."""
    agreement = version.agreement
    if version.changes_term:
        return (
            agreement.start_date,
            version.term_end_date,
            version.term_renewal_months,
            version.term_notice_months,
        )
    return agreement.start_date, agreement.end_date, agreement.renewal_months, agreement.notice_months


def check_term_and_notice(version: ContractVersion) -> PrecheckResult:
    """End after start; notice shorter than the term and than the renewal period; an agreement that
    runs until further notice needs a notice period."""
    start, end, renewal, notice = term_of(version)
    source = "enligt versionens ändrade avtalstid" if version.changes_term else "enligt avtalsregistret"
    problems: list[str] = []
    if end is None:
        if not notice:
            problems.append("Avtalet gäller tills vidare men har ingen uppsägningstid.")
    elif end <= start:
        problems.append(f"Slutdatumet {end.isoformat()} ligger inte efter startdatumet {start.isoformat()}.")
    else:
        if notice is not None and add_months(start, notice) > end:
            problems.append(
                f"Uppsägningstiden ({_months(notice)}) är inte kortare än avtalstiden "
                f"({start.isoformat()}–{end.isoformat()})."
            )
        if renewal and notice is None:
            problems.append("Avtalet förlängs automatiskt men har ingen uppsägningstid.")
    if renewal and notice is not None and notice >= renewal:
        problems.append(
            f"Uppsägningstiden ({_months(notice)}) är inte kortare än förlängningsperioden "
            f"({_months(renewal)})."
        )
    if problems:
        return PrecheckResult(False, f"Avtalstiden {source}: " + " ".join(problems))
    parts = [f"start {start.isoformat()}", f"slut {end.isoformat()}" if end else "gäller tills vidare"]
    if renewal:
        parts.append(f"förlängs med {_months(renewal)} i taget")
    parts.append(f"uppsägningstid {_months(notice)}" if notice is not None else "ingen uppsägningstid")
    return PrecheckResult(True, f"Avtalstid och uppsägning hänger ihop {source}: {', '.join(parts)}.")


# --- (d) PUB-avtal when personal data is processed ---------------------------------------------------


def _has_document(version: ContractVersion, kind: DocumentKind) -> bool:
    return any(d.kind == kind for d in version.documents)


def check_pub_agreement(version: ContractVersion) -> PrecheckResult:
    role = version.personal_data_role
    if role == PersonalDataRole.NONE:
        return PrecheckResult(
            True, "Enligt versionen behandlas inga personuppgifter, så inget PUB-avtal behövs."
        )
    what = (
        "Utföraren är personuppgiftsbiträde"
        if role == PersonalDataRole.PROCESSOR
        else "Parterna är gemensamt personuppgiftsansvariga"
    )
    if _has_document(version, DocumentKind.PUB_AGREEMENT):
        return PrecheckResult(True, f"{what}, och avtalet om personuppgifter är bifogat versionen.")
    document = (
        "personuppgiftsbiträdesavtal (PUB-avtal)"
        if role == PersonalDataRole.PROCESSOR
        else "avtal om gemensamt personuppgiftsansvar"
    )
    return PrecheckResult(False, f"{what}, men inget {document} är bifogat versionen.")


# --- (e) Cost calculation when the version claims cost coverage -----------------------------------


def check_cost_calculation(version: ContractVersion) -> PrecheckResult:
    if not version.claims_cost_coverage:
        return PrecheckResult(
            True,
            "Versionen anger inte att ersättningen motsvarar självkostnaden, så ingen kostnadskalkyl krävs. "
            "Bedöm ändå om betalningarna bara täcker kostnaderna.",
        )
    if _has_document(version, DocumentKind.COST_CALCULATION):
        return PrecheckResult(
            True, "Versionen anger att ersättningen täcker kostnaderna, och en kostnadskalkyl är bifogad."
        )
    return PrecheckResult(
        False, "Versionen anger att ersättningen täcker kostnaderna, men ingen kostnadskalkyl är bifogad."
    )


PRECHECKS: dict[str, Precheck] = {
    check.key: check
    for check in (
        Precheck("public_parties", "Alla parter är offentliga organ", check_public_parties),
        Precheck(
            "compensation_complete", "Ersättningsmodellen är komplett för varje köpare", check_compensation
        ),
        Precheck("term_notice", "Avtalstid och uppsägningstid hänger ihop", check_term_and_notice),
        Precheck("pub_agreement", "PUB-avtal bifogat när personuppgifter behandlas", check_pub_agreement),
        Precheck(
            "cost_calculation",
            "Kostnadskalkyl bifogad när ersättningen ska täcka kostnaderna",
            check_cost_calculation,
        ),
    )
}


def run_prechecks(version: ContractVersion) -> dict[str, PrecheckResult]:
    """Every pre-check's result for the version, by key (nothing is written)."""
    return {key: check.run(version) for key, check in PRECHECKS.items()}
