"""The documents stored at issue: called by the invoicing part inside the issuing transaction, and the
stored bytes that every download of an issued invoice serves."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from billing.exports import pdf as pdf_export
from billing.exports import peppol
from billing.models import DocumentFormat, Invoice, InvoiceDocument
from core.errors import Conflict

MEDIA_TYPES = {DocumentFormat.PDF: pdf_export.MEDIA_TYPE, DocumentFormat.PEPPOL: peppol.MEDIA_TYPE}


class DocumentMissing(Conflict):
    code = "invoice_document_missing"
    default_message = "Fakturans dokument lagrades inte när den utfärdades och kan därför inte hämtas."


def _document(invoice: Invoice, fmt: DocumentFormat, content: bytes) -> InvoiceDocument:
    return InvoiceDocument(
        invoice=invoice,
        format=fmt,
        media_type=MEDIA_TYPES[fmt],
        sha256=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        content=content,
    )


def _replace_documents(session: Session, invoice: Invoice, documents: list[InvoiceDocument]) -> None:
    # An invoice that is not issued yet may carry documents of an earlier attempt in this transaction.
    for old in list(invoice.documents):
        if old not in documents:
            invoice.documents.remove(old)
            session.delete(old)
    session.add_all(documents)


def store_issue_documents(session: Session, invoice: Invoice, pdf: bytes | None = None) -> None:
    """Render the invoice's PDF and Peppol XML once, validate the XML against the Peppol rules (raise
    billing.errors.EInvoiceInvalid when it fails: the invoice is then not issued), and add both as
    InvoiceDocument rows with their sha256. Called after the number, dates and OCR are set and before
    the status becomes issued. `pdf`: the invoice's PDF when it was already rendered in a batch
    (render_invoice_pdfs(..., final=True)).

    Nothing is flushed here, and no autoflush happens while the documents are rendered: the invoice
    has its number but not yet its status, which the database refuses (a number exactly when issued).
    The caller's flush, after the status is set, writes the invoice and its documents together."""
    with session.no_autoflush:
        # The XML first: it is cheap and the check most likely to refuse.
        xml = peppol.validated_invoice_xml(invoice)
        if pdf is None:
            pdf = pdf_export.render_invoice_pdf(invoice, final=True)
        _replace_documents(
            session,
            invoice,
            [_document(invoice, DocumentFormat.PDF, pdf), _document(invoice, DocumentFormat.PEPPOL, xml)],
        )


def store_issue_documents_batch(
    session: Session, invoices: Iterable[Invoice], progress: Callable[[int], None] | None = None
) -> None:
    """store_issue_documents for several invoices issued together (a run), once each has its number,
    dates and OCR: every XML is validated before any PDF is rendered, then all PDFs come from one
    wkhtmltopdf process. Raises on the first invalid document, naming its number, so nothing of the
    batch is stored. Like store_issue_documents, it does not flush."""
    invoices = list(invoices)
    with session.no_autoflush:
        xmls = {invoice.id: peppol.validated_invoice_xml(invoice) for invoice in invoices}
        pdfs = pdf_export.render_invoice_pdfs(invoices, progress=progress, final=True)
        for invoice in invoices:
            _replace_documents(
                session,
                invoice,
                [
                    _document(invoice, DocumentFormat.PDF, pdfs[invoice.id]),
                    _document(invoice, DocumentFormat.PEPPOL, xmls[invoice.id]),
                ],
            )


def stored_document(session: Session, invoice: Invoice, fmt: DocumentFormat) -> InvoiceDocument:
    """The stored PDF or XML of an issued invoice, with its content; DocumentMissing if there is none."""
    document = session.scalar(
        select(InvoiceDocument)
        .where(InvoiceDocument.invoice_id == invoice.id, InvoiceDocument.format == fmt)
        .options(undefer(InvoiceDocument.content))
    )
    if document is None:
        what = "PDF:en" if fmt == DocumentFormat.PDF else "E-fakturan (Peppol)"
        raise DocumentMissing(
            f"{what} för {invoice.display_number or 'fakturan'} lagrades inte när fakturan utfärdades och kan "
            "inte hämtas. Kontakta driften."
        )
    return document


def stored_documents(session: Session, invoices: list[Invoice], fmt: DocumentFormat) -> dict[int, bytes]:
    """{invoice id: stored bytes} for issued invoices, in one query; DocumentMissing names the first gap."""
    rows = session.execute(
        select(InvoiceDocument.invoice_id, InvoiceDocument.content).where(
            InvoiceDocument.invoice_id.in_([i.id for i in invoices]), InvoiceDocument.format == fmt
        )
    ).all()
    found = {invoice_id: content for invoice_id, content in rows}
    for invoice in invoices:
        if invoice.id not in found:
            stored_document(session, invoice, fmt)  # raises with the invoice's number
    return found
