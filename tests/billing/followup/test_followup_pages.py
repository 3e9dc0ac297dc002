"""The follow-up pages: the list, the follow-up of an agreement and year (figures, charts, texts), the
send confirmation, the frozen PDF's download with its sha256, the CSV, the panel on the agreement page;
CSRF, Swedish errors, scope (404 for non-parties, 403 for party users who may not edit)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re

import pytest
from sqlalchemy import select

from billing.models import AnnualFollowup, FollowupStatus, Recommendation
from tests.billing.followup.conftest import FOLLOWUP_INVOICED, need_wkhtmltopdf
from tests.conftest import LoggedInClient

NBSP = "\u00a0"
INVOICED_HTML = FOLLOWUP_INVOICED.replace(" ", NBSP) + NBSP + "kr"


def _url(agreement, year=2025, suffix=""):
    return f"/uppfoljning/{agreement.id}/{year}{suffix}"


def _followup(db, agreement, year=2025):
    db.expire_all()
    return db.scalar(select(AnnualFollowup).filter_by(agreement_id=agreement.id, year=year))


def test_list_shows_the_users_agreements_and_years(followup_agreement, login_as):
    client = login_as("auditor", kommun="Lerum")
    page = client.get("/uppfoljning/").get_data(as_text=True)
    assert followup_agreement.number in page
    assert _url(followup_agreement, 2025) in page and _url(followup_agreement, 2024) in page
    assert "Inte påbörjad" in page
    filtered = client.get("/uppfoljning/?ar=2024").get_data(as_text=True)
    assert _url(followup_agreement, 2024) in filtered and _url(followup_agreement, 2025) not in filtered
    outsider = login_as("admin", kommun="Ale").get("/uppfoljning/").get_data(as_text=True)
    assert followup_agreement.number not in outsider


def test_nav_item_and_agreement_panel(followup_agreement, login_as):
    client = login_as("caseworker", kommun="Härryda")
    page = client.get(f"/avtal/{followup_agreement.id}").get_data(as_text=True)
    assert 'href="/uppfoljning/"' in page and ">Uppföljning<" in page
    assert "Årlig uppföljning" in page and _url(followup_agreement, 2025) in page


def test_page_shows_figures_and_charts(db, followup_agreement, login_as):
    client = login_as("admin", kommun="Göteborg")
    response = client.get(_url(followup_agreement))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Årlig uppföljning 2025: {followup_agreement.number}" in page
    assert INVOICED_HTML in page  # the year's net invoiced, sv-SE
    for heading in (
        "Volymer",
        "Fakturerat och budget",
        "Index",
        "Ärendeöverlämningar",
        "Gemensamma tjänster",
        "Avtalstid och uppsägning",
        "Hamburgundantaget",
        "Kostnadstäckning",
        "Avräkning",
    ):
        assert heading in page
    assert page.count('src="data:image/svg+xml;base64,') >= 2
    assert 'alt="Fakturerat per kommun och månad 2025"' in page and 'alt="Budget och utfall 2025"' in page
    assert 'name="recommendation"' in page and "Skicka uppföljningen" in page
    assert _followup(db, followup_agreement).status == FollowupStatus.DRAFT  # created on first open


def test_reader_sees_no_form_and_creates_nothing(db, followup_agreement, login_as):
    client = login_as("finance", kommun="Lerum")
    page = client.get(_url(followup_agreement)).get_data(as_text=True)
    assert INVOICED_HTML in page and 'name="recommendation"' not in page
    assert _followup(db, followup_agreement) is None
    assert client.post_form(_url(followup_agreement), {"quality_text": "x"}).status_code == 403
    assert client.get(_url(followup_agreement, suffix="/skicka")).status_code == 403


def test_non_party_gets_404_everywhere(followup_agreement, login_as):
    client = login_as("admin", kommun="Ale")
    for suffix in ("", "/skicka", "/uppfoljning.pdf", "/siffror.csv"):
        response = client.get(_url(followup_agreement, suffix=suffix))
        assert response.status_code == 404, suffix
        assert "finns inte" in response.get_data(as_text=True)


def test_year_outside_the_agreement_is_a_swedish_422(followup_agreement, login_as):
    client = login_as("admin", kommun="Göteborg")
    response = client.get(_url(followup_agreement, 2027))
    assert response.status_code == 422
    assert "Året 2027 har inte börjat än" in response.get_data(as_text=True)
    assert client.get(_url(followup_agreement, 2019, "/siffror.csv")).status_code == 422


def test_saving_texts_needs_csrf(db, followup_agreement, login_as):
    client = login_as("admin", kommun="Göteborg")
    client.get(_url(followup_agreement))
    response = client.client.post(_url(followup_agreement), data={"quality_text": "Bra"})
    assert response.status_code == 400
    assert "säkerhetskod" in response.get_data(as_text=True)
    assert _followup(db, followup_agreement).quality_text is None


def test_saving_texts_refuses_personal_numbers_in_swedish(db, followup_agreement, login_as):
    client = login_as("admin", kommun="Göteborg")
    response = client.post_form(
        _url(followup_agreement), {"quality_text": "Gäller 19121212-1212", "recommendation": "continue"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "personnummer" in page and "Uppgifterna sparades inte" in page
    assert "Gäller 19121212-1212" in page  # the form keeps what was typed


def test_saving_and_sending(db, followup_agreement, login_as):
    need_wkhtmltopdf()
    client = login_as("admin", kommun="Göteborg")
    response = client.post_form(
        _url(followup_agreement),
        {
            "quality_text": "Samverkan fungerar väl.",
            "recommendation": "renegotiate",
            "recommendation_text": "",
        },
    )
    assert response.status_code == 302
    followup = _followup(db, followup_agreement)
    assert (
        followup.recommendation == Recommendation.RENEGOTIATE
        and followup.quality_text == "Samverkan fungerar väl."
    )

    confirm = client.get(_url(followup_agreement, suffix="/skicka")).get_data(as_text=True)
    assert "låses" in confirm and "Det går inte att ångra" in confirm and "data-confirm=" in confirm
    assert "Omförhandla avtalet" in confirm
    response = client.post_form(_url(followup_agreement, suffix="/skicka"), {"sent_to": ""})
    assert response.status_code == 422 and "Ange vem uppföljningen skickas till" in response.get_data(
        as_text=True
    )

    response = client.post_form(
        _url(followup_agreement, suffix="/skicka"), {"sent_to": "Socialnämnden i Lerum"}
    )
    assert response.status_code == 302
    followup = _followup(db, followup_agreement)
    assert followup.status == FollowupStatus.SENT

    page = client.get(_url(followup_agreement)).get_data(as_text=True)
    assert followup.snapshot_sha256 in page and "Socialnämnden i Lerum" in page
    assert 'name="recommendation"' not in page  # no form on a sent follow-up
    download = client.get(_url(followup_agreement, suffix="/uppfoljning.pdf"))
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert f"uppfoljning-{followup_agreement.number}-2025.pdf" in download.headers["Content-Disposition"]
    assert hashlib.sha256(download.data).hexdigest() == followup.snapshot_sha256

    # Sent: saving or sending again is refused with the reason (409).
    again = client.post_form(_url(followup_agreement), {"quality_text": "Ändrat"})
    assert again.status_code == 409 and "låst" in again.get_data(as_text=True)
    assert client.post_form(_url(followup_agreement, suffix="/skicka"), {"sent_to": "X"}).status_code == 409


def test_sending_without_recommendation_says_so(db, followup_agreement, login_as):
    need_wkhtmltopdf()
    client = login_as("admin", kommun="Göteborg")
    client.get(_url(followup_agreement))
    response = client.post_form(_url(followup_agreement, suffix="/skicka"), {"sent_to": "Nämnden"})
    assert response.status_code == 422
    assert "Välj en rekommendation" in response.get_data(as_text=True)
    assert _followup(db, followup_agreement).status == FollowupStatus.DRAFT


def test_owner_of_a_buyer_may_edit(db, app, followup_agreement):
    client = LoggedInClient(app, followup_agreement.owner_user)
    response = client.post_form(_url(followup_agreement), {"recommendation": "continue"})
    assert response.status_code == 302
    assert _followup(db, followup_agreement).recommendation == Recommendation.CONTINUE


def test_csv_opens_in_excel(followup_agreement, login_as):
    client = login_as("auditor", kommun="Härryda")
    response = client.get(_url(followup_agreement, suffix="/siffror.csv"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert (
        f"uppfoljning-{followup_agreement.number}-2025-utkast.csv" in response.headers["Content-Disposition"]
    )
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Årlig uppföljning", followup_agreement.number]
    header = rows.index(next(r for r in rows if r and r[0] == "Köpare" and "jan" in r))
    by_buyer = {r[0]: r for r in rows[header + 1 : header + 3]}
    assert by_buyer["Härryda"][3] == "2712,50" and by_buyer["Härryda"][13] == "3797,50"
    assert by_buyer["Lerum"][6] == "4340,00" and by_buyer["Lerum"][15] == "1"  # one credit note
    budget_header = rows.index(next(r for r in rows if r and r[0] == "Budget"))
    assert rows[budget_header + 1][2] == "8137,50"


@pytest.mark.parametrize("suffix", ["/uppfoljning.pdf"])
def test_draft_pdf_download(followup_agreement, login_as, suffix):
    need_wkhtmltopdf()
    from tests.billing.followup.conftest import followup_pdf_text

    response = login_as("legal", kommun="Lerum").get(_url(followup_agreement, suffix=suffix))
    assert response.status_code == 200
    assert re.search(
        r'filename="?uppfoljning-[A-Z0-9-]+-2025-utkast\.pdf', response.headers["Content-Disposition"]
    )
    assert "UTKAST" in followup_pdf_text(response.data)


def test_assessments_without_data_say_they_cannot_be_made(followup_agreement, make_invoice, login_as):
    """No invoice history before 2025 and no reported cost: neither check may read as passed."""
    client = login_as("auditor", kommun="Lerum")
    page = client.get(_url(followup_agreement)).get_data(as_text=True)
    assert "Kan inte bedömas: utföraren har ingen fakturerad omsättning" in page
    assert "Kan inte bedömas: verklig kostnad är inte rapporterad" in page
    assert "Under 20" not in page and "Inget överskott" not in page
    # with history in one of the three years the share is an estimate, and says so
    make_invoice(
        followup_agreement,
        buyer="Härryda",
        status="issued",
        lines=(("Utredning", "1", "1085.00", "O"),),
        period=(dt.date(2024, 5, 1), dt.date(2024, 5, 31)),
    )
    page = client.get(_url(followup_agreement)).get_data(as_text=True)
    assert "Under 20\u00a0% (uppskattning)" in page or "Under 20 % (uppskattning)" in page
