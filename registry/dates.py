"""Date rules of the registry: month arithmetic, agreement terms and notice, the three-month watch on
favourable decisions (ej verkställda beslut) and IVO's quarterly reporting windows.

Pure functions on `datetime.date`: no database, no clock (the caller passes `today`), no dependency
outside the standard library. Legal paragraph references live in data (registry/data/ivo_windows.json),
not here, so that a lawyer can correct them without a release.
"""

from __future__ import annotations

import calendar
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_IVO_WINDOWS_PATH",
    "DecisionState",
    "DecisionStatus",
    "IvoWindow",
    "IvoWindowRule",
    "IvoWindows",
    "add_months",
    "current_end_date",
    "days_since",
    "decision_state",
    "decision_status",
    "is_reportable",
    "ivo_window_for",
    "last_notice_date",
    "load_ivo_windows",
    "next_ivo_window",
    "open_ivo_window",
    "quarter_bounds",
    "quarter_of",
    "renewal_ends",
    "three_months_after",
]

DEFAULT_IVO_WINDOWS_PATH = Path(__file__).resolve().parent / "data" / "ivo_windows.json"


# --- Month arithmetic -------------------------------------------------------------------------------


def add_months(d: date, months: int) -> date:
    """The day with the same day number `months` later (earlier when negative), or the last day of the
    target month when that month is too short.

    This is the rule of lagen (1930:173) om beräkning av lagstadgad tid for periods counted in months
    (the end day is the day whose number matches the start day; failing that, the month's last day),
    and the usual reading of contract terms in months. 30 November + 3 -> 28 February (29 in a leap
    year); 31 May - 1 -> 30 April. No shift for weekends or holidays is applied here: the law's
    "next working day" rule concerns the last day for an action and is the caller's decision.
    """
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last_day))


def three_months_after(d: date) -> date:
    """The last day of the three-month period that starts on `d` (`add_months(d, 3)`).

    The IVO rule: a favourable decision not executed within three months of the decision date (or an
    execution interrupted and not resumed within three months) must be reported. The day returned is
    still inside the period: execution on that day is in time, the day after it is late.
    """
    return add_months(d, 3)


def days_since(d: date, today: date) -> int:
    """Whole days from `d` to `today` (0 on the same day; negative when `d` is after `today`)."""
    return (today - d).days


# --- Agreement term, renewal and notice -------------------------------------------------------------


