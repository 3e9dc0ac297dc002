"""Independent SQL for the overview tests: plain SQL text over the tables, not the code under test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, bindparam, text

# Net of VAT, issued only; a credit note counts at the period start of the invoice it credits.
_MONEY = """
    SELECT COALESCE(SUM(i.net_amount), 0)
    FROM invoices i LEFT JOIN invoices o ON o.id = i.original_invoice_id
    WHERE i.status = 'issued'
      AND COALESCE(o.period_start, i.period_start) BETWEEN :first AND :last
"""
_FILTERS = {
    "agreement_id": " AND i.agreement_id = :agreement_id",
    "seller_id": " AND i.seller_municipality_id = :seller_id",
    "buyer_id": " AND i.buyer_municipality_id = :buyer_id",
}


def money(db, first: dt.date, last: dt.date, **filters) -> Decimal:
    sql = _MONEY + "".join(_FILTERS[k] for k, v in filters.items() if v is not None)
    stmt = text(sql).bindparams(bindparam("first", type_=Date), bindparam("last", type_=Date))
    params = {"first": first, "last": last, **{k: v for k, v in filters.items() if v is not None}}
    return Decimal(db.execute(stmt, params).scalar_one()).quantize(Decimal("0.01"))


def year_money(db, year: int, **kw) -> Decimal:
    return money(db, dt.date(year, 1, 1), dt.date(year, 12, 31), **kw)


def count(db, sql: str, **params) -> int:
    return int(db.execute(text(sql), params).scalar_one())
