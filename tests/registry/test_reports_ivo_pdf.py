"""The quarter's IVO report as PDF: the rows' key fields, the header, landscape, scope, the links on
the IVO page, and the demo renders its reports."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.auth import User
from core.formatting import local_today
from registry.dates import quarter_of
from registry.decisions import services as decisions
from registry.models import Decision, TransferStatus
from registry.reports import services as reports
from tests.registry.test_decisions_support import D, add_decision

TODAY = D(2026, 4, 15)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(decisions, "today", lambda: TODAY)


def _text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def reported(db, make_agreement, make_transfer, legal_bases):
    agreement = make_agreement(host="Lerum", buyers=("Härryda",))
    next(p for p in agreement.parties if p.municipality.name == "Härryda").board = "Socialnämnden i Härryda"
    transfer = make_transfer(
        requesting="Härryda", performing="Lerum", agreement=agreement, status=TransferStatus.DECIDED
    )
    waiting = add_decision(
        db,
        legal_bases["SOL-KONTAKTPERSON"],
        D(2025, 11, 30),
        transfer=transfer,
        insats_type="Kontaktfamilj varannan helg",
        ivo_person_ref="19850101-T124",
        delay_reason="Ingen kontaktfamilj har hittats",
        offers=((D(2026, 1, 20), True),),
    )
    executed = add_decision(
        db,
        legal_bases["LSS-9-10"],
        D(2025, 9, 1),
        transfer=transfer,
        insats_type="Daglig verksamhet",
        ivo_person_ref="19900202-K131",
        execution_date=D(2026, 2, 10),
    )
    return transfer, waiting, executed


def test_the_pdf_has_the_rows_and_the_header(login_as, reported):
    transfer, _waiting, _executed = reported
    response = login_as("caseworker", kommun="Härryda").get("/rapporter/ivo.pdf?ar=2026&kvartal=1")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert 'filename="ivo-ej-verkstallda-beslut-1401-2026-K1.pdf"' in response.headers["Content-Disposition"]
    pdf = response.get_data()
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert page.mediabox.width > page.mediabox.height  # landscape: the table is wide
    text = _text(pdf)
    for expected in (
        "Ej verkställda beslut, kvartal 1 2026",
        "Härryda (1401)",
        "Socialnämnden i Härryda",
        "2026-01-01–2026-03-31",
        "Antal beslut 2",
        transfer.reference,
        "19850101-T124",
        "19900202-K131",
        "kvinna",
        "SoL (2001:453) 4 kap. 1 §",  # old and new reference
        "SoL (2025:400) 10 kap. 1 § (?)",
        "LSS 9 § 10",
        "Kontaktfamilj varannan helg",
        "2025-11-30",
        "2026-01-20 avböjt",
        "Ingen kontaktfamilj har hittats",
        "Verkställt 2026-02-10",
    ):
        # Narrow columns may wrap a value: compare without the spaces.
        assert expected.replace(" ", "") in text.replace(" ", ""), expected


def test_another_municipality_gets_only_its_own(login_as, reported):
    transfer, _w, _e = reported
    text = _text(
        login_as("caseworker", kommun="Lerum").get("/rapporter/ivo.pdf?ar=2026&kvartal=1").get_data()
    )
    assert transfer.reference not in text and "19850101-T124" not in text
    assert "Inga beslut att rapportera för kvartalet." in text


def test_a_bad_quarter_is_refused(login_as, reported):
    assert (
        login_as("caseworker", kommun="Härryda").get("/rapporter/ivo.pdf?ar=x&kvartal=1").status_code == 422
    )


def test_the_ivo_page_links_the_pdf_and_the_statistics(login_as, reported):
    page = login_as("auditor", kommun="Härryda").get("/beslut/ivo?ar=2026&kvartal=1").get_data(as_text=True)
    assert 'href="/rapporter/ivo.pdf?ar=2026&amp;kvartal=1"' in page
    assert "Ladda ner PDF" in page
    assert 'href="/rapporter/statistik?ar=2026&amp;kvartal=1"' in page


def test_the_demo_renders_its_reports(demo):
    """Through the services on the demo's own session (the demo database is read-only for tests)."""
    db = demo.session
    responsible = set(db.scalars(select(Decision.responsible_municipality_id)))
    user = db.scalar(
        select(User).where(User.municipality_id.in_(responsible), User.active.is_(True)).order_by(User.id)
    )
    assert user is not None
    rendered = 0
    with demo.app.test_request_context():
        today = local_today()  # the demo is dated from the real clock, not the pinned one
        for year, quarter in {decisions.default_report_quarter(today), quarter_of(today)}:
            report = decisions.ivo_report_for(db, user, year, quarter, today)
            stats = reports.build_statistics(report)
            assert stats.grand_total.value == len(report.rows)
            assert _text(reports.ivo_pdf(db, report)).count(report.municipality.name) >= 1
            assert "Ej verkställda beslut enligt SoL och LSS" in _text(reports.statistics_pdf(stats))
            assert reports.statistics_csv_bytes(stats).startswith(b"\xef\xbb\xbfKommun;")
            rendered += len(report.rows)
    db.rollback()
    assert rendered > 0  # the demo has reportable decisions in these quarters
