"""The invoice PDF: what it says (read back with pdftotext) for an issued invoice, a standard-rated one
and a credit note; UTKAST on drafts only; a run's PDFs from one wkhtmltopdf process split so each
invoice gets exactly its own pages."""

from __future__ import annotations

import io

import pytest
from flask_login import login_user
from pypdf import PdfReader

from billing.exports import pdf as pdf_export
from billing.models import InvoiceStatus
from core.pdf import PdfUnavailable
from tests.billing.exports_support import issue, need_pdf_tools, need_rules, page_count, pdf_text, set_details


def watermark_letters(pdf: bytes) -> int:
    both = pdf_text(pdf, "-f", "1").split()
    straight = pdf_text(pdf, "-nodiag").split()
    return sum(w in "UTKAST" and len(w) == 1 for w in both) - sum(
        w in "UTKAST" and len(w) == 1 for w in straight
    )


@pytest.fixture
def details(db, municipality):
    set_details(db, municipality)


@pytest.fixture
def agreement(make_agreement, details, db):
    agreement = make_agreement(number="GR-JAV-2024", title="Jävsärenden i Göteborgsregionen")
    agreement.host.contact_name = "Greta Ekonom"
    db.commit()
    return agreement


@pytest.fixture
def in_request(app, make_user):
    """Render inside a request with a signed-in user."""
    contexts = []

    def _enter():
        ctx = app.test_request_context("/")
        ctx.push()
        login_user(make_user(roles=("finance",), kommun="Göteborg"))
        contexts.append(ctx)

    yield _enter
    for ctx in reversed(contexts):
        ctx.pop()


def test_issued_invoice_pdf_says_everything_the_buyer_needs(db, make_invoice, agreement, in_request):
    need_pdf_tools()
    need_rules()
    in_request()
    invoice = issue(
        db, make_invoice(agreement, lines=[("Utredning och handläggning", "12.25", "1120.00", "O")])
    )
    pdf = next(d for d in invoice.documents if d.format.value == "pdf").content
    text = pdf_text(pdf)
    assert "Faktura" in text and "Kreditfaktura" not in text
    assert f"Fakturanummer {invoice.display_number}" in text
    assert f"OCR {invoice.ocr}" in text
    assert "Fakturadatum 2026-11-02" in text and "Förfallodatum 2026-12-02" in text
    assert "13 720,00 kr" in text  # 12,25 h × 1 120,00 kr, sv-SE format
    assert "Att betala 13 720,00 kr" in text
    assert "Göteborg" in text and "Härryda" in text
    assert "Organisationsnummer: 212000-1355" in text and "Organisationsnummer: 212000-1371" in text
    assert "435 80 Mölnlycke" in text
    assert "Momsregistreringsnummer" not in text  # outside the scope of VAT: no VAT numbers
    assert "GR-JAV-2024 – Jävsärenden i Göteborgsregionen" in text
    assert "Period 2026-10-01 – 2026-10-31" in text
    assert "Er referens REF-1" in text and "Vår referens Greta Ekonom" in text
    assert "12.25 × 1120.00" in text  # the line's computation text
    assert "12,25" in text and "tim" in text and "1 120,00 kr" in text
    assert "Utanför momsens tillämpningsområde (myndighetsutövning)" in text
    assert "O: Myndighetsutövning – utanför momsens tillämpningsområde (VATEX-EU-O)" in text
    assert "bankgiro 5050-1097" in text and "30 dagar netto" in text
    assert "UTKAST" not in text and watermark_letters(pdf) == 0


def test_standard_rated_invoice_has_vat_summary_and_vat_numbers(db, make_invoice, agreement, in_request):
    need_pdf_tools()
    in_request()
    invoice = make_invoice(agreement, lines=[("Stödtjänst", "10", "450.00", "S")])
    text = pdf_text(pdf_export.render_invoice_pdf(invoice))
    assert "Moms 25 %" in text
    assert "4 500,00 kr" in text and "1 125,00 kr" in text and "5 625,00 kr" in text
    assert "Momsregistreringsnummer: SE212000135501" in text
    assert "Momsregistreringsnummer: SE212000137101" in text


def test_draft_is_marked_utkast_and_has_no_number(db, make_invoice, agreement, in_request):
    need_pdf_tools()
    in_request()
    draft = make_invoice(agreement)
    pdf = pdf_export.render_invoice_pdf(draft)
    text = pdf_text(pdf)
    assert "UTKAST" in text
    assert "Fakturanummer tilldelas vid utfärdandet" in text
    assert "2 800,00 kr" in text
    # The diagonal watermark too, not only the banner: its letters come out loose.
    assert watermark_letters(pdf) >= 6


