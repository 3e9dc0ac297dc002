"""The date rules of registry/dates.py: month arithmetic, agreement terms and notice, the three-month
watch on decisions and IVO's reporting windows.

Pure functions: no app, no database, so these tests run once (not once per database backend).
Every expected date is written out by hand, never computed with the function under test.
"""

from __future__ import annotations

import calendar
import json
from datetime import date, timedelta

import pytest

from registry.dates import (
    DecisionState,
    IvoWindow,
    add_months,
    current_end_date,
    days_since,
    decision_state,
    decision_status,
    is_reportable,
    ivo_window_for,
    last_notice_date,
    load_ivo_windows,
    next_ivo_window,
    open_ivo_window,
    quarter_bounds,
    quarter_of,
    renewal_ends,
    three_months_after,
)

D = date.fromisoformat

# --- add_months ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2025-11-30", 3, "2026-02-28"),  # February too short, common year
        ("2027-11-30", 3, "2028-02-29"),  # ... leap year
        ("2025-01-31", 1, "2025-02-28"),
        ("2024-01-31", 1, "2024-02-29"),
        ("2025-10-31", 4, "2026-02-28"),
        ("2025-01-31", 25, "2027-02-28"),
        ("2024-02-29", 12, "2025-02-28"),
        ("2024-02-29", 48, "2028-02-29"),
        ("2024-02-29", -12, "2023-02-28"),
        ("2025-05-31", -1, "2025-04-30"),
        ("2025-03-31", -1, "2025-02-28"),
        ("2024-03-31", -1, "2024-02-29"),
        ("2025-01-15", -1, "2024-12-15"),  # negative across a year boundary
        ("2025-01-31", -2, "2024-11-30"),
        ("2025-02-28", -14, "2023-12-28"),
        ("2025-07-31", -24, "2023-07-31"),
        ("2025-12-31", -12, "2024-12-31"),
        ("2025-12-31", 1, "2026-01-31"),  # positive across a year boundary
        ("2025-12-15", 12, "2026-12-15"),
        ("2025-08-31", -6, "2025-02-28"),
        ("2024-08-31", -6, "2024-02-29"),
        ("2025-06-15", 0, "2025-06-15"),
        ("2025-06-30", 1, "2025-07-30"),  # the day number is kept, not "end of month"
    ],
)
def test_add_months(start, months, expected):
    assert add_months(D(start), months) == D(expected)


def test_add_months_keeps_the_day_number_or_falls_to_the_month_end_for_every_day_of_two_years():
    day = D("2024-01-01")
    while day.year < 2026:
        for months in (-25, -13, -12, -1, 1, 3, 6, 11, 12, 24, 37):
            result = add_months(day, months)
            assert result.year * 12 + result.month == day.year * 12 + day.month + months
            last = calendar.monthrange(result.year, result.month)[1]
            assert result.day == (day.day if day.day <= last else last)
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("decided", "deadline"),
    [
        ("2025-11-30", "2026-02-28"),
        ("2025-11-29", "2026-02-28"),
        ("2027-11-29", "2028-02-29"),
        ("2025-05-31", "2025-08-31"),
        ("2025-12-31", "2026-03-31"),
        ("2025-01-15", "2025-04-15"),
    ],
)
def test_three_months_after(decided, deadline):
    assert three_months_after(D(decided)) == D(deadline)


@pytest.mark.parametrize(
    ("start", "today", "days"),
    [
        ("2025-01-01", "2025-01-01", 0),
        ("2024-12-31", "2025-03-01", 60),
        ("2024-02-01", "2024-03-01", 29),
        ("2025-02-01", "2025-03-01", 28),
        ("2025-01-02", "2025-01-01", -1),
    ],
)
def test_days_since(start, today, days):
    assert days_since(D(start), D(today)) == days


