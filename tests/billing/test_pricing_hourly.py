"""Pricing of performed services, worked by hand: hourly (with rounding per started 15 minutes and
ceilings), per case, mileage and outlays; the version in force on the service date; VAT groups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import VatGroup
from billing.pricing import PricingRequest, price_run
from contracts.models import (
    CeilingPer,
    CompensationComponent,
    CompensationModel,
    ContractPrice,
    ContractServiceType,
    ServiceUnit,
    VatCategory,
)

D = dt.date
OCT = (D(2026, 10, 1), D(2026, 10, 31))


def run(db, agreement, period=OCT, **kw):
    request = PricingRequest(
        seller_municipality_id=agreement.host.municipality_id,
        period_start=period[0],
        period_end=period[1],
        agreement_id=agreement.id,
        **kw,
    )
    return price_run(db, request)


def lines_of(result, buyer_id=None):
    return [
        line for inv in result.invoices if buyer_id in (None, inv.buyer_municipality_id) for line in inv.lines
    ]


def test_hours_rounded_up_per_entry_to_started_quarter_hours(db, priced_agreement, make_service):
    # 1,10 h -> 1,25 h; 0,50 h -> 0,50 h; 2,01 h -> 2,25 h: 4,00 h × 1 120,00 kr (2026) = 4 480,00 kr
    for quantity in ("1.10", "0.50", "2.01"):
        make_service(priced_agreement, quantity=quantity)
    result = run(db, priced_agreement)
    assert result.problems == []
    [invoice] = result.invoices
    [line] = invoice.lines
    assert (line.quantity, line.unit_price, line.amount) == (
        Decimal("4"),
        Decimal("1120.00"),
        Decimal("4480.00"),
    )
    assert line.vat_category == VatCategory.O and invoice.vat_group == VatGroup.OUTSIDE_SCOPE
    assert "4 h × 1 120,00 kr" in line.computation.replace("\xa0", " ")
    assert invoice.buyer_reference == "REF-1401"
    assert line.expected_services == 3


def test_price_of_the_service_year_and_unbilled_earlier_services(db, priced_agreement, make_service):
    make_service(priced_agreement, day=D(2025, 12, 31), quantity="1")  # late: 2025 price 1 085,00
    make_service(priced_agreement, day=D(2026, 10, 2), quantity="1")
    make_service(priced_agreement, day=D(2026, 11, 1), quantity="1")  # after the period: not yet
    result = run(db, priced_agreement)
    amounts = sorted(line.amount for line in lines_of(result))
    assert amounts == [Decimal("1085.00"), Decimal("1120.00")]


def test_unattested_services_are_not_billed(db, priced_agreement, make_service):
    make_service(priced_agreement, attested=False)
    assert run(db, priced_agreement).invoices == []


def test_buyers_get_their_own_invoice(db, priced_agreement, make_service, municipality):
    make_service(priced_agreement, buyer="Härryda", quantity="2")
    make_service(priced_agreement, buyer="Lerum", quantity="3")
    result = run(db, priced_agreement)
    totals = {inv.buyer_municipality_id: inv.net_amount for inv in result.invoices}
    assert totals == {
        municipality("Härryda").id: Decimal("2240.00"),
        municipality("Lerum").id: Decimal("3360.00"),
    }


def test_mileage_and_outlays(db, make_agreement, make_version, make_service, approve):
    agreement = make_agreement()
    version = make_version(agreement)
    version.components[1].prices.append(ContractPrice(year=2026, amount=Decimal("2.50")))
    approve(version)
    make_service(agreement, code="resa", unit="km", quantity="123.4")  # 123,4 km × 2,50 = 308,50
    make_service(agreement, code="utlagg", unit="sek", quantity="245.50", note="Tågbiljett")
    make_service(agreement, code="utlagg", unit="sek", quantity="99.90")
    result = run(db, agreement)
    by_code = sorted((line.service_type_code, line.amount) for line in lines_of(result))
    assert by_code == [
        ("resa", Decimal("308.50")),
        ("utlagg", Decimal("99.90")),
        ("utlagg", Decimal("245.50")),
    ]
    outlay = next(line for line in lines_of(result) if line.amount == Decimal("245.50"))
    assert "Tågbiljett" in outlay.computation and outlay.quantity == 1


def test_unknown_service_type_and_unit_mismatch_are_problems(db, priced_agreement, make_service):
    make_service(priced_agreement, code="okand")
    make_service(priced_agreement, code="resa", unit="hour")
    result = run(db, priced_agreement)
    assert result.invoices == []
    messages = " ".join(p.message for p in result.problems)
    assert "okand" in messages and "enheten" in messages


def test_service_before_the_first_version_is_a_problem(db, make_agreement, make_version, make_service):
    agreement = make_agreement(start_date=D(2024, 1, 1))
    make_version(agreement, status="approved", effective_from=D(2025, 1, 1))
    make_service(agreement, day=D(2024, 6, 1))
    result = run(db, agreement)
    assert result.invoices == [] and "före de första godkända" in result.problems[0].message


def test_version_in_force_on_the_service_date(db, make_agreement, make_version, make_service, approve):
    agreement = make_agreement(start_date=D(2024, 1, 1))
    make_version(agreement, status="approved", number=1)
    v2 = make_version(agreement, number=2, effective_from=D(2026, 10, 15))
    v2.components[0].prices[-1].amount = Decimal("1200.00")  # the 2026 rate from 15 October
    approve(v2)
    make_service(agreement, day=D(2026, 10, 14), quantity="1")
    make_service(agreement, day=D(2026, 10, 15), quantity="1")
    result = run(db, agreement)
    assert sorted(line.unit_price for line in lines_of(result)) == [Decimal("1120.00"), Decimal("1200.00")]
    assert result.invoices[0].contract_version_id == v2.id  # the header follows the version at period end


def _ceiling(db, make_agreement, make_version, approve, ceiling: str, per: CeilingPer):
    agreement = make_agreement()
    version = make_version(agreement)
    component = version.components[0]
    component.ceiling_hours = Decimal(ceiling)
    component.ceiling_per = per
    component.time_rounding_minutes = None
    approve(version)
    return agreement


@pytest.mark.parametrize(
    ("per", "entries", "expected"),
    [
        # 10 h per year: 6 + 7 = 13 h, 3 h above the ceiling
        (CeilingPer.YEAR, [("6", D(2026, 10, 1)), ("7", D(2026, 10, 20))], [Decimal("3")]),
        # per month: September and October each have their own 10 h (9 h: 0; 12 h: 2)
        (CeilingPer.MONTH, [("9", D(2026, 9, 30)), ("12", D(2026, 10, 5))], [Decimal("0"), Decimal("2")]),
    ],
)
def test_hours_above_a_ceiling(
    db, make_agreement, make_version, make_service, approve, per, entries, expected
):
    agreement = _ceiling(db, make_agreement, make_version, approve, "10", per)
    for quantity, day in entries:
        make_service(agreement, quantity=quantity, day=day)
    result = run(db, agreement)
    assert sorted(line.quantity for line in lines_of(result)) == expected
    assert all("över taket" in line.description for line in lines_of(result))


def test_hours_billed_earlier_count_toward_the_yearly_ceiling(
    db, make_agreement, make_version, make_service, approve, make_invoice
):
    from billing.models import BilledService

    agreement = _ceiling(db, make_agreement, make_version, approve, "10", CeilingPer.YEAR)
    earlier = make_service(agreement, quantity="8", day=D(2026, 9, 10))
    invoice = make_invoice(agreement, period=(D(2026, 9, 1), D(2026, 9, 30)))
    db.add(BilledService(performed_service_id=earlier.id, invoice_line_id=invoice.lines[0].id))
    db.commit()
    make_service(agreement, quantity="5", day=D(2026, 10, 10))
    [line] = lines_of(run(db, agreement))
    assert line.quantity == Decimal("3")  # 8 + 5 = 13, 3 above; the 8 were billed before
    assert line.amount == Decimal("3360.00")


def test_per_case_fees_by_case_type(db, make_agreement, make_version, make_service, approve):
    agreement = make_agreement()
    version = make_version(agreement)
    st = ContractServiceType(
        code="utredning-fam",
        name="Familjerättsutredning",
        unit=ServiceUnit.CASE,
        vat_category=VatCategory.O,
        vat_rate=Decimal("0"),
        vat_exemption_reason_code="VATEX-EU-O",
        vat_exemption_reason="Myndighetsutövning",
    )
    version.service_types.append(st)
    version.components.append(
        CompensationComponent(
            position=5,
            model=CompensationModel.PER_CASE,
            service_type=st,
            prices=[
                ContractPrice(year=2026, case_type="Vårdnad", amount=Decimal("39500.00")),
                ContractPrice(year=2026, case_type="Faderskap", amount=Decimal("6500.00")),
            ],
        )
    )
    approve(version)
    for case_type in ("Vårdnad", "Faderskap", "Faderskap"):
        make_service(agreement, code="utredning-fam", unit="case", quantity="1", case_type=case_type)
    result = run(db, agreement)
    got = sorted((line.description, line.quantity, line.amount) for line in lines_of(result))
    assert got == [
        ("Familjerättsutredning: Faderskap 2026", Decimal("2"), Decimal("13000.00")),
        ("Familjerättsutredning: Vårdnad 2026", Decimal("1"), Decimal("39500.00")),
    ]


def test_missing_price_for_the_year_is_a_problem_not_a_guess(db, priced_agreement, make_service):
    make_service(priced_agreement, day=D(2027, 1, 5))  # the index rule needs a 2027 price
    result = run(db, priced_agreement, period=(D(2027, 1, 1), D(2027, 1, 31)))
    assert result.invoices == []
    assert "2027 saknas" in result.problems[0].message


def test_quarterly_invoicing_bills_services_only_in_the_quarter_end_run(
    db, make_agreement, make_version, make_service, approve
):
    from contracts.models import InvoiceFrequency

    agreement = make_agreement()
    version = make_version(agreement, invoice_frequency=InvoiceFrequency.QUARTERLY)
    approve(version)
    make_service(agreement, day=D(2026, 10, 5), quantity="1")
    assert run(db, agreement).invoices == []  # October: the quarter has not ended
    december = run(db, agreement, period=(D(2026, 12, 1), D(2026, 12, 31)))
    assert [line.amount for line in lines_of(december)] == [Decimal("1120.00")]
    quarter = run(db, agreement, period=(D(2026, 10, 1), D(2026, 12, 31)))
    assert [line.amount for line in lines_of(quarter)] == [Decimal("1120.00")]


def test_the_national_batch_bills_only_services_performed_by_the_host(db, priced_agreement, make_service, municipality):
    make_service(priced_agreement, quantity="1")
    make_service(
        priced_agreement,
        buyer="Lerum",
        quantity="5",
        performing_municipality_id=municipality("Härryda").id,  # a buyer cannot bill under the agreement
    )
    result = price_run(db, PricingRequest(None, D(2026, 10, 1), D(2026, 10, 31), agreement_id=priced_agreement.id))
    assert [line.amount for line in lines_of(result)] == [Decimal("1120.00")]
    assert result.invoices[0].seller_municipality_id == priced_agreement.host.municipality_id
