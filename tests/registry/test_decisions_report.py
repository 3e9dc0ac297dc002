"""The quarterly IVO report: which decisions are in it, the CSV file IVO's reporter opens in Excel,
and `flask registry ivo-export`."""

from __future__ import annotations

import csv
import io

import pytest

from core.personal_numbers import find_personal_numbers
from registry.cli import registry_cli
from registry.decisions import services
from registry.models import TransferStatus
from tests.registry.test_decisions_support import D, add_decision

Q1_2026_REPORTED = D(2026, 4, 15)  # in Q1's reporting window: the quarter is over


@pytest.fixture
def transfer(make_transfer, legal_bases):
    return make_transfer(requesting="Härryda", performing="Lerum", status=TransferStatus.ACCEPTED)


@pytest.fixture
def harryda(municipality):
    return municipality("Härryda")


@pytest.fixture
def basis(legal_bases):
    return legal_bases["SOL-KONTAKTPERSON"]


def _ids(rows):
    return {row.decision_id for row in rows}


def _row(rows, decision):
    return next(row for row in rows if row.decision_id == decision.id)


# --- Which decisions are in a quarter's report ---------------------------------------------------


def test_not_executed_after_three_months_at_quarter_end(db, transfer, basis, harryda):
    late = add_decision(db, basis, D(2025, 11, 30), transfer=transfer)  # deadline 2026-02-28
    on_the_edge = add_decision(db, basis, D(2025, 12, 31), transfer=transfer)  # deadline 2026-03-31
    rows = services.reportable_in_quarter(db, harryda, 2026, 1, Q1_2026_REPORTED)
    assert _ids(rows) == {late.id}
    row = _row(rows, late)
    assert row.report_type_label == "Ej verkställt beslut"
    assert row.days_since_decision == 121  # 2025-11-30 -> 2026-03-31
    assert row.execution_date is None and row.interruption_date is None
    assert row.situation == "Ej verkställt efter tre månader"
    # The decision on the edge is still within its three months on 31 March: it belongs to Q2.
    assert _ids(services.reportable_in_quarter(db, harryda, 2026, 2, D(2026, 7, 15))) == {
        late.id,
        on_the_edge.id,
    }


def test_executed_late_during_the_quarter_is_reported_once_with_the_date(db, transfer, basis, harryda):
    decision = add_decision(db, basis, D(2025, 10, 1), transfer=transfer, execution_date=D(2026, 2, 15))
    rows = services.reportable_in_quarter(db, harryda, 2026, 1, Q1_2026_REPORTED)
    row = _row(rows, decision)
    assert row.execution_date == D(2026, 2, 15)
    assert row.situation == "Verkställt efter mer än tre månader"
    assert services.reportable_in_quarter(db, harryda, 2026, 2, D(2026, 7, 15)) == []


def test_executed_on_the_first_day_of_the_quarter_still_tells_ivo(db, transfer, basis, harryda):
    decision = add_decision(db, basis, D(2025, 9, 1), transfer=transfer, execution_date=D(2026, 1, 1))
    assert _ids(services.reportable_in_quarter(db, harryda, 2025, 4, D(2026, 1, 15))) == {decision.id}
    row = _row(services.reportable_in_quarter(db, harryda, 2026, 1, Q1_2026_REPORTED), decision)
    assert row.execution_date == D(2026, 1, 1)


def test_executed_in_time_or_before_the_quarter_is_not_reported(db, transfer, basis, harryda):
    add_decision(
        db, basis, D(2025, 12, 1), transfer=transfer, execution_date=D(2026, 3, 1)
    )  # the deadline day
    add_decision(
        db, basis, D(2025, 8, 1), transfer=transfer, execution_date=D(2025, 12, 20)
    )  # late, but in Q4
    assert services.reportable_in_quarter(db, harryda, 2026, 1, Q1_2026_REPORTED) == []


def test_closed_before_the_quarter_is_not_reported(db, transfer, basis, harryda):
    add_decision(
        db, basis, D(2025, 8, 1), transfer=transfer, closed_on=D(2025, 12, 15), closing_reason="Avliden"
    )
    add_decision(  # closed within its three months: never reportable
        db, basis, D(2025, 11, 1), transfer=transfer, closed_on=D(2026, 1, 20), closing_reason="Flyttat"
    )
    assert services.reportable_in_quarter(db, harryda, 2026, 1, Q1_2026_REPORTED) == []


def test_closed_during_the_quarter_is_reported_with_date_and_reason(db, transfer, basis, harryda):
    decision = add_decision(
        db,
        basis,
        D(2025, 9, 15),  # deadline 2025-12-15: reportable until it was closed
        transfer=transfer,
        closed_on=D(2026, 1, 1),
        closing_reason="Tackade nej till insatsen",
        delay_reason="Ingen ledig kontaktfamilj",
        offers=((D(2025, 12, 1), True),),
    )
    row = _row(services.reportable_in_quarter(db, harryda, 2026, 1, Q1_2026_REPORTED), decision)
    assert (row.closed_on, row.closing_reason) == (D(2026, 1, 1), "Tackade nej till insatsen")
    assert row.situation == "Avslutat"
    assert row.delay_reason == "Ingen ledig kontaktfamilj"
    assert [(o.offered_on, o.declined) for o in row.offers] == [(D(2025, 12, 1), True)]
    assert services.reportable_in_quarter(db, harryda, 2026, 2, D(2026, 7, 15)) == []


