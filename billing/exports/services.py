"""What the pages, the API and the CLI download: one invoice's PDF or Peppol XML (the stored bytes of
an issued invoice, a UTKAST PDF of a draft), a run's PDFs or XMLs as a ZIP, and SIE or CSV files for
a run or a period of the seller's issued invoices."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from billing.exports import csv_export, documents, peppol, sie
from billing.exports import pdf as pdf_export
from billing.exports.common import ascii_name, invoice_basename
from billing.models import DocumentFormat, Invoice, InvoiceRun, InvoiceStatus, RunStatus
from billing.permissions import INVOICE_READ
from core.errors import Conflict, ValidationFailed
from core.models import Municipality
from core.permissions import require

ZIP_MEDIA_TYPE = "application/zip"
FORMAT_LABELS = {"pdf": "PDF", "peppol": "Peppol (e-faktura)", "sie": "SIE 4I", "csv": "CSV för Excel"}


class DraftHasNoEInvoice(Conflict):
    code = "draft_has_no_einvoice"
    default_message = (
        "Ett utkast har ingen e-faktura: Peppol-filen skapas och kontrolleras mot Peppol-reglerna när "
        "fakturan utfärdas."
    )


class NothingIssued(Conflict):
    code = "nothing_issued"
    default_message = "Det finns inga utfärdade fakturor att exportera."


@dataclass(frozen=True)
class Download:
    content: bytes
    filename: str
    media_type: str


def invoice_pdf(session: Session, invoice: Invoice) -> Download:
    """The stored PDF of an issued invoice (exactly the bytes stored at issue); a draft on the fly."""
    name = f"{invoice_basename(invoice)}.pdf"
    if invoice.is_issued:
        return Download(
            documents.stored_document(session, invoice, DocumentFormat.PDF).content,
            name,
            pdf_export.MEDIA_TYPE,
        )
    return Download(pdf_export.render_invoice_pdf(invoice), name, pdf_export.MEDIA_TYPE)


def invoice_peppol(session: Session, invoice: Invoice) -> Download:
    """The stored Peppol XML of an issued invoice; a draft has none."""
    if not invoice.is_issued:
        raise DraftHasNoEInvoice()
    document = documents.stored_document(session, invoice, DocumentFormat.PEPPOL)
    return Download(document.content, f"{invoice_basename(invoice)}.xml", peppol.MEDIA_TYPE)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def run_basename(run: InvoiceRun) -> str:
    return f"fakturakorning_{run.id}_{run.period_start:%Y-%m-%d}_{run.period_end:%Y-%m-%d}"


def invoice_pdfs(
    session: Session, invoices: list[Invoice], progress: Callable[[int], None] | None = None
) -> dict[int, bytes]:
    """{invoice id: PDF}: stored bytes for the issued ones, one wkhtmltopdf process for the drafts."""
    issued = [i for i in invoices if i.is_issued]
    drafts = [i for i in invoices if not i.is_issued]
    result = documents.stored_documents(session, issued, DocumentFormat.PDF) if issued else {}
    if progress and issued:
        progress(len(issued))
    result.update(pdf_export.render_invoice_pdfs(drafts, progress=progress))
    return result


def invoices_export(
    session: Session,
    invoices: list[Invoice],
    fmt: str,
    basename: str,
    seller: Municipality,
    progress: Callable[[int], None] | None = None,
) -> Download:
    """The invoices in one download: pdf and peppol as a ZIP with one file per invoice; sie and csv as
    one file."""
    if fmt == "pdf":
        if not invoices:
            raise NothingIssued("Det finns inga fakturor att hämta som PDF.")
        pdfs = invoice_pdfs(session, invoices, progress)
        files = {f"{invoice_basename(i)}.pdf": pdfs[i.id] for i in invoices}
        return Download(_zip(files), f"{basename}_pdf.zip", ZIP_MEDIA_TYPE)
    if fmt == "peppol":
        issued = [i for i in invoices if i.is_issued]
        if not issued:
            raise NothingIssued(
                "Det finns inga utfärdade fakturor här: e-fakturor (Peppol) skapas när fakturorna utfärdas."
            )
        xmls = documents.stored_documents(session, issued, DocumentFormat.PEPPOL)
        if progress:
            progress(len(issued))
        return Download(
            _zip({f"{invoice_basename(i)}.xml": xmls[i.id] for i in issued}),
            f"{basename}_peppol.zip",
            ZIP_MEDIA_TYPE,
        )
    if fmt == "sie":
        content = sie.build_sie(session, seller, invoices)
        if progress:
            progress(len(invoices))
        return Download(content, f"{basename}.SI", sie.MEDIA_TYPE)
    if fmt == "csv":
        content = csv_export.build_csv(invoices)
        if progress:
            progress(len(invoices))
        return Download(content, f"{basename}.csv", csv_export.MEDIA_TYPE)
    raise ValidationFailed(errors={"format": ["Välj format: pdf, peppol, sie eller csv."]})


def _load(session: Session, stmt) -> list[Invoice]:
    stmt = stmt.options(
        selectinload(Invoice.lines),
        selectinload(Invoice.seller),
        selectinload(Invoice.buyer),
        selectinload(Invoice.series),
        selectinload(Invoice.agreement),
    )
    return sorted(session.scalars(stmt), key=lambda i: (i.number is None, i.number or 0, i.id))


def run_invoices(session: Session, run: InvoiceRun) -> list[Invoice]:
    return _load(session, select(Invoice).where(Invoice.run_id == run.id))


def run_export(
    session: Session, run: InvoiceRun, fmt: str, progress: Callable[[int], None] | None = None
) -> Download:
    """A run's invoices: PDFs (drafts as UTKAST) and CSV for every invoice of the run; Peppol and SIE
    only for its issued ones."""
    invoices = run_invoices(session, run)
    if fmt in ("sie",):
        invoices = [i for i in invoices if i.is_issued]
        if not invoices:
            raise NothingIssued(
                "Körningen har inga utfärdade fakturor: SIE-filen skapas av utfärdade fakturor."
            )
    return invoices_export(session, invoices, fmt, run_basename(run), run.seller, progress)


def period_invoices(session: Session, seller_id: int, date_from: dt.date, date_to: dt.date) -> list[Invoice]:
    """The seller's issued invoices and credit notes dated in the period (by invoice date)."""
    return _load(
        session,
        select(Invoice).where(
            Invoice.seller_municipality_id == seller_id,
            Invoice.status == InvoiceStatus.ISSUED,
            Invoice.issue_date >= date_from,
            Invoice.issue_date <= date_to,
        ),
    )


