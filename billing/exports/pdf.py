"""The invoice or credit note as a Swedish PDF, through the project's single PDF function
(core.pdf.render_pdf). A draft is rendered on the fly and marked UTKAST on every page; an issued
invoice is rendered once at issue and its stored bytes are what every download serves.

A whole run renders in ONE wkhtmltopdf process: one HTML document with a page break before each
invoice, split afterwards into one PDF per invoice (pypdf). Each invoice's first page carries its id
("Dokument-id i Samverkan: 17") as a link to `urn:samverkan:faktura:17`, so the split finds where each
invoice begins from the pages' link annotations (reading the pages' text instead costs about 0.1 s a
page), and checks it found every invoice in order; if not, it tries the text, and then falls back to
one process per invoice rather than hand out a wrong split.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app, has_app_context, render_template
from pypdf import PdfReader, PdfWriter

from billing.exports.common import (
    UNIT_TEXT,
    VAT_CATEGORY_TEXT,
    VatRow,
    buyer_sign,
    digits,
    format_rate,
    is_credit_note,
    vat_breakdown,
)
from billing.models import Invoice
from contracts.models import VatCategory
from core.formatting import format_date, format_money, format_number
from core.models import Municipality
from core.pdf import render_pdf

TEMPLATE = "billing/exports/invoice.html"
MEDIA_TYPE = "application/pdf"
MARKER = "Dokument-id i Samverkan:"
MARKER_URN = "urn:samverkan:faktura:"  # the marker is a link: its annotation is found without reading text
_MARKER_RE = re.compile(r"Dokument-id\s*i\s*Samverkan:\s*(\d+)")


@dataclass(frozen=True)
class PartyView:
    name: str
    address_lines: list[str]
    org_number: str | None
    vat_number: str | None
    email: str | None


@dataclass(frozen=True)
class LineView:
    description: str
    computation: str
    quantity: str
    unit: str
    unit_price: str
    amount: str
    vat: str


@dataclass(frozen=True)
class VatView:
    label: str
    rate: str
    taxable: str
    vat: str
    exemption: str | None


@dataclass
class InvoiceView:
    """Everything one invoice shows, formatted in sv-SE (the template only places it)."""

    id: int
    title: str  # Faktura / Kreditfaktura
    draft: bool
    number: str | None
    issue_date: str
    due_date: str
    ocr: str | None
    agreement: str
    period: str
    buyer_reference: str | None
    our_reference: str | None
    seller: PartyView
    buyer: PartyView
    lines: list[LineView]
    vat_rows: list[VatView]
    exemptions: list[str]
    net: str
    vat: str
    total: str
    total_label: str
    bankgiro: str | None
    payment_terms: str
    credits: str | None  # "Krediterar faktura F1001 (2026-11-02)"
    credit_reason: str | None
    note: str | None
    watermarks: int


def _party_view(municipality: Municipality, with_vat: bool) -> PartyView:
    lines = [x for x in (municipality.street_address,) if x]
    place = " ".join(x for x in (municipality.postal_code, municipality.city) if x)
    if place:
        lines.append(place)
    org = digits(municipality.org_number)
    return PartyView(
        name=municipality.name,
        address_lines=lines,
        org_number=municipality.org_number,
        vat_number=f"SE{org}01" if with_vat and len(org) == 10 else None,
        email=municipality.invoice_email,
    )


def _quantity(value: Decimal) -> str:
    """2.5000 -> `2,5`; 10.0000 -> `10`; 1234.25 -> `1 234,25`."""
    return format_number(Decimal(value))


def _unit_price(value: Decimal) -> str:
    value = Decimal(value)
    # Prices are stored with four decimals; show öre unless a finer price was agreed.
    if value == value.quantize(Decimal("0.01")):
        return format_money(value)
    return f"{format_number(value.normalize())}\u00a0kr"


def _vat_text(line) -> str:
    if line.vat_category == VatCategory.S:
        return f"{format_rate(line.vat_rate)}\u00a0%"
    return line.vat_category.value


def _vat_view(row: VatRow) -> VatView:
    return VatView(
        label=row.label if row.category == VatCategory.S else VAT_CATEGORY_TEXT[row.category],
        rate=f"{format_rate(row.rate)}\u00a0%" if row.category != VatCategory.O else "–",
        taxable=format_money(row.taxable),
        vat=format_money(row.vat),
        exemption=(
            f"{row.category.value}: {row.exemption_reason or VAT_CATEGORY_TEXT[row.category]}"
            + (f" ({row.exemption_code})" if row.exemption_code else "")
            if row.category != VatCategory.S
            else None
        ),
    )


def _our_reference(invoice: Invoice) -> str | None:
    for party in invoice.agreement.parties:
        if party.municipality_id == invoice.seller_municipality_id and party.contact_name:
            return party.contact_name
    return None


def invoice_view(invoice: Invoice, final: bool | None = None) -> InvoiceView:
    """`final`: render as issued. At issue the number, dates and OCR are set before the status
    changes, so the issuing path says so; otherwise the status decides (a draft says UTKAST)."""
    sign = buyer_sign(invoice)
    credit = is_credit_note(invoice)
    with_vat = any(line.vat_category != VatCategory.O for line in invoice.lines)
    draft = not (invoice.is_issued if final is None else final)
    breakdown = vat_breakdown(invoice.lines, sign)
    lines = [
        LineView(
            description=line.description,
            computation=line.computation,
            quantity=_quantity(Decimal(line.quantity) * sign),
            unit=UNIT_TEXT[line.unit],
            unit_price=_unit_price(line.unit_price),
            amount=format_money(Decimal(line.amount) * sign),
            vat=_vat_text(line),
        )
        for line in invoice.lines
    ]
    vat_rows = [_vat_view(row) for row in breakdown]
    original = invoice.original if credit else None
    agreement = invoice.agreement
    if credit:
        terms = (
            "Beloppet dras av från den krediterade fakturan, eller betalas tillbaka om den redan är betald."
        )
    else:
        terms = f"{invoice.payment_terms_days} dagar netto."
    title = "Kreditfaktura" if credit else "Faktura"
    return InvoiceView(
        id=invoice.id,
        title=title,
        draft=draft,
        number=None if draft else invoice.display_number,
        issue_date=format_date(invoice.issue_date),
        due_date=format_date(invoice.due_date),
        ocr=invoice.ocr,
        agreement=f"{agreement.number} – {agreement.title}",
        period=f"{format_date(invoice.period_start)} – {format_date(invoice.period_end)}",
        buyer_reference=invoice.buyer_reference,
        our_reference=_our_reference(invoice),
        seller=_party_view(invoice.seller, with_vat),
        buyer=_party_view(invoice.buyer, with_vat),
        lines=lines,
        vat_rows=vat_rows,
        exemptions=[v.exemption for v in vat_rows if v.exemption],
        net=format_money(Decimal(invoice.net_amount) * sign),
        vat=format_money(Decimal(invoice.vat_amount) * sign),
        total=format_money(Decimal(invoice.total_amount) * sign),
        total_label="Att betala" if not credit else "Summa kredit",
        bankgiro=invoice.seller.bankgiro,
        payment_terms=terms,
        credits=(
            f"Krediterar faktura {original.display_number or '(utkast)'}"
            + (f" ({format_date(original.issue_date)})" if original.issue_date else "")
            if original is not None
            else None
        ),
        credit_reason=invoice.credit_reason if credit else None,
        note=invoice.note,
        # A diagonal UTKAST every 650 CSS pixels (a page holds about 1 300): enough for the lines.
        watermarks=(4 + len(invoice.lines) // 6) if draft else 0,
    )


def document_title(invoice: Invoice, final: bool | None = None) -> str:
    """`Faktura F1001`, `Kreditfaktura F1002`, `Faktura (utkast)`."""
    kind = "Kreditfaktura" if is_credit_note(invoice) else "Faktura"
    issued = invoice.is_issued if final is None else final
    return f"{kind} {invoice.display_number}" if issued else f"{kind} (utkast)"


def render_invoices_html(invoices: Iterable[Invoice], final: bool | None = None) -> str:
    """One HTML document with every invoice, each starting on a new page."""
    return render_template(
        TEMPLATE, documents=[invoice_view(i, final) for i in invoices], marker=MARKER, marker_urn=MARKER_URN
    )


def render_invoice_pdf(invoice: Invoice, final: bool | None = None) -> bytes:
    """One invoice or credit note as PDF bytes (UTKAST unless issued, or `final` at issue)."""
    return render_pdf(render_invoices_html([invoice], final))


def _first_pages_by_link(reader: PdfReader) -> list[tuple[int, int]]:
    """(page index, invoice id) for every page that begins an invoice, from the marker's link
    annotation (cheap: no text extraction)."""
    found = []
    for index, page in enumerate(reader.pages):
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A") or {}
            uri = str(action.get("/URI") or "")
            if uri.startswith(MARKER_URN):
                found.append((index, int(uri[len(MARKER_URN) :])))
                break
    return found


def _first_pages_by_text(reader: PdfReader) -> list[tuple[int, int]]:
    """The same from the pages' text (slow: about 0.1 s a page), if a renderer drops the links."""
    found = []
    for index, page in enumerate(reader.pages):
        match = _MARKER_RE.search(" ".join((page.extract_text() or "").split()))
        if match:
            found.append((index, int(match.group(1))))
    return found


