"""The automatic pre-checks of the legal review, each passing and failing with a Swedish explanation that
names what is wrong: public parties, a complete compensation model per buyer, coherent term and notice,
a PUB-avtal when personal data is processed, a cost calculation when cost coverage is claimed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractFixedShare,
    ContractPrice,
    DocumentKind,
    FeePeriod,
    PersonalDataRole,
    ShareBasis,
    UsageMeasure,
)
from contracts.review.prechecks import (
    check_compensation,
    check_cost_calculation,
    check_pub_agreement,
    check_public_parties,
    check_term_and_notice,
    compensation_gaps,
    run_prechecks,
)
from registry.models import SharedRole, SharedRoleAllocation
from tests.contracts import review_support
from tests.contracts.review_support import attach

public_parties = review_support.public_parties
complete_version = review_support.complete_version

D = dt.date


def test_a_complete_version_passes_every_precheck(complete_version):
    results = run_prechecks(complete_version())
    assert {key: r.ok for key, r in results.items()} == {
        "public_parties": True,
        "compensation_complete": True,
        "term_notice": True,
        "pub_agreement": True,
        "cost_calculation": True,
    }


# --- (a) Public parties ----------------------------------------------------------------------------


def test_public_parties_pass_names_each_party(complete_version, public_parties):
    public_parties("Lerum", "232100-0016")  # as if Lerum were a region
    result = check_public_parties(complete_version())
    assert result.ok
    assert "Göteborg (kommun, 212000-1355)" in result.detail
    assert "Lerum (region, 232100-0016)" in result.detail


def test_a_kommunalforbund_is_a_public_body(complete_version, public_parties):
    public_parties("Härryda", "222000-1123")
    assert check_public_parties(complete_version()).ok


def test_a_party_without_organisation_number_fails(complete_version, public_parties):
    public_parties("Lerum", None)
    result = check_public_parties(complete_version())
    assert not result.ok
    assert "Lerum saknar organisationsnummer" in result.detail
    assert "Göteborg" not in result.detail


def test_a_party_that_is_not_a_public_body_fails(complete_version, public_parties):
    public_parties("Härryda", "556036-0793")  # a company's number
    result = check_public_parties(complete_version())
    assert not result.ok
    assert "Härryda har organisationsnummer 556036-0793" in result.detail


# --- (b) Compensation model --------------------------------------------------------------------------


def test_compensation_pass(complete_version):
    result = check_compensation(complete_version())
    assert result.ok
    assert "Härryda och Lerum" in result.detail and "2024" in result.detail


def test_missing_price_for_the_effective_year_fails(db, complete_version):
    version = complete_version()
    hourly = version.components[0]
    hourly.prices = [p for p in hourly.prices if p.year != 2024]
    db.commit()
    result = check_compensation(version)
    assert not result.ok
    assert (
        "Timpris (Utredning och handläggning) för alla köpare: pris per timme för 2024 saknas."
        in result.detail
    )


def test_a_later_effective_date_needs_that_years_prices(complete_version):
    version = complete_version(effective_from=D(2025, 1, 1))
    # The hourly rate has 2025 prices; mileage only 2024.
    assert compensation_gaps(version) == [
        "Milersättning (Resor) för alla köpare: pris per kilometer för 2025 saknas."
    ]


def test_a_buyer_without_buyer_reference_fails(db, complete_version):
    version = complete_version()
    version.buyer_terms = [t for t in version.buyer_terms if t.municipality.name != "Lerum"]
    db.commit()
    assert compensation_gaps(version) == ["Lerum: fakturareferens (Er referens) saknas."]


def test_a_buyer_no_component_covers_fails(db, complete_version, municipality):
    version = complete_version()
    for component in version.components:
        component.buyer_municipality_id = municipality("Härryda").id
    db.commit()
    assert compensation_gaps(version) == ["Lerum: ingen ersättningsmodell gäller kommunen."]


def test_a_component_for_a_municipality_that_is_no_buyer_fails(db, complete_version, municipality):
    version = complete_version()
    version.components[2].buyer_municipality_id = municipality("Partille").id
    db.commit()
    gaps = compensation_gaps(version)
    assert "Utlägg till självkostnad (Utlägg) gäller Partille, som inte är köpare i avtalet." in gaps


def test_no_components_at_all_fails(db, complete_version):
    version = complete_version()
    version.components = []
    db.commit()
    assert compensation_gaps(version) == ["Versionen har ingen ersättningsmodell."]


def _add(db, version, **values) -> CompensationComponent:
    component = CompensationComponent(position=9, service_type=version.service_types[0], **values)
    version.components.append(component)
    db.commit()
    return component


@pytest.mark.parametrize(
    ("values", "gap"),
    [
        (
            lambda: {
                "model": CompensationModel.PER_CASE,
                "prices": [ContractPrice(year=2024, amount=Decimal("9000"))],
            },
            "ingen ärendetyp har pris för 2024",
        ),
        (
            lambda: {
                "model": CompensationModel.FIXED_FEE,
                "prices": [ContractPrice(year=2024, amount=Decimal("1"))],
            },
            "det anges inte om årsavgiften faktureras månadsvis eller kvartalsvis",
        ),
        (
            lambda: {
                "model": CompensationModel.POPULATION_SHARE,
                "prices": [ContractPrice(year=2024, amount=Decimal("1"))],
                "population_ref_month": 11,
            },
            "referensdatum för invånarantalet saknas",
        ),
        (
            lambda: {
                "model": CompensationModel.USAGE_SHARE,
                "prices": [ContractPrice(year=2024, amount=Decimal("1"))],
            },
            "måttet på nyttjande (ärenden, timmar eller dygn) saknas",
        ),
        (lambda: {"model": CompensationModel.SHARED_ROLE}, "den gemensamma tjänsten saknas"),
        (
            lambda: {
                "model": CompensationModel.PRELIMINARY,
                "share_basis": ShareBasis.USAGE,
                "usage_measure": UsageMeasure.CASES,
                "reconciliation_deadline_month": 3,
                "reconciliation_deadline_day": 31,
            },
            "budgeterad kostnad per år för 2024 saknas",
        ),
        (
            lambda: {
                "model": CompensationModel.PRELIMINARY,
                "prices": [ContractPrice(year=2024, amount=Decimal("1"))],
                "reconciliation_deadline_month": 3,
                "reconciliation_deadline_day": 31,
            },
            "grunden för den slutliga andelen saknas",
        ),
        (
            lambda: {
                "model": CompensationModel.PRELIMINARY,
                "prices": [ContractPrice(year=2024, amount=Decimal("1"))],
                "share_basis": ShareBasis.USAGE,
                "usage_measure": UsageMeasure.HOURS,
            },
            "sista dag för avräkningen saknas",
        ),
    ],
)
def test_an_incomplete_component_fails_for_its_model(db, complete_version, values, gap):
    version = complete_version()
    _add(db, version, **values())  # a factory: rows must be new for each run
    result = check_compensation(version)
    assert not result.ok
    assert gap in result.detail


def test_complete_components_of_every_model_pass(db, complete_version, make_agreement):
    version = complete_version()
    price = [ContractPrice(year=2024, amount=Decimal("100000"))]
    _add(
        db,
        version,
        model=CompensationModel.PER_CASE,
        prices=[ContractPrice(year=2024, case_type="Adoptionsutredning", amount=Decimal("24000"))],
    )
    _add(
        db,
        version,
        model=CompensationModel.FIXED_FEE,
        fee_period=FeePeriod.QUARTERLY,
        in_advance=True,
        prices=price,
    )
    _add(
        db,
        version,
        model=CompensationModel.POPULATION_SHARE,
        population_ref_month=11,
        population_ref_day=1,
        population_ref_year_offset=-1,
        prices=[ContractPrice(year=2024, amount=Decimal("500000"))],
    )
    _add(
        db,
        version,
        model=CompensationModel.USAGE_SHARE,
        usage_measure=UsageMeasure.DAYS,
        prices=[ContractPrice(year=2024, amount=Decimal("300000"))],
    )
    assert compensation_gaps(version) == []


def _shared_role(db, agreement, municipality, shares: dict[str, str]) -> SharedRole:
    role = SharedRole(
        agreement=agreement,
        title="Gemensam socialchef",
        employer=municipality("Göteborg"),
        period_start=D(2024, 1, 1),
        salary_per_month=Decimal("80000"),
        po_percent=Decimal("31.42"),
    )
    role.allocations = [
        SharedRoleAllocation(valid_from=D(2024, 1, 1), municipality=municipality(name), percent=Decimal(p))
        for name, p in shares.items()
    ]
    db.add(role)
    db.commit()
    return role


def test_shared_role_needs_an_allocation_for_each_buyer(db, complete_version, municipality):
    version = complete_version()
    role = _shared_role(db, version.agreement, municipality, {"Göteborg": "60", "Härryda": "40"})
    _add(db, version, model=CompensationModel.SHARED_ROLE, shared_role=role)
    assert compensation_gaps(version) == [
        "Lerum: Gemensam tjänst (registrets kostnadsfördelning) (Utredning och handläggning): "
        "Gemensam socialchef har ingen kostnadsfördelning för kommunen."
    ]


def test_shared_role_with_every_buyer_allocated_passes(db, complete_version, municipality):
    version = complete_version()
    role = _shared_role(
        db, version.agreement, municipality, {"Göteborg": "50", "Härryda": "25", "Lerum": "25"}
    )
    _add(db, version, model=CompensationModel.SHARED_ROLE, shared_role=role)
    assert compensation_gaps(version) == []


def _preliminary_fixed(db, version, municipality, shares: dict[str, str]) -> None:
    _add(
        db,
        version,
        model=CompensationModel.PRELIMINARY,
        share_basis=ShareBasis.FIXED,
        reconciliation_deadline_month=3,
        reconciliation_deadline_day=31,
        prices=[ContractPrice(year=2024, amount=Decimal("2000000"))],
        fixed_shares=[
            ContractFixedShare(municipality=municipality(name), percent=Decimal(p))
            for name, p in shares.items()
        ],
    )


def test_fixed_shares_must_sum_to_100_and_cover_each_buyer(db, complete_version, municipality):
    version = complete_version()
    _preliminary_fixed(db, version, municipality, {"Göteborg": "50", "Härryda": "40"})
    gaps = compensation_gaps(version)
    assert (
        "Preliminär debitering med avräkning (Utredning och handläggning) för alla köpare: "
        "de avtalade andelarna summerar till 90 %, inte 100 %." in gaps
    )
    assert (
        "Lerum: Preliminär debitering med avräkning (Utredning och handläggning): ingen avtalad andel för kommunen."
        in gaps
    )


def test_fixed_shares_summing_to_100_pass(db, complete_version, municipality):
    version = complete_version()
    _preliminary_fixed(db, version, municipality, {"Göteborg": "50", "Härryda": "30", "Lerum": "20"})
    assert compensation_gaps(version) == []


# --- (c) Term and notice -----------------------------------------------------------------------------


def test_term_and_notice_pass_with_the_agreements_dates(complete_version):
    result = check_term_and_notice(complete_version())
    assert result.ok
    assert "enligt avtalsregistret" in result.detail
    assert "slut 2026-12-31" in result.detail and "uppsägningstid 6 månader" in result.detail


@pytest.mark.parametrize(
    ("agreement", "message"),
    [
        (
            {"end_date": D(2026, 12, 31), "renewal_months": None, "notice_months": 36},
            "Uppsägningstiden (36 månader) är inte kortare än avtalstiden (2024-01-01–2026-12-31).",
        ),
        (
            {"end_date": D(2026, 12, 31), "renewal_months": 6, "notice_months": 6},
            "Uppsägningstiden (6 månader) är inte kortare än förlängningsperioden (6 månader).",
        ),
        (
            {"end_date": None, "renewal_months": None, "notice_months": None},
            "Avtalet gäller tills vidare men har ingen uppsägningstid.",
        ),
        (
            {"end_date": D(2026, 12, 31), "renewal_months": 12, "notice_months": None},
            "Avtalet förlängs automatiskt men har ingen uppsägningstid.",
        ),
    ],
)
def test_incoherent_term_and_notice_fail(make_agreement, complete_version, agreement, message):
    version = complete_version(make_agreement(**agreement))
    result = check_term_and_notice(version)
    assert not result.ok
    assert message in result.detail


@pytest.mark.parametrize(
    "agreement",
    [
        {"end_date": D(2026, 12, 31), "renewal_months": None, "notice_months": 35},  # one month to spare
        {"end_date": None, "renewal_months": None, "notice_months": 6},  # until further notice
        {"end_date": D(2024, 12, 31), "renewal_months": None, "notice_months": None},  # simply ends
    ],
)
def test_coherent_terms_pass(make_agreement, complete_version, agreement):
    assert check_term_and_notice(complete_version(make_agreement(**agreement))).ok


def test_a_version_that_changes_the_term_is_checked_on_its_own_dates(db, complete_version):
    version = complete_version(
        changes_term=True, term_end_date=D(2023, 6, 30), term_renewal_months=None, term_notice_months=3
    )
    result = check_term_and_notice(version)
    assert not result.ok
    assert "enligt versionens ändrade avtalstid" in result.detail
    assert "Slutdatumet 2023-06-30 ligger inte efter startdatumet 2024-01-01." in result.detail
    version.term_end_date = D(2027, 12, 31)
    db.commit()
    assert check_term_and_notice(version).ok


# --- (d) PUB-avtal ----------------------------------------------------------------------------------


def test_no_personal_data_needs_no_pub_agreement(complete_version):
    result = check_pub_agreement(complete_version())
    assert result.ok and "inga personuppgifter" in result.detail


def test_processor_without_pub_agreement_fails_and_passes_once_attached(db, complete_version):
    version = complete_version(personal_data_role=PersonalDataRole.PROCESSOR)
    result = check_pub_agreement(version)
    assert not result.ok
    assert (
        "personuppgiftsbiträde, men inget personuppgiftsbiträdesavtal (PUB-avtal) är bifogat" in result.detail
    )
    attach(db, version, DocumentKind.COST_CALCULATION)  # the wrong kind does not count
    assert not check_pub_agreement(version).ok
    attach(db, version, DocumentKind.PUB_AGREEMENT)
    assert check_pub_agreement(version).ok


def test_joint_controllers_without_agreement_fail(complete_version):
    result = check_pub_agreement(complete_version(personal_data_role=PersonalDataRole.JOINT_CONTROLLERS))
    assert not result.ok
    assert "inget avtal om gemensamt personuppgiftsansvar är bifogat" in result.detail


# --- (e) Cost calculation -----------------------------------------------------------------------------


def test_no_cost_coverage_claim_needs_no_calculation(complete_version):
    assert check_cost_calculation(complete_version()).ok


def test_cost_coverage_claim_without_calculation_fails_and_passes_once_attached(db, complete_version):
    version = complete_version(claims_cost_coverage=True)
    result = check_cost_calculation(version)
    assert not result.ok
    assert "ingen kostnadskalkyl är bifogad" in result.detail
    attach(db, version, DocumentKind.COST_CALCULATION)
    assert check_cost_calculation(version).ok
