"""The overviews as files: CSV for Excel in Sweden (`;`, decimal comma, UTF-8 with BOM, CR LF; see
billing.exports.csv_export) and PDF through core.pdf.render_pdf with the charts as data: URLs."""

from __future__ import annotations

import csv
import io

from flask import render_template

from billing.exports.csv_export import number_cell, text_cell
from billing.reports.charts import national_charts, overview_charts
from billing.reports.services import MunicipalityOverview, NationalOverview
from core.formatting import format_date
from core.pdf import render_pdf

CSV_MEDIA_TYPE = "text/csv"
PDF_MEDIA_TYPE = "application/pdf"
TOTAL = "Totalt"

OVERVIEW_COLUMNS = [
    "Avtal",
    "Titel",
    "Roll",
    "Motparter",
    "Status",
    "Nuvarande slutdatum",
    "Sista uppsägningsdag",
    "År",
    "Pengar in exkl. moms",
    "Pengar ut exkl. moms",
    "Netto",
    "Uppföljning",
]
NATIONAL_COLUMNS = [
    "Kommunkod",
    "Kommun",
    "Län",
    "Gällande avtal som utförare",
    "Gällande avtal som köpare",
    "Fakturerat av kommunen exkl. moms",
    "Fakturerat till kommunen exkl. moms",
    "Öppna ärendeöverlämningar",
    "Rapporteringspliktiga ej verkställda beslut",
    "Skickade uppföljningar",
]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def overview_csv(overview: MunicipalityOverview) -> bytes:
    """One row per agreement and shown year, then a total row per year."""
    followup_column = f"Uppföljning {overview.followup_year}"
    rows = []
    for a in overview.agreements:
        for money in a.years:
            rows.append(
                [
                    text_cell(a.number),
                    text_cell(a.title),
                    a.role_label,
                    text_cell(", ".join(a.counterparties)),
                    a.status_label,
                    format_date(a.current_end_date),
                    format_date(a.last_notice_date),
                    str(money.year),
                    number_cell(money.money_in),
                    number_cell(money.money_out),
                    number_cell(money.net),
                    a.followup_label,
                ]
            )
    for money in overview.totals:
        rows.append(
            [TOTAL, "", "", "", "", "", "", str(money.year)]
            + [number_cell(money.money_in), number_cell(money.money_out), number_cell(money.net), ""]
        )
    return _csv(OVERVIEW_COLUMNS[:-1] + [followup_column], rows)


def national_csv(overview: NationalOverview) -> bytes:
    header = NATIONAL_COLUMNS[:-1] + [f"Skickade uppföljningar {overview.followup_year}"]
    rows = [
        [
            r.kommunkod,
            text_cell(r.name),
            text_cell(r.county_name),
            str(r.agreements_as_host),
            str(r.agreements_as_buyer),
            number_cell(r.invoiced_out),
            number_cell(r.invoiced_in),
            str(r.open_transfers),
            str(r.reportable_decisions),
            str(r.followups_sent),
        ]
        for r in overview.rows
    ]
    t = overview.totals
    rows.append(
        [
            "",
            TOTAL,
            "",
            str(t.agreements_as_host),
            str(t.agreements_as_buyer),
            number_cell(t.invoiced_out),
            number_cell(t.invoiced_in),
            str(t.open_transfers),
            str(t.reportable_decisions),
            str(t.followups_sent),
        ]
    )
    return _csv(header, rows)


def overview_pdf(overview: MunicipalityOverview) -> bytes:
    html = render_template("billing/reports/overview_pdf.html", o=overview, charts=overview_charts(overview))
    return render_pdf(html)


def national_pdf(overview: NationalOverview) -> bytes:
    html = render_template("billing/reports/national_pdf.html", o=overview, charts=national_charts(overview))
    return render_pdf(html)


def overview_filename(overview: MunicipalityOverview, extension: str) -> str:
    return f"oversikt-{overview.kommunkod}-{overview.year}.{extension}"


def national_filename(overview: NationalOverview, extension: str) -> str:
    return f"nationell-oversikt-{overview.year}.{extension}"
