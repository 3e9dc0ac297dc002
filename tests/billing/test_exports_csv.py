"""CSV for Excel in Sweden, parsed back: UTF-8 with BOM, `;` between fields, decimal comma without
thousands separators, one row per invoice line with the invoice's data repeated, credit notes
negative, formula-looking text neutralised."""

from __future__ import annotations

import csv
import io

import pytest

from billing.exports import csv_export
from billing.models import RunStatus
from contracts.models import ServiceUnit
from tests.billing.exports_support import issue, make_run, set_details


@pytest.fixture
def agreement(make_agreement, db, municipality):
    set_details(db, municipality)
    return make_agreement(number="GR-JAV-2024", title="Jävsärenden i Göteborgsregionen")


def parse(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel needs to read UTF-8
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def test_one_row_per_line_with_decimal_comma(db, make_invoice, agreement):
    invoice = make_invoice(
        agreement,
        lines=[("Utredning", "12.25", "1120.00", "S"), ("=Resor", "1234", "2.50", "S")],
    )
    invoice.lines[1].unit = ServiceUnit.KM
    db.commit()
    issue(db, invoice, store=False)
    rows = parse(csv_export.build_csv([invoice]))
    assert list(rows[0]) == csv_export.COLUMNS
    assert len(rows) == 2
    first, second = rows
    assert first["Fakturanummer"] == invoice.display_number
    assert first["Typ"] == "Faktura" and first["Status"] == "Utfärdad"
    assert first["Fakturadatum"] == "2026-11-02" and first["Förfallodatum"] == "2026-12-02"
    assert first["OCR"] == invoice.ocr
    assert first["Säljare"] == "Göteborg" and first["Köparens organisationsnummer"] == "212000-1371"
    assert first["Avtal"] == "GR-JAV-2024" and first["Avtalets titel"] == "Jävsärenden i Göteborgsregionen"
    assert (first["Period från"], first["Period till"]) == ("2026-10-01", "2026-10-31")
    assert first["Er referens"] == "REF-1"
    assert first["Text"] == "Utredning" and first["Beräkning"] == "12.25 × 1120.00"
    assert first["Antal"] == "12,25" and first["Enhet"] == "tim"
    assert first["À-pris"] == "1120,00" and first["Belopp"] == "13720,00"
    assert first["Momskategori"] == "S" and first["Momssats"] == "25"
    assert second["Text"] == "'=Resor"  # never run as a formula
    assert second["Antal"] == "1234" and second["Enhet"] == "km" and second["Belopp"] == "3085,00"
    assert first["Fakturans belopp exkl. moms"] == "16805,00"
    assert first["Fakturans moms"] == "4201,25"
    assert first["Fakturans total"] == second["Fakturans total"] == "21006,25"


def test_credit_note_rows_are_negative_and_name_the_original(db, make_invoice, agreement):
    original = issue(db, make_invoice(agreement), store=False)
    credit = issue(
        db,
        make_invoice(
            agreement, kind="credit_note", original=original, lines=[("Kredit", "-1", "1120.00", "O")]
        ),
        store=False,
    )
    (row,) = parse(csv_export.build_csv([credit]))
    assert row["Typ"] == "Kreditfaktura" and row["Krediterar faktura"] == original.display_number
    assert row["Antal"] == "-1" and row["Belopp"] == "-1120,00" and row["Fakturans total"] == "-1120,00"
    assert row["Momssats"] == "0"


def test_run_csv_download_has_drafts_too(db, make_invoice, agreement, municipality, login_as):
    run = make_run(db, municipality, status=RunStatus.DRAFT)
    make_invoice(agreement, buyer="Härryda", run=run)
    make_invoice(
        agreement, buyer="Lerum", run=run, lines=[("A", "1", "10.00", "O"), ("B", "2", "10.00", "O")]
    )
    response = login_as("finance", kommun="Göteborg").get(f"/api/v1/invoice-runs/{run.id}/export?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = parse(response.data)
    assert len(rows) == 3
    assert {r["Köpare"] for r in rows} == {"Härryda", "Lerum"}
    assert {r["Status"] for r in rows} == {"Utkast"} and {r["Fakturanummer"] for r in rows} == {""}
