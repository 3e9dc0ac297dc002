"""The demo's billing story: services and issued invoices for every demo agreement across 2025 and
2026, with stored PDF and Peppol documents, a credit note, category O, E and S invoices, paid 2025
invoices, and October 2026 waiting for finance's run."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import func, select

from billing.models import (
    BilledService,
    Invoice,
    InvoiceDocument,
    InvoiceKind,
    InvoiceStatus,
    PerformedService,
    VatGroup,
)
from registry.models import Agreement


def test_every_demo_agreement_has_issued_invoices_in_2025_and_2026(demo):
    db = demo.session
    # FAM-MK-2023 ended in 2024: its invoices are history (tests/billing/test_demo_history.py).
    for agreement in db.scalars(
        select(Agreement).where((Agreement.end_date.is_(None)) | (Agreement.end_date >= dt.date(2025, 1, 1)))
    ):
        years = set(
            db.scalars(
                select(func.extract("year", Invoice.period_start)).where(
                    Invoice.agreement_id == agreement.id, Invoice.status == InvoiceStatus.ISSUED
                )
            )
        )
        assert {2025, 2026} <= {int(y) for y in years}, agreement.number


def test_issued_invoices_have_numbers_documents_and_the_vat_groups(demo):
    db = demo.session
    issued = list(db.scalars(select(Invoice).where(Invoice.status == InvoiceStatus.ISSUED)))
    assert all(i.number and i.ocr and i.due_date for i in issued)
    groups = {i.vat_group for i in issued}
    assert groups == {VatGroup.OUTSIDE_SCOPE, VatGroup.OTHER}
    categories = {line.vat_category.value for i in issued for line in i.lines}
    assert {"O", "E", "S"} <= categories
    for document in db.scalars(select(InvoiceDocument)):
        assert hashlib.sha256(document.content).hexdigest() == document.sha256
    assert db.scalar(select(func.count()).select_from(InvoiceDocument)) == 2 * len(issued)
    assert any(i.paid_on for i in issued if i.period_start.year == 2025)


def test_demo_has_a_credit_note_referring_to_its_original(demo):
    db = demo.session
    # GR-JAV-2024's credit of one line; the 2025 reconciliation of VN-FHEM-2025 adds its own credit
    # notes (tests/billing/reconciliation/test_demo.py).
    [credit] = db.scalars(
        select(Invoice)
        .join(Agreement, Agreement.id == Invoice.agreement_id)
        .where(Invoice.kind == InvoiceKind.CREDIT_NOTE, Agreement.number == "GR-JAV-2024")
    )
    assert credit.status == InvoiceStatus.ISSUED and credit.original is not None
    assert credit.total_amount < 0 and credit.lines[0].credited_line_id in {
        line.id for line in credit.original.lines
    }


def test_october_2026_is_waiting_for_the_run(demo):
    db = demo.session
    unbilled = db.scalar(
        select(func.count())
        .select_from(PerformedService)
        .where(
            PerformedService.service_date >= dt.date(2026, 10, 1),
            ~PerformedService.id.in_(select(BilledService.performed_service_id)),
        )
    )
    billed_late = db.scalar(
        select(func.count())
        .select_from(BilledService)
        .join(PerformedService, PerformedService.id == BilledService.performed_service_id)
        .where(PerformedService.service_date >= dt.date(2026, 10, 1))
    )
    assert unbilled > 0 and billed_late == 0
