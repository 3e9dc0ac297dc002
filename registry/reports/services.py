"""Reports built on the decisions part: the quarter's IVO report as a PDF, and the de-identified
statistics report for fullmäktige (counts of the same decisions by type of insats, time since the
decision, women and men, and what happened during the quarter).

Both start from `registry.decisions.services.ivo_report_for`, so the rules for which decisions are
reportable live in one place and the statistics count exactly the decisions in the IVO report.

De-identification. No individual may be identifiable from the statistics:
- primary suppression: a count of 1 .. STATISTICS_MIN_COUNT - 1 is shown as "färre än N";
- secondary suppression: every published sum (a row's total, a column's total, the grand total) is
  an equation that could give a hidden count back. Each equation with a hidden count must hide at
  least two counts, one of them shown as "×" (hidden without saying how large it is), so neither
  subtraction nor the "färre än N" range pins a count down. The next smallest non-zero count of the
  row or column is hidden; when there is none, the total. The tables share their column totals
  (women, men, unknown) and the grand total, so all tables are suppressed together: a total hidden in
  one table is hidden in all, and must be protected in each.
The chart is drawn from the suppressed tables only. Person references, dates of birth, case
references and free-text reasons never reach this report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from flask import current_app, has_app_context, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.charts import bar_chart, data_url
from core.formatting import format_number
from core.models import User
from core.pdf import render_pdf
from registry.dates import add_months
from registry.decisions.services import IvoReport, IvoReportRow, ivo_report_for, offers_text
from registry.decisions.watch import REPORT_TYPE_LABELS, ReportType
from registry.models import AgreementParty, CaseTransfer, Decision

DEFAULT_MIN_COUNT = 3
# Below 2 nothing would be hidden: a single person would be visible in the statistics.
LOWEST_MIN_COUNT = 2

PRIMARY = "primary"  # 1 .. minimum - 1: shown as "färre än N"
SECONDARY = "secondary"  # hidden so that a primary cannot be computed: shown as "×"
SECONDARY_MARK = "×"

SEX_COLUMNS: tuple[tuple[str | None, str], ...] = (
    ("kvinna", "Kvinnor"),
    ("man", "Män"),
    (None, "Uppgift saknas"),
)
COLUMN_LABELS = tuple(label for _key, label in SEX_COLUMNS)
TOTAL_LABEL = "Totalt"

UNDER_THREE_MONTHS = "Mindre än 3 månader"
TIME_BUCKETS = ("3–6 månader", "6–12 månader", "Mer än 12 månader")

OUTCOME_WAITING = "Ej verkställt vid rapportdagen"
OUTCOME_INTERRUPTED = "Avbrott som pågår vid rapportdagen"
OUTCOME_EXECUTED = "Verkställt eller återupptaget under kvartalet"
OUTCOME_CLOSED = "Avslutat under kvartalet"
OUTCOMES = (OUTCOME_WAITING, OUTCOME_INTERRUPTED, OUTCOME_EXECUTED, OUTCOME_CLOSED)


def minimum_count() -> int:
    """STATISTICS_MIN_COUNT from the app's configuration (default 3, never below 2)."""
    value = DEFAULT_MIN_COUNT
    if has_app_context():
        value = int(current_app.config.get("STATISTICS_MIN_COUNT") or DEFAULT_MIN_COUNT)
    return max(LOWEST_MIN_COUNT, value)


# --- Suppression ----------------------------------------------------------------------------------


Key = Hashable


@dataclass(frozen=True)
class Line:
    """One published sum: `total` = sum of `cells`."""

    cells: tuple[Key, ...]
    total: Key


