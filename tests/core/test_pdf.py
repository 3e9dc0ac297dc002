import io
import shutil

import pytest
from pypdf import PdfReader

from core import create_app
from core.pdf import PdfFailed, PdfUnavailable, render_pdf
from tests.support import IN_CI


def _text(pdf: bytes) -> str:
    """The PDF's text with runs of whitespace (pypdf yields tabs) collapsed to single spaces."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def _need_wkhtmltopdf():
    if shutil.which("wkhtmltopdf") is None:
        if IN_CI:
            pytest.fail("wkhtmltopdf saknas: make test ska installera Debian-paketet wkhtmltopdf")
        pytest.skip("wkhtmltopdf saknas (sudo apt-get install wkhtmltopdf)")


def test_render_pdf_produces_a_pdf_with_the_text():
    _need_wkhtmltopdf()
    pdf = render_pdf("<html><body><h1>Faktura</h1><p>Att betala: 1 234,50 kr</p><p>Härryda</p></body></html>")
    assert pdf.startswith(b"%PDF")
    assert "1 234,50 kr" in _text(pdf)
    assert "Härryda" in _text(pdf)


def test_local_files_cannot_be_read_into_a_pdf(tmp_path):
    """Local file access is disabled: a template that points at a file is refused, never rendered."""
    _need_wkhtmltopdf()
    secret = tmp_path / "hemlig.html"
    secret.write_text("<p>HEMLIGT-INNEHALL</p>")
    with pytest.raises(PdfFailed) as excinfo:
        render_pdf(f'<html><body><iframe src="file://{secret}"></iframe><p>Synligt</p></body></html>')
    assert "kunde inte skapas" in excinfo.value.message


def test_missing_wkhtmltopdf_is_a_clear_swedish_error(tmp_path):
    # A configured path that does not exist means "not installed": a clear answer, not a crash.
    app = create_app({"ENV": "testing", "DATABASE_URL": "sqlite://", "WKHTMLTOPDF": str(tmp_path / "saknas")})
    with app.app_context(), pytest.raises(PdfUnavailable) as excinfo:
        render_pdf("<p>x</p>")
    assert excinfo.value.status_code == 503
    assert "wkhtmltopdf saknas" in excinfo.value.message
