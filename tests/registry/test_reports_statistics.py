"""The de-identified statistics for fullmäktige: counts against an independent count of the fixture
decisions, no cell (and no cell derivable from the sums) under the minimum, the configurable minimum,
scope, the page, the CSV file read back, the PDF and the chart."""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter

import pytest
from pypdf import PdfReader

from registry.dates import add_months
from registry.decisions import services as decisions
from registry.models import TransferStatus
from registry.reports import services
from tests.registry.test_decisions_support import D, add_decision
from tests.registry.test_reports_support import possible_values, report
from tests.registry.test_reports_support import row as report_row

TODAY = D(2026, 4, 15)  # Q1 2026 is over: its report describes 2026-03-31
AS_OF = D(2026, 3, 31)
WOMAN, MAN = "19800101-T122", "19800101-T121"  # last digit even = woman, odd = man

# (basis code, insats type, person ref, decision date, execution date, closed on)
SPECS = [
    ("SOL-KONTAKTPERSON", "Kontaktperson", WOMAN, D(2025, 11, 1), None, None),  # a type with 1
    ("SOL-FAMILJEHEM", "Familjehem", WOMAN, D(2025, 8, 1), None, None),  # a type with 2
    ("SOL-FAMILJEHEM", "Familjehem ", MAN, D(2025, 2, 1), D(2026, 2, 15), None),  # spacing: same type
    *[("LSS-9-6", "Korttidsvistelse", WOMAN, D(2025, 10, 15), None, None)] * 4,
    ("LSS-9-6", "Korttidsvistelse", WOMAN, D(2025, 5, 1), D(2026, 3, 1), None),
    ("LSS-9-6", "Korttidsvistelse", MAN, D(2025, 12, 1), None, None),  # one sex has 1
    ("LSS-9-6", "Korttidsvistelse", None, D(2024, 12, 1), None, D(2026, 3, 10)),  # sex unknown, closed
    *[("LSS-9-10", "Daglig verksamhet", MAN, D(2025, 9, 1), None, None)] * 3,
    *[("LSS-9-10", "Daglig verksamhet", WOMAN, D(2025, 6, 1), None, None)] * 3,
]
PRIVATE = ("Ingen kontaktfamilj hittad", "Flyttade till annan kommun")


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(decisions, "today", lambda: TODAY)


@pytest.fixture
def fixture_decisions(db, make_transfer, legal_bases):
    transfer = make_transfer(requesting="Härryda", performing="Lerum", status=TransferStatus.DECIDED)
    made = []
    for code, insats, ref, decided, executed, closed in SPECS:
        made.append(
            add_decision(
                db,
                legal_bases[code],
                decided,
                transfer=transfer,
                execution_date=executed,
                insats_type=insats,
                ivo_person_ref=ref,
                delay_reason=PRIVATE[0],
                closed_on=closed,
                closing_reason=PRIVATE[1] if closed else None,
            )
        )
    # Executed in time: not reportable, never counted.
    add_decision(
        db, legal_bases["LSS-9-10"], D(2025, 12, 1), transfer=transfer, execution_date=D(2025, 12, 20)
    )
    # Another municipality's reportable decisions: never counted for Härryda.
    other = make_transfer(requesting="Lerum", performing="Härryda", status=TransferStatus.DECIDED)
    for _ in range(4):
        add_decision(db, legal_bases["SOL-HVB"], D(2025, 6, 1), transfer=other, insats_type="HVB-placering")
    return transfer, made


def _expected():
    """The tables counted straight from SPECS (the definitions, not the service)."""
    sex = {WOMAN: "Kvinnor", MAN: "Män", None: "Uppgift saknas"}
    law = {"SOL": "SoL", "LSS": "LSS"}

    def bucket(decided):
        if add_months(decided, 6) > AS_OF:
            return "3–6 månader"
        return "6–12 månader" if add_months(decided, 12) > AS_OF else "Mer än 12 månader"

    def outcome(executed, closed):
        if closed:
            return "Avslutat under kvartalet"
        return (
            "Verkställt eller återupptaget under kvartalet" if executed else "Ej verkställt vid rapportdagen"
        )

    expected = {"insats": Counter(), "tid": Counter(), "utfall": Counter()}
    for code, insats, ref, decided, executed, closed in SPECS:
        expected["insats"][(f"{law[code[:3]]}: {insats.strip()}", sex[ref])] += 1
        expected["tid"][(bucket(decided), sex[ref])] += 1
        expected["utfall"][(outcome(executed, closed), sex[ref])] += 1
    return expected