def split_pdf(
    pdf: bytes, invoice_ids: list[int], titles: dict[int, str] | None = None
) -> dict[int, bytes] | None:
    """Split a batch PDF into one PDF per invoice by the id marker on each invoice's first page;
    None when the markers are not exactly the invoices in order."""
    reader = PdfReader(io.BytesIO(pdf))

    def matches(starts: list[tuple[int, int]]) -> bool:
        return bool(starts) and starts[0][0] == 0 and [invoice_id for _, invoice_id in starts] == invoice_ids

    starts = _first_pages_by_link(reader)
    if not matches(starts):
        starts = _first_pages_by_text(reader)
        if not matches(starts):
            return None
    result = {}
    bounds = [index for index, _ in starts] + [len(reader.pages)]
    for k, invoice_id in enumerate(invoice_ids):
        writer = PdfWriter()
        for index in range(bounds[k], bounds[k + 1]):
            writer.add_page(reader.pages[index])
        writer.add_metadata({"/Title": (titles or {}).get(invoice_id, "Faktura"), "/Producer": "Samverkan"})
        out = io.BytesIO()
        writer.write(out)
        result[invoice_id] = out.getvalue()
    return result


def render_invoice_pdfs(
    invoices: Iterable[Invoice],
    progress: Callable[[int], None] | None = None,
    final: bool | None = None,
) -> dict[int, bytes]:
    """Many invoices in one wkhtmltopdf process, split into {invoice id: PDF bytes}. `progress(n)` is
    told how many more invoices are done (for a progress bar); `final` as for render_invoice_pdf."""
    invoices = list(invoices)
    if not invoices:
        return {}
    if len(invoices) == 1:
        pdf = render_invoice_pdf(invoices[0], final)
        if progress:
            progress(1)
        return {invoices[0].id: pdf}
    ids = [i.id for i in invoices]
    titles = {i.id: document_title(i, final) for i in invoices}
    parts = split_pdf(render_pdf(render_invoices_html(invoices, final)), ids, titles)
    if parts is None:
        if has_app_context():
            current_app.logger.warning("batch PDF could not be split by its markers; one process per invoice")
        parts = {}
        for invoice in invoices:
            parts[invoice.id] = render_invoice_pdf(invoice, final)
            if progress:
                progress(1)
        return parts
    if progress:
        progress(len(parts))
    return parts
