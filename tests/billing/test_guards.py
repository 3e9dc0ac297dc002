"""Issued invoices are immutable on every path: the flush-time guard and the database triggers. Only
the payment marking may change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from billing.errors import InvoiceImmutable
from billing.models import BilledService, InvoiceDocument, InvoiceLine, InvoiceSeries
from contracts.models import ServiceUnit, VatCategory
from core.db import utcnow


def test_flush_guard_refuses_changes_to_an_issued_invoice(db, priced_agreement, make_invoice):
    invoice = make_invoice(priced_agreement, status="issued")
    invoice.total_amount = Decimal("1.00")
    with pytest.raises(InvoiceImmutable):
        db.flush()
    db.rollback()
    invoice.lines[0].amount = Decimal("1.00")
    with pytest.raises(InvoiceImmutable):
        db.flush()
    db.rollback()
    invoice.lines.append(
        InvoiceLine(
            position=9,
            description="x",
            computation="x",
            quantity=Decimal("1"),
            unit=ServiceUnit.HOUR,
            unit_price=Decimal("1"),
            amount=Decimal("1.00"),
            vat_category=VatCategory.O,
            vat_rate=Decimal("0"),
        )
    )
    with pytest.raises(InvoiceImmutable):
        db.flush()
    db.rollback()
    db.delete(invoice)
    with pytest.raises(InvoiceImmutable):
        db.flush()
    db.rollback()


def test_payment_may_be_marked_on_an_issued_invoice(db, priced_agreement, make_invoice):
    invoice = make_invoice(priced_agreement, status="issued")
    invoice.paid_on = dt.date(2026, 11, 20)
    db.commit()
    invoice.paid_on = None
    db.commit()
    assert invoice.paid_on is None


def test_drafts_may_change(db, priced_agreement, make_invoice):
    invoice = make_invoice(priced_agreement)
    invoice.lines[0].amount = Decimal("5.00")
    invoice.note = "x"
    db.commit()
    db.delete(invoice)
    db.commit()


def test_billed_service_link_of_an_issued_invoice_cannot_be_removed(
    db, priced_agreement, make_invoice, make_service
):
    service = make_service(priced_agreement)
    invoice = make_invoice(priced_agreement)
    db.add(BilledService(performed_service_id=service.id, invoice_line_id=invoice.lines[0].id))
    db.commit()
    series = InvoiceSeries(municipality_id=invoice.seller_municipality_id, code="T", name="T")
    db.add(series)
    db.flush()
    invoice.status = "issued"
    invoice.series_id, invoice.number = series.id, 1
    invoice.issue_date = invoice.due_date = dt.date(2026, 11, 1)
    db.commit()
    link = db.get(BilledService, service.id)
    db.delete(link)
    with pytest.raises(InvoiceImmutable):
        db.flush()
    db.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE invoices SET total_amount = 1, net_amount = 1 WHERE id = :invoice",
        "UPDATE invoices SET number = 99 WHERE id = :invoice",
        "DELETE FROM invoices WHERE id = :invoice",
        "UPDATE invoice_lines SET amount = 1 WHERE invoice_id = :invoice",
        "DELETE FROM invoice_lines WHERE invoice_id = :invoice",
        "INSERT INTO invoice_lines (invoice_id, position, description, computation, quantity, unit, unit_price, "
        "amount, vat_category, vat_rate) VALUES (:invoice, 9, 'x', 'x', 1, 'hour', 1, 1, 'O', 0)",
    ],
)
def test_database_refuses_changes_to_an_issued_invoice(db, priced_agreement, make_invoice, statement):
    invoice = make_invoice(priced_agreement, status="issued")
    with pytest.raises(DBAPIError) as excinfo:
        with db.begin_nested():
            db.execute(text(statement), {"invoice": invoice.id})
    assert "immutable" in str(excinfo.value)


def test_database_allows_payment_marking_and_changes_to_drafts(db, priced_agreement, make_invoice):
    issued = make_invoice(priced_agreement, status="issued")
    draft = make_invoice(priced_agreement, buyer="Lerum")
    with db.begin_nested():
        db.execute(text("UPDATE invoices SET paid_on = '2026-11-20' WHERE id = :id"), {"id": issued.id})
        db.execute(text("UPDATE invoice_lines SET amount = 2 WHERE invoice_id = :id"), {"id": draft.id})


def test_stored_documents_are_never_changed(db, priced_agreement, make_invoice):
    invoice = make_invoice(priced_agreement, status="issued")
    # Documents are stored in the issuing transaction; here written directly.
    with db.begin_nested():
        db.execute(
            text(
                "INSERT INTO invoice_documents (invoice_id, format, media_type, sha256, size_bytes, content, "
                "created_at) VALUES (:id, 'pdf', 'application/pdf', :sha, 4, :content, :now)"
            ),
            {"id": invoice.id, "sha": "0" * 64, "content": b"%PDF", "now": utcnow()},
        )
    db.commit()
    # The flush guard refuses a document added after issue.
    db.add(
        InvoiceDocument(
            invoice_id=invoice.id,
            format="peppol",
            media_type="application/xml",
            sha256="0" * 64,
            size_bytes=1,
            content=b"<",
        )
    )
    with pytest.raises(InvoiceImmutable):
        db.flush()
    db.rollback()
    with pytest.raises(DBAPIError):
        with db.begin_nested():
            db.execute(
                text("UPDATE invoice_documents SET sha256 = 'x' WHERE invoice_id = :id"), {"id": invoice.id}
            )
    with pytest.raises(DBAPIError):
        with db.begin_nested():
            db.execute(text("DELETE FROM invoice_documents WHERE invoice_id = :id"), {"id": invoice.id})


def test_unique_billing_key_and_number(db, priced_agreement, make_invoice):
    make_invoice(priced_agreement)
    with pytest.raises(DBAPIError):
        with db.begin_nested():
            make_invoice(priced_agreement)
