"""The Hamburg re-check (open-market share of the host's turnover in the area over the three years
before the follow-up year) and the cost coverage (self-cost principle), against SQL and by hand."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import text

from billing.followup.hamburg import cost_coverage, hamburg_check
from billing.models import ReportedCost
from registry.models import Area

YEAR = 2025
D = dt.date
CENT = Decimal("0.01")


def month(m: int, year: int) -> tuple[dt.date, dt.date]:
    return D(year, m, 1), D(year, m, calendar.monthrange(year, m)[1])


def dec(value) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture
def area(db, make_agreement, make_invoice):
    """Göteborg hosts agreement A (Härryda, Lerum) and B (Mölndal) in jävsärenden; C (Mölndal) in
    familjerätt; Lerum hosts D (Mölndal) in jävsärenden. Only A and B's invoices of Göteborg count."""
    a = make_agreement()
    b = make_agreement(buyers=("Mölndal",))
    c = make_agreement(buyers=("Mölndal",), area=Area.FAMILJERATT)
    d = make_agreement(host="Lerum", buyers=("Mölndal",))

    def invoice(agreement, buyer, amount, year, m=6, category="O", status="issued", **kw):
        return make_invoice(
            agreement, buyer, status, [("Utr", "1", amount, category)], period=month(m, year), **kw
        )

    def credit(original, buyer, amount, year, m=1):
        return make_invoice(
            original.agreement,
            buyer,
            "issued",
            [("Kredit", "-1", amount, "O")],
            period=month(m, year),
            kind="credit_note",
            original=original,
        )

    # Noise that must never count.
    invoice(c, "Mölndal", "50000.00", 2024)  # another area
    invoice(d, "Mölndal", "50000.00", 2024)  # another host
    invoice(b, "Mölndal", "50000.00", 2024, m=7, status="draft")  # not issued
    invoice(b, "Mölndal", "50000.00", 2021)  # before the three years
    invoice(b, "Mölndal", "50000.00", 2025)  # the follow-up year itself
    return type(
        "Area", (), {"a": a, "b": b, "invoice": staticmethod(invoice), "credit": staticmethod(credit)}
    )


def sql_shares(db, agreement) -> tuple[Decimal, Decimal]:
    """(turnover, outside) of the host in the area, 2022–2024, computed independently."""
    rows = db.execute(
        text(
            """SELECT i.buyer_municipality_id, SUM(i.net_amount)
               FROM invoices i
               JOIN agreements ag ON ag.id = i.agreement_id
               LEFT JOIN invoices o ON o.id = i.original_invoice_id
               WHERE i.status = 'issued' AND i.seller_municipality_id = :host AND ag.area = :area
                 AND CASE WHEN i.kind = 'credit_note' THEN o.period_start ELSE i.period_start END
                     BETWEEN :s AND :e
               GROUP BY i.buyer_municipality_id"""
        ),
        dict(
            host=agreement.host.municipality_id, area=agreement.area.value, s=D(2022, 1, 1), e=D(2024, 12, 31)
        ),
    ).all()
    parties = {p.municipality_id for p in agreement.parties}
    turnover = sum((dec(v) for _, v in rows), Decimal("0.00"))
    outside = sum((dec(v) for b, v in rows if b not in parties), Decimal("0.00"))
    return turnover, outside


def test_share_19_99_percent_is_not_flagged(db, area):
    area.invoice(area.a, "Härryda", "3000.00", 2022)
    area.invoice(area.a, "Lerum", "3000.00", 2023)
    area.invoice(area.a, "Härryda", "2001.00", 2024)
    outside = area.invoice(area.b, "Mölndal", "2500.00", 2024, m=3)
    area.credit(outside, "Mölndal", "501.00", 2025)  # counts in 2024, the credited invoice's year
    # Net of VAT: a taxable invoice counts with its net only.
    area.invoice(area.b, "Mölndal", "0.00", 2024, m=9, category="S")
    check = hamburg_check(db, area.a, YEAR)
    assert (
        (check.turnover, check.outside) == sql_shares(db, area.a) == (Decimal("10000.00"), Decimal("1999.00"))
    )
    assert check.share_percent == Decimal("19.99")
    assert check.flagged is False
    assert check.estimate is False and check.missing_years == ()
    assert [y.year for y in check.years] == [2022, 2023, 2024]
    assert [(y.turnover, y.outside) for y in check.years] == [
        (Decimal("3000.00"), Decimal("0.00")),
        (Decimal("3000.00"), Decimal("0.00")),
        (Decimal("4000.00"), Decimal("1999.00")),
    ]
    assert "19,99 %" in check.text and "under 20 %" in check.text and "LOU 3 kap. 17 §" in check.text


