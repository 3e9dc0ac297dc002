"""The demo's billing history before 2025: Mölndal's familjerätt invoices 2022–2024 (FAM-MHP-2022 and the
expired FAM-MK-2023 with Kungsbacka), issued through runs priced from the approved terms, so the Hamburg
re-check of FAM-MHP-2022's 2025 follow-up is a real, complete figure: checked here against SQL."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import text

from billing.followup.figures import figures_from_json
from billing.followup.hamburg import hamburg_check
from billing.models import AnnualFollowup
from registry.models import Agreement, AgreementStatus

CENT = Decimal("0.01")
HISTORY = (2022, 2023, 2024)


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


@pytest.fixture
def db(demo):
    yield demo.session
    demo.session.rollback()


@pytest.fixture
def fam(db):
    return db.query(Agreement).filter_by(number="FAM-MHP-2022").one()


def _host_area_rows(db, fam):
    """(year, buyer id, kind, net) of the host's issued documents in the agreement's area, credit notes
    in the year of the invoice they credit: the Hamburg rule, written independently of hamburg.py."""
    rows = db.execute(
        text(
            """SELECT CASE WHEN i.kind = 'credit_note' THEN o.period_start ELSE i.period_start END AS eff,
                      i.buyer_municipality_id, i.kind, i.net_amount
               FROM invoices i
               JOIN agreements a ON a.id = i.agreement_id
               LEFT JOIN invoices o ON o.id = i.original_invoice_id
               WHERE i.status = 'issued' AND i.seller_municipality_id = :host AND a.area = :area"""
        ),
        {"host": fam.host.municipality_id, "area": fam.area.value},
    ).all()
    out = []
    for eff, buyer, kind, net in rows:
        year = eff.year if isinstance(eff, dt.date) else int(str(eff)[:4])
        if year in HISTORY:
            out.append((year, buyer, kind, Decimal(str(net))))
    return out


def test_fam_2025_hamburg_check_is_complete_and_matches_sql(db, fam):
    check = hamburg_check(db, fam, 2025)
    rows = _host_area_rows(db, fam)
    parties = {p.municipality_id for p in fam.parties}
    turnover = _money(sum((net for _, _, _, net in rows), Decimal(0)))
    outside = _money(sum((net for _, buyer, _, net in rows if buyer not in parties), Decimal(0)))
    invoiced_years = {year for year, _, kind, _ in rows if kind == "invoice"}

    assert invoiced_years == set(HISTORY)  # every year has history: not an estimate
    assert check.share_percent is not None
    assert check.estimate is False and check.missing_years == ()
    assert (check.turnover, check.outside) == (turnover, outside)
    assert outside > 0
    assert check.share_percent == (outside * 100 / turnover).quantize(CENT, ROUND_HALF_UP)
    assert Decimal("5") <= check.share_percent <= Decimal("12")  # believable, below the 20 % limit
    assert check.flagged is (outside * 100 >= 20 * turnover) is False
    for year_row in check.years:
        year_rows = [r for r in rows if r[0] == year_row.year]
        assert year_row.turnover == _money(sum((r[3] for r in year_rows), Decimal(0)))
        assert year_row.outside == _money(sum((r[3] for r in year_rows if r[1] not in parties), Decimal(0)))
    assert "kan inte göras" not in check.text and "Uppskattning" not in check.text


def test_outside_share_comes_from_kungsbacka_under_an_expired_agreement_in_the_same_area(db, fam):
    mk = db.query(Agreement).filter_by(number="FAM-MK-2023").one()
    assert mk.area == fam.area and mk.host.municipality_id == fam.host.municipality_id
    assert mk.status == AgreementStatus.EXPIRED and mk.end_date == dt.date(2024, 12, 31)
    [buyer] = mk.buyers
    assert buyer.municipality.name == "Kungsbacka"
    assert buyer.municipality_id not in {p.municipality_id for p in fam.parties}
    years = db.execute(
        text(
            "SELECT period_start FROM invoices WHERE agreement_id = :a AND status = 'issued' AND kind = 'invoice'"
        ),
        {"a": mk.id},
    ).scalars()
    assert {(d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10])).year for d in years} == {
        2023,
        2024,
    }


def test_history_invoices_are_issued_runs_priced_from_the_approved_terms(db, fam):
    """Each 2022–2024 invoice of Mölndal came from an issued yearly run, is numbered, issued in January
    after its year with its PDF and e-invoice, and its net equals the approved version's per-case prices
    (price of the service's year and case type) of the services it bills."""
    invoices = db.execute(
        text(
            """SELECT i.id, i.agreement_id, i.net_amount, i.number, i.issue_date, i.period_start,
                      r.status AS run_status, r.period_kind
               FROM invoices i JOIN invoice_runs r ON r.id = i.run_id
               WHERE i.seller_municipality_id = :host AND i.status = 'issued' AND i.kind = 'invoice'
                 AND i.period_start < '2025-01-01'"""
        ),
        {"host": fam.host.municipality_id},
    ).all()
    assert len(invoices) >= 5  # two buyers a year of FAM-MHP-2022 and Kungsbacka's two years
    for inv in invoices:
        start = (
            inv.period_start
            if isinstance(inv.period_start, dt.date)
            else dt.date.fromisoformat(str(inv.period_start))
        )
        issued = (
            inv.issue_date
            if isinstance(inv.issue_date, dt.date)
            else dt.date.fromisoformat(str(inv.issue_date))
        )
        assert inv.number and inv.run_status == "issued" and inv.period_kind == "year"
        assert issued.year == start.year + 1 and issued.month == 1
        documents = db.execute(
            text("SELECT COUNT(*) FROM invoice_documents WHERE invoice_id = :i"), {"i": inv.id}
        ).scalar()
        assert documents == 2  # PDF and Peppol XML
        priced = db.execute(
            text(
                """SELECT ps.service_date, ps.case_type, ps.quantity, cp.year, cp.amount
                   FROM invoice_lines l
                   JOIN billed_services b ON b.invoice_line_id = l.id
                   JOIN performed_services ps ON ps.id = b.performed_service_id
                   JOIN contract_versions v ON v.agreement_id = ps.agreement_id AND v.status = 'approved'
                   JOIN contract_components c ON c.version_id = v.id
                   JOIN contract_prices cp ON cp.component_id = c.id AND cp.case_type = ps.case_type
                   WHERE l.invoice_id = :i"""
            ),
            {"i": inv.id},
        ).all()
        expected = Decimal(0)
        for service_date, _, quantity, price_year, amount in priced:
            year = service_date.year if isinstance(service_date, dt.date) else int(str(service_date)[:4])
            if price_year == year:
                expected += Decimal(str(quantity)) * Decimal(str(amount))
        assert expected > 0
        assert _money(inv.net_amount) == _money(expected), inv.id


def test_sent_fam_follow_up_froze_the_hamburg_figure(db, fam):
    followup = db.query(AnnualFollowup).filter_by(agreement_id=fam.id, year=2025).one()
    assert followup.is_sent
    frozen = figures_from_json(followup.snapshot_figures).hamburg
    assert frozen == hamburg_check(db, fam, 2025)
    assert frozen.share_percent is not None and not frozen.estimate and not frozen.flagged
