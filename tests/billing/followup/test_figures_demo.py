"""The follow-up figures on the seeded demo: every demo agreement computes for 2025 without a warning
that points at inconsistent data, and the invoiced totals equal the demo's issued invoices by SQL."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select, text

from billing.followup.figures import compute_figures, figures_from_json, figures_to_json
from registry.models import Agreement

DEMO_AGREEMENTS = ("GR-JAV-2024", "FAM-MHP-2022", "BM-SOC-2023", "VN-FHEM-2025")
TODAY = dt.date(2026, 3, 1)
# Warnings that would mean the data (or the computation) is inconsistent, not merely incomplete.
BUG_SIGNS = (
    "inte är parter",
    "saknar datum för beslutet",
    "kan inte räknas fram",
    "Inga godkända avtalsvillkor",
)


@pytest.mark.parametrize("number", DEMO_AGREEMENTS)
def test_demo_follow_up_2025(demo, number):
    session = demo.session
    agreement = session.scalar(select(Agreement).where(Agreement.number == number))
    figures = compute_figures(session, agreement, 2025, today=TODAY)
    assert not [w for w in figures.warnings if any(sign in w for sign in BUG_SIGNS)], figures.warnings
    expected = session.execute(
        text(
            """SELECT i.buyer_municipality_id, SUM(i.net_amount)
               FROM invoices i LEFT JOIN invoices o ON o.id = i.original_invoice_id
               WHERE i.status = 'issued' AND i.agreement_id = :a
                 AND CASE WHEN i.kind = 'credit_note' THEN o.period_start ELSE i.period_start END
                     BETWEEN '2025-01-01' AND '2025-12-31'
               GROUP BY i.buyer_municipality_id"""
        ),
        {"a": agreement.id},
    ).all()
    cent = Decimal("0.01")
    expected = {b: Decimal(str(v)).quantize(cent, ROUND_HALF_UP) for b, v in expected}
    got = {
        r.municipality_id: r.invoiced for r in figures.invoiced if r.invoiced or r.municipality_id in expected
    }
    assert got == expected
    assert sum(expected.values()) > 0  # every demo agreement has issued invoices for 2025
    assert figures.cost_coverage.invoiced == sum(expected.values(), Decimal("0.00"))
    assert {r.municipality_id for r in figures.invoiced} >= {p.municipality_id for p in agreement.buyers}
    assert figures_from_json(figures_to_json(figures)) == figures
