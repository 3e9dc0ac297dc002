"""Indexation arithmetic (pure, Decimal only): price_y = price_(y-1) x (1 + index_y / 100).

Rounding is half-up (ROUND_HALF_UP) to öre (0.01) or to whole kronor (1), as the agreement states.
Floats are refused: a binary fraction must never decide an öre.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

MIN_PERCENT = Decimal("-50")
MAX_PERCENT = Decimal("100")
HUNDRED = Decimal("100")


class Rounding(enum.StrEnum):
    ORE = "ore"
    KRONA = "krona"


ROUNDING_LABELS = {Rounding.ORE: "Till hela ören", Rounding.KRONA: "Till hela kronor"}
_QUANTUM = {Rounding.ORE: Decimal("0.01"), Rounding.KRONA: Decimal("1")}


@dataclass(frozen=True)
class IndexedPrice:
    """One year's indexation, reviewable: the old price, the index, the exact and the rounded new price."""

    old_price: Decimal
    percent: Decimal
    factor: Decimal
    exact_new_price: Decimal
    new_price: Decimal
    rounding: Rounding
    difference: Decimal  # new_price - old_price
    year: int | None = None


def _decimal(value, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{what} must be a Decimal or an int, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{what} must be a finite number")
    return value


def round_price(value: Decimal, rounding: Rounding | str) -> Decimal:
    """Half-up to öre or whole kronor."""
    return value.quantize(_QUANTUM[Rounding(rounding)], rounding=ROUND_HALF_UP)


def apply_index(
    price: Decimal, percent: Decimal, rounding: Rounding | str, year: int | None = None
) -> IndexedPrice:
    """The new price after one year's index: price x (1 + percent / 100), rounded half-up."""
    price = _decimal(price, "price")
    percent = _decimal(percent, "percent")
    rounding = Rounding(rounding)
    if price < 0:
        raise ValueError("price must not be negative")
    if percent < MIN_PERCENT or percent > MAX_PERCENT:
        raise ValueError(f"percent must be between {MIN_PERCENT} and {MAX_PERCENT}, got {percent}")
    with localcontext() as ctx:
        ctx.prec = 50  # exact for any Numeric(14, 2) price times a Numeric(7, 4) index
        factor = 1 + percent / HUNDRED
        exact = price * factor
    new_price = round_price(exact, rounding)
    return IndexedPrice(
        old_price=price,
        percent=percent,
        factor=factor,
        exact_new_price=exact,
        new_price=new_price,
        rounding=rounding,
        difference=new_price - price,
        year=year,
    )


def apply_series(
    price: Decimal, steps: Iterable[tuple[int, Decimal]], rounding: Rounding | str
) -> list[IndexedPrice]:
    """Index a price over several years, one IndexedPrice per (year, percent) in the given order.

    Rule: each year's price is rounded before the next year's index is applied, because prices are
    published (and invoiced) per year; the next year starts from the published, rounded price. So
    100 kr with 0.5 % two years running to whole kronor gives 101, then 102 (not 101 compounded).
    """
    results = []
    current = price
    for year, percent in steps:
        step = apply_index(current, percent, rounding, year=year)
        results.append(step)
        current = step.new_price
    return results
