"""Helpers for the exports tests: the parties' invoicing details, issuing a draft the way the invoicing
part does (number, dates and OCR set, documents stored, then the status), reading PDFs, and the
presence of the tools and of the official Peppol rules (in CI they must be there)."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from stdnum import luhn

from billing.exports.documents import store_issue_documents
from billing.exports.peppol import rules_available, rules_dir
from billing.models import Invoice, InvoiceRun, InvoiceSeries, InvoiceStatus, PeriodKind, RunStatus
from core.db import utcnow
from tests.support import IN_CI

# Göteborg's real organisation number; the others are the demo data's (Luhn valid).
DETAILS = {
    "Göteborg": ("212000-1355", "5050-1097", "Box 1000", "405 30", "Göteborg"),
    "Härryda": ("212000-1371", "540-2961", "Box 200", "435 80", "Mölnlycke"),
    "Lerum": ("212000-1447", "5050-1055", "Box 500", "443 80", "Lerum"),
}
ISSUE_DATE = dt.date(2026, 11, 2)
DUE_DATE = dt.date(2026, 12, 2)


def need_rules():
    if not rules_available():
        message = f"Peppol-reglerna saknas i {rules_dir()} (se ../shared/peppol-rules/README.md)"
        if IN_CI:
            pytest.fail(message + ": i CI ska de finnas.")
        pytest.skip(message)


def need_pdf_tools():
    for program, package in (("wkhtmltopdf", "wkhtmltopdf"), ("pdftotext", "poppler-utils")):
        if shutil.which(program) is None:
            if IN_CI:
                pytest.fail(f"{program} saknas: make test ska installera Debian-paketet {package}")
            pytest.skip(f"{program} saknas (sudo apt-get install {package})")


def pdf_text(pdf: bytes, *options: str) -> str:
    """The PDF's text as pdftotext reads it in layout mode (a label and its value on one line), every run
    of whitespace (also no-break spaces) one space; diagonal text (the UTKAST watermark) left out
    unless other options are asked for."""
    assert pdf.startswith(b"%PDF")
    options = options or ("-layout", "-nodiag")
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *options, "-", "-"], input=pdf, capture_output=True, check=True
    )
    return " ".join(out.stdout.decode("utf-8").replace("\u00a0", " ").split())


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def set_details(db, municipality, names=("Göteborg", "Härryda", "Lerum")) -> None:
    for name in names:
        org, bankgiro, street, postal, city = DETAILS[name]
        m = municipality(name)
        m.org_number, m.bankgiro, m.street_address, m.postal_code, m.city = (
            org,
            bankgiro,
            street,
            postal,
            city,
        )
    db.commit()


def ocr_for(number: int) -> str:
    """The invoice number, a length digit and a Luhn check digit (as the invoicing part makes it)."""
    base = f"{number}{(len(str(number)) + 2) % 10}"
    return base + luhn.calc_check_digit(base)


def series_of(db, seller_id: int) -> InvoiceSeries:
    series = db.scalar(
        select(InvoiceSeries).where(InvoiceSeries.municipality_id == seller_id, InvoiceSeries.code == "F")
    )
    if series is None:
        series = InvoiceSeries(municipality_id=seller_id, code="F", name="Fakturor", last_number=0)
        db.add(series)
        db.flush()
    return series


def number_invoice(db, invoice: Invoice) -> Invoice:
    """Give a draft its number, dates and OCR (not flushed: the status is not issued yet)."""
    with db.no_autoflush:
        series = series_of(db, invoice.seller_municipality_id)
        series.last_number += 1
        invoice.series = series
        invoice.number = series.last_number
        invoice.issue_date = ISSUE_DATE
        invoice.due_date = DUE_DATE
        invoice.ocr = ocr_for(invoice.number)
        invoice.issued_at = utcnow()
    return invoice


def issue(db, invoice: Invoice, store: bool = True) -> Invoice:
    """Issue a draft made by make_invoice as the invoicing part does: number, dates, OCR, the stored
    documents (store_issue_documents), then the status, in one transaction."""
    number_invoice(db, invoice)
    if store:
        store_issue_documents(db, invoice)
    invoice.status = InvoiceStatus.ISSUED
    db.commit()
    return invoice


def make_run(db, municipality, seller="Göteborg", status=RunStatus.ISSUED) -> InvoiceRun:
    run = InvoiceRun(
        seller_municipality_id=municipality(seller).id,
        period_kind=PeriodKind.MONTH,
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        status=status,
    )
    db.add(run)
    db.commit()
    return run