def test_interrupted_over_three_months(db, transfer, basis, harryda):
    open_long = add_decision(
        db,
        basis,
        D(2025, 5, 1),
        transfer=transfer,
        execution_date=D(2025, 6, 1),
        interruptions=((D(2025, 10, 15), None),),
    )
    resumed_in_time = add_decision(
        db,
        basis,
        D(2025, 5, 1),
        transfer=transfer,
        execution_date=D(2025, 6, 1),
        interruptions=((D(2025, 11, 1), D(2026, 1, 20)),),
    )
    resumed_late = add_decision(
        db,
        basis,
        D(2025, 5, 1),
        transfer=transfer,
        execution_date=D(2025, 6, 1),
        interruptions=((D(2025, 9, 1), D(2026, 2, 10)),),
    )
    rows = services.reportable_in_quarter(db, harryda, 2026, 1, Q1_2026_REPORTED)
    assert _ids(rows) == {open_long.id, resumed_late.id}
    row = _row(rows, open_long)
    assert row.report_type_label == "Avbrott i verkställighet"
    assert row.interruption_date == D(2025, 10, 15)
    assert row.resumed_on is None
    assert row.situation == "Avbrott i mer än tre månader"
    late = _row(rows, resumed_late)
    assert (late.interruption_date, late.resumed_on) == (D(2025, 9, 1), D(2026, 2, 10))
    assert resumed_in_time.id not in _ids(rows)


def test_quarter_selection_and_events_after_the_quarter(db, transfer, basis, harryda):
    decision = add_decision(
        db,
        basis,
        D(2025, 11, 30),
        transfer=transfer,
        execution_date=D(2026, 4, 10),
        offers=((D(2026, 4, 2), False),),
    )
    q1 = services.reportable_in_quarter(db, harryda, 2026, 1, Q1_2026_REPORTED)
    row = _row(q1, decision)
    # Known now, but after the quarter: Q1's report describes 31 March.
    assert row.execution_date is None
    assert row.offers == ()
    assert row.situation == "Ej verkställt efter tre månader"
    assert services.reportable_in_quarter(db, harryda, 2025, 4, Q1_2026_REPORTED) == []
    q2 = services.reportable_in_quarter(db, harryda, 2026, 2, D(2026, 7, 1))
    assert _row(q2, decision).execution_date == D(2026, 4, 10)
    assert services.reportable_in_quarter(db, harryda, 2026, 3, D(2026, 10, 1)) == []


def test_running_and_future_quarters(db, transfer, basis, harryda):
    decision = add_decision(db, basis, D(2025, 11, 30), transfer=transfer)
    assert services.reportable_in_quarter(db, harryda, 2026, 1, D(2026, 2, 28)) == []
    rows = services.reportable_in_quarter(db, harryda, 2026, 1, D(2026, 3, 1))
    assert _ids(rows) == {decision.id}
    assert rows[0].days_since_decision == 91
    assert services.reportable_in_quarter(db, harryda, 2026, 3, D(2026, 3, 1)) == []


def test_only_the_responsible_municipality_and_supervised_bases(
    db, transfer, make_transfer, legal_bases, municipality
):
    basis = legal_bases["SOL-KONTAKTPERSON"]
    ours = add_decision(db, basis, D(2025, 10, 1), transfer=transfer)
    unsupervised = legal_bases["SOL-HVB"]
    unsupervised.reportable = False
    db.commit()
    add_decision(db, unsupervised, D(2025, 10, 1), transfer=transfer)
    other = make_transfer(requesting="Mölndal", performing="Härryda", status=TransferStatus.ACCEPTED)
    add_decision(db, basis, D(2025, 10, 1), transfer=other)
    assert _ids(services.reportable_in_quarter(db, municipality("Härryda"), 2026, 1, Q1_2026_REPORTED)) == {
        ours.id
    }
    assert len(services.reportable_in_quarter(db, municipality("Mölndal"), 2026, 1, Q1_2026_REPORTED)) == 1
    assert services.reportable_in_quarter(db, municipality("Lerum"), 2026, 1, Q1_2026_REPORTED) == []


def test_decisions_under_an_agreement_are_reported_with_a_reference(db, make_agreement, basis, municipality):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda",), number="GR-JAV-2024")
    harryda = municipality("Härryda")
    decision = add_decision(db, basis, D(2025, 10, 1), agreement=agreement, responsible_municipality=harryda)
    rows = services.reportable_in_quarter(db, harryda, 2026, 1, Q1_2026_REPORTED)
    assert _row(rows, decision).case_reference == f"GR-JAV-2024 beslut {decision.id}"


