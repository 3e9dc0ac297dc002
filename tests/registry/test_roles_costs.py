"""Monthly cost, shares and allocation history of a shared role: Decimal to the öre, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.models import Municipality
from registry.models import SharedRole, SharedRoleAllocation
from registry.roles.costs import SetState, allocation_history, allocations_on, monthly_cost, split_cost

D = Decimal
BENGTSFORS, MELLERUD, DALS_ED = 1, 2, 3
NAMES = {BENGTSFORS: "Bengtsfors", MELLERUD: "Mellerud", DALS_ED: "Dals-Ed"}


def make_role(
    salary="68500.00", po="31.42", overhead="2500.00", start=dt.date(2025, 1, 1), end=None, sets=()
):
    """A transient role employed by Bengtsfors; `sets` is [(valid_from, {municipality_id: percent})]."""
    role = SharedRole(
        title="Gemensam socialchef",
        employer_municipality_id=BENGTSFORS,
        period_start=start,
        period_end=end,
        salary_per_month=D(salary),
        po_percent=D(po),
        overhead_per_month=D(overhead),
    )
    role.allocations = [
        SharedRoleAllocation(
            valid_from=valid_from,
            municipality_id=mid,
            municipality=Municipality(id=mid, name=NAMES[mid]),
            percent=D(percent),
        )
        for valid_from, percents in sets
        for mid, percent in percents.items()
    ]
    return role


def test_monthly_cost_is_salary_with_po_plus_overhead():
    # 68 500 × 1,3142 = 90 022,70; + 2 500 overhead
    assert monthly_cost(make_role()) == D("92522.70")
    assert monthly_cost(make_role(salary="50000", po="0", overhead="0")) == D("50000.00")


def test_monthly_cost_rounds_half_up_to_ore():
    # 33 333,33 × 1,3142 = 43 806,662... -> 43 806,66; 10 000,05 × 1,315 = 13 150,06575 -> 13 150,07
    assert monthly_cost(make_role(salary="33333.33", po="31.42", overhead="0")) == D("43806.66")
    assert monthly_cost(make_role(salary="10000.05", po="31.50", overhead="0")) == D("13150.07")
    assert isinstance(monthly_cost(make_role()), Decimal)


def test_fifty_fifty_split_has_no_remainder():
    split = split_cost(
        D("92522.70"), [(MELLERUD, "Mellerud", D("50")), (BENGTSFORS, "Bengtsfors", D("50"))], BENGTSFORS
    )
    assert [(s.municipality_name, s.amount) for s in split.shares] == [
        ("Bengtsfors", D("46261.35")),
        ("Mellerud", D("46261.35")),
    ]
    assert split.remainder == D("0.00")
    assert all(s.rounding_adjustment == 0 for s in split.shares)


def test_ore_remainder_goes_to_the_employer_when_shares_round_up():
    # 1 000,01 / 2 = 500,005 each -> 500,01 + 500,01 = 1 000,02: one öre too much, taken off the employer.
    split = split_cost(
        D("1000.01"), [(BENGTSFORS, "Bengtsfors", D("50")), (MELLERUD, "Mellerud", D("50"))], BENGTSFORS
    )
    amounts = {s.municipality_id: s.amount for s in split.shares}
    assert amounts == {BENGTSFORS: D("500.00"), MELLERUD: D("500.01")}
    assert split.remainder == D("-0.01")
    assert split.remainder_municipality_id == BENGTSFORS
    assert split.remainder_share.rounding_adjustment == D("-0.01")
    assert sum(amounts.values()) == D("1000.01")


def test_ore_remainder_goes_to_the_employer_when_shares_round_down():
    # 10,00 × 33,33 % = 3,333 -> 3,33 three times = 9,99: the missing öre is put on the employer.
    rows = [
        (BENGTSFORS, "Bengtsfors", D("33.33")),
        (MELLERUD, "Mellerud", D("33.33")),
        (DALS_ED, "Dals-Ed", D("33.34")),
    ]
    split = split_cost(D("10.00"), rows, BENGTSFORS)
    amounts = {s.municipality_id: s.amount for s in split.shares}
    assert amounts == {BENGTSFORS: D("3.34"), MELLERUD: D("3.33"), DALS_ED: D("3.33")}
    assert split.remainder == D("0.01")
    assert sum(amounts.values()) == D("10.00")


def test_remainder_goes_to_largest_share_when_employer_pays_nothing():
    # 0,02 × 25 % = 0,005 -> 0,01 and 0,02 × 75 % = 0,015 -> 0,02: one öre too much. Bengtsfors employs
    # but has no share here, so the largest share (Mellerud, shown after Dals-Ed) carries it.
    rows = [(MELLERUD, "Mellerud", D("75")), (DALS_ED, "Dals-Ed", D("25"))]
    split = split_cost(D("0.02"), rows, BENGTSFORS)
    assert split.remainder == D("-0.01")
    assert split.remainder_municipality_id == MELLERUD
    assert [(s.municipality_id, s.amount) for s in split.shares] == [
        (DALS_ED, D("0.01")),
        (MELLERUD, D("0.01")),
    ]


def test_remainder_on_equal_largest_shares_goes_to_the_first_shown():
    split = split_cost(
        D("0.03"), [(MELLERUD, "Mellerud", D("50")), (DALS_ED, "Dals-Ed", D("50"))], BENGTSFORS
    )
    # 0,015 -> 0,02 twice = 0,04: one öre too much; equal shares, so the first shown (Dals-Ed) takes it.
    assert split.remainder == D("-0.01")
    assert split.remainder_municipality_id == DALS_ED
    assert {s.municipality_id: s.amount for s in split.shares} == {DALS_ED: D("0.01"), MELLERUD: D("0.02")}


@pytest.mark.parametrize(
    "percents",
    [
        (D("50"), D("50")),
        (D("33.33"), D("33.33"), D("33.34")),
        (D("12.5"), D("37.5"), D("50")),
        (D("0.01"), D("99.99")),
        (D("14.29"), D("14.29"), D("71.42")),
    ],
)
def test_shares_always_sum_to_the_cost_exactly(percents):
    ids = [BENGTSFORS, MELLERUD, DALS_ED][: len(percents)]
    rows = [(mid, NAMES[mid], p) for mid, p in zip(ids, percents, strict=True)]
    for cents in range(0, 100_003, 997):
        cost = D(cents) / 100 + D("41234")
        split = split_cost(cost, rows, BENGTSFORS)
        assert sum(s.amount for s in split.shares) == cost
        assert all(s.amount == s.amount.quantize(D("0.01")) for s in split.shares)
        assert abs(split.remainder) <= D("0.01") * len(rows)


def test_history_keeps_earlier_sets_and_dates_each_until_the_next():
    role = make_role(
        end=dt.date(2026, 12, 31),
        sets=[
            (dt.date(2025, 1, 1), {BENGTSFORS: "50", MELLERUD: "50"}),
            (dt.date(2025, 7, 1), {BENGTSFORS: "60", MELLERUD: "40"}),
            (dt.date(2026, 1, 1), {BENGTSFORS: "40", MELLERUD: "30", DALS_ED: "30"}),
        ],
    )
    history = allocation_history(role)
    assert [(s.valid_from, s.valid_to) for s in history] == [
        (dt.date(2025, 1, 1), dt.date(2025, 6, 30)),
        (dt.date(2025, 7, 1), dt.date(2025, 12, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ]
    assert history[0].percents == {BENGTSFORS: D("50"), MELLERUD: D("50")}
    assert history[2].total_percent == D("100")
    assert [s.state(dt.date(2025, 7, 1)) for s in history] == [
        SetState.ENDED,
        SetState.IN_FORCE,
        SetState.PLANNED,
    ]


@pytest.mark.parametrize(
    ("day", "expected_from"),
    [
        (dt.date(2024, 12, 31), None),  # before the role
        (dt.date(2025, 1, 1), dt.date(2025, 1, 1)),
        (dt.date(2025, 6, 30), dt.date(2025, 1, 1)),  # last day of the first set
        (dt.date(2025, 7, 1), dt.date(2025, 7, 1)),  # first day of the second
        (dt.date(2026, 12, 31), dt.date(2025, 7, 1)),  # last day of the role
        (dt.date(2027, 1, 1), None),  # after the role
    ],
)
def test_allocations_on_picks_the_set_in_force_at_the_boundaries(day, expected_from):
    role = make_role(
        end=dt.date(2026, 12, 31),
        sets=[
            (dt.date(2025, 1, 1), {BENGTSFORS: "50", MELLERUD: "50"}),
            (dt.date(2025, 7, 1), {BENGTSFORS: "60", MELLERUD: "40"}),
        ],
    )
    found = allocations_on(role, day)
    assert (found.valid_from if found else None) == expected_from


def test_set_shares_use_the_role_cost():
    role = make_role(sets=[(dt.date(2025, 1, 1), {BENGTSFORS: "60", MELLERUD: "40"})])
    allocation_set = allocations_on(role, dt.date(2025, 3, 1))
    assert allocation_set.split.monthly_cost == D("92522.70")
    assert allocation_set.share_of(BENGTSFORS).amount == D("55513.62")
    assert allocation_set.share_of(MELLERUD).amount == D("37009.08")
    assert allocation_set.share_of(DALS_ED) is None