def _counts(table):
    return {
        (row.label, services.COLUMN_LABELS[j]): cell.value
        for row in table.rows
        for j, cell in enumerate(row.cells)
    }


def _stats(db, make_user, kommun="Härryda"):
    return services.statistics_for(db, make_user(roles=("caseworker",), kommun=kommun), 2026, 1, TODAY)


def test_counts_equal_an_independent_count(db, make_user, fixture_decisions):
    stats = _stats(db, make_user)
    expected = _expected()
    for table in stats.tables:
        got = {k: v for k, v in _counts(table).items() if v}
        assert got == dict(expected[table.key]), table.title
        for row in table.rows:
            assert row.total.value == sum(c.value for c in row.cells)
    assert stats.grand_total.value == len(SPECS)
    assert [c.value for c in stats.tables[0].total.cells] == [10, 5, 1]
    # The same set as the IVO report.
    user = make_user(roles=("auditor",))
    assert len(decisions.ivo_report_for(db, user, 2026, 1, TODAY).rows) == stats.grand_total.value


def test_no_cell_under_the_minimum_and_none_derivable(db, make_user, fixture_decisions):
    stats = _stats(db, make_user)
    texts = {}
    for table in stats.tables:
        for row in (*table.rows, table.total):
            for j, cell in enumerate((*row.cells, row.total)):
                texts[(table.key, row.label, j)] = cell.text
                assert cell.text not in ("1", "2"), (table.title, row.label)
                if cell.text.isdigit():
                    assert int(cell.text) == 0 or int(cell.text) >= 3
    assert texts[("insats", "SoL: Kontaktperson", 0)] in ("färre än 3", "×")  # the type with 1
    assert texts[("insats", "SoL: Familjehem", 3)] in ("färre än 3", "×")  # the type with 2
    assert texts[("insats", "LSS: Korttidsvistelse", 1)] in ("färre än 3", "×")  # one man
    assert texts[("insats", "Totalt", 2)] in ("färre än 3", "×")  # one of unknown sex
    # Secondary suppression: a reader who combines every published sum cannot pin a hidden count.
    for key, values in possible_values(stats).items():
        assert len(values) >= 2, key


def test_the_minimum_is_configurable(app, db, make_user, fixture_decisions, monkeypatch):
    assert app.config["STATISTICS_MIN_COUNT"] == 3
    monkeypatch.setitem(app.config, "STATISTICS_MIN_COUNT", 5)
    with app.app_context():
        stats = _stats(db, make_user)
    assert stats.minimum == 5
    daily = next(r for r in stats.tables[0].rows if r.label == "LSS: Daglig verksamhet")
    assert [c.text for c in daily.cells[:2]] == ["färre än 5", "färre än 5"]  # 3 and 3
    for key, values in possible_values(stats).items():
        assert len(values) >= 2, key
    monkeypatch.setitem(app.config, "STATISTICS_MIN_COUNT", 1)  # below 2 nobody would be protected
    with app.app_context():
        assert _stats(db, make_user).minimum == 2


def test_another_municipalitys_decisions_are_never_counted(db, make_user, fixture_decisions):
    assert _stats(db, make_user).grand_total.value == len(SPECS)
    lerum = _stats(db, make_user, kommun="Lerum")
    assert lerum.grand_total.value == 4
    assert [r.label for r in lerum.tables[0].rows] == ["SoL: HVB-placering"]


def test_the_chart_is_drawn_from_the_suppressed_table(db, make_user, fixture_decisions):
    stats = _stats(db, make_user)
    categories, series = services.chart_series(stats)
    table = next(t for t in stats.tables if t.key == "tid")
    assert categories == [r.label for r in table.rows]
    for j, name in enumerate(("Kvinnor", "Män")):
        for row, value in zip(table.rows, series[name], strict=True):
            if row.cells[j].hidden:
                assert math.isnan(value)
            else:
                assert value == row.cells[j].value
    assert any(math.isnan(v) for values in series.values() for v in values)
    # Sixteen decisions spread thin: every count of women and men by time is hidden, so no chart.
    assert all(math.isnan(v) or v == 0 for values in series.values() for v in values)
    assert services.statistics_chart(stats) is None