def suppress(
    values: dict[Key, int], lines: Sequence[Line], minimum: int, floors: dict[Key, int] | None = None
) -> dict[Key, str]:
    """Which counts to hide: {key: PRIMARY | SECONDARY}; keys not in the result are shown.

    1. Every count of 1 .. minimum - 1 is PRIMARY.
    2. Each sum with a hidden count must hide at least two of its counts (its total included), at
       least one of them SECONDARY: the smallest non-zero shown count of its cells, or else its total.
    3. Audit: a reader who knows every shown count, every sum and the ranges ("färre än N" is
       1..N-1, "×" any number) must not be able to work out any hidden count. Where one can be
       (e.g. a hidden total that equals a single hidden cell), the smallest shown non-zero count of
       its sums is hidden too, and the audit runs again. `floors` are what a reader knows without
       the count (a row that is listed only when it has a decision is at least 1).
    """
    marks: dict[Key, str] = {key: PRIMARY for key, value in values.items() if 0 < value < minimum}
    order = {key: index for index, key in enumerate(values)}

    def smallest_shown(keys: Iterable[Key]) -> Key | None:
        candidates = [key for key in keys if key not in marks and values[key] > 0]
        return min(candidates, key=lambda key: (values[key], order[key])) if candidates else None

    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [key for key in (*line.cells, line.total) if key in marks]
            if not hidden or (len(hidden) >= 2 and any(marks[key] == SECONDARY for key in hidden)):
                continue
            pick = smallest_shown(line.cells)
            if pick is None and marks.get(line.total) != SECONDARY:
                pick = line.total
            if pick is not None:
                marks[pick] = SECONDARY
                changed = True

    # Hiding more only widens what a reader must consider, so a count once shown safe stays safe.
    safe: set[Key] = set()
    while True:
        exposed = _exposed(values, marks, lines, minimum, floors or {}, safe)
        if exposed is None:
            return marks
        around = [line for line in lines if exposed in line.cells or exposed == line.total]
        pick = smallest_shown(key for line in around for key in line.cells)
        if pick is None:
            pick = smallest_shown(line.total for line in around)
        if pick is None:
            # Everything around it is hidden: stop telling the range of the primaries there, or else
            # hide the smallest count shown anywhere (in the end the grand total).
            primaries = [k for line in around for k in (*line.cells, line.total) if marks.get(k) == PRIMARY]
            pick = primaries[0] if primaries else smallest_shown(values)
        if pick is None:
            return marks  # everything is hidden
        marks[pick] = SECONDARY


class _Budget(Exception):
    """The search took too long: treat the count as exposed (hide more) rather than guess."""


SEARCH_BUDGET = 20_000


def _exposed(
    values: dict[Key, int],
    marks: dict[Key, str],
    lines: Sequence[Line],
    minimum: int,
    floors: dict[Key, int],
    safe: set[Key],
) -> Key | None:
    """The first hidden count that the published figures pin down to one value, or None.

    The true counts are one solution of the published sums; a hidden count is safe when another
    solution gives it another value. Searched within "färre än N" = 1..N-1 and "×" = 0..the grand
    total, no wider than what a reader knows, so a solution found here exists for the reader too.
    """
    # No count exceeds the grand total: a narrower range than the reader's, so the search stays sound.
    cap = max(values.values(), default=0)
    domains = {
        key: (1, minimum - 1) if mark == PRIMARY else (floors.get(key, 0), cap) for key, mark in marks.items()
    }
    # Each published sum as constant + sum(coef * hidden) = 0, over the hidden counts only.
    equations: list[tuple[int, tuple[tuple[int, Key], ...]]] = []
    for line in lines:
        terms = [(1, key) for key in line.cells] + [(-1, line.total)]
        hidden = tuple((c, k) for c, k in terms if k in marks)
        if hidden:
            equations.append((sum(c * values[k] for c, k in terms if k not in marks), hidden))
    touching: dict[Key, list[int]] = {}
    for index, (_constant, terms) in enumerate(equations):
        for _coef, key in terms:
            touching.setdefault(key, []).append(index)
    system = (equations, touching)
    for key in sorted(marks, key=lambda k: (marks[k] != PRIMARY, values[k])):
        if key in safe:
            continue
        true = values[key]
        low, high = domains[key]
        others = sorted((v for v in range(low, high + 1) if v != true), key=lambda v: abs(v - true))
        budget = [SEARCH_BUDGET]
        try:
            if not any(_solvable({**domains, key: (v, v)}, values, system, budget, key) for v in others):
                return key
        except _Budget:
            return key
        safe.add(key)
    return None


