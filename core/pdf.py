"""The one PDF function: HTML in, PDF bytes out, through pdfkit and wkhtmltopdf.

Local file access is disabled, so templates must inline their assets (CSS in a <style> element,
images as data: URLs). Swapping the renderer means changing this file only.
"""

from __future__ import annotations

import os
import shutil

import pdfkit
from flask import current_app, has_app_context

from core.errors import DomainError


class PdfUnavailable(DomainError):
    status_code = 503
    code = "pdf_unavailable"
    default_message = (
        "PDF kan inte skapas just nu: programmet wkhtmltopdf saknas på servern. "
        "Be driften installera det (sudo apt-get install wkhtmltopdf)."
    )


class PdfFailed(DomainError):
    status_code = 500
    code = "pdf_failed"
    default_message = "PDF-filen kunde inte skapas. Felet är loggat; försök igen eller kontakta driften."


def wkhtmltopdf_path() -> str | None:
    configured = current_app.config.get("WKHTMLTOPDF") if has_app_context() else None
    path = configured or os.environ.get("WKHTMLTOPDF") or shutil.which("wkhtmltopdf")
    return path if path and os.access(path, os.X_OK) else None


PDF_OPTIONS = {
    "disable-local-file-access": None,
    "encoding": "UTF-8",
    "page-size": "A4",
    "margin-top": "18mm",
    "margin-bottom": "18mm",
    "margin-left": "18mm",
    "margin-right": "18mm",
    "quiet": None,
}


def render_pdf(html: str) -> bytes:
    """Render self-contained HTML to PDF bytes; raise PdfUnavailable when wkhtmltopdf is missing."""
    path = wkhtmltopdf_path()
    if path is None:
        raise PdfUnavailable()
    config = pdfkit.configuration(wkhtmltopdf=path)
    try:
        pdf = pdfkit.from_string(html, False, configuration=config, options=PDF_OPTIONS)
    except OSError as exc:
        if has_app_context():
            current_app.logger.exception("wkhtmltopdf failed")
        raise PdfFailed() from exc
    if not pdf or not pdf.startswith(b"%PDF"):
        raise PdfFailed()
    return pdf
