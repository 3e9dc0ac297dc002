"""Security review findings (2026 review). Each test shows one problem; a failing test is the report.

- Ids beyond the database's integer range answer 500 (OverflowError on SQLite, DataError on
  PostgreSQL) instead of 404/422, on pages and API alike.
- A non-numeric token id on the account page answers 500.
- The insight log (insyn) misses views of a transfer or decision by the performing municipality when
  the page is shown by a path other than the plain GET (a failed step form, the decision's edit page).
- The agreement form lists the active users (names) of any municipality the admin types in.
- A cookie-authenticated API write skips the CSRF check when any `Authorization: Bearer ...` header
  is present, even an invalid one.
- Free text in the shell that is stored without the personal-number validator.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from registry.decisions import services as decision_services
from registry.models import InsightLogEntry
from registry.models import TransferStatus as S
from tests.registry.test_decisions_support import add_decision
from tests.registry.test_transfers_helpers import PERSONNUMMER

BIG = 2**63  # beyond PostgreSQL's integer and SQLite's 64-bit INTEGER


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def _insight(db, transfer) -> list[InsightLogEntry]:
    db.expire_all()
    return db.scalars(select(InsightLogEntry).where(InsightLogEntry.transfer_id == transfer.id)).all()


# --- Robustness: out-of-range ids ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"/avtal/{BIG}",
        f"/avtal/{BIG}/bilagor/1",
        f"/api/v1/agreements/{BIG}",
        f"/overlamningar/{BIG}",
        f"/api/v1/transfers/{BIG}",
        f"/beslut/{BIG}",
        f"/api/v1/decisions/{BIG}",
        f"/gemensamma-tjanster/{BIG}",
        f"/api/v1/shared-roles/{BIG}",
        f"/kommuner/{BIG}",
        f"/api/v1/municipalities/{BIG}",
    ],
)
def test_review_out_of_range_id_in_path_is_404(login_as, url):
    response = login_as("admin", kommun="Härryda").get(url)
    assert response.status_code == 404, f"{url} answered {response.status_code}"


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/decisions/?transfer_id={BIG}",
        f"/api/v1/decisions/?agreement_id={BIG}",
        f"/api/v1/shared-roles/?agreement_id={BIG}",
        f"/api/v1/agreements/?party_municipality_id={BIG}",
        f"/gemensamma-tjanster/ny?avtal={BIG}",
        f"/beslut/ny?avtal={BIG}",
        f"/beslut/ny?overlamning={BIG}",
    ],
)
def test_review_out_of_range_id_in_query_is_not_500(login_as, url):
    response = login_as("admin", kommun="Härryda").get(url)
    assert response.status_code < 500, f"{url} answered {response.status_code}"


def test_review_out_of_range_id_in_json_body_is_422(login_as, make_agreement, municipality):
    agreement = make_agreement(host="Härryda", buyers=("Lerum",))
    c = login_as("admin", kommun="Härryda")
    parties = [
        {"role": "host", "municipality_id": municipality("Härryda").id},
        {"role": "buyer", "municipality_id": BIG},
    ]
    response = c.api("put", f"/api/v1/agreements/{agreement.id}/parties", json={"parties": parties})
    assert response.status_code == 422


def test_review_out_of_range_transfer_id_when_recording_a_decision_is_422(login_as, legal_bases):
    body = {
        "transfer_id": BIG,
        "legal_basis": "SOL-KONTAKTPERSON",
        "insats_type": "x",
        "decision_date": "2026-01-01",
    }
    response = login_as("admin", kommun="Härryda").api("post", "/api/v1/decisions/", json=body)
    assert response.status_code == 422
    assert response.json["errors"]["transfer_id"] == ["Okänt id."]


def test_review_revoke_token_with_non_numeric_id_is_not_500(login_as):
    response = login_as("finance").post_form("/konto", {"action": "revoke-token", "token_id": "abc"})
    assert response.status_code in (404, 422)


# --- Insight log gaps -------------------------------------------------------------------------------


def test_review_failed_step_form_shows_the_transfer_to_the_performer_without_an_insight_entry(
    login_as, make_transfer, db
):
    """A performer's caseworker POSTs an empty step: the answer (422) is the full detail page, note
    and all, but nothing is written to the insight log (and the 422 would roll it back anyway)."""
    transfer = make_transfer("Härryda", "Lerum", status=S.INVESTIGATING, note="Hemlig anteckning om ärendet")
    c = login_as("caseworker", kommun="Lerum")
    response = c.post_form(f"/overlamningar/{transfer.id}/status", {"target": "", "on": "", "comment": ""})
    assert response.status_code == 422
    assert "Hemlig anteckning om ärendet" in _text(response)
    assert [e.user_id for e in _insight(db, transfer)] == [c.user.id]


def test_review_illegal_step_shows_the_transfer_to_the_performer_without_an_insight_entry(
    login_as, make_transfer, db
):
    transfer = make_transfer("Härryda", "Lerum", status=S.INVESTIGATING, note="Hemlig anteckning om ärendet")
    c = login_as("caseworker", kommun="Lerum")
    response = c.post_form(f"/overlamningar/{transfer.id}/status", {"target": "requested"})
    assert response.status_code == 409
    assert "Hemlig anteckning om ärendet" in _text(response)
    assert [e.user_id for e in _insight(db, transfer)] == [c.user.id]


@pytest.fixture
def performer_decision(db, make_transfer, legal_bases, monkeypatch):
    monkeypatch.setattr(decision_services, "today", lambda: dt.date(2026, 4, 15))
    transfer = make_transfer("Härryda", "Lerum", status=S.ACCEPTED)
    decision = add_decision(
        db,
        legal_bases["SOL-KONTAKTPERSON"],
        dt.date(2025, 12, 1),
        transfer=transfer,
        delay_reason="Särskilt skäl som bara begäraren ska se loggat",
    )
    return transfer, decision


def test_review_decision_edit_page_by_the_performer_is_not_in_the_insight_log(
    login_as, db, performer_decision
):
    transfer, decision = performer_decision
    c = login_as("caseworker", kommun="Lerum")
    response = c.get(f"/beslut/{decision.id}/andra")
    assert response.status_code == 200
    assert "Särskilt skäl som bara begäraren ska se loggat" in _text(response)
    assert [e.user_id for e in _insight(db, transfer)] == [c.user.id]


def test_review_failed_feedback_form_shows_the_decision_without_an_insight_entry(
    login_as, db, performer_decision
):
    transfer, decision = performer_decision
    c = login_as("caseworker", kommun="Lerum")
    response = c.post_form(f"/beslut/{decision.id}/verkstallighet", {"execution_date": "inte ett datum"})
    assert response.status_code == 422
    assert "Särskilt skäl som bara begäraren ska se loggat" in _text(response)
    assert [e.user_id for e in _insight(db, transfer)] == [c.user.id]


# --- Staff directory through the agreement form -----------------------------------------------------


def test_review_agreement_form_does_not_list_users_of_any_municipality_on_demand(
    login_as, make_user, municipality
):
    """An admin picks a municipality that is party to nothing of theirs, presses "more rows" (nothing
    is saved) and gets that municipality's active users as owner choices. USER_READ limits the user
    list to the own municipality; this is a way around it."""
    make_user(roles=("caseworker",), kommun="Kiruna", name="Hemlig Kirunabo")
    c = login_as("admin", kommun="Härryda")
    response = c.post_form(
        "/avtal/ny",
        {
            "action": "fler-rader",
            "host-municipality_id": str(municipality("Härryda").id),
            "buyer-0-municipality_id": str(municipality("Kiruna").id),
        },
    )
    assert response.status_code == 200
    assert "Hemlig Kirunabo" not in _text(response)


# --- CSRF -------------------------------------------------------------------------------------------


def test_review_cookie_api_write_with_a_junk_bearer_header_still_needs_csrf(login_as, municipality, db):
    """The CSRF exemption looks at the header, not at how the user was authenticated: with a session
    cookie and `Authorization: Bearer junk` the cookie user writes without a CSRF token."""
    c = login_as("admin", kommun="Härryda")
    harryda = municipality("Härryda")
    response = c.client.patch(
        f"/api/v1/municipalities/{harryda.id}",
        json={"city": "Utan CSRF"},
        headers={"Authorization": "Bearer junk"},
    )
    assert response.status_code in (400, 401)
    db.expire_all()
    assert municipality("Härryda").city != "Utan CSRF"


# --- Personal identity numbers in free text of the shell --------------------------------------------


def test_review_population_source_refuses_a_personal_identity_number(login_as, municipality):
    c = login_as("finance", kommun="Härryda")
    response = c.api(
        "put",
        f"/api/v1/municipalities/{municipality('Härryda').id}/populations/2025",
        json={"year": 2025, "population": 38000, "source": f"Uppgift från {PERSONNUMMER}"},
    )
    assert response.status_code == 422


def test_review_api_token_name_refuses_a_personal_identity_number(login_as):
    c = login_as("finance")
    response = c.post_form("/konto", {"action": "create-token", "name": f"Nyckel {PERSONNUMMER}"})
    assert response.status_code == 422


def test_review_attachment_upload_with_the_file_sent_as_text_is_422_not_500(login_as, make_agreement):
    agreement = make_agreement(host="Härryda", buyers=("Lerum",))
    client = login_as("admin", kommun="Härryda")
    response = client.api(
        "post",
        f"/api/v1/agreements/{agreement.id}/attachments",
        data={"file": "inte en fil"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]


@pytest.mark.parametrize("salary", ["1e10", "1_000", "NaN", "Infinity", "1e999999", "١٢٣", "9" * 60])
def test_review_shared_role_amounts_refuse_numbers_people_do_not_type(login_as, make_agreement, municipality, salary):
    agreement = make_agreement(host="Bengtsfors", buyers=("Mellerud",))
    client = login_as("admin", kommun="Bengtsfors")
    response = client.api(
        "post",
        "/api/v1/shared-roles/",
        json={
            "agreement_id": agreement.id,
            "title": "Socialchef",
            "period_start": "2025-01-01",
            "salary_per_month": salary,
            "po_percent": "31.42",
            "overhead_per_month": "0",
            "allocations": [
                {"municipality_id": municipality("Bengtsfors").id, "percent": "50"},
                {"municipality_id": municipality("Mellerud").id, "percent": "50"},
            ],
        },
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "salary_per_month" in response.get_json()["errors"]