# --- Agreement term, renewal and notice ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "renewal", "today", "expected"),
    [
        # no renewal: the end date as is, even when passed
        ("2025-12-31", None, "2027-01-01", "2025-12-31"),
        ("2025-12-31", 0, "2027-01-01", "2025-12-31"),
        # renewal, before or on the original end
        ("2026-12-31", 12, "2026-06-01", "2026-12-31"),
        ("2026-12-31", 12, "2026-12-31", "2026-12-31"),
        # one renewal, and today exactly on the renewed end
        ("2025-12-31", 12, "2026-01-01", "2026-12-31"),
        ("2025-12-31", 12, "2026-12-31", "2026-12-31"),
        # many renewals
        ("2025-12-31", 12, "2027-01-01", "2027-12-31"),
        ("2020-12-31", 24, "2026-11-23", "2026-12-31"),
        ("2015-08-31", 3, "2026-11-23", "2026-11-30"),
        ("2020-06-30", 6, "2026-11-23", "2026-12-30"),  # 30 June origin: 30 December, not 31
        # 29 February origin: back to the 29th in leap years, no drift to the 28th
        ("2024-02-29", 12, "2025-02-28", "2025-02-28"),
        ("2024-02-29", 12, "2025-03-01", "2026-02-28"),
        ("2024-02-29", 12, "2027-03-01", "2028-02-29"),
        ("2024-02-29", 12, "2028-02-28", "2028-02-29"),
        ("2024-02-29", 12, "2028-02-29", "2028-02-29"),
        ("2024-02-29", 12, "2028-03-01", "2029-02-28"),
        # 31st origin, monthly renewal: the 31st comes back after a short month
        ("2025-01-31", 1, "2025-02-01", "2025-02-28"),
        ("2025-01-31", 1, "2025-03-01", "2025-03-31"),
        ("2025-01-31", 1, "2025-04-30", "2025-04-30"),
        ("2025-01-31", 1, "2025-05-01", "2025-05-31"),
    ],
)
def test_current_end_date(end, renewal, today, expected):
    assert current_end_date(D(end), renewal, D(today)) == D(expected)


@pytest.mark.parametrize("renewal", [None, 0, 12])
def test_open_ended_agreement_has_no_end(renewal):
    assert current_end_date(None, renewal, D("2026-01-01")) is None


def test_negative_renewal_is_refused():
    with pytest.raises(ValueError, match="renewal_months"):
        current_end_date(D("2025-12-31"), -12, D("2026-06-01"))
    with pytest.raises(ValueError, match="renewal_months"):
        renewal_ends(D("2025-12-31"), -12, D("2027-06-01"))


@pytest.mark.parametrize(
    ("end", "notice", "expected"),
    [
        ("2026-12-31", 6, "2026-06-30"),
        ("2026-08-31", 6, "2026-02-28"),
        ("2028-08-31", 6, "2028-02-29"),
        ("2026-03-31", 1, "2026-02-28"),
        ("2024-03-31", 1, "2024-02-29"),
        ("2026-02-28", 12, "2025-02-28"),
        ("2028-02-29", 12, "2027-02-28"),
        ("2026-06-30", 3, "2026-03-30"),  # same day number, not "end of month"
        ("2027-01-31", 3, "2026-10-31"),  # back across a year boundary
        ("2027-02-28", 3, "2026-11-28"),
        ("2026-12-31", 0, "2026-12-31"),  # no notice period: up to the end date itself
    ],
)
def test_last_notice_date(end, notice, expected):
    assert last_notice_date(D(end), notice) == D(expected)


@pytest.mark.parametrize(("end", "notice"), [(None, 6), ("2026-12-31", None), (None, None)])
def test_last_notice_date_unknown(end, notice):
    assert last_notice_date(D(end) if end else None, notice) is None


def test_negative_notice_is_refused():
    with pytest.raises(ValueError, match="notice_months"):
        last_notice_date(D("2026-12-31"), -1)


def test_notice_date_of_a_renewed_agreement():
    # Signed to 2024-12-31, renewed a year at a time, six months' notice, looked at in November 2026.
    end = current_end_date(D("2024-12-31"), 12, D("2026-11-23"))
    assert end == D("2026-12-31")
    assert last_notice_date(end, 6) == D("2026-06-30")