# --- The CSV file -------------------------------------------------------------------------------


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_csv_has_swedish_headers_bom_semicolons_and_both_references(db, transfer, harryda, legal_bases):
    basis = legal_bases["SOL-FAMILJEHEM"]
    add_decision(
        db,
        basis,
        D(2025, 11, 30),
        transfer=transfer,
        insats_type="Placering i familjehem",
        delay_reason="Inget familjehem; =HYPERLINK kontrolleras",
        ivo_person_ref="19850101-T124",
        offers=((D(2026, 1, 15), True), (D(2026, 2, 10), False)),
    )
    add_decision(
        db,
        legal_bases["LSS-9-4"],
        D(2025, 10, 1),
        transfer=transfer,
        ivo_person_ref="20100505-B137",
        delay_reason="=1+1",
    )
    add_decision(db, legal_bases["LSS-9-6"], D(2025, 10, 2), transfer=transfer)
    data = services.export_ivo_csv(db, harryda, 2026, 1, Q1_2026_REPORTED)
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == ";".join(services.CSV_COLUMNS)
    rows = _csv(data)
    header = rows[0]
    assert header[:4] == ["Ärendereferens", "IVO-personreferens", "Kön", "Rapporttyp"]
    assert "Lagrum (tidigare numrering)" in header and "Lagrum (ny numrering)" in header
    records = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert len(records) == 3
    lss, lss6, sol = records  # ordered by decision date
    assert sol["Ärendereferens"] == transfer.reference
    assert sol["IVO-personreferens"] == "19850101-T124"
    assert sol["Kön"] == "kvinna"
    assert lss["Kön"] == "man"
    assert lss6["Kön"] == "" and lss6["IVO-personreferens"] == ""
    assert sol["Lag"] == "SoL"
    assert sol["Lagrum (tidigare numrering)"] == "SoL (2001:453) 4 kap. 1 §"
    assert sol["Lagrum (ny numrering)"] == "SoL (2025:400) 10 kap. 1 § (?)"
    assert sol["Typ av insats"] == "Placering i familjehem"
    assert sol["Beslutsdatum"] == "2025-11-30"
    assert sol["Erbjudanden"] == "2026-01-15 avböjt; 2026-02-10 ej avböjt"
    assert sol["Skäl till dröjsmål"] == "Inget familjehem; =HYPERLINK kontrolleras"
    assert sol["Dagar sedan beslut"] == "121"
    assert sol["Rapporttyp"] == "Ej verkställt beslut"
    assert sol["Verkställighetsdatum"] == "" and sol["Avslutsdatum"] == ""
    assert lss["Skäl till dröjsmål"] == "'=1+1"  # a spreadsheet must not run it as a formula
    assert lss["Lagrum (tidigare numrering)"] == lss["Lagrum (ny numrering)"] == "LSS 9 § 4"


def test_csv_never_contains_a_personal_identity_number(db, transfer, harryda, basis):
    add_decision(
        db,
        basis,
        D(2025, 10, 1),
        transfer=transfer,
        ivo_person_ref="19121212-A212",
        execution_date=D(2026, 2, 1),
        offers=((D(2025, 12, 12), False),),
    )
    text = services.export_ivo_csv(db, harryda, 2026, 1, Q1_2026_REPORTED).decode("utf-8-sig")
    assert "19121212-A212" in text
    assert find_personal_numbers(text) == []
    assert "1212-1212" not in text


def test_empty_report_has_only_the_header(db, harryda, legal_bases):
    rows = _csv(services.export_ivo_csv(db, harryda, 2026, 1, Q1_2026_REPORTED))
    assert rows == [list(services.CSV_COLUMNS)]


# --- `flask registry ivo-export` ----------------------------------------------------------------


def test_cli_export_writes_the_file(app, db, make_transfer, legal_bases, tmp_path, monkeypatch):
    monkeypatch.setattr(services, "today", lambda: Q1_2026_REPORTED)
    transfer = make_transfer(requesting="Göteborg", performing="Mölndal", status=TransferStatus.ACCEPTED)
    add_decision(db, legal_bases["LSS-9-9"], D(2025, 10, 1), transfer=transfer, insats_type="Gruppbostad")
    out = tmp_path / "ivo.csv"
    result = app.test_cli_runner().invoke(
        registry_cli,
        ["ivo-export", "--municipality", "1480", "--year", "2026", "--quarter", "1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "1 beslut för Göteborg, kvartal 1 2026" in result.output
    rows = _csv(out.read_bytes())
    assert rows[1][0] == transfer.reference
    assert "Gruppbostad" in rows[1]


def test_cli_export_refuses_an_unknown_municipality(app, db, tmp_path):
    out = tmp_path / "ivo.csv"
    result = app.test_cli_runner().invoke(
        registry_cli,
        ["ivo-export", "--municipality", "9999", "--year", "2026", "--quarter", "1", "--out", str(out)],
    )
    assert result.exit_code == 1
    assert "Det finns ingen kommun med kommunkod 9999" in result.output
    assert not out.exists()
    bad = app.test_cli_runner().invoke(
        registry_cli,
        ["ivo-export", "--municipality", "1480", "--year", "2026", "--quarter", "5", "--out", str(out)],
    )
    assert bad.exit_code == 2
