"""The documents stored at issue and every download of them: store_issue_documents adds the PDF and the
validated Peppol XML with sha256 and size; pages and API serve exactly the stored bytes to the seller
and the buyer and 404 to everyone else; drafts render on the fly as UTKAST and have no XML; a run's
files come as ZIPs."""

from __future__ import annotations

import hashlib
import io
import zipfile
from contextlib import contextmanager

import pytest
from flask_login import login_user

from billing.errors import EInvoiceInvalid
from billing.exports import documents, peppol
from billing.models import DocumentFormat, InvoiceDocument, InvoiceStatus, RunStatus
from tests.billing.exports_support import (
    issue,
    make_run,
    need_pdf_tools,
    need_rules,
    number_invoice,
    pdf_text,
    set_details,
)


@pytest.fixture
def details(db, municipality):
    set_details(db, municipality)


@pytest.fixture
def agreement(make_agreement, details):
    return make_agreement(number="GR-JAV-2024", title="Jävsärenden i Göteborgsregionen")


@pytest.fixture
def rendering(app, make_user):
    """`with rendering():` a request context with a signed-in user, for rendering outside a request.
    Left before the test client is used: a pushed context would lend its user to the client's requests."""
    user = make_user(roles=("finance",), kommun="Göteborg")

    @contextmanager
    def _enter():
        with app.test_request_context("/"):
            login_user(user)
            yield user

    return _enter


@pytest.fixture
def issued(db, make_invoice, agreement, rendering):
    """An issued invoice from Göteborg to Härryda with its stored documents."""
    need_pdf_tools()
    need_rules()
    with rendering():
        return issue(db, make_invoice(agreement))


def stored(db, invoice, fmt: DocumentFormat) -> InvoiceDocument:
    db.expire_all()
    return documents.stored_document(db, invoice, fmt)


def test_store_issue_documents_adds_pdf_and_xml_with_sha256(db, issued):
    pdf = stored(db, issued, DocumentFormat.PDF)
    xml = stored(db, issued, DocumentFormat.PEPPOL)
    assert pdf.media_type == "application/pdf" and xml.media_type == "application/xml"
    for document in (pdf, xml):
        assert document.sha256 == hashlib.sha256(document.content).hexdigest()
        assert document.size_bytes == len(document.content)
    assert pdf.content.startswith(b"%PDF")
    assert issued.display_number.encode() in xml.content
    assert peppol.validate_xml(xml.content).ok
    assert issued.display_number in pdf_text(pdf.content)


def test_an_invalid_einvoice_stops_the_issue_and_stores_nothing(
    db, make_invoice, agreement, municipality, rendering
):
    municipality("Härryda").org_number = None
    db.commit()
    invoice = make_invoice(agreement)
    with rendering(), pytest.raises(EInvoiceInvalid):
        issue(db, invoice)
    db.rollback()
    db.expire_all()
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
    assert db.query(InvoiceDocument).filter_by(invoice_id=invoice.id).count() == 0