@pytest.mark.parametrize(
    ("end", "renewal", "until", "expected"),
    [
        (None, 12, "2030-01-01", []),
        ("2026-12-31", 12, "2026-12-30", []),
        ("2026-12-31", None, "2030-01-01", ["2026-12-31"]),
        ("2026-12-31", 0, "2030-01-01", ["2026-12-31"]),
        ("2026-12-31", 12, "2026-12-31", ["2026-12-31"]),
        ("2024-12-31", 24, "2026-12-31", ["2024-12-31", "2026-12-31"]),
        (
            "2024-02-29",
            12,
            "2028-02-29",
            ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"],
        ),
        ("2024-02-29", 12, "2028-02-28", ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28"]),
        ("2025-01-31", 1, "2025-05-30", ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"]),
    ],
)
def test_renewal_ends(end, renewal, until, expected):
    assert renewal_ends(D(end) if end else None, renewal, D(until)) == [D(x) for x in expected]


@pytest.mark.parametrize("today", ["2025-02-28", "2025-03-01", "2026-02-28", "2027-12-31", "2028-02-29"])
def test_current_end_is_the_first_renewal_end_on_or_after_today(today):
    ends = renewal_ends(D("2024-02-29"), 12, D("2030-01-01"))
    first_not_passed = next(end for end in ends if end >= D(today))
    assert current_end_date(D("2024-02-29"), 12, D(today)) == first_not_passed


# --- The three-month watch --------------------------------------------------------------------------

S = DecisionState


def test_state_values_are_the_stored_names():
    assert {state.value for state in DecisionState} == {
        "pending",
        "executed_in_time",
        "executed_late",
        "not_executed",
        "interrupted",
        "interrupted_over_three_months",
        "resumed",
    }


@pytest.mark.parametrize(
    ("state", "reportable"),
    [
        (S.PENDING, False),
        (S.EXECUTED_IN_TIME, False),
        (S.EXECUTED_LATE, False),
        (S.NOT_EXECUTED, True),
        (S.INTERRUPTED, False),
        (S.INTERRUPTED_OVER_THREE_MONTHS, True),
        (S.RESUMED, False),
    ],
)
def test_is_reportable(state, reportable):
    assert is_reportable(state) is reportable


# Decided 30 November 2025: the deadline is 28 February 2026 (the day itself is in time).
@pytest.mark.parametrize(
    ("decided", "today", "expected"),
    [
        ("2025-11-30", "2025-11-30", S.PENDING),
        ("2025-11-30", "2026-02-27", S.PENDING),
        ("2025-11-30", "2026-02-28", S.PENDING),
        ("2025-11-30", "2026-03-01", S.NOT_EXECUTED),
        ("2027-11-30", "2028-02-29", S.PENDING),  # leap year deadline
        ("2027-11-30", "2028-03-01", S.NOT_EXECUTED),
        ("2025-05-31", "2025-08-31", S.PENDING),
        ("2025-05-31", "2025-09-01", S.NOT_EXECUTED),
    ],
)
def test_not_executed(decided, today, expected):
    status = decision_status(D(decided), None, [], D(today))
    assert status.state is expected
    assert status.reportable is (expected is S.NOT_EXECUTED)
    assert status.clock_start == D(decided)


@pytest.mark.parametrize(
    ("executed", "expected", "late"),
    [
        ("2025-11-30", S.EXECUTED_IN_TIME, False),  # the decision day itself
        ("2026-02-27", S.EXECUTED_IN_TIME, False),
        ("2026-02-28", S.EXECUTED_IN_TIME, False),  # the deadline day is in time
        ("2026-03-01", S.EXECUTED_LATE, True),
    ],
)
def test_executed(executed, expected, late):
    status = decision_status(D("2025-11-30"), D(executed), [], D("2026-06-01"))
    assert status.state is expected
    assert status.executed_late is late
    assert status.was_reportable is late
    assert status.reportable is False
    assert status.deadline == D("2026-02-28")


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("2026-02-20", S.PENDING),
        ("2026-03-01", S.NOT_EXECUTED),
        ("2026-03-09", S.NOT_EXECUTED),
        ("2026-03-10", S.EXECUTED_LATE),
    ],
)
def test_execution_after_today_has_not_happened_yet(today, expected):
    assert decision_state(D("2025-11-30"), D("2026-03-10"), [], D(today)) is expected


# Executed in time on 20 January 2025, interrupted 31 May 2025: the interruption's deadline is 31 August.
DECIDED, EXECUTED, INTERRUPTED = D("2025-01-10"), D("2025-01-20"), D("2025-05-31")


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("2025-05-31", S.INTERRUPTED),
        ("2025-08-30", S.INTERRUPTED),
        ("2025-08-31", S.INTERRUPTED),
        ("2025-09-01", S.INTERRUPTED_OVER_THREE_MONTHS),
        ("2026-05-01", S.INTERRUPTED_OVER_THREE_MONTHS),
    ],
)
def test_unresumed_interruption(today, expected):
    status = decision_status(DECIDED, EXECUTED, [(INTERRUPTED, None)], D(today))
    assert status.state is expected
    assert status.clock_start == INTERRUPTED
    assert status.deadline == D("2025-08-31")
    assert status.reportable is (expected is S.INTERRUPTED_OVER_THREE_MONTHS)


