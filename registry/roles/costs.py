"""The money of a shared role: monthly cost, dated allocation sets and each municipality's share.

Pure functions on loaded rows (no session, no clock). Money is Decimal and is rounded half-up to öre
at two named points only: the monthly cost, and each municipality's share of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import groupby

from core.db import swedish_sort_key
from core.formatting import round_money
from registry.models import SharedRole, SharedRoleAllocation

HUNDRED = Decimal("100")
ZERO = Decimal("0.00")


def monthly_cost(role: SharedRole) -> Decimal:
    """Salary × (1 + PO-pålägg/100) + overhead, per month, rounded to öre."""
    salary = Decimal(role.salary_per_month)
    po = Decimal(role.po_percent)
    return round_money(salary * (1 + po / HUNDRED) + Decimal(role.overhead_per_month or 0))


@dataclass(frozen=True)
class Share:
    municipality_id: int
    municipality_name: str
    percent: Decimal
    amount: Decimal  # the monthly share, in kronor and öre
    rounding_adjustment: Decimal  # the öre remainder placed on this municipality (usually 0.00)


@dataclass(frozen=True)
class CostSplit:
    """A monthly cost divided by percent. The shares always sum to the cost exactly."""

    monthly_cost: Decimal
    shares: tuple[Share, ...]
    remainder: Decimal  # cost - sum of the shares rounded one by one; put on `remainder_share`
    remainder_municipality_id: int | None

    @property
    def remainder_share(self) -> Share | None:
        return next((s for s in self.shares if s.municipality_id == self.remainder_municipality_id), None)


def split_cost(
    cost: Decimal, percents: Iterable[tuple[int, str, Decimal]], employer_municipality_id: int
) -> CostSplit:
    """Divide `cost` by (municipality_id, name, percent) rows.

    Each share is cost × percent / 100 rounded half-up to öre. Rounding share by share can leave an
    öre or two over or short; that remainder is put on the employer's share (the employer pays the
    salary and carries the rounding), or, if the employer has no share in the set, on the largest
    share (the first of equal ones in the order shown). Shares are listed employer first, then by name.
    """
    rows = sorted(
        percents,
        key=lambda row: (row[0] != employer_municipality_id, swedish_sort_key(row[1]), row[0]),
    )
    amounts = [round_money(cost * Decimal(p) / HUNDRED) for _, _, p in rows]
    remainder = cost - sum(amounts, ZERO)
    taker: int | None = None
    if rows:
        ids = [municipality_id for municipality_id, _, _ in rows]
        if employer_municipality_id in ids:
            taker = employer_municipality_id
        else:
            taker = max(rows, key=lambda row: (Decimal(row[2]), -ids.index(row[0])))[0]
    shares = []
    for (municipality_id, name, percent), amount in zip(rows, amounts, strict=True):
        adjustment = remainder if municipality_id == taker else ZERO
        shares.append(
            Share(
                municipality_id=municipality_id,
                municipality_name=name,
                percent=Decimal(percent),
                amount=amount + adjustment,
                rounding_adjustment=adjustment,
            )
        )
    return CostSplit(
        monthly_cost=cost,
        shares=tuple(shares),
        remainder=remainder,
        remainder_municipality_id=taker if rows else None,
    )


class SetState(StrEnum):
    ENDED = "ended"
    IN_FORCE = "in_force"
    PLANNED = "planned"


SET_STATE_LABELS = {
    SetState.ENDED: "Har upphört",
    SetState.IN_FORCE: "Gäller nu",
    SetState.PLANNED: "Planerad",
}


@dataclass(frozen=True)
class AllocationSet:
    """The allocation from `valid_from` until the day before the next set (or the end of the role)."""

    valid_from: dt.date
    valid_to: dt.date | None  # inclusive; None: until further notice
    rows: tuple[SharedRoleAllocation, ...]
    split: CostSplit

    @property
    def percents(self) -> dict[int, Decimal]:
        return {row.municipality_id: Decimal(row.percent) for row in self.rows}

    @property
    def total_percent(self) -> Decimal:
        return sum((Decimal(row.percent) for row in self.rows), Decimal("0"))

    def covers(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def state(self, today: dt.date) -> SetState:
        if self.valid_from > today:
            return SetState.PLANNED
        if self.valid_to is not None and self.valid_to < today:
            return SetState.ENDED
        return SetState.IN_FORCE

    def share_of(self, municipality_id: int | None) -> Share | None:
        return next((s for s in self.split.shares if s.municipality_id == municipality_id), None)


def allocation_history(role: SharedRole) -> list[AllocationSet]:
    """Every allocation set of the role, oldest first, each with its period and cost split."""
    cost = monthly_cost(role)
    ordered = sorted(role.allocations, key=lambda row: (row.valid_from, row.municipality_id))
    groups = [(valid_from, tuple(rows)) for valid_from, rows in groupby(ordered, key=lambda r: r.valid_from)]
    sets = []
    for index, (valid_from, rows) in enumerate(groups):
        if index + 1 < len(groups):
            valid_to: dt.date | None = groups[index + 1][0] - dt.timedelta(days=1)
        else:
            valid_to = role.period_end
        percents = [(row.municipality_id, row.municipality.name, Decimal(row.percent)) for row in rows]
        sets.append(
            AllocationSet(
                valid_from=valid_from,
                valid_to=valid_to,
                rows=rows,
                split=split_cost(cost, percents, role.employer_municipality_id),
            )
        )
    return sets


def allocations_on(role: SharedRole, day: dt.date) -> AllocationSet | None:
    """The set in force on `day`: the latest set starting on or before it. None before the first set
    and outside the role's period (the role costs nothing then)."""
    if day < role.period_start or (role.period_end is not None and day > role.period_end):
        return None
    in_force = None
    for allocation_set in allocation_history(role):
        if allocation_set.valid_from <= day:
            in_force = allocation_set
    return in_force
