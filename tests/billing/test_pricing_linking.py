"""link_lines: what a priced line bills is recorded in the database, so nothing is billed twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.errors import PricingError
from billing.models import BilledCharge, BilledService, ChargeKind, Invoice, InvoiceLine
from billing.pricing import PricingRequest, link_lines, price_run
from contracts.models import FeePeriod
from tests.billing.test_pricing_periodic import CompensationModel, add_component

D = dt.date


def _request(agreement):
    return PricingRequest(
        agreement.host.municipality_id, D(2026, 10, 1), D(2026, 10, 31), agreement_id=agreement.id
    )


def _store(db, result):
    pairs = []
    for priced in result.invoices:
        invoice = Invoice(
            charge_kind=ChargeKind.SERVICES,
            vat_group=priced.vat_group,
            seller_municipality_id=priced.seller_municipality_id,
            buyer_municipality_id=priced.buyer_municipality_id,
            agreement_id=priced.agreement_id,
            period_start=priced.period_start,
            period_end=priced.period_end,
            net_amount=priced.net_amount,
            total_amount=priced.net_amount,
        )
        for position, line in enumerate(priced.lines, start=1):
            row = InvoiceLine(
                position=position,
                service_type_code=line.service_type_code,
                description=line.description,
                computation=line.computation,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                amount=line.amount,
                vat_category=line.vat_category,
                vat_rate=line.vat_rate,
            )
            invoice.lines.append(row)
            pairs.append((row, line))
        db.add(invoice)
    db.flush()
    return pairs


def test_services_are_linked_and_not_priced_again(db, priced_agreement, make_service):
    services = [make_service(priced_agreement, quantity=q) for q in ("1", "2.5")]
    other = make_service(priced_agreement, buyer="Lerum", quantity="1")
    pairs = _store(db, price_run(db, _request(priced_agreement)))
    link_lines(db, pairs)
    db.commit()
    linked = dict(db.execute(select(BilledService.performed_service_id, BilledService.invoice_line_id)).all())
    assert set(linked) == {s.id for s in services} | {other.id}
    assert linked[services[0].id] == linked[services[1].id] != linked[other.id]
    assert price_run(db, _request(priced_agreement)).invoices == []


def test_a_service_changed_between_pricing_and_linking_stops_the_run(db, priced_agreement, make_service):
    service = make_service(priced_agreement)
    result = price_run(db, _request(priced_agreement))
    service.attested_at = None
    service.attested_by_id = None
    db.flush()
    pairs = _store(db, result)
    with pytest.raises(PricingError):
        link_lines(db, pairs)


def test_periodic_charges_are_recorded(db, make_agreement, make_version, approve):
    agreement = make_agreement()
    version = make_version(agreement, terms=False)
    add_component(
        version,
        CompensationModel.FIXED_FEE,
        fee_period=FeePeriod.MONTHLY,
        in_advance=True,
        prices={2026: "12000"},
    )
    approve(version)
    link_lines(db, _store(db, price_run(db, _request(agreement))))
    db.commit()
    assert db.scalar(select(func.count()).select_from(BilledCharge)) == 2
    assert price_run(db, _request(agreement)).invoices == []
    assert Decimal("1000.00") in {line.amount for line in db.scalars(select(InvoiceLine))}
