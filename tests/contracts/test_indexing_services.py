"""Indexing services: next year's prices of a version (a table of worked cases computed by hand,
Decimal, half-up to öre or whole kronor), the draft amendment with its indexation rows, the refusals,
and the adjustments billing picks up after a revised index value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from contracts import services as register
from contracts import versions
from contracts.errors import IndexValueMissing, OpenVersionExists
from contracts.indexation import Rounding
from contracts.indexing import services
from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractPrice,
    ContractPriceIndexation,
    ContractServiceType,
    ContractVersion,
    IndexKind,
    IndexStatus,
    ServiceUnit,
    VatCategory,
    VersionStatus,
)
from core.errors import Conflict, PermissionDenied, ValidationFailed

DATE = dt.date
RULE_START = DATE(2025, 1, 1)
UNITS = {
    CompensationModel.HOURLY: ServiceUnit.HOUR,
    CompensationModel.PER_CASE: ServiceUnit.CASE,
    CompensationModel.FIXED_FEE: ServiceUnit.PERIOD,
    CompensationModel.POPULATION_SHARE: ServiceUnit.PERIOD,
    CompensationModel.MILEAGE: ServiceUnit.KM,
    CompensationModel.OUTLAYS: ServiceUnit.SEK,
}
NAMES = {
    CompensationModel.HOURLY: "Utredning",
    CompensationModel.PER_CASE: "Familjerätt",
    CompensationModel.FIXED_FEE: "Socialjour",
    CompensationModel.POPULATION_SHARE: "Gemensam verksamhet",
    CompensationModel.MILEAGE: "Resor",
    CompensationModel.OUTLAYS: "Utlägg",
}


# --- Helpers (also used by test_indexing_web) ------------------------------------------------------


def add_component(version: ContractVersion, model: CompensationModel, prices: dict) -> CompensationComponent:
    """A component with its own service type; `prices` maps (year, case_type) or year to an amount."""
    service_type = ContractServiceType(
        code=f"{model.value}-{len(version.service_types) + 1}",
        name=NAMES[model],
        unit=UNITS[model],
        vat_category=VatCategory.O,
        vat_rate=D("0"),
        vat_exemption_reason_code="VATEX-EU-O",
        vat_exemption_reason="Myndighetsutövning",
    )
    version.service_types.append(service_type)
    component = CompensationComponent(
        position=len(version.components) + 1,
        model=model,
        service_type=service_type,
        fee_period="monthly" if model == CompensationModel.FIXED_FEE else None,
        prices=[
            ContractPrice(
                year=key[0] if isinstance(key, tuple) else key,
                case_type=key[1] if isinstance(key, tuple) else "",
                amount=D(amount),
            )
            for key, amount in prices.items()
        ],
    )
    version.components.append(component)
    return component


def approve(db, version: ContractVersion, legal) -> ContractVersion:
    """Draft -> in review -> approved through the one status function (the review part's rules aside)."""
    versions.transition_version(version, VersionStatus.IN_REVIEW, legal)
    versions.transition_version(version, VersionStatus.APPROVED, legal)
    db.commit()
    return version


@pytest.fixture
def agreement(make_agreement):
    return make_agreement(start_date=DATE(2024, 1, 1), end_date=DATE(2029, 12, 31))


@pytest.fixture
def legal(make_user):
    return make_user(roles=("legal",), kommun="Göteborg")


@pytest.fixture
def finance(make_user):
    return make_user(roles=("finance",), kommun="Härryda")


@pytest.fixture
def priced_version(db, agreement, make_version, legal):
    """priced_version({model: prices}, kind="opi", rounding="ore", status="approved", ...) on `agreement`."""

    def _make(components: dict, kind="opi", rounding="ore", status="approved", start=RULE_START, **kw):
        version = make_version(
            agreement,
            status="draft",
            terms=False,
            index_kind=IndexKind(kind) if kind else None,
            index_edition=f"{kind.upper()} oktober" if kind else None,
            index_effective_from=start if kind else None,
            index_rounding=Rounding(rounding),
            **kw,
        )
        for model, prices in components.items():
            add_component(version, model, prices)
        db.commit()
        if status == "approved":
            approve(db, version, legal)
        return version

    return _make


# --- Worked cases ---------------------------------------------------------------------------------

# price 2026, index 2027 (%), rounding -> exact new price, new price 2027, difference; computed by hand.
WORKED_CASES = [
    ("1120.00", "3.1", "ore", "1154.72", "1154.72", "34.72"),  # 1 120 × 1,031
    ("1085.00", "2.6", "krona", "1113.21", "1113", "28.00"),  # 1 085 × 1,026 = 1 113,21 -> 1 113
    ("115.00", "3.1", "ore", "118.565", "118.57", "3.57"),  # half an öre: up, never to even (118,56)
    ("1000.00", "2.45", "krona", "1024.5", "1025", "25.00"),  # half a krona: up (banker's would say 1 024)
    ("2.50", "3.1", "ore", "2.5775", "2.58", "0.08"),  # a mileage rate
    ("250000.00", "3.1", "krona", "257750", "257750", "7750.00"),  # a fixed annual fee
    ("1250.00", "-1.2", "ore", "1235", "1235.00", "-15.00"),  # a negative index lowers the price
]


@pytest.mark.parametrize(("old", "percent", "rounding", "exact", "new", "difference"), WORKED_CASES)
def test_worked_cases(
    db, priced_version, make_index_value, finance, old, percent, rounding, exact, new, difference
):
    version = priced_version({CompensationModel.HOURLY: {2026: old}}, rounding=rounding)
    make_index_value(kind="opi", year=2027, percent=percent)
    preview = services.preview_indexation(db, finance, version, 2027)
    [row] = preview.rows
    assert row.old_price.year == 2026
    assert row.result.old_price == D(old)
    assert row.result.percent == D(percent)
    assert row.result.exact_new_price == D(exact)
    assert row.result.new_price == D(new)
    assert row.result.difference == D(difference)
    assert row.result.rounding == Rounding(rounding)


def test_preview_covers_every_indexed_price_but_not_outlays(db, priced_version, make_index_value, finance):
    version = priced_version(
        {
            CompensationModel.PER_CASE: {
                (2026, "Umgängesutredning"): "18500.00",
                (2026, "Samarbetssamtal"): "4850.00",
                (2026, "Yttrande"): "3412.50",
                (2025, "Yttrande"): "3300.00",  # another year: not indexed again
            },
            CompensationModel.FIXED_FEE: {2026: "250000.00"},
            CompensationModel.POPULATION_SHARE: {2026: "1200000.00"},
            CompensationModel.MILEAGE: {2026: "2.50"},
            CompensationModel.OUTLAYS: {2026: "100.00"},  # at cost: never indexed
        },
        kind="pkv",
    )
    make_index_value(kind="pkv", year=2027, percent="2.8", edition="PKV oktober 2026")
    preview = services.preview_indexation(db, finance, version, 2027)
    rows = [(r.component.model, r.case_type, r.result.old_price, r.result.new_price) for r in preview.rows]
    # 18 500 × 1,028 = 19 018; 4 850 × 1,028 = 4 985,80; 3 412,50 × 1,028 = 3 508,05;
    # 250 000 × 1,028 = 257 000; 1 200 000 × 1,028 = 1 233 600; 2,50 × 1,028 = 2,57.
    assert sorted(rows) == sorted(
        [
            (CompensationModel.PER_CASE, "Samarbetssamtal", D("4850.00"), D("4985.80")),
            (CompensationModel.PER_CASE, "Umgängesutredning", D("18500.00"), D("19018.00")),
            (CompensationModel.PER_CASE, "Yttrande", D("3412.50"), D("3508.05")),
            (CompensationModel.FIXED_FEE, "", D("250000.00"), D("257000.00")),
            (CompensationModel.POPULATION_SHARE, "", D("1200000.00"), D("1233600.00")),
            (CompensationModel.MILEAGE, "", D("2.50"), D("2.57")),
        ]
    )
    assert preview.index_value.edition == "PKV oktober 2026" and preview.edition == "PKV oktober"
    assert preview.effective_from == DATE(2027, 1, 1)
    assert not preview.is_final and preview.percent == D("2.8")
    labels = {r.component_label for r in preview.rows}
    assert "Styckpris per ärendetyp, Familjerätt" in labels and "Fast årsavgift, Socialjour" in labels
    assert preview.may_apply, preview.refusals


def test_default_version_indexes_the_hourly_rate_with_opi(
    db, agreement, make_version, make_index_value, finance
):
    version = make_version(agreement, status="approved")  # hourly 1 120,00 kr in 2026, mileage only 2024
    make_index_value(kind="opi", year=2027, percent="3.1")
    [row] = services.preview_indexation(db, finance, version, 2027).rows
    assert (row.component.model, row.result.new_price) == (CompensationModel.HOURLY, D("1154.72"))


# --- Refusals -------------------------------------------------------------------------------------


def _year_error(excinfo) -> str:
    return " ".join(excinfo.value.errors.get("year") or excinfo.value.errors.get("index"))


def test_version_without_an_index_rule(db, priced_version, finance):
    version = priced_version({CompensationModel.HOURLY: {2026: "1000"}}, kind=None)
    with pytest.raises(ValidationFailed) as excinfo:
        services.preview_indexation(db, finance, version, 2027)
    assert "ingen indexklausul" in excinfo.value.errors["index"][0]


def test_no_index_value_for_the_year(db, priced_version, make_index_value, finance):
    version = priced_version({CompensationModel.HOURLY: {2026: "1000"}})
    make_index_value(kind="pkv", year=2027)  # another index
    with pytest.raises(IndexValueMissing) as excinfo:
        services.preview_indexation(db, finance, version, 2027)
    assert "inget värde för OPI 2027" in _year_error(excinfo)


def test_year_before_the_rule_takes_effect(db, priced_version, make_index_value, finance):
    version = priced_version({CompensationModel.HOURLY: {2025: "1000"}}, start=DATE(2027, 1, 1))
    make_index_value(kind="opi", year=2026)
    with pytest.raises(ValidationFailed) as excinfo:
        services.preview_indexation(db, finance, version, 2026)
    assert "första året priserna räknas upp är 2027" in _year_error(excinfo)


def test_prices_for_the_year_already_set_says_which(db, agreement, make_version, make_index_value, finance):
    version = make_version(agreement, status="approved")  # hourly prices 2024, 2025 and 2026
    make_index_value(kind="opi", year=2026)
    with pytest.raises(ValidationFailed) as excinfo:
        services.preview_indexation(db, finance, version, 2026)
    message = _year_error(excinfo)
    assert "redan priser för 2026" in message
    assert "Timpris, Utredning och handläggning (1\u00a0120,00\u00a0kr)" in message


def test_no_prices_for_the_previous_year(db, priced_version, make_index_value, finance):
    version = priced_version({CompensationModel.HOURLY: {2025: "1000"}})
    make_index_value(kind="opi", year=2027)
    with pytest.raises(ValidationFailed) as excinfo:
        services.preview_indexation(db, finance, version, 2027)
    assert "inga priser för 2026" in _year_error(excinfo)


# --- Applying ------------------------------------------------------------------------------------


def test_apply_creates_a_draft_amendment_and_leaves_the_approved_version(
    db, priced_version, make_index_value, finance
):
    version = priced_version(
        {
            CompensationModel.HOURLY: {2025: "1085.00", 2026: "1120.00"},
            CompensationModel.PER_CASE: {
                (2026, "Umgängesutredning"): "18500.00",
                (2026, "Yttrande"): "115.00",
            },
            CompensationModel.OUTLAYS: {},
        },
        start=DATE(2025, 4, 1),
    )
    value = make_index_value(kind="opi", year=2027, percent="3.1")
    amendment = services.apply_indexation(db, finance, version, 2027)
    db.commit()

    assert (amendment.number, amendment.status, amendment.based_on_id) == (2, VersionStatus.DRAFT, version.id)
    assert amendment.title == "Indexuppräkning 2027"
    assert amendment.effective_from == DATE(2027, 4, 1)  # the rule's day and month
    assert "OPI 2027" in amendment.change_summary and "3,1 %" in amendment.change_summary
    assert "till hela ören" in amendment.change_summary and "preliminärt" in amendment.change_summary
    new_prices = {
        (c.model, p.case_type): p.amount for c in amendment.components for p in c.prices if p.year == 2027
    }
    assert new_prices == {
        (CompensationModel.HOURLY, ""): D("1154.72"),
        (CompensationModel.PER_CASE, "Umgängesutredning"): D("19073.50"),  # 18 500 × 1,031
        (CompensationModel.PER_CASE, "Yttrande"): D("118.57"),  # 118,565 half-up
    }
    rows = db.scalars(
        select(ContractPriceIndexation).where(ContractPriceIndexation.version_id == amendment.id)
    ).all()
    assert len(rows) == 3
    for row in rows:
        assert row.price.component.version_id == amendment.id and row.price.year == 2027
        assert row.index_value_id == value.id
        assert (row.percent, row.index_status, row.rounding) == (
            D("3.1"),
            IndexStatus.PRELIMINARY,
            Rounding.ORE,
        )
        assert row.new_amount == row.price.amount
    assert sorted((r.old_amount, r.new_amount) for r in rows) == [
        (D("115.00"), D("118.57")),
        (D("1120.00"), D("1154.72")),
        (D("18500.00"), D("19073.50")),
    ]

    db.expire_all()
    original = db.get(ContractVersion, version.id)
    assert original.status == VersionStatus.APPROVED
    assert all(p.year != 2027 for c in original.components for p in c.prices)
    assert original.price_indexations == []
    # The approved version is still the one in force until the amendment is reviewed and approved.
    assert versions.version_in_force(db, version.agreement_id, DATE(2027, 6, 1)).id == version.id


def test_apply_refuses_when_an_amendment_is_open(db, priced_version, make_index_value, finance):
    version = priced_version({CompensationModel.HOURLY: {2026: "1000"}})
    make_index_value(kind="opi", year=2027)
    services.apply_indexation(db, finance, version, 2027)
    db.commit()
    with pytest.raises(OpenVersionExists) as excinfo:
        services.apply_indexation(db, finance, version, 2027)
    assert "Indexuppräkning 2027" in excinfo.value.message
    preview = services.preview_indexation(db, finance, version, 2027)  # the preview still works
    assert not preview.may_apply and "öppen version" in preview.refusals[0]


def test_apply_needs_the_approved_version_in_force(db, priced_version, make_index_value, finance, legal):
    make_index_value(kind="opi", year=2027)
    draft = priced_version({CompensationModel.HOURLY: {2026: "1000"}}, status="draft")
    with pytest.raises(Conflict) as excinfo:
        services.apply_indexation(db, finance, draft, 2027)
    assert "Bara en godkänd version" in excinfo.value.message
    first = approve(db, draft, legal)
    later = priced_version(
        {CompensationModel.HOURLY: {2026: "1100"}}, number=2, effective_from=DATE(2026, 6, 1)
    )
    # Version 2 takes over before 2027-01-01: version 1 is not in force on the indexation day.
    with pytest.raises(Conflict) as excinfo:
        services.apply_indexation(db, finance, first, 2027)
    assert "version 2 gäller" in excinfo.value.message
    assert services.apply_indexation(db, finance, later, 2027).based_on_id == later.id


def test_apply_refuses_a_day_after_the_agreement_ends(
    db, make_agreement, make_version, make_index_value, finance
):
    agreement = make_agreement(start_date=DATE(2024, 1, 1), end_date=DATE(2026, 12, 31))
    version = make_version(agreement, status="approved")
    make_index_value(kind="opi", year=2027)
    with pytest.raises(ValidationFailed) as excinfo:
        services.apply_indexation(db, finance, version, 2027)
    assert "efter avtalets slutdatum 2026-12-31" in excinfo.value.errors["year"][0]


@pytest.mark.parametrize("roles", [("caseworker",), ("auditor",)])
def test_read_only_roles_may_preview_but_not_apply(db, priced_version, make_index_value, make_user, roles):
    version = priced_version({CompensationModel.HOURLY: {2026: "1000"}})
    make_index_value(kind="opi", year=2027)
    user = make_user(roles=roles, kommun="Lerum")
    preview = services.preview_indexation(db, user, version, 2027)
    assert preview.rows and not preview.may_apply
    with pytest.raises(PermissionDenied):
        services.apply_indexation(db, user, version, 2027)


def test_effective_day_of_a_leap_day_rule():
    version = ContractVersion(index_effective_from=DATE(2024, 2, 29))
    assert services.indexation_date(version, 2027) == DATE(2027, 2, 28)
    assert services.indexation_date(version, 2028) == DATE(2028, 2, 29)


# --- Adjustments ---------------------------------------------------------------------------------


@pytest.fixture
def indexed(db, priced_version, make_index_value, finance, legal):
    """An approved amendment "Indexuppräkning 2027": hourly 1 120 -> 1 154,72 and a per-case fee
    1 085 -> 1 118,64 with OPI 2027 = 3,1 % (preliminary), rounded to öre."""
    version = priced_version(
        {
            CompensationModel.HOURLY: {2026: "1120.00"},
            CompensationModel.PER_CASE: {(2026, "Yttrande"): "1085.00"},
        }
    )
    value = make_index_value(kind="opi", year=2027, percent="3.1")
    amendment = services.apply_indexation(db, finance, version, 2027)
    db.commit()
    approve(db, amendment, legal)
    return version, amendment, value


def _by_case_type(adjustments):
    return {a.case_type: a for a in adjustments}


def test_no_adjustment_while_the_value_is_unchanged(db, indexed, finance):
    assert services.index_adjustments(db, finance) == []


def test_revising_a_preliminary_value_makes_an_adjustment(db, indexed, finance):
    version, amendment, value = indexed
    register.revise_index_value(db, finance, value, "3.4", "preliminary", "Nytt cirkulär")
    db.commit()
    adjustments = _by_case_type(services.index_adjustments(db, finance))
    hourly, per_case = adjustments[""], adjustments["Yttrande"]
    # 1 120 × 1,034 = 1 158,08 (was 1 154,72): +3,36 per hour.
    assert (hourly.price_used, hourly.recomputed_price, hourly.difference) == (
        D("1154.72"),
        D("1158.08"),
        D("3.36"),
    )
    # 1 085 × 1,034 = 1 121,89 (was 1 085 × 1,031 = 1 118,635 -> 1 118,64): +3,25 per case.
    assert (per_case.price_used, per_case.recomputed_price, per_case.difference) == (
        D("1118.64"),
        D("1121.89"),
        D("3.25"),
    )
    assert (hourly.percent_used, hourly.current_percent) == (D("3.1"), D("3.4"))
    assert hourly.percent_changed and not hourly.is_final
    assert (hourly.agreement.id, hourly.version.id, hourly.year) == (version.agreement_id, amendment.id, 2027)
    assert hourly.component_label == "Timpris, Utredning"
    # Nothing was rewritten: the approved amendment keeps its prices.
    db.expire_all()
    assert {
        p.amount for c in db.get(ContractVersion, amendment.id).components for p in c.prices if p.year == 2027
    } == {
        D("1154.72"),
        D("1118.64"),
    }
    # Billing's entry point without a user gives the same.
    for_billing = services.index_adjustments_for_agreement(db, version.agreement_id, year=2027)
    assert sorted(a.difference for a in for_billing) == [D("3.25"), D("3.36")]
    assert services.index_adjustments_for_agreement(db, version.agreement_id, year=2026) == []


def test_a_lower_final_value_makes_a_credit(db, indexed, finance):
    _, _, value = indexed
    register.revise_index_value(db, finance, value, "2.9", "final")
    db.commit()
    hourly = _by_case_type(services.index_adjustments(db, finance))[""]
    # 1 120 × 1,029 = 1 152,48: -2,24 per hour, and the value is now final.
    assert (hourly.recomputed_price, hourly.difference, hourly.is_final) == (D("1152.48"), D("-2.24"), True)


def test_finalizing_with_the_same_percent_is_a_status_change_only(db, indexed, finance):
    _, _, value = indexed
    register.revise_index_value(db, finance, value, "3.1", "final")
    db.commit()
    adjustments = services.index_adjustments(db, finance)
    assert len(adjustments) == 2
    for adjustment in adjustments:
        assert adjustment.difference == D("0.00")
        assert adjustment.recomputed_price == adjustment.price_used
        assert adjustment.is_final and not adjustment.percent_changed
        assert (adjustment.status_used, adjustment.current_status) == (
            IndexStatus.PRELIMINARY,
            IndexStatus.FINAL,
        )


def test_adjustments_are_scoped_and_need_finance_or_legal(db, indexed, finance, make_user):
    _, _, value = indexed
    register.revise_index_value(db, finance, value, "3.4", "preliminary")
    db.commit()
    assert len(services.index_adjustments(db, make_user(roles=("legal",), kommun="Lerum"))) == 2
    assert services.index_adjustments(db, make_user(roles=("finance",), kommun="Malmö")) == []
    with pytest.raises(PermissionDenied):
        services.index_adjustments(db, make_user(roles=("caseworker",), kommun="Härryda"))


def test_a_draft_amendment_is_not_an_adjustment(db, priced_version, make_index_value, finance):
    version = priced_version({CompensationModel.HOURLY: {2026: "1120.00"}})
    value = make_index_value(kind="opi", year=2027, percent="3.1")
    amendment = services.apply_indexation(db, finance, version, 2027)
    db.commit()
    register.revise_index_value(db, finance, value, "3.4", "preliminary")
    db.commit()
    # Not billed yet: the draft's panel shows the change instead (see test_indexing_web).
    assert services.index_adjustments(db, finance) == []
    [recorded] = services.recorded_indexations(amendment)
    assert recorded.value_changed and not recorded.price_changed_by_hand


def test_a_price_changed_by_hand_is_not_recomputed(db, priced_version, make_index_value, finance, legal):
    version = priced_version({CompensationModel.HOURLY: {2026: "1120.00"}})
    value = make_index_value(kind="opi", year=2027, percent="3.1")
    amendment = services.apply_indexation(db, finance, version, 2027)
    [price] = [p for c in amendment.components for p in c.prices if p.year == 2027]
    price.amount = D("1160.00")  # the parties agreed another price in the amendment
    db.commit()
    approve(db, amendment, legal)
    register.revise_index_value(db, finance, value, "3.4", "preliminary")
    db.commit()
    assert services.index_adjustments(db, finance) == []
    assert services.recorded_indexations(amendment)[0].price_changed_by_hand