def test_share_exactly_20_percent_is_flagged(db, area):
    area.invoice(area.a, "Härryda", "3000.00", 2022)
    area.invoice(area.a, "Lerum", "3000.00", 2023)
    area.invoice(area.a, "Härryda", "2000.00", 2024)
    area.invoice(area.b, "Mölndal", "2000.00", 2024, m=3)
    check = hamburg_check(db, area.a, YEAR)
    assert (check.turnover, check.outside) == sql_shares(db, area.a)
    assert check.share_percent == Decimal("20.00")
    assert check.flagged is True
    assert "20 % eller mer" in check.text


def test_flag_compares_exactly_not_the_rounded_share(db, area):
    # 3 999 of 20 000 = 19,995 %: shown rounded as 20,00 % but below the limit.
    area.invoice(area.a, "Härryda", "8000.00", 2022)
    area.invoice(area.a, "Lerum", "8001.00", 2023)
    area.invoice(area.b, "Mölndal", "3999.00", 2024)
    check = hamburg_check(db, area.a, YEAR)
    assert (check.turnover, check.outside) == (Decimal("20000.00"), Decimal("3999.00"))
    assert check.share_percent == Decimal("20.00")
    assert check.flagged is False


def test_one_year_missing_is_an_estimate(db, area):
    area.invoice(area.a, "Lerum", "3000.00", 2023)
    area.invoice(area.b, "Mölndal", "1000.00", 2024)
    check = hamburg_check(db, area.a, YEAR)
    assert check.estimate is True
    assert check.missing_years == (2022,)
    assert [y.has_history for y in check.years] == [False, True, True]
    assert check.share_percent == Decimal("25.00")  # on 2023–2024 only
    assert check.flagged is True
    assert "Uppskattning" in check.text and "2022" in check.text


def test_no_history_cannot_be_checked(db, area):
    check = hamburg_check(db, area.a, YEAR)
    assert check.share_percent is None
    assert check.flagged is False
    assert check.estimate is True
    assert check.missing_years == (2022, 2023, 2024)
    assert "kan inte göras från faktureringsdata" in check.text


@pytest.fixture
def billed(db, make_agreement, make_invoice):
    """An agreement with 2025 net invoiced 10 000,00 (12 000 − a 2 000 credit note) and noise."""
    agreement = make_agreement()
    original = make_invoice(
        agreement, "Härryda", "issued", [("Utr", "1", "12000.00", "O")], period=month(3, 2025)
    )
    make_invoice(
        agreement,
        "Härryda",
        "issued",
        [("Kredit", "-1", "2000.00", "O")],
        period=month(1, 2026),
        kind="credit_note",
        original=original,
    )
    make_invoice(agreement, "Lerum", "issued", [("Utr", "1", "5000.00", "O")], period=month(3, 2024))
    make_invoice(agreement, "Lerum", "draft", [("Utr", "1", "5000.00", "O")], period=month(4, 2025))
    return agreement


def sql_invoiced(db, agreement) -> Decimal:
    value = db.execute(
        text(
            """SELECT SUM(i.net_amount) FROM invoices i LEFT JOIN invoices o ON o.id = i.original_invoice_id
               WHERE i.status = 'issued' AND i.agreement_id = :a
                 AND CASE WHEN i.kind = 'credit_note' THEN o.period_start ELSE i.period_start END
                     BETWEEN :s AND :e"""
        ),
        dict(a=agreement.id, s=D(YEAR, 1, 1), e=D(YEAR, 12, 31)),
    ).scalar()
    return dec(value)


def report(db, agreement, amount):
    db.add(ReportedCost(agreement=agreement, year=YEAR, amount=Decimal(amount)))
    db.commit()


def test_surplus_is_flagged(db, billed):
    report(db, billed, "9000.00")
    c = cost_coverage(db, billed, YEAR)
    assert c.invoiced == sql_invoiced(db, billed) == Decimal("10000.00")
    assert c.reported_cost == Decimal("9000.00")
    assert c.coverage_percent == Decimal("111.11")
    assert c.surplus == Decimal("1000.00")
    assert c.flagged is True
    assert "Överskott" in c.text and "2 kap. 6 §" in c.text


def test_deficit_is_not_flagged(db, billed):
    report(db, billed, "12500.00")
    c = cost_coverage(db, billed, YEAR)
    assert c.coverage_percent == Decimal("80.00")
    assert c.surplus == Decimal("0.00")
    assert c.flagged is False
    assert "Underskott" in c.text


def test_missing_cost(db, billed):
    c = cost_coverage(db, billed, YEAR)
    assert c.reported_cost is None and c.coverage_percent is None and c.surplus is None
    assert c.flagged is False
    assert c.invoiced == Decimal("10000.00")
    assert "inte rapporterad" in c.text