def _check_months(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")


def current_end_date(end_date: date | None, renewal_months: int | None, today: date) -> date | None:
    """The end date of the agreement period that contains `today`.

    Contract rule (tyst förlängning): an agreement with automatic renewal is extended by
    `renewal_months` each time its end date passes without notice. The period containing `today` ends
    on the first of `end_date`, end_date + 1 period, end_date + 2 periods, ... that is on or after
    `today` (the end date itself belongs to the period that ends on it). Each candidate is computed
    from the ORIGINAL end date (`add_months(end_date, k * renewal_months)`), so an end on 29 February
    or on the 31st does not drift to the 28th or 30th after one short month.

    Without renewal (`renewal_months` None or 0) the end date is returned as is, even when it has
    passed. `end_date` None means open-ended (tills vidare) and gives None. This function cannot know
    whether notice was given: once it has been, the caller uses the period end it had then.
    """
    if end_date is None:
        return None
    if not renewal_months:
        return end_date
    _check_months("renewal_months", renewal_months)
    if end_date >= today:
        return end_date
    months_between = (today.year - end_date.year) * 12 + (today.month - end_date.month)
    # k * renewal_months <= months_between keeps the candidate in a month not after today's month,
    # and the candidate before it strictly before today: the search starts at the right k or just
    # below it.
    k = max(1, months_between // renewal_months)
    while add_months(end_date, k * renewal_months) < today:
        k += 1
    return add_months(end_date, k * renewal_months)


def last_notice_date(current_end: date | None, notice_months: int | None) -> date | None:
    """The last day on which notice (uppsägning) can be given so that the agreement ends at
    `current_end`: `add_months(current_end, -notice_months)`.

    Contract rule: notice "senast N månader före avtalstidens utgång", counted backwards in whole
    months with the same month rule as `add_months` (31 December with 6 months -> 30 June; 31 August
    with 6 months -> 28 February, 29 in a leap year). A notice period of 0 months means notice can be
    given up to and including the end date itself. None when the end or the notice period is unknown
    (an open-ended agreement has no fixed last notice date). Notice given after this day only takes
    effect at the next period end (see `current_end_date`).
    """
    if current_end is None or notice_months is None:
        return None
    _check_months("notice_months", notice_months)
    return add_months(current_end, -notice_months)


def renewal_ends(end_date: date | None, renewal_months: int | None, until: date) -> list[date]:
    """The successive end dates of the agreement, oldest first, up to and including `until` (for a
    timeline): `end_date`, then `end_date` + 1, 2, ... renewal periods, each computed from the original
    end date as in `current_end_date`.

    Without renewal it is `[end_date]` when that is on or before `until`; an open-ended agreement or an
    end date after `until` gives an empty list.
    """
    if end_date is None or end_date > until:
        return []
    if not renewal_months:
        return [end_date]
    _check_months("renewal_months", renewal_months)
    ends: list[date] = []
    k = 0
    while (candidate := add_months(end_date, k * renewal_months)) <= until:
        ends.append(candidate)
        k += 1
    return ends


# --- The three-month watch on favourable decisions --------------------------------------------------


class DecisionState(StrEnum):
    """Where a favourable decision stands in the three-month watch on a given day."""

    PENDING = "pending"  # not executed, the three months since the decision have not run out
    EXECUTED_IN_TIME = "executed_in_time"  # executed on or before the deadline, never interrupted
    EXECUTED_LATE = "executed_late"  # executed after the deadline (it was reportable until then)
    NOT_EXECUTED = "not_executed"  # not executed and the deadline has passed: reportable
    INTERRUPTED = "interrupted"  # interrupted, not resumed, the three months have not run out
    INTERRUPTED_OVER_THREE_MONTHS = "interrupted_over_three_months"  # reportable
    RESUMED = "resumed"  # every interruption so far has been resumed


REPORTABLE_STATES = frozenset({DecisionState.NOT_EXECUTED, DecisionState.INTERRUPTED_OVER_THREE_MONTHS})


def is_reportable(state: DecisionState) -> bool:
    """True for the states that must be in the next IVO report: not executed, or interrupted, for more
    than three months (reported again every quarter until executed, resumed or closed)."""
    return state in REPORTABLE_STATES


@dataclass(frozen=True)
class DecisionStatus:
    """The state of a decision on a day, with the dates behind it and what happened earlier.

    `clock_start` is the date the relevant three-month period started (the decision date, or the
    date of the latest interruption once one has begun) and `deadline` is its last day.
    `executed_late` and `resumed_late` say that the decision WAS reportable at some time before
    `today` even if it no longer is: DOMAIN.md asks that the execution (or resumption) of a reported
    decision is reported too.
    """

    state: DecisionState
    clock_start: date
    deadline: date
    executed_late: bool
    resumed_late: bool

    @property
    def reportable(self) -> bool:
        return is_reportable(self.state)

    @property
    def was_reportable(self) -> bool:
        """Reportable now or at some earlier time."""
        return self.reportable or self.executed_late or self.resumed_late


def _checked_interruptions(
    execution_date: date | None, interruptions: Iterable[tuple[date, date | None]]
) -> list[tuple[date, date | None]]:
    ordered = sorted(interruptions, key=lambda pair: pair[0])
    if ordered and execution_date is None:
        raise ValueError("a decision that has not been executed cannot be interrupted")
    previous_end: date | None = None
    for index, (interrupted_on, resumed_on) in enumerate(ordered):
        if execution_date is not None and interrupted_on < execution_date:
            raise ValueError(f"interruption on {interrupted_on} is before the execution on {execution_date}")
        if resumed_on is not None and resumed_on < interrupted_on:
            raise ValueError(f"interruption on {interrupted_on} is resumed before it began ({resumed_on})")
        if index > 0 and (previous_end is None or interrupted_on < previous_end):
            raise ValueError(f"interruption on {interrupted_on} overlaps an earlier interruption")
        previous_end = resumed_on
    return ordered


def decision_status(
    decision_date: date,
    execution_date: date | None,
    interruptions: Sequence[tuple[date, date | None]],
    today: date,
) -> DecisionStatus:
    """The three-month watch for one decision, as of `today`.

    Rules (the IVO reporting duty as DOMAIN.md states it):
    - Deadline: `three_months_after(decision_date)`. Execution on the deadline day is in time
      (`execution_date <= deadline`); the day after is late.
    - Not executed: `pending` while `today <= deadline` (the deadline day itself is still pending),
      `not_executed` (reportable) from the day after.
    - Executed: `executed_in_time` or `executed_late` by the rule above, unless interrupted since.
    - Interruptions are (interrupted_on, resumed_on or None) pairs, in any order. The clock restarts at
      the latest interruption: while it is unresumed, `interrupted` until
      `three_months_after(interrupted_on)` inclusive, then `interrupted_over_three_months`
      (reportable). Once every interruption is resumed the state is `resumed`; `resumed_late` is set
      when any interruption was resumed after its own three-month deadline (it was reportable in the
      meantime).
    - The state is computed as of `today`: an execution, interruption or resumption dated after
      `today` has not happened yet, so a past quarter end can be evaluated with the data known now.

    Inconsistent data is refused with ValueError rather than guessed at: a decision dated after
    `today`, an execution before the decision, an interruption without an execution or before it, a
    resumption before its interruption, and overlapping interruptions (an interruption that starts
    before the previous one was resumed). With overlaps refused, "the latest unresumed interruption"
    is always the last one.
    """
    if decision_date > today:
        raise ValueError(f"decision date {decision_date} is after {today}")
    if execution_date is not None and execution_date < decision_date:
        raise ValueError(f"execution date {execution_date} is before the decision date {decision_date}")
    ordered = _checked_interruptions(execution_date, interruptions)

    deadline = three_months_after(decision_date)
    if execution_date is None or execution_date > today:
        state = DecisionState.PENDING if today <= deadline else DecisionState.NOT_EXECUTED
        return DecisionStatus(state, decision_date, deadline, executed_late=False, resumed_late=False)

    executed_late = execution_date > deadline
    begun = [
        (start, resumed if resumed is not None and resumed <= today else None) for start, resumed in ordered
    ]
    begun = [pair for pair in begun if pair[0] <= today]
    resumed_late = any(
        resumed is not None and resumed > three_months_after(start) for start, resumed in begun
    )
    if not begun:
        state = DecisionState.EXECUTED_LATE if executed_late else DecisionState.EXECUTED_IN_TIME
        return DecisionStatus(state, decision_date, deadline, executed_late, resumed_late)

    latest_start, latest_resumed = begun[-1]
    latest_deadline = three_months_after(latest_start)
    if latest_resumed is not None:
        state = DecisionState.RESUMED
    elif today <= latest_deadline:
        state = DecisionState.INTERRUPTED
    else:
        state = DecisionState.INTERRUPTED_OVER_THREE_MONTHS
    return DecisionStatus(state, latest_start, latest_deadline, executed_late, resumed_late)


def decision_state(
    decision_date: date,
    execution_date: date | None,
    interruptions: Sequence[tuple[date, date | None]],
    today: date,
) -> DecisionState:
    """The state alone; see `decision_status` for the rules and the flags about earlier lateness."""
    return decision_status(decision_date, execution_date, interruptions, today).state


# --- Quarters and IVO reporting windows -------------------------------------------------------------


def quarter_of(d: date) -> tuple[int, int]:
    """(year, quarter 1-4) of a date: January-March is quarter 1, ..., October-December quarter 4."""
    return d.year, (d.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a calendar quarter."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1-4, got {quarter}")
    first_month = 3 * quarter - 2
    last_month = first_month + 2
    return date(year, first_month, 1), date(year, last_month, calendar.monthrange(year, last_month)[1])


@dataclass(frozen=True)
class IvoWindow:
    """The reporting window, in one year, for one reported quarter."""

    year: int  # the reported quarter's year (a Q4 window in January belongs to the year before)
    quarter: int
    opens: date
    closes: date  # inclusive
    quarter_start: date
    quarter_end: date

    def is_open_on(self, d: date) -> bool:
        return self.opens <= d <= self.closes


_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


def _parse_month_day(value: Any, field: str, quarter: Any) -> tuple[int, int]:
    match = _MONTH_DAY.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"IVO window for quarter {quarter}: {field} must be 'MM-DD', got {value!r}")
    month, day = int(match[1]), int(match[2])
    try:
        # A common year: 29 February would not exist every year, so it is refused.
        date(2001, month, day)
    except ValueError:
        raise ValueError(
            f"IVO window for quarter {quarter}: {field} {value!r} is not a day that exists every year"
        ) from None
    return month, day


@dataclass(frozen=True)
class IvoWindowRule:
    """One row of registry/data/ivo_windows.json: quarter Q of year Y is reported from
    `opens` to `closes` (month, day; both inclusive) in year Y + `year_offset`."""

    quarter: int
    opens: tuple[int, int]
    closes: tuple[int, int]
    year_offset: int

    def window(self, year: int) -> IvoWindow:
        start, end = quarter_bounds(year, self.quarter)
        window_year = year + self.year_offset
        return IvoWindow(
            year=year,
            quarter=self.quarter,
            opens=date(window_year, *self.opens),
            closes=date(window_year, *self.closes),
            quarter_start=start,
            quarter_end=end,
        )


@dataclass(frozen=True)
class IvoWindows:
    """The reporting windows of all four quarters and where they come from.

    `confirmed_for` is the year someone last confirmed the windows against IVO's published reporting
    periods (DOMAIN.md: confirm yearly); `needs_confirmation(today)` tells a reminder to ask again.
    """

    rules: tuple[IvoWindowRule, ...]  # ordered by quarter, one per quarter
    source: str
    confirmed_for: int

    def needs_confirmation(self, today: date) -> bool:
        return self.confirmed_for < today.year

    def window_for(self, year: int, quarter: int) -> IvoWindow:
        """The window in which quarter `quarter` of `year` is reported."""
        quarter_bounds(year, quarter)  # validates the quarter
        return self.rules[quarter - 1].window(year)

    def windows_for_years(self, first_year: int, last_year: int) -> list[IvoWindow]:
        """The windows of every quarter of the given reported years, in order of opening."""
        windows = [rule.window(year) for year in range(first_year, last_year + 1) for rule in self.rules]
        return sorted(windows, key=lambda window: window.opens)


def _parse_ivo_windows(raw: Any) -> IvoWindows:
    if not isinstance(raw, dict):
        raise ValueError("IVO windows: the file must hold a JSON object")
    source = raw.get("source")
    confirmed_for = raw.get("confirmed_for")
    if not isinstance(source, str) or not source.strip():
        raise ValueError("IVO windows: 'source' must say where the windows come from")
    if not isinstance(confirmed_for, int) or isinstance(confirmed_for, bool):
        raise ValueError("IVO windows: 'confirmed_for' must be a year")
    entries = raw.get("windows")
    if not isinstance(entries, list):
        raise ValueError("IVO windows: 'windows' must be a list")

    rules: dict[int, IvoWindowRule] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError("IVO windows: each window must be an object")
        quarter = entry.get("quarter")
        if quarter not in (1, 2, 3, 4) or isinstance(quarter, bool):
            raise ValueError(f"IVO windows: quarter must be 1-4, got {quarter!r}")
        if quarter in rules:
            raise ValueError(f"IVO windows: quarter {quarter} appears more than once")
        year_offset = entry.get("year_offset", 0)
        if year_offset not in (0, 1) or isinstance(year_offset, bool):
            raise ValueError(
                f"IVO window for quarter {quarter}: year_offset must be 0 or 1, got {year_offset!r}"
            )
        opens = _parse_month_day(entry.get("opens"), "opens", quarter)
        closes = _parse_month_day(entry.get("closes"), "closes", quarter)
        if closes < opens:
            raise ValueError(f"IVO window for quarter {quarter}: closes before it opens")
        rule = IvoWindowRule(quarter=quarter, opens=opens, closes=closes, year_offset=year_offset)
        example = rule.window(2001)
        if example.opens <= example.quarter_end:
            raise ValueError(f"IVO window for quarter {quarter}: opens before the quarter has ended")
        rules[quarter] = rule
    missing = sorted({1, 2, 3, 4} - rules.keys())
    if missing:
        raise ValueError(f"IVO windows: no window for quarter {', '.join(map(str, missing))}")

    table = IvoWindows(
        rules=tuple(rules[q] for q in (1, 2, 3, 4)), source=source, confirmed_for=confirmed_for
    )
    ordered = table.windows_for_years(2001, 2003)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if later.opens <= earlier.closes:
            raise ValueError(
                f"IVO windows: the windows for quarter {earlier.quarter} and quarter {later.quarter} overlap"
            )
    return table


def load_ivo_windows(path: str | os.PathLike[str] | None = None) -> IvoWindows:
    """Read and validate the reporting windows (default: registry/data/ivo_windows.json).

    Refuses (ValueError) a file that lacks a quarter, repeats one, has a day that does not exist every
    year, a window that closes before it opens or opens before its quarter has ended, or windows
    that overlap: `open_ivo_window` must never have two answers.
    """
    file = Path(path) if path is not None else DEFAULT_IVO_WINDOWS_PATH
    with file.open(encoding="utf-8") as handle:
        return _parse_ivo_windows(json.load(handle))


@lru_cache(maxsize=1)
def _default_ivo_windows() -> IvoWindows:
    return load_ivo_windows()


def _windows_or_default(windows: IvoWindows | None) -> IvoWindows:
    return _default_ivo_windows() if windows is None else windows


def ivo_window_for(year: int, quarter: int, windows: IvoWindows | None = None) -> IvoWindow:
    """The window in which quarter `quarter` of `year` is reported."""
    return _windows_or_default(windows).window_for(year, quarter)


def open_ivo_window(today: date, windows: IvoWindows | None = None) -> IvoWindow | None:
    """The reporting window open on `today` (first and last day included), or None between windows."""
    table = _windows_or_default(windows)
    # year_offset is at most 1, so a window open today reports a quarter of this year or the last.
    for window in table.windows_for_years(today.year - 1, today.year):
        if window.is_open_on(today):
            return window
    return None


def next_ivo_window(today: date, windows: IvoWindows | None = None) -> IvoWindow:
    """The first reporting window that opens after `today` (strictly: on a window's first day, that
    window is the open one and this returns the one after it)."""
    table = _windows_or_default(windows)
    for window in table.windows_for_years(today.year - 1, today.year + 1):
        if window.opens > today:
            return window
    raise AssertionError("unreachable: every quarter has a window within a year of its end")