def test_credit_note_names_the_invoice_it_credits(db, make_invoice, agreement, in_request):
    need_pdf_tools()
    need_rules()
    in_request()
    original = issue(db, make_invoice(agreement))
    credit = make_invoice(
        agreement,
        kind="credit_note",
        original=original,
        lines=[("Utredning (kredit)", "-2.5", "1120.00", "O")],
        credit_reason="Fel antal timmar",
    )
    issue(db, credit)
    text = pdf_text(next(d for d in credit.documents if d.format.value == "pdf").content)
    assert f"Kreditfakturanummer {credit.display_number}" in text
    assert f"Krediterar faktura {original.display_number} (2026-11-02)" in text
    assert "Orsak: Fel antal timmar" in text
    assert "Summa kredit -2 800,00 kr" in text
    assert "Ingen betalning" in text
    assert "UTKAST" not in text


def test_batch_is_split_so_each_invoice_gets_its_own_pages(db, make_invoice, agreement, in_request):
    need_pdf_tools()
    in_request()
    many_lines = [(f"Utredning ärende {n}", "1.5", "1120.00", "O") for n in range(1, 61)]
    first = make_invoice(agreement, buyer="Härryda")
    long = make_invoice(agreement, buyer="Lerum", lines=many_lines)
    third = make_invoice(
        agreement,
        buyer="Härryda",
        period=(first.period_start.replace(month=9), first.period_end.replace(month=9, day=30)),
    )
    invoices = [first, long, third]
    done = []
    parts = pdf_export.render_invoice_pdfs(invoices, progress=done.append)
    assert list(parts) == [first.id, long.id, third.id]
    assert sum(done) == 3
    assert page_count(parts[long.id]) >= 2  # the long invoice runs over a page and keeps all of them
    assert page_count(parts[first.id]) == 1 and page_count(parts[third.id]) == 1
    for invoice in invoices:
        text = pdf_text(parts[invoice.id])
        assert f"{pdf_export.MARKER} {invoice.id}" in text
        others = [i.id for i in invoices if i.id != invoice.id]
        assert all(f"{pdf_export.MARKER} {other}" not in text for other in others)
    assert "Utredning ärende 60" in pdf_text(parts[long.id])
    assert "Period 2026-09-01 – 2026-09-30" in pdf_text(parts[third.id])
    assert "Lerum" in pdf_text(parts[long.id]) and "Lerum" not in pdf_text(parts[first.id])


def test_split_refuses_markers_that_do_not_match(db, make_invoice, agreement, in_request):
    need_pdf_tools()
    in_request()
    a, b = make_invoice(agreement, buyer="Härryda"), make_invoice(agreement, buyer="Lerum")
    batch = pdf_export.render_pdf(pdf_export.render_invoices_html([a, b]))
    assert pdf_export.split_pdf(batch, [b.id, a.id]) is None
    assert pdf_export.split_pdf(batch, [a.id]) is None
    assert set(pdf_export.split_pdf(batch, [a.id, b.id])) == {a.id, b.id}


def test_the_split_reads_the_marker_links_and_the_text_agrees(db, make_invoice, agreement, in_request):
    need_pdf_tools()
    in_request()
    invoices = [make_invoice(agreement, buyer=b) for b in ("Härryda", "Lerum")]
    reader = PdfReader(io.BytesIO(pdf_export.render_pdf(pdf_export.render_invoices_html(invoices))))
    expected = [(0, invoices[0].id), (1, invoices[1].id)]
    assert pdf_export._first_pages_by_link(reader) == expected
    assert pdf_export._first_pages_by_text(reader) == expected


def test_missing_wkhtmltopdf_is_a_clear_error(
    app, db, make_invoice, agreement, in_request, monkeypatch, tmp_path
):
    in_request()
    monkeypatch.setitem(app.config, "WKHTMLTOPDF", str(tmp_path / "saknas"))
    with pytest.raises(PdfUnavailable):
        pdf_export.render_invoice_pdf(make_invoice(agreement))


def test_final_flag_renders_an_invoice_being_issued_without_utkast(db, make_invoice, agreement, in_request):
    in_request()
    invoice = make_invoice(agreement)
    assert invoice.status == InvoiceStatus.DRAFT
    assert pdf_export.invoice_view(invoice).draft is True
    assert pdf_export.invoice_view(invoice, final=True).draft is False
    html = pdf_export.render_invoices_html([invoice], final=True)
    assert "UTKAST" not in html
