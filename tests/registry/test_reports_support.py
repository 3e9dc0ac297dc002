"""Helpers for the reports tests (no tests here): report rows made in memory, and an independent
"attacker" that reads only the published statistics and works out which values a hidden count can
have, from every published sum."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

from registry.decisions.services import IvoReportRow
from registry.decisions.watch import ReportType
from registry.models import LegalBasis

D = dt.date
SOL = LegalBasis(code="SOL-X", law="SoL", title="Bistånd", old_reference="SoL 4:1", new_reference="SoL 10:1")
LSS = LegalBasis(
    code="LSS-X", law="LSS", title="Kontaktperson", old_reference="LSS 9 § 4", new_reference="LSS 9 § 4"
)
_ids = itertools.count(1)
_SEX_DIGIT = {"kvinna": "2", "man": "1"}


def row(
    insats: str = "Kontaktperson",
    sex: str | None = "kvinna",
    decided: dt.date | None = None,
    basis: LegalBasis = SOL,
    report_type: ReportType = ReportType.NOT_EXECUTED,
    executed: dt.date | None = None,
    resumed: dt.date | None = None,
    closed: dt.date | None = None,
) -> IvoReportRow:
    n = next(_ids)
    ref = None if sex is None else f"19800101-T12{_SEX_DIGIT[sex]}"
    return IvoReportRow(
        decision_id=n,
        case_reference=f"JAV-1401-2026-{n:04d}",
        ivo_person_ref=ref,
        sex=sex,
        report_type=report_type,
        legal_basis=basis,
        insats_type=insats,
        decision_date=decided or D(2025, 11, 1),
        interruption_date=D(2025, 12, 1) if report_type == ReportType.INTERRUPTED else None,
        offers=(),
        delay_reason="Hemligt skäl",
        execution_date=executed,
        resumed_on=resumed,
        closed_on=closed,
        closing_reason="Flyttat" if closed else None,
        days_since_decision=100,
        situation="Ej verkställt efter tre månader",
    )


def report(rows, as_of: dt.date | None = None):
    """Stands in for registry.decisions.services.IvoReport (what build_statistics reads)."""
    return SimpleNamespace(
        municipality=SimpleNamespace(id=1, name="Härryda", kommunkod="1401"),
        year=2026,
        quarter=1,
        quarter_start=D(2026, 1, 1),
        quarter_end=D(2026, 3, 31),
        as_of=as_of or D(2026, 3, 31),
        rows=list(rows),
    )


# --- The attacker ---------------------------------------------------------------------------------


def _published(stats):
    """{item: int | (lo, hi)} read from the cells' TEXT only, and the sums every table publishes."""
    hidden_primary = f"färre än {stats.minimum}"
    grand = stats.tables[0].total.total.text
    cap = int(grand.replace("\xa0", "").replace(" ", "")) if grand[:1].isdigit() else 20 * stats.minimum

    def value(text):
        if text == hidden_primary:
            return (1, stats.minimum - 1)
        if text == "×":
            return (0, cap)
        return int(text.replace("\xa0", "").replace(" ", ""))

    items, equations = {}, []
    columns = len(stats.tables[0].total.cells)
    for j, c in enumerate(stats.tables[0].total.cells):
        items[("col", j)] = value(c.text)
    items[("all",)] = value(stats.tables[0].total.total.text)
    equations.append(([("col", j) for j in range(columns)], ("all",)))
    for t, table in enumerate(stats.tables):
        # Every table shows the same column totals and grand total.
        assert [c.text for c in table.total.cells] == [c.text for c in stats.tables[0].total.cells]
        for i, r in enumerate(table.rows):
            for j, c in enumerate(r.cells):
                items[(t, i, j)] = value(c.text)
            items[(t, i, "sum")] = value(r.total.text)
            if table.key == "insats" or r.label == "Mindre än 3 månader":
                # Listed only when it has decisions: the reader knows the row's total is at least 1.
                v = items[(t, i, "sum")]
                items[(t, i, "sum")] = v if isinstance(v, int) else (max(1, v[0]), v[1])
            equations.append(([(t, i, j) for j in range(columns)], (t, i, "sum")))
        for j in range(columns):
            equations.append(([(t, i, j) for i in range(len(table.rows))], ("col", j)))
        equations.append(([(t, i, "sum") for i in range(len(table.rows))], ("all",)))
    return items, equations


def _feasible(domains: dict, equations) -> bool:
    """Is there an integer assignment within `domains` satisfying every equation? Bounds propagation
    and branching on the smallest domain."""
    domains = dict(domains)
    changed = True
    while changed:
        changed = False
        for cells, total in equations:
            terms = [(1, k) for k in cells] + [(-1, total)]
            for coef, key in terms:
                rest_lo = sum(c * (domains[k][0] if c > 0 else domains[k][1]) for c, k in terms if k != key)
                rest_hi = sum(c * (domains[k][1] if c > 0 else domains[k][0]) for c, k in terms if k != key)
                # coef * x = -rest  ->  x in [-rest_hi, -rest_lo] * coef
                lo, hi = (-rest_hi, -rest_lo) if coef == 1 else (rest_lo, rest_hi)
                old = domains[key]
                new = (max(old[0], lo), min(old[1], hi))
                if new[0] > new[1]:
                    return False
                if new != old:
                    domains[key] = new
                    changed = True
    open_ = [k for k, (lo, hi) in domains.items() if lo < hi]
    if not open_:
        return True
    key = min(open_, key=lambda k: domains[k][1] - domains[k][0])
    lo, hi = domains[key]
    return any(_feasible({**domains, key: (v, v)}, equations) for v in range(lo, hi + 1))


def possible_values(stats) -> dict:
    """{hidden item: set of values consistent with everything published}."""
    items, equations = _published(stats)
    domains = {k: (v, v) if isinstance(v, int) else v for k, v in items.items()}
    result = {}
    for key, v in items.items():
        if isinstance(v, int):
            continue
        result[key] = {x for x in range(v[0], v[1] + 1) if _feasible({**domains, key: (x, x)}, equations)}
    return result