@pytest.mark.parametrize(
    ("resumed", "late"),
    [("2025-06-01", False), ("2025-08-30", False), ("2025-08-31", False), ("2025-09-01", True)],
)
def test_resumed_interruption(resumed, late):
    status = decision_status(DECIDED, EXECUTED, [(INTERRUPTED, D(resumed))], D("2025-10-01"))
    assert status.state is S.RESUMED
    assert status.resumed_late is late
    assert status.was_reportable is late
    assert status.reportable is False
    assert status.executed_late is False


@pytest.mark.parametrize(
    ("today", "expected", "resumed_late"),
    [
        ("2025-08-15", S.INTERRUPTED, False),
        ("2025-09-01", S.INTERRUPTED_OVER_THREE_MONTHS, False),
        ("2025-09-14", S.INTERRUPTED_OVER_THREE_MONTHS, False),
        ("2025-09-15", S.RESUMED, True),
    ],
)
def test_resumption_after_today_has_not_happened_yet(today, expected, resumed_late):
    status = decision_status(DECIDED, EXECUTED, [(INTERRUPTED, D("2025-09-15"))], D(today))
    assert (status.state, status.resumed_late) == (expected, resumed_late)


def test_interruption_after_today_has_not_happened_yet():
    assert decision_state(DECIDED, EXECUTED, [(D("2025-06-01"), None)], D("2025-05-31")) is S.EXECUTED_IN_TIME
    assert decision_state(DECIDED, EXECUTED, [(D("2025-06-01"), None)], D("2025-06-01")) is S.INTERRUPTED


# A first interruption resumed late (deadline 1 May, resumed 1 June), then a second one from 1 July
# (deadline 1 October). Given out of order on purpose.
SEVERAL = [(D("2025-07-01"), None), (D("2025-02-01"), D("2025-06-01"))]


@pytest.mark.parametrize(
    ("today", "expected", "resumed_late"),
    [
        ("2025-04-01", S.INTERRUPTED, False),  # only the first interruption has begun
        ("2025-05-02", S.INTERRUPTED_OVER_THREE_MONTHS, False),
        ("2025-06-15", S.RESUMED, True),
        ("2025-07-01", S.INTERRUPTED, True),
        ("2025-10-01", S.INTERRUPTED, True),
        ("2025-10-02", S.INTERRUPTED_OVER_THREE_MONTHS, True),
    ],
)
def test_several_interruptions_count_from_the_latest(today, expected, resumed_late):
    status = decision_status(DECIDED, EXECUTED, SEVERAL, D(today))
    assert (status.state, status.resumed_late) == (expected, resumed_late)


def test_several_interruptions_clock_is_the_latest():
    status = decision_status(DECIDED, EXECUTED, SEVERAL, D("2025-08-01"))
    assert (status.clock_start, status.deadline) == (D("2025-07-01"), D("2025-10-01"))


def test_several_interruptions_all_resumed_in_time():
    interruptions = [(D("2025-02-01"), D("2025-03-01")), (D("2025-03-01"), D("2025-06-01"))]
    status = decision_status(DECIDED, EXECUTED, interruptions, D("2025-12-01"))
    assert status.state is S.RESUMED
    assert status.was_reportable is False
    assert (status.clock_start, status.deadline) == (D("2025-03-01"), D("2025-06-01"))


def test_late_execution_is_remembered_after_an_interruption():
    status = decision_status(D("2025-01-10"), D("2025-05-01"), [(D("2025-06-01"), None)], D("2025-07-01"))
    assert status.state is S.INTERRUPTED
    assert status.executed_late is True
    assert status.was_reportable is True


@pytest.mark.parametrize(
    ("decided", "executed", "interruptions", "today", "message"),
    [
        ("2025-02-01", None, [], "2025-01-31", "after"),
        ("2025-02-01", "2025-01-31", [], "2025-03-01", "before the decision"),
        ("2025-02-01", None, [("2025-03-01", None)], "2025-04-01", "not been executed"),
        ("2025-02-01", "2025-03-01", [("2025-02-28", None)], "2025-04-01", "before the execution"),
        ("2025-02-01", "2025-02-01", [("2025-03-01", "2025-02-28")], "2025-04-01", "resumed before"),
        (
            "2025-02-01",
            "2025-02-01",
            [("2025-03-01", None), ("2025-04-01", "2025-05-01")],
            "2025-06-01",
            "overlaps",
        ),
        (
            "2025-02-01",
            "2025-02-01",
            [("2025-03-01", "2025-04-15"), ("2025-04-01", None)],
            "2025-06-01",
            "overlaps",
        ),
    ],
)
def test_inconsistent_decision_data_is_refused(decided, executed, interruptions, today, message):
    pairs = [(D(start), D(end) if end else None) for start, end in interruptions]
    with pytest.raises(ValueError, match=message):
        decision_state(D(decided), D(executed) if executed else None, pairs, D(today))


