"""Factories for the billing tests. Rows are created directly (not through the services under test),
so each part's tests stand on their own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import (
    ChargeKind,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSeries,
    InvoiceStatus,
    PerformedService,
    VatGroup,
)
from contracts.models import ServiceUnit, VatCategory
from core.db import utcnow
from core.formatting import round_money
from tests.contracts import conftest as _contracts_fixtures
from tests.registry import conftest as _registry_fixtures

# The registry's and contracts' factory fixtures, used by the billing factories.
make_agreement = _registry_fixtures.make_agreement
make_version = _contracts_fixtures.make_version

VATEX_O = _contracts_fixtures.VATEX_O


@pytest.fixture
def priced_agreement(make_agreement, make_version):
    """An active agreement (Göteborg performs for Härryda and Lerum, 2024-01-01 – 2026-12-31) with an
    approved version in force from its start: hourly 1 050 / 1 085 / 1 120 kr (2024/2025/2026) per
    started 15 minutes, mileage 2,50 kr/km, outlays at cost, all category O (see make_version)."""
    agreement = make_agreement()
    make_version(agreement, status="approved")
    return agreement


@pytest.fixture
def make_service(db, municipality, make_user):
    """make_service(agreement, buyer="Härryda", day=2026-10-15, code="utredning", quantity="1.5",
    unit="hour", attested=True, **overrides) -> PerformedService (performed by the agreement's host)."""
    attester = {}

    def _make(
        agreement,
        buyer: str = "Härryda",
        day: dt.date = dt.date(2026, 10, 15),
        code: str = "utredning",
        quantity: str = "1.5",
        unit: str = "hour",
        attested: bool = True,
        **overrides,
    ) -> PerformedService:
        values = {
            "agreement": agreement,
            "service_date": day,
            "performing_municipality_id": agreement.host.municipality_id,
            "buying_municipality_id": municipality(buyer).id,
            "service_type_code": code,
            "quantity": Decimal(quantity),
            "unit": ServiceUnit(unit),
        }
        if attested:
            if "user" not in attester:
                attester["user"] = make_user(roles=("finance",), kommun=agreement.host.municipality.name)
            values.update(attested_by_id=attester["user"].id, attested_at=utcnow())
        values.update(overrides)
        service = PerformedService(**values)
        db.add(service)
        db.commit()
        return service

    return _make


@pytest.fixture
def make_invoice(db, municipality):
    """make_invoice(agreement, buyer="Härryda", status="draft", lines=[("Utredning", "2.5", "1120.00", "O")],
    number=None, ...) -> Invoice. An issued invoice gets the seller's series "F" and `number` (default 1);
    it is stored as a draft first, then issued (the database refuses lines under an issued invoice)."""
    series_by_seller = {}

    def _make(
        agreement,
        buyer: str = "Härryda",
        status: str = "draft",
        lines=(("Utredning", "2.5", "1120.00", "O"),),
        number: int | None = None,
        period=(dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
        kind: str = "invoice",
        original: Invoice | None = None,
        **overrides,
    ) -> Invoice:
        seller_id = agreement.host.municipality_id
        invoice_lines = []
        for position, (text, quantity, price, category) in enumerate(lines, start=1):
            quantity, price = Decimal(quantity), Decimal(price)
            category = VatCategory(category)
            rate = Decimal("25.00") if category == VatCategory.S else Decimal("0.00")
            invoice_lines.append(
                InvoiceLine(
                    position=position,
                    service_type_code="utredning",
                    description=text,
                    computation=f"{quantity} × {price}",
                    quantity=quantity,
                    unit=ServiceUnit.HOUR,
                    unit_price=price,
                    amount=round_money(quantity * price),
                    vat_category=category,
                    vat_rate=rate,
                    vat_exemption_reason_code=None if category == VatCategory.S else "VATEX-EU-O",
                    vat_exemption_reason=None if category == VatCategory.S else VATEX_O,
                )
            )
        net = sum((line.amount for line in invoice_lines), Decimal("0.00"))
        vat = round_money(sum((line.amount * line.vat_rate / 100 for line in invoice_lines), Decimal("0")))
        values = {
            "kind": InvoiceKind(kind),
            "charge_kind": ChargeKind.SERVICES,
            "vat_group": VatGroup.OUTSIDE_SCOPE
            if all(line.vat_category == VatCategory.O for line in invoice_lines)
            else VatGroup.OTHER,
            "status": InvoiceStatus.DRAFT,
            "seller_municipality_id": seller_id,
            "buyer_municipality_id": municipality(buyer).id,
            "agreement": agreement,
            "period_start": period[0],
            "period_end": period[1],
            "payment_terms_days": 30,
            "buyer_reference": "REF-1",
            "net_amount": net,
            "vat_amount": vat,
            "total_amount": net + vat,
            "original": original,
            "lines": invoice_lines,
        }
        values.update(overrides)
        invoice = Invoice(**values)
        db.add(invoice)
        db.commit()
        if status in ("approved", "issued"):
            if status == "issued":
                if seller_id not in series_by_seller:
                    series = InvoiceSeries(
                        municipality_id=seller_id, code="F", name="Fakturor", last_number=0
                    )
                    db.add(series)
                    db.flush()
                    series_by_seller[seller_id] = series
                series = series_by_seller[seller_id]
                invoice.series = series
                invoice.number = number or series.last_number + 1
                series.last_number = max(series.last_number, invoice.number)
                invoice.issue_date = dt.date(2026, 11, 2)
                invoice.due_date = dt.date(2026, 12, 2)
                invoice.issued_at = utcnow()
            invoice.status = InvoiceStatus(status)
            db.commit()
        return invoice

    return _make


@pytest.fixture
def approve(db, make_user):
    """approve(version): a draft whose terms a test adjusted becomes the approved version."""
    from contracts.models import VersionStatus

    def _approve(version):
        legal = make_user(roles=("legal",), kommun=version.agreement.host.municipality.name)
        db.commit()
        version.status = VersionStatus.APPROVED
        version.approved_by_id = legal.id
        version.approved_at = utcnow()
        db.commit()
        return version

    return _approve
