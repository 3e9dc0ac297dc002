"""The overviews as files and JSON: CSV parsed back (`;`, decimal comma, BOM), PDF text with the key
figures and the charts drawn (their titles and axis text come from the SVG), the API's shape."""

from __future__ import annotations

import csv
import io
import shutil
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tests.support import IN_CI


def parse_csv(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def amount(cell: str) -> Decimal:
    assert "." not in cell
    return Decimal(cell.replace(",", "."))


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ").split())


def need_wkhtmltopdf():
    if shutil.which("wkhtmltopdf") is None:
        if IN_CI:
            pytest.fail("wkhtmltopdf saknas")
        pytest.skip("wkhtmltopdf saknas (sudo apt-get install wkhtmltopdf)")


def test_overview_csv_parses_back_to_the_figures(db, data, login_as):
    client = login_as("finance", kommun="Göteborg")
    response = client.get("/oversikt/oversikt.csv?ar=2025")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=oversikt-1480-2025.csv")
    rows = parse_csv(response.data)
    assert list(rows[0])[-1] == "Uppföljning 2025"
    a1 = {r["År"]: r for r in rows if r["Avtal"] == "OV-GBG-1"}
    assert set(a1) == {"2022", "2023", "2024", "2025"}
    assert amount(a1["2025"]["Pengar in exkl. moms"]) == Decimal("6680.00")  # 2 800 - 1 120 + 5 000
    assert a1["2025"]["Roll"] == "Utförare (värdkommun)" and a1["2025"]["Uppföljning 2025"] == "Skickad"
    assert a1["2025"]["Sista uppsägningsdag"] == "2026-06-30"
    totals = {r["År"]: r for r in rows if r["Avtal"] == "Totalt"}
    assert amount(totals["2025"]["Pengar in exkl. moms"]) == Decimal("7457.00")
    assert amount(totals["2025"]["Pengar ut exkl. moms"]) == Decimal("3000.00")
    assert amount(totals["2025"]["Netto"]) == Decimal("4457.00")
    for year, total in totals.items():
        agreement_rows = [r for r in rows if r["År"] == year and r["Avtal"] != "Totalt"]
        assert sum(amount(r["Pengar in exkl. moms"]) for r in agreement_rows) == amount(
            total["Pengar in exkl. moms"]
        )
    assert not any(r["Avtal"] == "OV-LER-3" for r in rows)


def test_national_csv_parses_back(db, data, login_as):
    response = login_as("sysadmin").get("/oversikt/nationell/nationell-oversikt.csv?ar=2025")
    assert response.status_code == 200
    rows = parse_csv(response.data)
    by_name = {r["Kommun"]: r for r in rows}
    assert amount(by_name["Göteborg"]["Fakturerat av kommunen exkl. moms"]) == Decimal("7457.00")
    assert by_name["Härryda"]["Rapporteringspliktiga ej verkställda beslut"] == "1"
    total = by_name["Totalt"]
    body = [r for r in rows if r["Kommun"] != "Totalt"]
    assert amount(total["Fakturerat av kommunen exkl. moms"]) == sum(
        amount(r["Fakturerat av kommunen exkl. moms"]) for r in body
    )
    assert total["Öppna ärendeöverlämningar"] == "3"
    assert total["Skickade uppföljningar 2025"] == "1"


def test_overview_pdf_has_the_figures_and_the_charts(db, data, login_as):
    need_wkhtmltopdf()
    response = login_as("auditor", kommun="Göteborg").get("/oversikt/oversikt.pdf?ar=2025")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "Översikt för Göteborg 2025" in text
    for figure in ("7 457,00 kr", "3 000,00 kr", "4 457,00 kr", "OV-GBG-1", "OV-HRY-2", "2026-06-30"):
        assert figure in text, figure
    assert "OV-LER-3" not in text
    # Each chart's title is drawn by the SVG and repeated in the caption under it; the legend and the
    # axis label exist only in the drawing.
    for title in ("Pengar in och ut per månad 2025", "Fakturerat per motpart 2025"):
        assert text.count(title) == 2, title
    assert "Pengar in (vi har fakturerat)" in text and "kronor" in text


def test_national_pdf_has_the_totals_and_the_charts(db, data, login_as):
    need_wkhtmltopdf()
    response = login_as("sysadmin").get("/oversikt/nationell/nationell-oversikt.pdf?ar=2025")
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "Nationell översikt 2025" in text and "Totalt" in text and "7 457,00 kr" in text
    for title in ("Fakturerat per kommun 2025, de 15 största", "Fakturerat per län 2025"):
        assert text.count(title) == 2, title


def test_overview_api_shape(db, data, login_as):
    response = login_as("finance", kommun="Göteborg").get("/api/v1/overview/?year=2025")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {
        "municipality_id",
        "municipality_name",
        "kommunkod",
        "year",
        "years",
        "today",
        "totals",
        "months",
        "agreements",
        "counterparties",
        "deadlines",
        "followup_year",
        "reconciliations",
    }
    assert body["years"] == [2022, 2023, 2024, 2025] and body["today"] == "2026-05-15"
    assert body["totals"][-1] == {
        "year": 2025,
        "money_in": "7457.00",
        "money_out": "3000.00",
        "net": "4457.00",
    }
    assert body["months"]["money_in"][2] == "1680.00" and len(body["months"]["money_out"]) == 12
    a1 = next(a for a in body["agreements"] if a["number"] == "OV-GBG-1")
    assert a1["followup_status"] == "sent" and a1["last_notice_date"] == "2026-06-30"
    assert a1["years"][-1]["money_in"] == "6680.00"
    assert any(d["date"] == "2026-06-30" for d in body["deadlines"])
    assert login_as("finance", kommun="Göteborg").get("/api/v1/overview/?year=2027").status_code == 422
    assert login_as("finance", kommun="Göteborg").get("/api/v1/overview/?bogus=1").status_code == 200