def test_interruption_may_begin_the_day_the_previous_one_was_resumed():
    interruptions = [(D("2025-03-01"), D("2025-04-01")), (D("2025-04-01"), None)]
    assert decision_state(DECIDED, EXECUTED, interruptions, D("2025-05-01")) is S.INTERRUPTED


# --- Quarters and IVO windows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-01-01", (2026, 1)),
        ("2026-03-31", (2026, 1)),
        ("2026-04-01", (2026, 2)),
        ("2026-06-30", (2026, 2)),
        ("2026-07-01", (2026, 3)),
        ("2026-09-30", (2026, 3)),
        ("2026-10-01", (2026, 4)),
        ("2026-12-31", (2026, 4)),
    ],
)
def test_quarter_of(day, expected):
    assert quarter_of(D(day)) == expected


@pytest.mark.parametrize(
    ("year", "quarter", "first", "last"),
    [
        (2026, 1, "2026-01-01", "2026-03-31"),
        (2026, 2, "2026-04-01", "2026-06-30"),
        (2026, 3, "2026-07-01", "2026-09-30"),
        (2026, 4, "2026-10-01", "2026-12-31"),
    ],
)
def test_quarter_bounds(year, quarter, first, last):
    assert quarter_bounds(year, quarter) == (D(first), D(last))


@pytest.mark.parametrize("quarter", [0, 5])
def test_quarter_bounds_refuses_other_quarters(quarter):
    with pytest.raises(ValueError, match="quarter"):
        quarter_bounds(2026, quarter)


# The windows in registry/data/ivo_windows.json, as DOMAIN.md states them: Q1 in April, Q2 July-August,
# Q3 October, Q4 in January of the following year.
@pytest.mark.parametrize(
    ("today", "reported"),
    [
        ("2026-01-01", (2025, 4)),
        ("2026-01-31", (2025, 4)),
        ("2026-04-01", (2026, 1)),
        ("2026-04-30", (2026, 1)),
        ("2026-07-01", (2026, 2)),
        ("2026-08-31", (2026, 2)),
        ("2026-10-01", (2026, 3)),
        ("2026-10-31", (2026, 3)),
        ("2028-01-15", (2027, 4)),
    ],
)
def test_open_ivo_window_first_and_last_day(today, reported):
    window = open_ivo_window(D(today))
    assert window is not None
    assert (window.year, window.quarter) == reported


@pytest.mark.parametrize(
    "today",
    [
        "2025-12-31",
        "2026-02-01",
        "2026-03-31",
        "2026-05-01",
        "2026-06-30",
        "2026-09-01",
        "2026-09-30",
        "2026-11-01",
    ],
)
def test_no_ivo_window_just_outside(today):
    assert open_ivo_window(D(today)) is None


def test_open_ivo_window_in_full():
    assert open_ivo_window(D("2026-01-15")) == IvoWindow(
        year=2025,
        quarter=4,
        opens=D("2026-01-01"),
        closes=D("2026-01-31"),
        quarter_start=D("2025-10-01"),
        quarter_end=D("2025-12-31"),
    )


@pytest.mark.parametrize(
    ("today", "reported", "opens"),
    [
        ("2026-11-23", (2026, 4), "2027-01-01"),  # across the year boundary
        ("2026-12-31", (2026, 4), "2027-01-01"),
        ("2025-12-31", (2025, 4), "2026-01-01"),
        ("2027-01-01", (2027, 1), "2027-04-01"),  # the Q4 window opens today: that one is open, not next
        ("2026-02-01", (2026, 1), "2026-04-01"),
        ("2026-03-31", (2026, 1), "2026-04-01"),
        ("2026-04-01", (2026, 2), "2026-07-01"),
        ("2026-08-31", (2026, 3), "2026-10-01"),
        ("2026-10-31", (2026, 4), "2027-01-01"),
    ],
)
def test_next_ivo_window(today, reported, opens):
    window = next_ivo_window(D(today))
    assert ((window.year, window.quarter), window.opens) == (reported, D(opens))


