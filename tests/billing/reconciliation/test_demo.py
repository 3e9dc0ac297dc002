"""The demo's year-end 2025: VN-FHEM-2025's reconciliation is issued with an invoice, credit notes and
a difference within the threshold; every demo agreement has a reported cost for 2025, one of them below
what was invoiced (a surplus for the follow-up to flag)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from billing.models import (
    InvoiceKind,
    InvoiceStatus,
    Reconciliation,
    ReconciliationStatus,
    ReportedCost,
)
from billing.reconciliation.demo import _invoiced
from registry.models import Agreement


def test_fhem_2025_reconciliation_is_issued_with_every_outcome(demo):
    db = demo.session
    agreement = db.scalar(select(Agreement).where(Agreement.number == "VN-FHEM-2025"))
    [rec] = db.scalars(select(Reconciliation).where(Reconciliation.agreement_id == agreement.id)).all()
    assert rec.year == 2025 and rec.status == ReconciliationStatus.ISSUED
    assert rec.actual_cost == Decimal("4128000.00") and rec.threshold == Decimal("5000.00")
    outcomes = {row.buyer.name: row for row in rec.rows}
    assert len(outcomes) == 6
    assert outcomes["Timrå"].invoice.kind == InvoiceKind.INVOICE and outcomes["Timrå"].difference > 0
    assert outcomes["Ånge"].within_threshold and outcomes["Ånge"].invoice is None
    credits = [
        row for row in rec.rows if row.invoice is not None and row.invoice.kind == InvoiceKind.CREDIT_NOTE
    ]
    assert len(credits) == 4
    for row in rec.rows:
        assert row.difference == row.final_amount - row.invoiced_amount
        if row.invoice is not None:
            assert row.invoice.status == InvoiceStatus.ISSUED and row.invoice.number
            assert abs(row.invoice.total_amount) == abs(row.difference)
    # The final amounts of the buyers and Sundsvall's own share add up to the actual cost.
    assert sum(r.final_amount for r in rec.rows) < rec.actual_cost


def test_every_demo_agreement_reports_a_2025_cost_and_one_shows_a_surplus(demo):
    db = demo.session
    costs = {c.agreement.number: c for c in db.scalars(select(ReportedCost).where(ReportedCost.year == 2025))}
    assert set(costs) == {"VN-FHEM-2025", "GR-JAV-2024", "FAM-MHP-2022", "BM-SOC-2023"}
    surplus = [n for n, c in costs.items() if n != "VN-FHEM-2025" and _invoiced(db, c.agreement) > c.amount]
    assert surplus == ["GR-JAV-2024"]
