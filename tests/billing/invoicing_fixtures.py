"""Fixtures of the invoicing tests (imported by tests/billing/test_invoicing_*.py).

- `issue_docs`: stands in for the exports' stored documents (PDF rendering and Peppol validation are
  the exports' tests); records what was issued, checks the invoice is numbered when called, and can be
  told to refuse the n-th invoice like an invalid e-invoice would.
- `fake_pricing`: stands in for billing.pricing, so the run logic is pinned independently of the
  pricing engine: tests hand it PricedInvoices; its link_lines bills the services a line lists.
- `seller_finance`: a finance user of the agreement's host (the seller).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import insert

from billing import pricing
from billing.errors import EInvoiceInvalid
from billing.exports import documents
from billing.models import BilledService, ChargeKind, InvoiceStatus, VatGroup
from contracts.models import ServiceUnit, VatCategory
from tests.billing.conftest import VATEX_O

ISSUE_DAY = dt.date(2026, 11, 2)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch):
    """Issue dates are judged by the Swedish calendar day; the tests fix it."""
    monkeypatch.setattr("billing.invoicing.services.local_today", lambda: ISSUE_DAY)


class IssueDocs:
    def __init__(self):
        self.issued: list[int] = []
        self.fail_on: int | None = None

    def _one(self, invoice) -> None:
        # The contract of billing.exports.documents: called once the number, dates and OCR are set,
        # before the status becomes issued.
        assert invoice.number is not None and invoice.ocr and invoice.issue_date and invoice.due_date
        assert invoice.status == InvoiceStatus.APPROVED
        self.issued.append(invoice.id)
        if self.fail_on is not None and len(self.issued) == self.fail_on:
            raise EInvoiceInvalid(f"Faktura {invoice.display_number}: BT-10 saknas (testfel).")

    def store(self, session, invoice, pdf=None) -> None:
        self._one(invoice)

    def store_batch(self, session, invoices, progress=None) -> None:
        for invoice in invoices:
            self._one(invoice)
            if progress:
                progress(1)


@pytest.fixture
def issue_docs(monkeypatch):
    docs = IssueDocs()
    monkeypatch.setattr(documents, "store_issue_documents", docs.store)
    monkeypatch.setattr(documents, "store_issue_documents_batch", docs.store_batch)
    return docs


class FakePricing:
    def __init__(self):
        self.invoices: list[pricing.PricedInvoice] = []
        self.problems: list[pricing.PricingProblem] = []
        self.error: Exception | None = None
        self.requests: list[pricing.PricingRequest] = []

    def price_run(self, session, request):
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return pricing.PricingResult(invoices=list(self.invoices), problems=list(self.problems))

    def link_lines(self, session, pairs):
        rows = [
            {"performed_service_id": service_id, "invoice_line_id": row.id}
            for row, priced in pairs
            for service_id in getattr(priced, "test_service_ids", ())
        ]
        if rows:
            session.execute(insert(BilledService), rows)


@pytest.fixture
def fake_pricing(monkeypatch):
    fake = FakePricing()
    monkeypatch.setattr(pricing, "price_run", fake.price_run)
    monkeypatch.setattr(pricing, "link_lines", fake.link_lines)
    return fake


def priced_line(
    amount: str = "1120.00",
    quantity: str = "1",
    category: str = "O",
    rate: str | None = None,
    services=(),
    description: str = "Utredning och handläggning 2026",
) -> pricing.PricedLine:
    category = VatCategory(category)
    rate = (
        Decimal(rate)
        if rate is not None
        else (Decimal("25.00") if category == VatCategory.S else Decimal("0"))
    )
    line = pricing.PricedLine(
        description=description,
        computation=f"{quantity} h × {amount} kr",
        quantity=Decimal(quantity),
        unit=ServiceUnit.HOUR,
        unit_price=Decimal(amount) / Decimal(quantity),
        amount=Decimal(amount),
        vat_category=category,
        vat_rate=rate,
        vat_exemption_reason_code=None if category == VatCategory.S else "VATEX-EU-O",
        vat_exemption_reason=None if category == VatCategory.S else VATEX_O,
        service_type_code="utredning",
    )
    line.test_service_ids = [s.id for s in services]
    return line


def priced_invoice(
    agreement,
    buyer,
    lines,
    period=(dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
    vat_group: VatGroup | None = None,
    series_code: str = "F",
) -> pricing.PricedInvoice:
    if vat_group is None:
        vat_group = (
            VatGroup.OUTSIDE_SCOPE
            if all(line.vat_category == VatCategory.O for line in lines)
            else VatGroup.OTHER
        )
    return pricing.PricedInvoice(
        agreement_id=agreement.id,
        seller_municipality_id=agreement.host.municipality_id,
        buyer_municipality_id=buyer.id,
        contract_version_id=None,
        charge_kind=ChargeKind.SERVICES,
        vat_group=vat_group,
        period_start=period[0],
        period_end=period[1],
        payment_terms_days=30,
        buyer_reference="REF-1",
        series_code=series_code,
        lines=list(lines),
    )


@pytest.fixture
def seller_finance(make_user):
    """seller_finance(agreement) -> a finance user of the agreement's host municipality."""
    users = {}

    def _get(agreement, **kwargs):
        name = agreement.host.municipality.name
        if name not in users or kwargs:
            users[name] = make_user(roles=("finance",), kommun=name, **kwargs)
        return users[name]

    return _get