def test_a_chart_and_pdf_with_enough_decisions(app):
    spread = {("kvinna", D(2025, 10, 1)): 4, ("kvinna", D(2025, 6, 1)): 3, ("man", D(2025, 11, 1)): 3}
    spread[("man", D(2025, 5, 1))] = 3
    rows = [report_row("Daglig verksamhet", sex, day) for (sex, day), n in spread.items() for _ in range(n)]
    stats = services.build_statistics(report(rows), 3)
    categories, series = services.chart_series(stats)
    assert categories == ["3–6 månader", "6–12 månader", "Mer än 12 månader"]
    assert series == {"Kvinnor": [4.0, 3.0, 0.0], "Män": [3.0, 3.0, 0.0]}
    svg = services.statistics_chart(stats)
    assert "Beslut efter tid sedan beslutet, kvinnor och män" in svg
    with app.test_request_context():
        pdf = services.statistics_pdf(stats)
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Beslut efter tid sedan beslutet" in text  # the chart's text stays text
    assert "3–6 månader" in text


def _no_private_data(text: str, transfer):
    assert transfer.reference not in text
    for secret in (WOMAN, MAN, "19800101", *PRIVATE):
        assert secret not in text


def test_the_page(login_as, fixture_decisions):
    transfer, _ = fixture_decisions
    c = login_as("legal", kommun="Härryda")
    response = c.get("/rapporter/statistik?ar=2026&kvartal=1")
    assert response.status_code == 200
    page = re.sub(r"\s+", " ", response.get_data(as_text=True))
    assert "Härryda, kvartal 1 2026" in page
    assert "färre än 3" in page and "LSS: Daglig verksamhet" in page
    assert "/rapporter/statistik.pdf?ar=2026&amp;kvartal=1" in page
    assert "/rapporter/statistik.csv?ar=2026&amp;kvartal=1" in page
    assert "Inget diagram: det finns inga antal som kan visas." in page  # all hidden (see the chart test)
    _no_private_data(page, transfer)
    assert 'href="/rapporter/statistik"' in c.get("/").get_data(as_text=True)  # the menu item


def test_a_bad_quarter_and_no_municipality(login_as, fixture_decisions):
    response = login_as("caseworker", kommun="Härryda").get("/rapporter/statistik?ar=2026&kvartal=9")
    assert response.status_code == 422
    assert "Kvartalet ska vara 1, 2, 3 eller 4." in response.get_data(as_text=True)
    assert login_as("sysadmin", kommun=None).get("/rapporter/statistik?ar=2026&kvartal=1").status_code == 403


def test_the_csv_reads_back_as_the_tables(login_as, db, make_user, fixture_decisions):
    transfer, _ = fixture_decisions
    response = login_as("finance", kommun="Härryda").get("/rapporter/statistik.csv?ar=2026&kvartal=1")
    assert response.status_code == 200
    assert (
        'filename="statistik-ej-verkstallda-beslut-1401-2026-K1.csv"'
        in response.headers["Content-Disposition"]
    )
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    _no_private_data(text, transfer)
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    stats = _stats(db, make_user)
    expected = [
        (table.title, row.label, *(c.text for c in (*row.cells, row.total)))
        for table in stats.tables
        for row in (*table.rows, table.total)
    ]
    got = [
        (r["Tabell"], r["Kategori"], r["Kvinnor"], r["Män"], r["Uppgift saknas"], r["Totalt"]) for r in rows
    ]
    assert got == expected
    assert {r["Kommunkod"] for r in rows} == {"1401"} and {r["Rapportdag"] for r in rows} == {"2026-03-31"}


def test_the_pdf(login_as, fixture_decisions):
    transfer, _ = fixture_decisions
    response = login_as("admin", kommun="Härryda").get("/rapporter/statistik.pdf?ar=2026&kvartal=1")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.get_data()))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Ej verkställda beslut enligt SoL och LSS, kvartal 1 2026" in text
    assert "Härryda (1401)" in text and "2026-03-31" in text
    assert "färre än 3" in text and "LSS: Daglig verksamhet" in text
    _no_private_data(text, transfer)