@pytest.mark.parametrize(
    ("year", "quarter", "opens", "closes"),
    [
        (2026, 1, "2026-04-01", "2026-04-30"),
        (2026, 2, "2026-07-01", "2026-08-31"),
        (2026, 3, "2026-10-01", "2026-10-31"),
        (2026, 4, "2027-01-01", "2027-01-31"),
    ],
)
def test_ivo_window_for_a_quarter(year, quarter, opens, closes):
    window = ivo_window_for(year, quarter)
    assert (window.opens, window.closes) == (D(opens), D(closes))
    assert (window.quarter_start, window.quarter_end) == quarter_bounds(year, quarter)


def test_default_windows_say_where_they_come_from():
    windows = load_ivo_windows()
    assert "DOMAIN.md" in windows.source
    assert windows.confirmed_for >= 2026


VALID = {
    "source": "test",
    "confirmed_for": 2026,
    "windows": [
        {"quarter": 1, "opens": "04-01", "closes": "04-30", "year_offset": 0},
        {"quarter": 2, "opens": "07-01", "closes": "08-31", "year_offset": 0},
        {"quarter": 3, "opens": "10-01", "closes": "10-31", "year_offset": 0},
        {"quarter": 4, "opens": "01-01", "closes": "01-31", "year_offset": 1},
    ],
}


def write_windows(tmp_path, data):
    path = tmp_path / "ivo_windows.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_windows_are_read_from_the_given_file(tmp_path):
    data = json.loads(json.dumps(VALID))
    data["windows"][3] = {"quarter": 4, "opens": "02-01", "closes": "02-28", "year_offset": 1}
    data["windows"][0] = {"quarter": 1, "opens": "04-15", "closes": "05-15"}  # year_offset defaults to 0
    windows = load_ivo_windows(str(write_windows(tmp_path, data)))
    assert open_ivo_window(D("2026-01-15"), windows) is None
    q4 = open_ivo_window(D("2026-02-28"), windows)
    assert (q4.year, q4.quarter) == (2025, 4)
    assert open_ivo_window(D("2026-04-14"), windows) is None
    assert open_ivo_window(D("2026-05-15"), windows).quarter == 1
    assert next_ivo_window(D("2026-01-15"), windows).opens == D("2026-02-01")
    assert ivo_window_for(2026, 1, windows).closes == D("2026-05-15")


@pytest.mark.parametrize(
    ("today", "needs"),
    [("2026-01-01", False), ("2026-12-31", False), ("2027-01-01", True)],
)
def test_windows_need_confirmation_each_year(tmp_path, today, needs):
    windows = load_ivo_windows(write_windows(tmp_path, VALID))
    assert windows.needs_confirmation(D(today)) is needs


def _with_window(which, **changes):
    data = json.loads(json.dumps(VALID))
    data["windows"][which - 1].update(changes)
    return data


def _without(key):
    data = json.loads(json.dumps(VALID))
    del data[key]
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        (_without("source"), "source"),
        (_without("confirmed_for"), "confirmed_for"),
        ({**VALID, "confirmed_for": "2026"}, "confirmed_for"),
        ({**VALID, "windows": {}}, "list"),
        ({**VALID, "windows": VALID["windows"][:3]}, "no window for quarter 4"),
        ({**VALID, "windows": [*VALID["windows"], VALID["windows"][0]]}, "more than once"),
        (_with_window(1, quarter=5), "1-4"),
        (_with_window(1, opens="4-01"), "MM-DD"),
        (_with_window(1, opens=401), "MM-DD"),
        (_with_window(1, closes="04-31"), "not a day"),
        (_with_window(4, opens="02-29", closes="03-15"), "not a day"),
        (_with_window(1, opens="04-30", closes="04-01"), "closes before it opens"),
        (_with_window(1, opens="03-31"), "before the quarter has ended"),
        (_with_window(4, year_offset=0), "before the quarter has ended"),
        (_with_window(4, year_offset=2), "year_offset"),
        (_with_window(2, closes="10-01"), "overlap"),
        (_with_window(4, opens="03-15", closes="04-05"), "overlap"),
    ],
)
def test_invalid_windows_file_is_refused(tmp_path, data, message):
    with pytest.raises(ValueError, match=message):
        load_ivo_windows(write_windows(tmp_path, data))
