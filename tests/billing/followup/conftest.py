"""Fixtures of the follow-up tests (helpers append here)."""

from __future__ import annotations

# --- The workflow's fixtures (services, pages, API, CLI, PDF: tests/billing/followup/test_followup_*.py) ---
import datetime as dt  # noqa: E402

import pytest  # noqa: E402

# The registry's transfer and legal-basis factories, for the transfer and decision figures.
from tests.registry.conftest import legal_bases, make_transfer  # noqa: F401

FOLLOWUP_YEAR = 2025
# Net invoiced in 2025 by the fixture `followup_agreement`: Härryda 2 712,50 + 1 085,00, Lerum 5 425,00
# minus a credit note of 1 085,00 (all category O, no VAT).
FOLLOWUP_INVOICED = "8 137,50"


@pytest.fixture
def followup_agreement(db, priced_agreement, make_invoice, make_user):
    """An active agreement (Göteborg performs for Härryda and Lerum, 2024-2026, approved hourly terms)
    with issued invoices for 2025, a credit note, and an owner: a legal officer of Härryda."""
    agreement = priced_agreement
    h1 = make_invoice(
        agreement,
        buyer="Härryda",
        status="issued",
        lines=(("Utredning", "2.5", "1085.00", "O"),),
        period=(dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
    )
    make_invoice(
        agreement,
        buyer="Härryda",
        status="issued",
        lines=(("Utredning", "1", "1085.00", "O"),),
        period=(dt.date(2025, 9, 1), dt.date(2025, 9, 30)),
    )
    lerum = make_invoice(
        agreement,
        buyer="Lerum",
        status="issued",
        lines=(("Utredning", "5", "1085.00", "O"),),
        period=(dt.date(2025, 6, 1), dt.date(2025, 6, 30)),
    )
    make_invoice(
        agreement,
        buyer="Lerum",
        status="issued",
        kind="credit_note",
        original=lerum,
        lines=(("Utredning", "-1", "1085.00", "O"),),  # credit notes carry negative amounts
        period=(dt.date(2025, 6, 1), dt.date(2025, 6, 30)),
    )
    assert h1.is_issued
    owner = make_user(roles=("legal",), kommun="Härryda")
    agreement.owner_id = owner.id
    db.commit()
    agreement.owner_user = owner  # for the tests: who owns it
    return agreement


def need_wkhtmltopdf():
    """The follow-up's PDF needs wkhtmltopdf (its text is read with pypdf, no poppler needed)."""
    import shutil

    from tests.support import IN_CI

    if shutil.which("wkhtmltopdf") is None:
        if IN_CI:
            pytest.fail("wkhtmltopdf saknas: make test ska installera Debian-paketet wkhtmltopdf")
        pytest.skip("wkhtmltopdf saknas (sudo apt-get install wkhtmltopdf)")


def followup_pdf_text(pdf: bytes) -> str:
    """The PDF's text with pypdf, every run of whitespace (also no-break spaces and tabs) one space."""
    import io

    from pypdf import PdfReader

    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