def _solvable(
    domains: dict[Key, tuple[int, int]], values: dict[Key, int], system, budget: list[int], changed_key
) -> bool:
    """Do the hidden counts have values in `domains` that satisfy every published sum? Bounds
    propagation from the changed count outwards, then branching on the narrowest domain."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _Budget()
    equations, touching = system
    domains = dict(domains)
    queue = list(touching.get(changed_key, ())) if changed_key is not None else list(range(len(equations)))
    queued = set(queue)
    while queue:
        index = queue.pop()
        queued.discard(index)
        constant, terms = equations[index]
        los = [c * domains[k][0] if c > 0 else c * domains[k][1] for c, k in terms]
        his = [c * domains[k][1] if c > 0 else c * domains[k][0] for c, k in terms]
        low_sum, high_sum = constant + sum(los), constant + sum(his)
        if low_sum > 0 or high_sum < 0:
            return False
        for position, (coef, key) in enumerate(terms):
            rest_low, rest_high = low_sum - los[position], high_sum - his[position]
            low, high = (-rest_high, -rest_low) if coef == 1 else (rest_low, rest_high)
            old = domains[key]
            new = (max(old[0], low), min(old[1], high))
            if new[0] > new[1]:
                return False
            if new != old:
                domains[key] = new
                for other in touching[key]:
                    if other not in queued:
                        queued.add(other)
                        queue.append(other)
    open_keys = [key for key, (low, high) in domains.items() if low < high]
    if not open_keys:
        return True
    key = min(open_keys, key=lambda k: domains[k][1] - domains[k][0])
    low, high = domains[key]
    # The true counts nearly solve it: try values near the true one first.
    tries = sorted(range(low, high + 1), key=lambda v: abs(v - values[key]))
    return any(_solvable({**domains, key: (v, v)}, values, system, budget, key) for v in tries)


# --- The statistics -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    value: int
    mark: str | None  # None, PRIMARY or SECONDARY
    minimum: int

    @property
    def hidden(self) -> bool:
        return self.mark is not None

    @property
    def shown(self) -> int | None:
        """The count if it may be published, else None (charts and the API use this, never `value`)."""
        return None if self.hidden else self.value

    @property
    def text(self) -> str:
        if self.mark == PRIMARY:
            return f"färre än {self.minimum}"
        if self.mark == SECONDARY:
            return SECONDARY_MARK
        return format_number(self.value)


@dataclass(frozen=True)
class StatsRow:
    label: str
    cells: tuple[Cell, ...]  # in the order of SEX_COLUMNS
    total: Cell


@dataclass(frozen=True)
class StatsTable:
    key: str
    title: str
    row_heading: str
    rows: tuple[StatsRow, ...]
    total: StatsRow  # the column totals and the grand total, the same in every table


@dataclass(frozen=True)
class StatisticsReport:
    municipality_name: str
    kommunkod: str
    year: int
    quarter: int
    quarter_start: dt.date
    quarter_end: dt.date
    as_of: dt.date
    minimum: int
    tables: tuple[StatsTable, ...]

    @property
    def grand_total(self) -> Cell:
        return self.tables[0].total.total

    @property
    def any_hidden(self) -> bool:
        return any(
            cell.hidden
            for table in self.tables
            for row in (*table.rows, table.total)
            for cell in _row_cells(row)
        )


def _row_cells(row: StatsRow) -> tuple[Cell, ...]:
    return (*row.cells, row.total)


_SPACES = re.compile(r"\s+")


def insats_label(row: IvoReportRow) -> tuple[str, str]:
    """(grouping key, label): the insats type as written, with its law; spacing and case do not split
    a group."""
    text = _SPACES.sub(" ", row.insats_type).strip()
    law = row.legal_basis.law
    return f"{law}\x00{text.casefold()}", f"{law}: {text}"


def time_bucket(decision_date: dt.date, as_of: dt.date) -> str:
    """Time from the decision to the report date, in calendar months (the watch's month arithmetic)."""
    if add_months(decision_date, 3) > as_of:
        return UNDER_THREE_MONTHS
    if add_months(decision_date, 6) > as_of:
        return TIME_BUCKETS[0]
    if add_months(decision_date, 12) > as_of:
        return TIME_BUCKETS[1]
    return TIME_BUCKETS[2]


def outcome(row: IvoReportRow) -> str:
    """What had happened by the report date (the row carries only events up to it)."""
    if row.closed_on is not None:
        return OUTCOME_CLOSED
    if row.report_type == ReportType.INTERRUPTED:
        return OUTCOME_EXECUTED if row.resumed_on is not None else OUTCOME_INTERRUPTED
    return OUTCOME_EXECUTED if row.execution_date is not None else OUTCOME_WAITING


def _column(row: IvoReportRow) -> int:
    return next(i for i, (sex, _label) in enumerate(SEX_COLUMNS) if sex == row.sex)


def _grouped(rows: Iterable[IvoReportRow], table: str, report: IvoReport) -> dict[str, list[int]]:
    """{row label: [women, men, unknown]} for one table, rows in the order they are shown."""
    counts: dict[str, list[int]] = {}
    if table == "insats":
        labels: dict[str, str] = {}
        keyed: dict[str, list[int]] = {}
        for row in rows:
            key, label = insats_label(row)
            labels.setdefault(key, label)
            keyed.setdefault(key, [0] * len(SEX_COLUMNS))[_column(row)] += 1
        for key in sorted(keyed, key=lambda k: labels[k].casefold()):
            counts[labels[key]] = keyed[key]
        return counts
    if table == "tid":
        found = {time_bucket(row.decision_date, report.as_of) for row in rows}
        order = ((UNDER_THREE_MONTHS,) if UNDER_THREE_MONTHS in found else ()) + TIME_BUCKETS
        counts = {label: [0] * len(SEX_COLUMNS) for label in order}
        for row in rows:
            counts[time_bucket(row.decision_date, report.as_of)][_column(row)] += 1
        return counts
    counts = {label: [0] * len(SEX_COLUMNS) for label in OUTCOMES}
    for row in rows:
        counts[outcome(row)][_column(row)] += 1
    return counts


TABLES = (
    ("insats", "Typ av insats", "Typ av insats"),
    ("tid", "Tid sedan beslutet, vid rapportdagen", "Tid sedan beslutet"),
    ("utfall", "Läget vid rapportdagen", "Läge"),
)


def build_statistics(report: IvoReport, minimum: int | None = None) -> StatisticsReport:
    """Count the report's rows into the tables and hide what could identify someone (see the module)."""
    minimum = max(LOWEST_MIN_COUNT, minimum if minimum is not None else minimum_count())
    rows = report.rows
    columns = range(len(SEX_COLUMNS))
    values: dict[Key, int] = {("all",): len(rows)}
    for j in columns:
        values[("sex", j)] = sum(1 for row in rows if _column(row) == j)
    lines = [Line(tuple(("sex", j) for j in columns), ("all",))]
    grouped = {}
    for key, _title, _heading in TABLES:
        grouped[key] = _grouped(rows, key, report)
        labels = list(grouped[key])
        for i, label in enumerate(labels):
            for j in columns:
                values[(key, i, j)] = grouped[key][label][j]
            values[(key, i, "total")] = sum(grouped[key][label])
            lines.append(Line(tuple((key, i, j) for j in columns), (key, i, "total")))
        for j in columns:
            lines.append(Line(tuple((key, i, j) for i in range(len(labels))), ("sex", j)))
        lines.append(Line(tuple((key, i, "total") for i in range(len(labels))), ("all",)))
    # Rows listed only when they have decisions tell the reader their total is at least 1.
    floors = {
        (key, i, "total"): 1
        for key, _title, _heading in TABLES
        for i, label in enumerate(grouped[key])
        if key == "insats" or label == UNDER_THREE_MONTHS
    }
    marks = suppress(values, lines, minimum, floors)

    def cell(key: Key) -> Cell:
        return Cell(values[key], marks.get(key), minimum)

    total_row = StatsRow(TOTAL_LABEL, tuple(cell(("sex", j)) for j in columns), cell(("all",)))
    tables = tuple(
        StatsTable(
            key=key,
            title=title,
            row_heading=heading,
            rows=tuple(
                StatsRow(label, tuple(cell((key, i, j)) for j in columns), cell((key, i, "total")))
                for i, label in enumerate(grouped[key])
            ),
            total=total_row,
        )
        for key, title, heading in TABLES
    )
    municipality = report.municipality
    return StatisticsReport(
        municipality_name=municipality.name,
        kommunkod=municipality.kommunkod,
        year=report.year,
        quarter=report.quarter,
        quarter_start=report.quarter_start,
        quarter_end=report.quarter_end,
        as_of=report.as_of,
        minimum=minimum,
        tables=tables,
    )


def statistics_for(
    session: Session, user: User, year: int, quarter: int, today: dt.date | None = None
) -> StatisticsReport:
    """The statistics of the user's municipality for a quarter (DECISION_READ, as the IVO report)."""
    return build_statistics(ivo_report_for(session, user, year, quarter, today))


def chart_series(stats: StatisticsReport) -> tuple[list[str], dict[str, list[float]]]:
    """Decisions by time since the decision, women and men, from the suppressed table: a hidden
    count is NaN (no bar), never its value."""
    table = next(t for t in stats.tables if t.key == "tid")
    categories = [row.label for row in table.rows]
    series = {
        COLUMN_LABELS[j]: [
            math.nan if row.cells[j].shown is None else float(row.cells[j].shown) for row in table.rows
        ]
        for j in (0, 1)
    }
    return categories, series


def statistics_chart(stats: StatisticsReport) -> str | None:
    """The chart as SVG, or None when every count in it is hidden or zero (nothing to draw)."""
    categories, series = chart_series(stats)
    if not any(v > 0 for values in series.values() for v in values if not math.isnan(v)):
        return None
    return bar_chart(
        categories,
        series,
        title="Beslut efter tid sedan beslutet, kvinnor och män",
        value_label="antal beslut",
        description="Antal rapporterade beslut per tid sedan beslutet, för kvinnor och män. "
        "Dolda uppgifter (för få beslut) ritas inte.",
    )


CSV_COLUMNS = (
    "Kommun",
    "Kommunkod",
    "År",
    "Kvartal",
    "Rapportdag",
    "Tabell",
    "Kategori",
    *COLUMN_LABELS,
    TOTAL_LABEL,
)


def statistics_csv_bytes(stats: StatisticsReport) -> bytes:
    """Every table as rows of one CSV file for Excel: UTF-8 with BOM, ';', hidden counts as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    head = (stats.municipality_name, stats.kommunkod, stats.year, stats.quarter, stats.as_of.isoformat())
    for table in stats.tables:
        for row in (*table.rows, table.total):
            writer.writerow([*head, table.title, row.label, *(c.text for c in _row_cells(row))])
    return buffer.getvalue().encode("utf-8-sig")


def statistics_filename(stats: StatisticsReport, extension: str) -> str:
    return f"statistik-ej-verkstallda-beslut-{stats.kommunkod}-{stats.year}-K{stats.quarter}.{extension}"


def statistics_pdf(stats: StatisticsReport) -> bytes:
    chart = statistics_chart(stats)
    html = render_template(
        "registry/reports/statistics_pdf.html",
        stats=stats,
        chart_url=data_url(chart) if chart else None,
        column_labels=COLUMN_LABELS,
    )
    return render_pdf(html)


# --- The IVO report as PDF ------------------------------------------------------------------------


def board_names(session: Session, report: IvoReport) -> list[str]:
    """The responsible nämnd(er) as the municipality's party rows of the reported decisions'
    agreements name them (empty when not recorded)."""
    ids = [row.decision_id for row in report.rows]
    if not ids:
        return []
    agreement_ids = set(
        session.scalars(
            select(Decision.agreement_id).where(Decision.id.in_(ids), Decision.agreement_id.is_not(None))
        )
    )
    agreement_ids |= set(
        session.scalars(
            select(CaseTransfer.agreement_id)
            .join(Decision, Decision.transfer_id == CaseTransfer.id)
            .where(Decision.id.in_(ids), CaseTransfer.agreement_id.is_not(None))
        )
    )
    if not agreement_ids:
        return []
    boards = session.scalars(
        select(AgreementParty.board).where(
            AgreementParty.municipality_id == report.municipality.id,
            AgreementParty.agreement_id.in_(agreement_ids),
            AgreementParty.board.is_not(None),
        )
    )
    return sorted({b.strip() for b in boards if b and b.strip()})


def ivo_pdf(session: Session, report: IvoReport) -> bytes:
    """The quarter's IVO report (the same rows as the CSV file) as an A4 landscape PDF."""
    counts = {
        label: sum(1 for r in report.rows if r.report_type_label == label)
        for label in REPORT_TYPE_LABELS.values()
    }
    html = render_template(
        "registry/reports/ivo_pdf.html",
        report=report,
        boards=board_names(session, report),
        counts=counts,
        offers_text=offers_text,
    )
    return render_pdf(html)


def ivo_pdf_filename(report: IvoReport) -> str:
    return f"ivo-ej-verkstallda-beslut-{report.municipality.kommunkod}-{report.year}-K{report.quarter}.pdf"