@pytest.mark.parametrize("kommun", ["Göteborg", "Härryda"])
def test_seller_and_buyer_download_exactly_the_stored_bytes(db, issued, login_as, kommun):
    pdf = stored(db, issued, DocumentFormat.PDF)
    xml = stored(db, issued, DocumentFormat.PEPPOL)
    client = login_as("finance", kommun=kommun)
    for url, document in (
        (f"/fakturor/{issued.id}/faktura.pdf", pdf),
        (f"/api/v1/invoices/{issued.id}/pdf", pdf),
        (f"/fakturor/{issued.id}/peppol.xml", xml),
        (f"/api/v1/invoices/{issued.id}/peppol", xml),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert hashlib.sha256(response.data).hexdigest() == document.sha256
        assert response.data == document.content
        assert response.mimetype == document.media_type
        assert response.headers["Cache-Control"] == "private, no-store"
    disposition = client.get(f"/fakturor/{issued.id}/faktura.pdf").headers["Content-Disposition"]
    assert f"faktura_{issued.display_number}.pdf" in disposition


def test_the_stored_pdf_is_served_even_if_the_register_changes_later(db, issued, login_as, municipality):
    before = stored(db, issued, DocumentFormat.PDF).content
    municipality("Härryda").street_address = "Ny adress 1"
    db.commit()
    response = login_as("auditor", kommun="Härryda").get(f"/fakturor/{issued.id}/faktura.pdf")
    assert response.data == before
    assert "Ny adress 1" not in pdf_text(response.data)


@pytest.mark.parametrize(
    ("roles", "kommun"),
    [(("finance",), "Malmö"), (("auditor",), "Lerum"), (("caseworker",), "Härryda"), (("sysadmin",), None)],
)
def test_everyone_else_gets_404(db, issued, login_as, roles, kommun):
    client = login_as(*roles, kommun=kommun)
    for url in (
        f"/fakturor/{issued.id}/faktura.pdf",
        f"/fakturor/{issued.id}/peppol.xml",
        f"/api/v1/invoices/{issued.id}/pdf",
        f"/api/v1/invoices/{issued.id}/peppol",
    ):
        assert client.get(url).status_code == 404, url


def test_draft_pdf_on_the_fly_with_utkast_and_no_xml(db, make_invoice, agreement, login_as):
    need_pdf_tools()
    draft = make_invoice(agreement)
    client = login_as("finance", kommun="Härryda")
    response = client.get(f"/fakturor/{draft.id}/faktura.pdf")
    assert response.status_code == 200
    assert "UTKAST" in pdf_text(response.data)
    assert f"faktura_utkast_{draft.id}.pdf" in response.headers["Content-Disposition"]
    page = client.get(f"/fakturor/{draft.id}/peppol.xml")
    assert page.status_code == 409
    assert "Ett utkast har ingen e-faktura" in page.get_data(as_text=True)
    api = client.get(f"/api/v1/invoices/{draft.id}/peppol")
    assert api.status_code == 409 and api.get_json()["message"].startswith("Ett utkast har ingen e-faktura")


def test_an_issued_invoice_without_stored_documents_is_a_clear_error(db, make_invoice, agreement, login_as):
    invoice = issue(db, make_invoice(agreement), store=False)
    response = login_as("finance", kommun="Göteborg").get(f"/api/v1/invoices/{invoice.id}/pdf")
    assert response.status_code == 409
    assert "lagrades inte" in response.get_json()["message"]


def test_run_pdfs_and_peppol_as_zip_of_the_stored_files(
    db, make_invoice, agreement, municipality, login_as, rendering
):
    need_pdf_tools()
    need_rules()
    run = make_run(db, municipality, status=RunStatus.APPROVED)
    with rendering():
        first = issue(db, make_invoice(agreement, buyer="Härryda", run=run))
        second = issue(db, make_invoice(agreement, buyer="Lerum", run=run))
    run.status = RunStatus.ISSUED
    db.commit()
    client = login_as("finance", kommun="Göteborg")
    response = client.get(f"/fakturakorningar/{run.id}/export?format=pdf")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    for invoice in (first, second):
        name = f"faktura_{invoice.display_number}.pdf"
        assert archive.read(name) == stored(db, invoice, DocumentFormat.PDF).content
    xml_zip = zipfile.ZipFile(
        io.BytesIO(client.get(f"/api/v1/invoice-runs/{run.id}/export?format=peppol").data)
    )
    assert sorted(xml_zip.namelist()) == sorted(f"faktura_{i.display_number}.xml" for i in (first, second))
    assert (
        xml_zip.read(f"faktura_{first.display_number}.xml")
        == stored(db, first, DocumentFormat.PEPPOL).content
    )
    # The run is the seller's: the buyers and everyone else get 404.
    for kommun in ("Härryda", "Malmö"):
        assert (
            login_as("finance", kommun=kommun)
            .get(f"/fakturakorningar/{run.id}/export?format=pdf")
            .status_code
            == 404
        )
    assert client.get(f"/fakturakorningar/{run.id}/export?format=xlsx").status_code == 422


def test_a_draft_runs_pdfs_render_in_one_batch_marked_utkast(
    db, make_invoice, agreement, municipality, login_as
):
    need_pdf_tools()
    run = make_run(db, municipality, status=RunStatus.DRAFT)
    drafts = [make_invoice(agreement, buyer=b, run=run) for b in ("Härryda", "Lerum")]
    client = login_as("finance", kommun="Göteborg")
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/invoice-runs/{run.id}/export?format=pdf").data))
    assert sorted(archive.namelist()) == sorted(f"faktura_utkast_{d.id}.pdf" for d in drafts)
    for draft in drafts:
        text = pdf_text(archive.read(f"faktura_utkast_{draft.id}.pdf"))
        assert "UTKAST" in text and draft.buyer.name in text
    response = client.get(f"/api/v1/invoice-runs/{run.id}/export?format=peppol")
    assert response.status_code == 409
    assert "utfärdade" in response.get_json()["message"]


def test_invoice_and_run_panels_link_the_downloads(db, issued, municipality, rendering, make_user):
    from billing.exports.views import invoice_panel, run_panel

    run = make_run(db, municipality)
    with rendering() as seller_user:
        html = invoice_panel(seller_user, issued)
        run_html = run_panel(seller_user, run)
        outsider = make_user(roles=("finance",), kommun="Malmö")
        assert invoice_panel(outsider, issued) is None and run_panel(outsider, run) is None
    assert f"/fakturor/{issued.id}/faktura.pdf" in html and f"/fakturor/{issued.id}/peppol.xml" in html
    for fmt in ("pdf", "peppol", "sie", "csv"):
        assert f"/fakturakorningar/{run.id}/export?format={fmt}" in run_html


def test_a_run_issued_together_stores_every_invoice_from_one_batch(db, make_invoice, agreement, rendering):
    """store_issue_documents_batch: every XML validated first, all PDFs from one wkhtmltopdf process."""
    need_pdf_tools()
    need_rules()
    invoices = [make_invoice(agreement, buyer=b) for b in ("Härryda", "Lerum")]
    done = []
    with rendering():
        for invoice in invoices:
            number_invoice(db, invoice)
        documents.store_issue_documents_batch(db, invoices, progress=done.append)
        for invoice in invoices:
            invoice.status = InvoiceStatus.ISSUED
        db.commit()
    assert sum(done) == 2
    for invoice in invoices:
        pdf = stored(db, invoice, DocumentFormat.PDF)
        text = pdf_text(pdf.content)
        assert f"Fakturanummer {invoice.display_number}" in text and "UTKAST" not in text
        assert invoice.buyer.name in text
        assert pdf.sha256 == hashlib.sha256(pdf.content).hexdigest()
        assert peppol.validate_xml(stored(db, invoice, DocumentFormat.PEPPOL).content).ok


def test_a_batch_with_one_invalid_invoice_stores_nothing(
    db, make_invoice, agreement, municipality, rendering
):
    need_rules()
    municipality("Lerum").org_number = None
    db.commit()
    invoices = [make_invoice(agreement, buyer=b) for b in ("Härryda", "Lerum")]
    with rendering():
        for invoice in invoices:
            number_invoice(db, invoice)
        with pytest.raises(EInvoiceInvalid) as excinfo:
            documents.store_issue_documents_batch(db, invoices)
    assert "Köparens organisationsnummer saknas (Lerum)" in excinfo.value.message
    with db.no_autoflush:
        assert all(invoice.documents == [] for invoice in invoices)
