"""The follow-up's PDF: it carries the agreement number, the year, the key figures in sv-SE format, the
texts and recommendation, and the charts: their titles and axis labels as text, and their drawing (the
page content of the PDF with charts holds far more filled paths than the same document without)."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader
from pypdf.generic import ContentStream

from billing.followup import charts as charts_module
from billing.followup import document, services
from billing.models import AnnualFollowup, Recommendation
from tests.billing.followup.conftest import FOLLOWUP_INVOICED, followup_pdf_text, need_wkhtmltopdf

TODAY = dt.date(2026, 11, 23)


def _fills(pdf: bytes) -> int:
    """Filled paths drawn on the pages (the charts' bars, markers and lines are paths)."""
    reader = PdfReader(io.BytesIO(pdf))
    count = 0
    for page in reader.pages:
        for _operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator in (b"f", b"f*", b"F", b"B", b"B*", b"S"):
                count += 1
    return count


def _render(app, db, agreement, **kwargs):
    followup = AnnualFollowup(
        agreement=agreement,
        year=2025,
        quality_text="Samverkan har fungerat väl hela året.",
        recommendation=Recommendation.CONTINUE,
        recommendation_text="Avtalet bör förlängas.",
    )
    figures = services.followup_figures(db, agreement, 2025, None, TODAY)
    with app.app_context():
        return figures, document.render_followup_pdf(figures, followup, **kwargs)


def test_pdf_contains_the_key_figures_and_texts(app, db, followup_agreement):
    need_wkhtmltopdf()
    figures, pdf = _render(app, db, followup_agreement, draft=True)
    text = followup_pdf_text(pdf)
    assert followup_agreement.number in text and "Årlig uppföljning 2025" in text
    assert f"{FOLLOWUP_INVOICED} kr" in text  # total net invoiced in sv-SE
    assert "3 797,50 kr" in text and "4 340,00 kr" in text  # per buyer
    assert "Härryda" in text and "Lerum" in text and "Göteborg" in text
    assert "Fortsätta samverkan" in text and "Avtalet bör förlängas." in text
    assert "Samverkan har fungerat väl hela året." in text
    assert figures.notice.text in text
    assert "UTKAST" in text


def test_pdf_holds_the_charts(app, db, followup_agreement, monkeypatch):
    need_wkhtmltopdf()
    _figures, pdf = _render(app, db, followup_agreement, draft=True)
    text = followup_pdf_text(pdf)
    for title in ("Fakturerat per kommun och månad 2025", "Budget och utfall 2025"):
        assert title in text  # the chart's title, drawn as text inside the SVG
    assert "kronor" in text and "jan" in text and "dec" in text  # axis labels drawn as text

    monkeypatch.setattr(document, "followup_charts", lambda figures: [])
    _figures, without = _render(app, db, followup_agreement, draft=True)
    assert "Budget och utfall 2025" not in followup_pdf_text(without)
    assert _fills(pdf) > _fills(without) + 20  # bars, lines and markers were drawn


def test_chart_builders(db, followup_agreement):
    figures = services.followup_figures(db, followup_agreement, 2025, None, TODAY)
    built = charts_module.followup_charts(figures)
    keys = [c.key for c in built]
    assert keys[:2] == ["invoiced", "budget"]
    invoiced = built[0]
    assert (
        invoiced.svg.startswith("<svg")
        and "<title>Fakturerat per kommun och månad 2025</title>" in invoiced.svg
    )
    assert "Härryda" in invoiced.svg and "Lerum" in invoiced.svg  # the legend
    assert invoiced.data_url.startswith("data:image/svg+xml;base64,")


def test_sent_pdf_says_who_sent_it(app, db, followup_agreement):
    need_wkhtmltopdf()
    owner = followup_agreement.owner_user
    sent_at = dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC)
    _figures, pdf = _render(
        app,
        db,
        followup_agreement,
        draft=False,
        sent_at=sent_at,
        sent_by=owner,
        sent_to="Socialnämnden i Lerum",
    )
    text = followup_pdf_text(pdf)
    assert "UTKAST" not in text
    assert "Skickad 2026-02-10 10:30" in text and owner.name in text and "Socialnämnden i Lerum" in text
