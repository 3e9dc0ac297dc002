"""Pricing of periodic charges, worked by hand: fixed fees (monthly in advance, quarterly in arrears,
the year summing exactly), population shares (with an equal part), usage shares, shared roles,
preliminary billing on agreed shares, the cost cap, and charges billed once only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import BilledCharge
from billing.pricing import PricingRequest, price_run
from billing.pricing_engine import part_of_annual
from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractFixedShare,
    ContractPrice,
    ContractServiceType,
    FeePeriod,
    InvoiceFrequency,
    ServiceUnit,
    ShareBasis,
    UsageMeasure,
    VatCategory,
)
from core.models import MunicipalityPopulation
from registry.models import SharedRole, SharedRoleAllocation

D = dt.date
OCT = (D(2026, 10, 1), D(2026, 10, 31))
Q4 = (D(2026, 10, 1), D(2026, 12, 31))


def run(db, agreement, period=OCT):
    return price_run(
        db,
        PricingRequest(
            seller_municipality_id=agreement.host.municipality_id,
            period_start=period[0],
            period_end=period[1],
            agreement_id=agreement.id,
        ),
    )


def amounts(result, municipality=None):
    return {
        (inv.buyer_municipality_id, line.description): line.amount
        for inv in result.invoices
        for line in inv.lines
    }


def add_component(
    version, model, code="avgift", unit=ServiceUnit.PERIOD, category="E", prices=None, **fields
):
    st = ContractServiceType(
        code=code,
        name=code.capitalize(),
        unit=unit,
        vat_category=VatCategory(category),
        vat_rate=Decimal("25.00") if category == "S" else Decimal("0"),
        vat_exemption_reason_code=None if category == "S" else "VATEX-EU-132-1G",
        vat_exemption_reason=None if category == "S" else "Social omsorg",
    )
    version.service_types.append(st)
    component = CompensationComponent(position=10, model=model, service_type=st, **fields)
    component.prices = [
        ContractPrice(year=year, amount=Decimal(amount)) for year, amount in (prices or {}).items()
    ]
    version.components.append(component)
    return component


@pytest.fixture
def fresh(make_agreement, make_version):
    """A draft version without terms on a new agreement (Göteborg hosts Härryda and Lerum)."""

    def _make(**version_fields):
        agreement = make_agreement()
        version = make_version(agreement, terms=False, **version_fields)
        return agreement, version

    return _make


def test_annual_amount_split_into_periods_sums_exactly():
    months = [part_of_annual(Decimal("100000.00"), D(2026, m, 1), D(2026, m, 28)) for m in range(1, 13)]
    # Each month is the difference of cumulative rounded amounts: 8 333,33, 8 333,34, 8 333,33, ...
    assert months[:3] == [Decimal("8333.33"), Decimal("8333.34"), Decimal("8333.33")]
    assert sum(months) == Decimal("100000.00")
    quarters = [part_of_annual(Decimal("1000.00"), D(2026, m, 1), D(2026, m + 2, 28)) for m in (1, 4, 7, 10)]
    assert quarters == [Decimal("250.00")] * 4


def test_fixed_fee_monthly_in_advance(db, fresh, approve, municipality):
    agreement, version = fresh()
    add_component(
        version,
        CompensationModel.FIXED_FEE,
        fee_period=FeePeriod.MONTHLY,
        in_advance=True,
        prices={2026: "100000"},
    )
    approve(version)
    got = amounts(run(db, agreement))
    harryda, lerum = municipality("Härryda").id, municipality("Lerum").id
    assert got == {
        (harryda, "Avgift okt 2026"): Decimal("8333.33"),
        (lerum, "Avgift okt 2026"): Decimal("8333.33"),
    }
    december = amounts(run(db, agreement, (D(2026, 12, 1), D(2026, 12, 31))))
    assert december[(harryda, "Avgift dec 2026")] == Decimal("8333.33")  # 100 000,00 - 91 666,67


def test_fixed_fee_quarterly_in_arrears_only_when_the_quarter_ends(db, fresh, approve, municipality):
    agreement, version = fresh()
    add_component(
        version,
        CompensationModel.FIXED_FEE,
        fee_period=FeePeriod.QUARTERLY,
        in_advance=False,
        prices={2026: "60000"},
        buyer_municipality_id=municipality("Härryda").id,
    )
    approve(version)
    assert run(db, agreement).invoices == []
    got = amounts(run(db, agreement, (D(2026, 12, 1), D(2026, 12, 31))))
    assert got == {(municipality("Härryda").id, "Avgift okt–dec 2026"): Decimal("15000.00")}


def _populations(db, municipality, year, figures):
    for name, population in figures.items():
        db.add(
            MunicipalityPopulation(municipality_id=municipality(name).id, year=year, population=population)
        )
    db.commit()


@pytest.mark.parametrize(
    ("equal", "expected_harryda", "expected_lerum"),
    [
        # Q4 cost 87 500 (350 000 × 3/12); Härryda 40 000 of 700 000 inhabitants = 5 000,00
        (None, Decimal("5000.00"), Decimal("7500.00")),
        # 30 % equally (1/3 each = 10 %) + 70 % by population: 10 % + 4 % = 14 % -> 12 250,00
        (Decimal("30"), Decimal("12250.00"), Decimal("14000.00")),
    ],
)
def test_population_share(db, fresh, approve, municipality, equal, expected_harryda, expected_lerum):
    agreement, version = fresh(invoice_frequency=InvoiceFrequency.QUARTERLY)
    add_component(
        version,
        CompensationModel.POPULATION_SHARE,
        code="familjehem",
        prices={2026: "350000"},
        population_ref_month=11,
        population_ref_day=1,
        population_ref_year_offset=-1,
        equal_split_percent=equal,
        include_host=True,
    )
    approve(version)
    _populations(db, municipality, 2025, {"Göteborg": 600000, "Härryda": 40000, "Lerum": 60000})
    result = run(db, agreement, Q4)
    assert result.problems == []
    got = amounts(result)
    assert got[(municipality("Härryda").id, "Familjehem okt–dec 2026")] == expected_harryda
    assert got[(municipality("Lerum").id, "Familjehem okt–dec 2026")] == expected_lerum
    line = result.invoices[0].lines[0]
    assert "87 500,00" in line.computation.replace("\xa0", " ") and line.quantity == 1


def test_population_share_without_figures_is_a_problem(db, fresh, approve):
    agreement, version = fresh()
    add_component(
        version, CompensationModel.POPULATION_SHARE, prices={2026: "120000"}, population_ref_year_offset=-1
    )
    approve(version)
    result = run(db, agreement)
    assert result.invoices == [] and "invånarantal för 2025 saknas" in result.problems[0].message


def test_usage_share_links_the_measured_services(db, fresh, approve, make_service, municipality):
    agreement, version = fresh()
    add_component(
        version,
        CompensationModel.USAGE_SHARE,
        code="placering",
        unit=ServiceUnit.CASE,
        prices={2026: "120000"},
        usage_measure=UsageMeasure.CASES,
    )
    approve(version)
    for buyer in ("Härryda", "Härryda", "Härryda", "Lerum"):
        make_service(agreement, buyer=buyer, code="placering", unit="case", quantity="1")
    result = run(db, agreement)
    got = amounts(result)
    assert got[(municipality("Härryda").id, "Placering okt 2026")] == Decimal("7500.00")
    assert got[(municipality("Lerum").id, "Placering okt 2026")] == Decimal("2500.00")
    harryda_line = next(
        line
        for inv in result.invoices
        if inv.buyer_municipality_id == municipality("Härryda").id
        for line in inv.lines
    )
    assert harryda_line.expected_services == 3 and harryda_line.selectors


def test_shared_role(db, make_agreement, make_version, approve, municipality):
    agreement = make_agreement(host="Bengtsfors", buyers=("Mellerud",), start_date=D(2023, 1, 1))
    role = SharedRole(
        agreement=agreement,
        title="Socialchef",
        employer=municipality("Bengtsfors"),
        period_start=D(2023, 1, 1),
        salary_per_month=Decimal("78000.00"),
        po_percent=Decimal("31.42"),
        overhead_per_month=Decimal("3500.00"),
    )
    role.allocations = [
        SharedRoleAllocation(
            valid_from=D(2023, 1, 1), municipality=municipality("Bengtsfors"), percent=Decimal("50")
        ),
        SharedRoleAllocation(
            valid_from=D(2023, 1, 1), municipality=municipality("Mellerud"), percent=Decimal("50")
        ),
    ]
    db.add(role)
    db.commit()
    version = make_version(agreement, terms=False, invoice_frequency=InvoiceFrequency.QUARTERLY)
    add_component(version, CompensationModel.SHARED_ROLE, code="socialchef", category="S", shared_role=role)
    approve(version)
    result = run(db, agreement, Q4)
    # 78 000 × 1,3142 + 3 500 = 106 007,60 a month; half = 53 003,80; three months = 159 011,40
    [invoice] = result.invoices
    [line] = invoice.lines
    assert line.amount == Decimal("159011.40") and line.vat_category == VatCategory.S
    assert "3 mån × 53 003,80 kr" in line.computation.replace("\xa0", " ")


def test_preliminary_billing_on_agreed_shares(db, fresh, approve, municipality):
    agreement, version = fresh()
    component = add_component(
        version,
        CompensationModel.PRELIMINARY,
        code="jour",
        prices={2026: "1200000"},
        share_basis=ShareBasis.FIXED,
        reconciliation_deadline_month=3,
        reconciliation_deadline_day=31,
        reconciliation_threshold=Decimal("5000"),
        include_host=False,
    )
    component.fixed_shares = [
        ContractFixedShare(municipality_id=municipality("Härryda").id, percent=Decimal("25")),
        ContractFixedShare(municipality_id=municipality("Lerum").id, percent=Decimal("75")),
    ]
    approve(version)
    got = amounts(run(db, agreement))
    assert got[(municipality("Härryda").id, "Jour okt 2026")] == Decimal("25000.00")
    assert got[(municipality("Lerum").id, "Jour okt 2026")] == Decimal("75000.00")


def test_a_billed_charge_is_not_billed_again(db, fresh, approve, make_invoice, municipality):
    agreement, version = fresh()
    add_component(
        version,
        CompensationModel.FIXED_FEE,
        fee_period=FeePeriod.QUARTERLY,
        in_advance=True,
        prices={2026: "4000"},
    )
    approve(version)
    invoice = make_invoice(agreement, buyer="Härryda")
    db.add(
        BilledCharge(
            invoice_line_id=invoice.lines[0].id,
            agreement_id=agreement.id,
            buyer_municipality_id=municipality("Härryda").id,
            charge_key="fixed_fee:avgift",
            charge_period_start=D(2026, 10, 1),
            charge_period_end=D(2026, 12, 31),
        )
    )
    db.commit()
    got = amounts(run(db, agreement))
    assert list(got) == [(municipality("Lerum").id, "Avgift okt–dec 2026")]


def test_cost_cap_reduces_the_year_to_the_cap(
    db, make_agreement, make_version, approve, make_service, make_invoice
):
    agreement = make_agreement()
    version = make_version(agreement, cost_cap_amount=Decimal("5000.00"))
    approve(version)
    make_invoice(
        agreement,
        status="issued",
        lines=(("Tidigare", "1", "4000.00", "O"),),
        period=(D(2026, 9, 1), D(2026, 9, 30)),
    )
    make_service(agreement, quantity="2")  # 2 h × 1 120 = 2 240; 4 000 + 2 240 - 5 000 = 1 240 over the cap
    [invoice] = run(db, agreement).invoices
    assert [line.amount for line in invoice.lines] == [Decimal("2240.00"), Decimal("-1240.00")]
    assert invoice.net_amount == Decimal("1000.00")
    assert "Kostnadstak 5 000,00 kr" in invoice.lines[1].computation.replace("\xa0", " ")
