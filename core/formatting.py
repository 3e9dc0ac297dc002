"""sv-SE formatting with Babel: money as `1 234,50 kr`, numbers with a space as thousands separator,
dates in ISO 8601 (YYYY-MM-DD), which is the Swedish standard."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_decimal as _babel_decimal

LOCALE = "sv_SE"
TIMEZONE = "Europe/Stockholm"
ORE = Decimal("0.01")
# Babel writes U+00A0 (no-break space) as the sv-SE group separator; keep it so amounts never wrap.


def round_money(value: Decimal | int | str) -> Decimal:
    """Round half-up to öre: the one rounding helper for money."""
    if isinstance(value, float):
        value = str(value)  # never let binary fractions decide an öre
    return Decimal(value).quantize(ORE, rounding=ROUND_HALF_UP)


def format_money(value: Decimal | int | str | None, currency: str = "kr") -> str:
    if value is None:
        return ""
    amount = round_money(value)
    text = _babel_decimal(amount, format="#,##0.00", locale=LOCALE)
    # Babel uses U+2212 for minus in sv-SE; a hyphen-minus survives copy-paste into spreadsheets.
    text = text.replace("\u2212", "-")
    return f"{text}\u00a0{currency}" if currency else text


def format_number(value: Decimal | int | float | None, decimals: int | None = None) -> str:
    if value is None:
        return ""
    fmt = "#,##0" if decimals is None or decimals == 0 else "#,##0." + "0" * decimals
    if decimals is None and isinstance(value, Decimal | float) and value != int(value):
        fmt = "#,##0.##"
    return _babel_decimal(value, format=fmt, locale=LOCALE).replace("\u2212", "-")


def local_today() -> dt.date:
    """Today's date in Sweden. Deadlines are judged by the Swedish calendar day, and the server may
    run in UTC, so code never uses date.today() for them. Tests replace a part's reference to it."""
    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


def format_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def format_datetime(value: dt.datetime | None) -> str:
    """Local Swedish time, `2026-11-23 14:05`."""
    if value is None:
        return ""
    return _babel_datetime(value, "yyyy-MM-dd HH:mm", tzinfo=TIMEZONE, locale=LOCALE)


def register_filters(app) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
