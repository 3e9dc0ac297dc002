"""Category O (myndighetsutövning) and category S 25 % under one agreement, with the real pricing engine
and the real compute_run: a buyer's month becomes two invoices, one with only the O lines (no VAT) and one
with the S lines, whose VAT is computed on the document (per rate, rounded half-up to öre) and not per
line; totals are the sum of the lines plus that VAT.

Worked by hand (October 2026; Göteborg performs for Härryda and Lerum):
- utredning (O): 1,5 h for Härryda × 1 120,00 kr = 1 680,00 kr;
- resa (S 25 %): 12,1 km for Härryda × 2,50 kr = 30,25 kr;
- administration (S 25 %): fixed fee 12 000,12 kr a year, monthly in arrears: 1 000,01 kr a buyer.
Härryda's S document: 1 030,26 kr × 25 % = 257,565 kr -> 257,57 kr (half-up on the document). Rounding
each line would give 7,56 + 250,00 = 257,56 kr, and so would half-even on the document.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing.invoicing import services
from billing.models import BilledCharge, BilledService, InvoiceLine, InvoiceStatus, PeriodKind, VatGroup
from billing.pricing import PricingRequest, price_run
from contracts.models import CompensationModel, ContractPrice, FeePeriod, VatCategory
from core.formatting import round_money
from tests.billing import invoicing_fixtures as fx
from tests.billing.test_pricing_periodic import add_component

seller_finance = fx.seller_finance

OCTOBER = dt.date(2026, 10, 1)
S_RATE = Decimal("25.00")


@pytest.fixture
def mixed_agreement(db, make_agreement, make_version, approve):
    """An agreement whose approved version has hours in O and mileage and a fixed fee in S 25 %."""
    agreement = make_agreement()
    version = make_version(agreement)  # utredning (O), resa, utlagg; a draft until approved below
    mileage = next(st for st in version.service_types if st.code == "resa")
    mileage.vat_category = VatCategory.S
    mileage.vat_rate = S_RATE
    mileage.vat_exemption_reason_code = None
    mileage.vat_exemption_reason = None
    next(c for c in version.components if c.service_type is mileage).prices.append(
        ContractPrice(year=2026, amount=Decimal("2.50"))
    )
    add_component(
        version,
        CompensationModel.FIXED_FEE,
        code="administration",
        category="S",
        fee_period=FeePeriod.MONTHLY,
        in_advance=False,
        prices={2026: "12000.12"},
    )
    approve(version)
    return agreement


def test_pricing_splits_a_buyers_month_into_an_o_invoice_and_an_s_invoice(
    db, mixed_agreement, make_service, municipality
):
    make_service(mixed_agreement, quantity="1.5")
    make_service(mixed_agreement, code="resa", unit="km", quantity="12.1")
    result = price_run(
        db,
        PricingRequest(
            seller_municipality_id=mixed_agreement.host.municipality_id,
            period_start=OCTOBER,
            period_end=dt.date(2026, 10, 31),
            agreement_id=mixed_agreement.id,
        ),
    )
    assert result.problems == []
    harryda = municipality("Härryda").id
    by_group = {p.vat_group: p for p in result.invoices if p.buyer_municipality_id == harryda}
    assert set(by_group) == {VatGroup.OUTSIDE_SCOPE, VatGroup.OTHER}
    outside, other = by_group[VatGroup.OUTSIDE_SCOPE], by_group[VatGroup.OTHER]
    assert [(line.service_type_code, line.vat_category, line.amount) for line in outside.lines] == [
        ("utredning", VatCategory.O, Decimal("1680.00"))
    ]
    assert sorted((line.service_type_code, line.vat_category, line.amount) for line in other.lines) == [
        ("administration", VatCategory.S, Decimal("1000.01")),
        ("resa", VatCategory.S, Decimal("30.25")),
    ]
    assert all(line.vat_rate == S_RATE for line in other.lines)
    # Lerum performed nothing but pays the fee: one S invoice only.
    lerum = [p for p in result.invoices if p.buyer_municipality_id != harryda]
    assert [(p.vat_group, [line.amount for line in p.lines]) for p in lerum] == [
        (VatGroup.OTHER, [Decimal("1000.01")])
    ]


def test_compute_run_makes_two_documents_with_vat_on_the_s_document_rounded_half_up(
    db, mixed_agreement, make_service, seller_finance, municipality
):
    hours = make_service(mixed_agreement, quantity="1.5")
    km = make_service(mixed_agreement, code="resa", unit="km", quantity="12.1")
    user = seller_finance(mixed_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER, agreement_id=mixed_agreement.id)
    services.compute_run(db, user, run)
    db.commit()

    assert run.problems == []
    harryda = municipality("Härryda").id
    drafts = {i.vat_group: i for i in run.invoices if i.buyer_municipality_id == harryda}
    assert set(drafts) == {VatGroup.OUTSIDE_SCOPE, VatGroup.OTHER}
    assert all(i.status == InvoiceStatus.DRAFT and i.number is None for i in drafts.values())

    # The O invoice: only the O line, no VAT; its exemption reason is carried to the line.
    outside = drafts[VatGroup.OUTSIDE_SCOPE]
    assert [(line.vat_category, line.vat_rate, line.amount) for line in outside.lines] == [
        (VatCategory.O, Decimal("0"), Decimal("1680.00"))
    ]
    assert outside.lines[0].vat_exemption_reason_code == "VATEX-EU-O"
    assert (outside.net_amount, outside.vat_amount, outside.total_amount) == (
        Decimal("1680.00"),
        Decimal("0.00"),
        Decimal("1680.00"),
    )

    # The S invoice: both S lines; 25 % of their sum, rounded half-up once on the document.
    other = drafts[VatGroup.OTHER]
    assert {line.vat_category for line in other.lines} == {VatCategory.S}
    assert sorted(line.amount for line in other.lines) == [Decimal("30.25"), Decimal("1000.01")]
    per_line = sum(round_money(line.amount * S_RATE / 100) for line in other.lines)
    assert per_line == Decimal("257.56")  # what rounding each line would give: not what is billed
    assert other.net_amount == sum(line.amount for line in other.lines) == Decimal("1030.26")
    assert other.vat_amount == Decimal("257.57")
    assert other.total_amount == other.net_amount + other.vat_amount == Decimal("1287.83")
    [row] = services.vat_summary(other.lines)
    assert (row.category, row.rate, row.taxable_amount, row.vat_amount) == (
        VatCategory.S,
        S_RATE,
        Decimal("1030.26"),
        Decimal("257.57"),
    )

    # Each document bills its own part: the hours from the O line, the kilometres and the fee from S.
    invoice_of_service = dict(
        db.execute(
            select(BilledService.performed_service_id, InvoiceLine.invoice_id).join(
                InvoiceLine, InvoiceLine.id == BilledService.invoice_line_id
            )
        ).all()
    )
    assert invoice_of_service == {hours.id: outside.id, km.id: other.id}
    fee_links = set(
        db.execute(
            select(BilledCharge.buyer_municipality_id, InvoiceLine.invoice_id).join(
                InvoiceLine, InvoiceLine.id == BilledCharge.invoice_line_id
            )
        ).all()
    )
    assert (harryda, other.id) in fee_links and len(fee_links) == 2  # Härryda's and Lerum's fee

    # The run's totals are the sum of its documents (Lerum: 1 000,01 kr + 250,00 kr VAT).
    summary = services.run_summary(db, run)
    assert summary["invoices"] == 3
    assert summary["net_amount"] == Decimal("1680.00") + Decimal("1030.26") + Decimal("1000.01")
    assert summary["vat_amount"] == Decimal("257.57") + Decimal("250.00")
