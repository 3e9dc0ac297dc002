"""Contract terms services: the version's own terms, service types and VAT, compensation components
validated per model, prices, buyer references, price_for, the outline and the comparison."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contracts.errors import OpenVersionExists, VersionImmutable
from contracts.models import CompensationModel, ShareBasis, VatCategory, VersionStatus
from contracts.terms import services
from core.errors import Conflict, PermissionDenied, ValidationFailed
from registry.models import SharedRole

D = dt.date
PERSONAL_NUMBER = "Klient 19850101-2382"  # a valid personnummer (Luhn), never to be stored


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",), kommun="Göteborg")


@pytest.fixture
def draft(make_version):
    return make_version(status="draft")


def _hourly(version):
    return next(c for c in version.components if c.model == CompensationModel.HOURLY)


def _st(version, code):
    return next(st for st in version.service_types if st.code == code)


# --- Versions -------------------------------------------------------------------------------------


def test_first_version_defaults_to_original_agreement_and_start_date(db, make_agreement, admin):
    agreement = make_agreement(start_date=D(2024, 3, 1))
    version = services.create_contract_version(db, admin, agreement, {})
    assert (version.number, version.title, version.effective_from) == (1, "Ursprungligt avtal", D(2024, 3, 1))
    assert version.status == VersionStatus.DRAFT and version.payment_terms_days == 30


def test_amendment_needs_a_date_and_copies_the_latest_approved(db, make_agreement, make_version, admin):
    agreement = make_agreement(start_date=D(2024, 1, 1), end_date=D(2027, 12, 31))
    v1 = make_version(agreement, status="approved")
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_contract_version(db, admin, agreement, {})
    assert "effective_from" in excinfo.value.errors
    v2 = services.create_contract_version(db, admin, agreement, {"effective_from": "2026-01-01"})
    assert (v2.number, v2.title, v2.based_on_id) == (2, "Tilläggsavtal 1", v1.id)
    assert len(v2.components) == 3
    with pytest.raises(OpenVersionExists):
        services.create_contract_version(db, admin, agreement, {"effective_from": "2026-06-01"})


def test_delete_version_only_a_draft(db, make_agreement, make_version, admin):
    agreement = make_agreement()
    approved = make_version(agreement, status="approved")
    with pytest.raises(VersionImmutable):
        services.delete_version(db, admin, approved)
    draft = make_version(agreement, number=2, effective_from=D(2025, 1, 1))
    draft_id = draft.id
    services.delete_version(db, admin, draft)
    db.commit()
    assert db.get(type(draft), draft_id) is None


def test_update_terms_and_cross_field_rules(db, draft, admin):
    services.update_version_terms(
        db,
        admin,
        draft,
        {
            "payment_terms_days": "20",
            "cost_cap_amount": "500 000,00",
            "invoice_series": "SAM",
            "executor": "performing",
        },
    )
    assert (draft.payment_terms_days, draft.cost_cap_amount) == (20, Decimal("500000.00"))
    # An index needs an edition and a date.
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_version_terms(
            db, admin, draft, {"index_kind": "pkv", "index_edition": "", "index_effective_from": ""}
        )
    assert set(excinfo.value.errors) == {"index_edition", "index_effective_from"}
    # No index clears the edition and date.
    services.update_version_terms(db, admin, draft, {"index_kind": ""})
    assert (draft.index_kind, draft.index_edition, draft.index_effective_from) == (None, None, None)
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_version_terms(
            db, admin, draft, {"payment_terms_days": "", "effective_from": "2023-01-01"}
        )
    assert set(excinfo.value.errors) == {"payment_terms_days", "effective_from"}


def test_term_changes_are_prefilled_from_the_agreement_and_cleared_when_off(db, draft, admin):
    agreement = draft.agreement
    services.update_version_terms(db, admin, draft, {"changes_term": True})
    assert (draft.term_end_date, draft.term_renewal_months, draft.term_notice_months) == (
        agreement.end_date,
        agreement.renewal_months,
        agreement.notice_months,
    )
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_version_terms(db, admin, draft, {"term_end_date": None, "term_renewal_months": 12})
    assert "term_renewal_months" in excinfo.value.errors
    services.update_version_terms(db, admin, draft, {"changes_term": False})
    assert (draft.term_end_date, draft.term_renewal_months, draft.term_notice_months) == (None, None, None)


@pytest.mark.parametrize("status", ["approved", "in_review"])
def test_terms_of_a_version_that_is_not_a_draft_cannot_change(db, make_version, admin, status):
    version = make_version(status=status)
    with pytest.raises(VersionImmutable):
        services.update_version_terms(db, admin, version, {"payment_terms_days": 10})
    with pytest.raises(VersionImmutable):
        services.add_price(db, admin, _hourly(version), {"year": 2030, "amount": "1"})
    with pytest.raises(VersionImmutable):
        services.delete_service_type(db, admin, _st(version, "utredning"))


def test_caseworker_may_not_edit(db, draft, make_user):
    caseworker = make_user(roles=("caseworker",), kommun="Göteborg")
    with pytest.raises(PermissionDenied):
        services.update_version_terms(db, caseworker, draft, {"payment_terms_days": 10})


@pytest.mark.parametrize(
    ("call", "data", "field"),
    [
        ("update_version_terms", {"scope": PERSONAL_NUMBER}, "scope"),
        ("update_version_terms", {"change_summary": PERSONAL_NUMBER}, "change_summary"),
        ("update_version_terms", {"index_edition": PERSONAL_NUMBER}, "index_edition"),
        (
            "add_service_type",
            {"code": "x", "name": PERSONAL_NUMBER, "unit": "hour", "vat_category": "O"},
            "name",
        ),
        (
            "add_service_type",
            {
                "code": "x",
                "name": "X",
                "unit": "hour",
                "vat_category": "E",
                "vat_exemption_reason": PERSONAL_NUMBER,
            },
            "vat_exemption_reason",
        ),
        (
            "add_component",
            {"model": "mileage", "service_type_id": None, "description": PERSONAL_NUMBER},
            "description",
        ),
        ("add_buyer_terms", {"municipality_id": 1, "buyer_reference": PERSONAL_NUMBER}, "buyer_reference"),
    ],
)
def test_free_text_refuses_personal_numbers(db, draft, admin, call, data, field):
    data = dict(data)
    if "service_type_id" in data:
        data["service_type_id"] = _st(draft, "resa").id
    with pytest.raises(ValidationFailed) as excinfo:
        getattr(services, call)(db, admin, draft, data)
    assert "personnummer" in " ".join(excinfo.value.errors[field])


def test_case_type_refuses_personal_numbers(db, draft, admin):
    component = services.add_component(
        db, admin, draft, {"model": "per_case", "service_type_id": _st(draft, "utredning").id}
    )
    with pytest.raises(ValidationFailed) as excinfo:
        services.add_price(
            db, admin, component, {"year": 2025, "case_type": PERSONAL_NUMBER, "amount": "100"}
        )
    assert "personnummer" in " ".join(excinfo.value.errors["case_type"])


# --- Service types and VAT ------------------------------------------------------------------------


def test_vat_category_o_defaults_to_vatex_eu_o(db, draft, admin):
    st = services.add_service_type(
        db, admin, draft, {"code": "beslut", "name": "Beslut", "unit": "case", "vat_category": "O"}
    )
    assert (st.vat_rate, st.vat_exemption_reason_code, st.vat_exemption_reason) == (
        Decimal("0.00"),
        "VATEX-EU-O",
        "Myndighetsutövning – utanför momsens tillämpningsområde",
    )


def test_vat_category_e_needs_a_reason_and_s_a_rate(db, draft, admin):
    base = {"code": "stod", "name": "Stöd", "unit": "hour"}
    with pytest.raises(ValidationFailed) as excinfo:
        services.add_service_type(db, admin, draft, {**base, "vat_category": "E"})
    assert "vat_exemption_reason" in excinfo.value.errors
    exempt = services.add_service_type(
        db,
        admin,
        draft,
        {
            **base,
            "vat_category": "E",
            "vat_exemption_reason_code": "VATEX-EU-132-1G",
            "vat_exemption_reason": "Social omsorg",
        },
    )
    assert (exempt.vat_rate, exempt.vat_exemption_reason_code) == (Decimal("0.00"), "VATEX-EU-132-1G")
    with pytest.raises(ValidationFailed) as excinfo:
        services.add_service_type(
            db,
            admin,
            draft,
            {**base, "code": "x", "vat_category": "E", "vat_rate": "25", "vat_exemption_reason": "a"},
        )
    assert "vat_rate" in excinfo.value.errors
    taxable = services.add_service_type(db, admin, draft, {**base, "code": "admin", "vat_category": "S"})
    assert (taxable.vat_rate, taxable.vat_exemption_reason) == (Decimal("25.00"), None)
    with pytest.raises(ValidationFailed) as excinfo:
        services.add_service_type(
            db, admin, draft, {**base, "code": "y", "vat_category": "S", "vat_rate": "0"}
        )
    assert "vat_rate" in excinfo.value.errors
    # Switching a category starts from the new category's defaults.
    services.update_service_type(db, admin, taxable, {"vat_category": "O"})
    assert (taxable.vat_category, taxable.vat_rate, taxable.vat_exemption_reason_code) == (
        VatCategory.O,
        Decimal("0.00"),
        "VATEX-EU-O",
    )


def test_service_type_code_is_unique_in_the_version(db, draft, admin):
    with pytest.raises(ValidationFailed) as excinfo:
        services.add_service_type(
            db, admin, draft, {"code": "resa", "name": "Resor 2", "unit": "km", "vat_category": "O"}
        )
    assert "används redan" in excinfo.value.errors["code"][0]


def test_service_type_used_by_a_component_cannot_be_deleted(db, draft, admin):
    with pytest.raises(Conflict) as excinfo:
        services.delete_service_type(db, admin, _st(draft, "utredning"))
    assert "Timpris" in excinfo.value.message and "kan inte tas bort" in excinfo.value.message
    unused = services.add_service_type(
        db, admin, draft, {"code": "ovrigt", "name": "Övrigt", "unit": "hour", "vat_category": "O"}
    )
    services.delete_service_type(db, admin, unused)
    assert "ovrigt" not in {st.code for st in draft.service_types}


# --- Components per model -------------------------------------------------------------------------


def _component(db, admin, version, model, service_type="utredning", **fields):
    data = {"model": model, "service_type_id": _st(version, service_type).id, **fields}
    return services.add_component(db, admin, version, data)


@pytest.mark.parametrize(
    ("model", "good", "bad", "bad_fields"),
    [
        (
            "hourly",
            {"time_rounding_minutes": 30, "ceiling_hours": "10", "ceiling_per": "month"},
            {"ceiling_hours": "10"},
            {"ceiling_per"},
        ),
        ("hourly", {}, {"time_rounding_minutes": 20}, {"time_rounding_minutes"}),
        ("per_case", {}, {"fee_period": "monthly"}, {"fee_period"}),
        (
            "fixed_fee",
            {"fee_period": "quarterly", "in_advance": True},
            {"fee_period": "monthly"},
            {"in_advance"},
        ),
        (
            "population_share",
            {
                "population_ref_month": 11,
                "population_ref_day": 1,
                "population_ref_year_offset": -1,
                "equal_split_percent": "20",
            },
            {"population_ref_month": 2, "population_ref_day": 30, "population_ref_year_offset": -1},
            {"population_ref_day"},
        ),
        (
            "population_share",
            {"population_ref_month": 12, "population_ref_day": 31, "population_ref_year_offset": 0},
            {},
            {"population_ref_month", "population_ref_day", "population_ref_year_offset"},
        ),
        ("usage_share", {"usage_measure": "days", "include_host": False}, {}, {"usage_measure"}),
        (
            "preliminary",
            {
                "share_basis": "usage",
                "usage_measure": "cases",
                "reconciliation_deadline_month": 3,
                "reconciliation_deadline_day": 31,
                "reconciliation_threshold": "1000",
            },
            {"share_basis": "usage", "reconciliation_deadline_month": 3, "reconciliation_deadline_day": 31},
            {"usage_measure"},
        ),
        (
            "preliminary",
            {
                "share_basis": "population",
                "population_ref_month": 11,
                "population_ref_day": 1,
                "population_ref_year_offset": -1,
                "reconciliation_deadline_month": 3,
                "reconciliation_deadline_day": 31,
            },
            {
                "share_basis": "population",
                "reconciliation_deadline_month": 4,
                "reconciliation_deadline_day": 31,
            },
            {
                "population_ref_month",
                "population_ref_day",
                "population_ref_year_offset",
                "reconciliation_deadline_day",
            },
        ),
        (
            "preliminary",
            {
                "share_basis": "usage",
                "usage_measure": "hours",
                "reconciliation_deadline_month": 6,
                "reconciliation_deadline_day": 30,
            },
            {"share_basis": "usage", "usage_measure": "hours"},
            {"reconciliation_deadline_month", "reconciliation_deadline_day"},
        ),
        ("mileage", {}, {"usage_measure": "cases"}, {"usage_measure"}),
        (
            "outlays",
            {"description": "Till självkostnad"},
            {"time_rounding_minutes": 15},
            {"time_rounding_minutes"},
        ),
    ],
)
def test_each_model_is_validated(db, make_version, admin, model, good, bad, bad_fields):
    version = make_version(terms=False)
    from contracts.models import ContractServiceType, ServiceUnit

    version.service_types.append(
        ContractServiceType(
            code="utredning",
            name="Utredning",
            unit=ServiceUnit.HOUR,
            vat_category=VatCategory.O,
            vat_rate=Decimal("0"),
            vat_exemption_reason="x",
        )
    )
    db.flush()
    component = _component(db, admin, version, model, **good)
    assert component.model == CompensationModel(model)
    for name, value in good.items():
        stored = getattr(component, name)
        assert str(stored.value if hasattr(stored, "value") else stored) == str(value)
    db.delete(component)
    version.components.remove(component)
    db.flush()
    with pytest.raises(ValidationFailed) as excinfo:
        _component(db, admin, version, model, **bad)
    assert set(excinfo.value.errors) == bad_fields


def test_preliminary_fixed_shares_sum_to_exactly_100_and_name_parties(db, draft, admin, municipality):
    goteborg, harryda, lerum = (municipality(n).id for n in ("Göteborg", "Härryda", "Lerum"))
    base = {"share_basis": "fixed", "reconciliation_deadline_month": 3, "reconciliation_deadline_day": 31}
    with pytest.raises(ValidationFailed) as excinfo:
        _component(
            db,
            admin,
            draft,
            "preliminary",
            **base,
            fixed_shares=[
                {"municipality_id": harryda, "percent": "50"},
                {"municipality_id": lerum, "percent": "49.99"},
            ],
        )
    assert "exakt 100,00" in excinfo.value.errors["fixed_shares"][0]
    with pytest.raises(ValidationFailed) as excinfo:
        _component(
            db,
            admin,
            draft,
            "preliminary",
            **base,
            fixed_shares=[
                {"municipality_id": harryda, "percent": "50"},
                {"municipality_id": municipality("Malmö").id, "percent": "50"},
            ],
        )
    assert "parter" in excinfo.value.errors["fixed_shares"][0]
    with pytest.raises(ValidationFailed):
        _component(db, admin, draft, "preliminary", **base)
    component = _component(
        db,
        admin,
        draft,
        "preliminary",
        **base,
        fixed_shares=[
            {"municipality_id": goteborg, "percent": "20"},
            {"municipality_id": harryda, "percent": "45.50"},
            {"municipality_id": lerum, "percent": "34.50"},
        ],
    )
    assert {s.municipality_id: s.percent for s in component.fixed_shares} == {
        goteborg: Decimal("20.00"),
        harryda: Decimal("45.50"),
        lerum: Decimal("34.50"),
    }
    # Switching the basis away from agreed shares drops them.
    services.update_component(db, admin, component, {"share_basis": "usage", "usage_measure": "cases"})
    assert component.fixed_shares == [] and component.share_basis == ShareBasis.USAGE


def test_shared_role_must_belong_to_the_agreement(db, draft, admin, make_agreement, municipality):
    def role(agreement):
        shared = SharedRole(
            agreement=agreement,
            title="Gemensam socialchef",
            employer_municipality_id=municipality("Göteborg").id,
            period_start=D(2024, 1, 1),
            salary_per_month=Decimal("70000"),
            po_percent=Decimal("31.42"),
        )
        db.add(shared)
        db.flush()
        return shared

    other = role(make_agreement())
    with pytest.raises(ValidationFailed) as excinfo:
        _component(db, admin, draft, "shared_role", shared_role_id=other.id)
    assert "shared_role_id" in excinfo.value.errors
    own = role(draft.agreement)
    component = _component(db, admin, draft, "shared_role", shared_role_id=own.id)
    assert component.shared_role.title == "Gemensam socialchef"


def test_component_for_one_buyer(db, draft, admin, municipality):
    component = _component(db, admin, draft, "hourly", buyer_municipality_id=municipality("Lerum").id)
    assert component.buyer.name == "Lerum"
    with pytest.raises(ValidationFailed) as excinfo:
        _component(db, admin, draft, "hourly", buyer_municipality_id=municipality("Göteborg").id)
    assert "inte köpare" in excinfo.value.errors["buyer_municipality_id"][0]
    with pytest.raises(ValidationFailed) as excinfo:
        _component(
            db,
            admin,
            draft,
            "usage_share",
            buyer_municipality_id=municipality("Lerum").id,
            usage_measure="cases",
        )
    assert "buyer_municipality_id" in excinfo.value.errors
    # The same model, service type and buyer twice is refused.
    with pytest.raises(ValidationFailed) as excinfo:
        _component(db, admin, draft, "hourly")
    assert "finns redan" in excinfo.value.errors["service_type_id"][0]


def test_fixed_fee_combined_with_hourly_above_a_ceiling(db, make_version, admin):
    version = make_version()
    hourly = _hourly(version)
    services.update_component(db, admin, hourly, {"ceiling_hours": "200", "ceiling_per": "year"})
    fee = _component(db, admin, version, "fixed_fee", fee_period="monthly", in_advance=True)
    services.add_price(db, admin, fee, {"year": 2024, "amount": "120 000"})
    assert [c.model for c in version.components] == [
        CompensationModel.HOURLY,
        CompensationModel.MILEAGE,
        CompensationModel.OUTLAYS,
        CompensationModel.FIXED_FEE,
    ]
    assert hourly.ceiling_hours == Decimal("200.00")


# --- Prices ---------------------------------------------------------------------------------------


def test_prices_are_unique_per_year_and_case_type(db, draft, admin):
    hourly = _hourly(draft)
    with pytest.raises(ValidationFailed) as excinfo:
        services.add_price(db, admin, hourly, {"year": 2025, "amount": "1 100,00"})
    assert "Det finns redan ett pris för 2025" in excinfo.value.errors["year"][0]
    price = services.add_price(db, admin, hourly, {"year": 2027, "amount": "1 155,5"})
    assert price.amount == Decimal("1155.50")
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_price(db, admin, price, {"year": 2026})
    assert "year" in excinfo.value.errors
    for bad in ("-1", "10,005", "tio"):
        with pytest.raises(ValidationFailed) as excinfo:
            services.add_price(db, admin, hourly, {"year": 2028, "amount": bad})
        assert "amount" in excinfo.value.errors
    services.delete_price(db, admin, price)
    assert 2027 not in {p.year for p in hourly.prices}


def test_per_case_prices_need_a_case_type_and_outlays_have_none(db, draft, admin):
    per_case = _component(db, admin, draft, "per_case")
    with pytest.raises(ValidationFailed) as excinfo:
        services.add_price(db, admin, per_case, {"year": 2025, "amount": "9000"})
    assert "case_type" in excinfo.value.errors
    services.add_price(
        db, admin, per_case, {"year": 2025, "case_type": "Faderskapsutredning", "amount": "9000"}
    )
    services.add_price(
        db, admin, per_case, {"year": 2025, "case_type": "Vårdnadsutredning", "amount": "24000"}
    )
    with pytest.raises(ValidationFailed):
        services.add_price(
            db, admin, per_case, {"year": 2025, "case_type": "Vårdnadsutredning", "amount": "1"}
        )
    outlays = next(c for c in draft.components if c.model == CompensationModel.OUTLAYS)
    with pytest.raises(ValidationFailed) as excinfo:
        services.add_price(db, admin, outlays, {"year": 2025, "amount": "1"})
    assert "självkostnad" in excinfo.value.errors["amount"][0]
    with pytest.raises(ValidationFailed) as excinfo:
        services.add_price(db, admin, _hourly(draft), {"year": 2030, "case_type": "X", "amount": "1"})
    assert "case_type" in excinfo.value.errors


# --- price_for --------------------------------------------------------------------------------------


def test_price_for_with_an_index_rule_never_falls_back(make_version):
    version = make_version()  # OPI indexation; hourly prices 2024-2026
    hourly = _hourly(version)
    assert services.price_for(version, hourly, 2025).amount == Decimal("1085.00")
    with pytest.raises(services.PriceMissing) as excinfo:
        services.price_for(version, hourly, 2027)
    assert excinfo.value.message.startswith("Priset för 2027 saknas – indexuppräkningen är inte gjord")
    assert excinfo.value.status_code == 409
    with pytest.raises(services.PriceMissing):
        services.price_for(version, hourly, 2023)


def test_price_for_without_an_index_uses_the_latest_earlier_year(make_version):
    version = make_version(index_kind=None, index_edition=None, index_effective_from=None)
    hourly = _hourly(version)
    assert services.price_for(version, hourly, 2026).amount == Decimal("1120.00")
    assert services.price_for(version, hourly, 2029).year == 2026
    mileage = next(c for c in version.components if c.model == CompensationModel.MILEAGE)
    assert services.price_for(version, mileage, 2026).amount == Decimal("2.50")
    with pytest.raises(services.PriceMissing) as excinfo:
        services.price_for(version, hourly, 2023)
    assert "Priset för 2023 saknas" in excinfo.value.message
    outlays = next(c for c in version.components if c.model == CompensationModel.OUTLAYS)
    with pytest.raises(services.PriceMissing):
        services.price_for(version, outlays, 2025)


def test_price_for_per_case_by_case_type(db, make_version, admin):
    version = make_version(index_kind=None, index_edition=None, index_effective_from=None)
    per_case = _component(db, admin, version, "per_case")
    services.add_price(
        db, admin, per_case, {"year": 2024, "case_type": "Faderskapsutredning", "amount": "9000"}
    )
    services.add_price(
        db, admin, per_case, {"year": 2025, "case_type": "Vårdnadsutredning", "amount": "24000"}
    )
    assert services.price_for(version, per_case, 2025, "Faderskapsutredning").amount == Decimal("9000.00")
    assert services.price_for(version, per_case, 2025, "Vårdnadsutredning").amount == Decimal("24000.00")
    with pytest.raises(services.PriceMissing):
        services.price_for(version, per_case, 2024, "Vårdnadsutredning")
    with pytest.raises(services.PriceMissing):
        services.price_for(version, per_case, 2025)


# --- Buyer references -----------------------------------------------------------------------------


def test_buyer_references(db, draft, admin, municipality):
    harryda, lerum = municipality("Härryda").id, municipality("Lerum").id
    with pytest.raises(ValidationFailed) as excinfo:
        services.add_buyer_terms(db, admin, draft, {"municipality_id": harryda, "buyer_reference": "Ny"})
    assert "redan" in excinfo.value.errors["municipality_id"][0]
    with pytest.raises(ValidationFailed):
        services.add_buyer_terms(
            db, admin, draft, {"municipality_id": municipality("Göteborg").id, "buyer_reference": "X"}
        )
    services.save_buyer_references(db, admin, draft, {harryda: "Socialförvaltningen 4510", lerum: ""})
    assert {t.municipality_id: t.buyer_reference for t in draft.buyer_terms} == {
        harryda: "Socialförvaltningen 4510"
    }
    with pytest.raises(ValidationFailed) as excinfo:
        services.save_buyer_references(db, admin, draft, {lerum: PERSONAL_NUMBER})
    assert "personnummer" in excinfo.value.errors[str(lerum)][0]


# --- Outline and comparison ------------------------------------------------------------------------


def test_outline_covers_every_term_with_stable_keys_and_swedish_formats(make_version):
    version = make_version()
    outline = {e.key: e for e in services.terms_outline(version)}
    assert outline["version:payment_terms_days"].value == "30 dagar netto"
    assert outline["version:index_kind"].value == "OPI"
    assert outline["version:index_effective_from"].value == "2025-01-01"
    assert outline["service_type:utredning:vat"].value.startswith("O")
    assert (
        outline["component:hourly:utredning:alla:time_rounding_minutes"].value
        == "Per påbörjad kvart (15 minuter)"
    )
    assert outline["component:hourly:utredning:alla:price:2025:"].value == "1\u00a0085,00\u00a0kr"
    assert outline["component:mileage:resa:alla:price:2024:"].value == "2,50\u00a0kr"
    assert outline["buyer_reference:1401"].value == "REF-1401"  # Härryda
    assert [e.section for e in services.terms_outline(version)][0] == "general"


def test_identical_versions_have_no_changes(db, make_agreement, make_version):
    agreement = make_agreement(start_date=D(2024, 1, 1), end_date=D(2027, 12, 31))
    v1 = make_version(agreement, status="approved")
    twin = make_version(agreement, number=2, title=v1.title, effective_from=v1.effective_from)
    comparison = services.compare_versions(v1, twin)
    assert comparison.identical and comparison.changes == [] and comparison.sections == []
    assert services.compare_versions(v1, v1).identical


def test_comparison_shows_exactly_what_changed(db, make_agreement, make_version, admin):
    agreement = make_agreement(start_date=D(2024, 1, 1), end_date=D(2027, 12, 31))
    v1 = make_version(agreement, status="approved")
    v2 = services.create_contract_version(
        db, admin, agreement, {"title": v1.title, "effective_from": "2025-07-01"}
    )
    services.update_version_terms(db, admin, v2, {"payment_terms_days": 20})  # a changed header field
    services.update_price(db, admin, _hourly(v2).prices[1], {"amount": "1 090,00"})  # a changed price
    outlays = next(c for c in v2.components if c.model == CompensationModel.OUTLAYS)
    services.delete_component(db, admin, outlays)
    services.delete_service_type(db, admin, _st(v2, "utlagg"))  # a removed service type
    fee_type = services.add_service_type(
        db, admin, v2, {"code": "avgift", "name": "Årsavgift", "unit": "period", "vat_category": "O"}
    )
    fee = services.add_component(
        db,
        admin,
        v2,
        {"model": "fixed_fee", "service_type_id": fee_type.id, "fee_period": "quarterly", "in_advance": True},
    )
    services.add_price(db, admin, fee, {"year": 2025, "amount": "50000"})  # an added component with a price
    db.commit()
    comparison = services.compare_versions(v1, v2)
    by_key = {c.key: c for c in comparison.changes}

    assert (
        by_key["version:payment_terms_days"].kind,
        by_key["version:payment_terms_days"].old,
        by_key["version:payment_terms_days"].new,
    ) == (
        "changed",
        "30 dagar netto",
        "20 dagar netto",
    )
    price = by_key["component:hourly:utredning:alla:price:2025:"]
    assert (price.kind, price.section, price.old, price.new) == (
        "changed",
        "prices",
        "1\u00a0085,00\u00a0kr",
        "1\u00a0090,00\u00a0kr",
    )
    assert (
        by_key["service_type:utlagg:name"].kind == "removed"
        and by_key["service_type:utlagg:name"].old == "Utlägg"
    )
    assert by_key["component:outlays:utlagg:alla"].kind == "removed"
    added = by_key["component:fixed_fee:avgift:alla"]
    assert (added.kind, added.old, added.new, added.section) == (
        "added",
        None,
        "Fast årsavgift",
        "compensation",
    )
    assert by_key["component:fixed_fee:avgift:alla:price:2025:"].new == "50\u00a0000,00\u00a0kr"
    assert by_key["service_type:avgift:vat"].kind == "added"
    # Nothing else changed: every change is one of these.
    assert (by_key["version:effective_from"].old, by_key["version:effective_from"].new) == (
        "2024-01-01",
        "2025-07-01",
    )
    expected_prefixes = (
        "version:effective_from",
        "version:payment_terms_days",
        "component:hourly:utredning:alla:price:2025:",
        "service_type:utlagg:",
        "component:outlays:utlagg:alla",
        "service_type:avgift:",
        "component:fixed_fee:avgift:alla",
    )
    assert all(c.key.startswith(expected_prefixes) for c in comparison.changes)
    assert [s.section for s in comparison.sections] == [
        "general",
        "invoicing",
        "service_types",
        "compensation",
        "prices",
    ]


def test_only_versions_of_one_agreement_are_compared(make_version):
    with pytest.raises(ValidationFailed):
        services.compare_versions(make_version(), make_version())


def test_amendment_after_the_first_end_date_of_a_renewing_agreement(db, make_agreement, make_version, admin):
    renewing = make_agreement(start_date=D(2024, 1, 1), end_date=D(2025, 12, 31), renewal_months=12)
    make_version(renewing, status="approved")
    version = services.create_contract_version(db, admin, renewing, {"effective_from": "2027-01-01"})
    assert version.effective_from == D(2027, 1, 1)
    fixed = make_agreement(start_date=D(2024, 1, 1), end_date=D(2025, 12, 31), renewal_months=None)
    make_version(fixed, status="approved")
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_contract_version(db, admin, fixed, {"effective_from": "2026-01-01"})
    assert "efter avtalets slutdatum" in excinfo.value.errors["effective_from"][0]