def period_export(session: Session, user, date_from: dt.date, date_to: dt.date, fmt: str) -> Download:
    """SIE or CSV of the user's municipality's issued invoices dated in the period."""
    if user.municipality_id is None:
        raise ValidationFailed("Exporten gäller en kommuns fakturor; ditt konto saknar kommun.")
    require(user, INVOICE_READ, user.municipality_id)
    seller = session.get(Municipality, user.municipality_id)
    invoices = period_invoices(session, seller.id, date_from, date_to)
    if not invoices:
        raise NothingIssued(
            f"{seller.name} har inga utfärdade fakturor med fakturadatum {date_from.isoformat()}–{date_to.isoformat()}."
        )
    basename = f"fakturor_{ascii_name(seller.name, 'kommun')}_{date_from:%Y-%m-%d}_{date_to:%Y-%m-%d}"
    return invoices_export(session, invoices, fmt, basename, seller)


def write_run_files(
    session: Session, run: InvoiceRun, fmt: str, out_dir: Path, progress: Callable[[int], None] | None = None
) -> list[Path]:
    """For the CLI: an issued run's documents as files in `out_dir` (one per invoice for pdf and peppol,
    one file for sie and csv). Returns the paths written."""
    if run.status != RunStatus.ISSUED:
        raise Conflict(
            f"Fakturakörning {run.id} är inte utfärdad (status: {run.status.value}). Utfärda den först: "
            f"flask billing issue --run {run.id}"
        )
    invoices = [i for i in run_invoices(session, run) if i.is_issued]
    if not invoices:
        raise NothingIssued(f"Fakturakörning {run.id} har inga utfärdade fakturor.")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if fmt in ("pdf", "peppol"):
        source = DocumentFormat.PDF if fmt == "pdf" else DocumentFormat.PEPPOL
        suffix = ".pdf" if fmt == "pdf" else ".xml"
        contents = documents.stored_documents(session, invoices, source)
        for invoice in invoices:
            path = out_dir / f"{invoice_basename(invoice)}{suffix}"
            path.write_bytes(contents[invoice.id])
            written.append(path)
            if progress:
                progress(1)
        return written
    download = invoices_export(session, invoices, fmt, run_basename(run), run.seller, progress)
    path = out_dir / download.filename
    path.write_bytes(download.content)
    return [path]
