"""CSV for Excel in Sweden: `;` between fields, decimal comma without thousands separators (so Excel
reads numbers as numbers), ISO dates, UTF-8 with a byte order mark, CR LF. One row per invoice line,
with the invoice's number, dates, parties, agreement, period and total repeated on each row. Amounts
are signed as they change what the buyer owes: a credit note's are negative."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal

from billing.exports.common import UNIT_TEXT, buyer_sign, is_credit_note
from billing.models import INVOICE_STATUS_LABELS, Invoice

MEDIA_TYPE = "text/csv"
COLUMNS = [
    "Fakturanummer",
    "Typ",
    "Status",
    "Fakturadatum",
    "Förfallodatum",
    "OCR",
    "Säljare",
    "Säljarens organisationsnummer",
    "Köpare",
    "Köparens organisationsnummer",
    "Avtal",
    "Avtalets titel",
    "Period från",
    "Period till",
    "Er referens",
    "Krediterar faktura",
    "Rad",
    "Text",
    "Beräkning",
    "Antal",
    "Enhet",
    "À-pris",
    "Belopp",
    "Momskategori",
    "Momssats",
    "Fakturans belopp exkl. moms",
    "Fakturans moms",
    "Fakturans total",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value) -> str:
    """Dates ISO, None empty; text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def number_cell(value: Decimal, decimals: int | None = 2) -> str:
    """`1234,50`, `-2825,00`; with decimals=None as few as needed (`2,5`, `10`)."""
    value = Decimal(value)
    if decimals is None:
        value = value.normalize()
        text = f"{value:f}"
    else:
        text = f"{value.quantize(Decimal(1).scaleb(-decimals)):f}"
    return text.replace(".", ",")


def price_cell(value: Decimal) -> str:
    """Öre (`1120,00`) unless a finer price was agreed (`0,3125`)."""
    value = Decimal(value)
    return number_cell(value, 2 if value == value.quantize(Decimal("0.01")) else None)


def invoice_rows(invoice: Invoice) -> list[list[str]]:
    sign = buyer_sign(invoice)
    credit = is_credit_note(invoice)
    original = invoice.original if credit else None
    head = [
        text_cell(invoice.display_number if invoice.is_issued else ""),
        "Kreditfaktura" if credit else "Faktura",
        INVOICE_STATUS_LABELS[invoice.status],
        text_cell(invoice.issue_date),
        text_cell(invoice.due_date),
        text_cell(invoice.ocr),
        text_cell(invoice.seller.name),
        text_cell(invoice.seller.org_number),
        text_cell(invoice.buyer.name),
        text_cell(invoice.buyer.org_number),
        text_cell(invoice.agreement.number),
        text_cell(invoice.agreement.title),
        text_cell(invoice.period_start),
        text_cell(invoice.period_end),
        text_cell(invoice.buyer_reference),
        text_cell(original.display_number if original is not None else None),
    ]
    tail = [
        number_cell(Decimal(invoice.net_amount) * sign),
        number_cell(Decimal(invoice.vat_amount) * sign),
        number_cell(Decimal(invoice.total_amount) * sign),
    ]
    rows = []
    for line in invoice.lines:
        rows.append(
            head
            + [
                str(line.position),
                text_cell(line.description),
                text_cell(line.computation),
                number_cell(Decimal(line.quantity) * sign, None),
                UNIT_TEXT[line.unit],
                price_cell(line.unit_price),
                number_cell(Decimal(line.amount) * sign),
                line.vat_category.value,
                number_cell(line.vat_rate, None),
            ]
            + tail
        )
    return rows


def build_csv(invoices: Iterable[Invoice]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for invoice in invoices:
        writer.writerows(invoice_rows(invoice))
    return buffer.getvalue().encode("utf-8-sig")
