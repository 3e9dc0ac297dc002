"""Suppression of small counts in the statistics, checked by an independent reader who combines
every published sum (tests/registry/test_reports_support.possible_values)."""

from __future__ import annotations

import random

from registry.reports.services import PRIMARY, SECONDARY, Line, build_statistics, suppress
from tests.registry.test_reports_support import LSS, SOL, D, possible_values, report, row


def test_a_small_cell_and_its_partners_are_hidden():
    # women, men  | total ; one row of 2 and 5, one of 6 and 7
    values = {"a": 2, "b": 5, "ra": 7, "c": 6, "d": 7, "rc": 13, "w": 8, "m": 12, "all": 20}
    lines = [
        Line(("a", "b"), "ra"),
        Line(("c", "d"), "rc"),
        Line(("a", "c"), "w"),
        Line(("b", "d"), "m"),
        Line(("w", "m"), "all"),
        Line(("ra", "rc"), "all"),
    ]
    marks = suppress(values, lines, 3)
    assert marks["a"] == PRIMARY
    # Row and column of the 2 each hide another count, and so does the row/column they reach.
    assert {"b", "c", "d"} <= {k for k, v in marks.items() if v == SECONDARY}
    assert "all" not in marks and "ra" not in marks


def test_rows_that_each_hold_one_decision_cannot_be_added_up():
    # Five types with one decision each: a reader knows each listed type has at least one.
    rows = [
        row(insats, sex)
        for insats, sex in zip("ABCDE", ("man", "man", "kvinna", "kvinna", "kvinna"), strict=True)
    ]
    stats = build_statistics(report(rows), 3)
    for key, values in possible_values(stats).items():
        assert len(values) >= 2, key
    for table in stats.tables:
        for r in (*table.rows, table.total):
            assert all(c.text not in ("1", "2") for c in (*r.cells, r.total))


def test_nothing_is_hidden_when_every_count_is_large_or_zero():
    rows = [row("Daglig verksamhet", sex, D(2025, 10, 1)) for sex in ("kvinna", "man") for _ in range(3)]
    stats = build_statistics(report(rows), 3)
    assert not stats.any_hidden
    assert [c.text for c in stats.tables[0].rows[0].cells] == ["3", "3", "0"]


def test_random_reports_never_reveal_a_hidden_count():
    generator = random.Random(20260415)
    for _ in range(10):
        rows = [
            row(
                generator.choice("ABCD"),
                generator.choice(["kvinna", "man", None]),
                D(generator.choice((2024, 2025)), generator.randint(1, 12), 1),
                basis=generator.choice([SOL, LSS]),
                executed=D(2026, 2, 1) if generator.random() < 0.3 else None,
                closed=D(2026, 3, 1) if generator.random() < 0.1 else None,
            )
            for _ in range(generator.randint(0, 10))
        ]
        minimum = generator.choice((2, 3, 4))
        stats = build_statistics(report(rows), minimum)
        for table in stats.tables:
            for r in (*table.rows, table.total):
                for cell in (*r.cells, r.total):
                    assert not 0 < cell.value < minimum or cell.hidden
        for key, values in possible_values(stats).items():
            assert len(values) >= 2, (key, [(r.insats_type, r.sex) for r in rows])
