"""The follow-up's JSON API: read with all figures, PATCH texts (unknown fields refused), POST send,
GET the frozen PDF; the same rules as the pages (404 non-party, 403 reader, 409 sent, 422 year)."""

from __future__ import annotations

import hashlib

from tests.billing.followup.conftest import need_wkhtmltopdf
from tests.conftest import LoggedInClient


def _url(agreement, year=2025, suffix=""):
    return f"/api/v1/agreements/{agreement.id}/followups/{year}{suffix}"


def test_get_returns_state_and_figures(db, followup_agreement, login_as):
    client = login_as("auditor", kommun="Lerum")
    response = client.get(_url(followup_agreement))
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "not_started" and body["may_edit"] is False and body["id"] is None
    assert body["agreement_number"] == followup_agreement.number and body["year"] == 2025
    assert body["figures"]["budget"]["invoiced"] == "8137.50"
    assert {r["municipality_name"] for r in body["figures"]["invoiced"]} == {"Härryda", "Lerum"}


def test_list_is_paginated_and_scoped(followup_agreement, login_as):
    response = login_as("auditor", kommun="Lerum").get("/api/v1/followups?year=2025")
    assert response.status_code == 200
    assert [(r["agreement_number"], r["year"], r["status"]) for r in response.get_json()] == [
        (followup_agreement.number, 2025, "not_started")
    ]
    assert "X-Pagination" in response.headers
    assert login_as("admin", kommun="Ale").get("/api/v1/followups").get_json() == []


def test_errors_in_one_shape(followup_agreement, login_as):
    outsider = login_as("admin", kommun="Ale")
    response = outsider.get(_url(followup_agreement))
    assert response.status_code == 404 and set(response.get_json()) == {"code", "status", "message", "errors"}
    reader = login_as("finance", kommun="Göteborg")
    response = reader.api("patch", _url(followup_agreement), json={"quality_text": "x"})
    assert response.status_code == 403 and "ägare" in response.get_json()["message"]
    admin = login_as("admin", kommun="Göteborg")
    response = admin.get(_url(followup_agreement, 2031))
    assert response.status_code == 422 and "har inte börjat" in response.get_json()["message"]
    response = admin.api("patch", _url(followup_agreement), json={"status": "sent"})
    assert response.status_code == 422 and "status" in str(response.get_json()["errors"])
    response = admin.api("patch", _url(followup_agreement), json={"lex_sarah_text": "Avser 19121212-1212"})
    assert response.status_code == 422 and "personnummer" in str(response.get_json()["errors"])


def test_patch_send_and_pdf(db, app, followup_agreement):
    need_wkhtmltopdf()
    client = LoggedInClient(app, followup_agreement.owner_user)
    response = client.api("post", _url(followup_agreement, suffix="/send"), json={"sent_to": "Nämnden"})
    assert response.status_code == 422 and "rekommendation" in response.get_json()["message"]

    response = client.api(
        "patch", _url(followup_agreement), json={"recommendation": "continue", "quality_text": "Bra år."}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "draft" and body["recommendation"] == "continue" and body["may_edit"] is True
    assert body["recommendation_label"] == "Fortsätta samverkan"

    response = client.api("post", _url(followup_agreement, suffix="/send"), json={"sent_to": "Socialnämnden"})
    assert response.status_code == 200, response.get_json()
    sent = response.get_json()
    assert (
        sent["status"] == "sent" and sent["sent_to"] == "Socialnämnden" and len(sent["snapshot_sha256"]) == 64
    )
    assert sent["sent_by"] == followup_agreement.owner_user.name

    pdf = client.get(_url(followup_agreement, suffix="/pdf"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == sent["snapshot_sha256"]

    response = client.api("patch", _url(followup_agreement), json={"quality_text": "Ändrat"})
    assert response.status_code == 409 and "låst" in response.get_json()["message"]
    response = client.api("post", _url(followup_agreement, suffix="/send"), json={"sent_to": "Igen"})
    assert response.status_code == 409

    csv = client.get(_url(followup_agreement, suffix="/csv"))
    assert csv.status_code == 200 and csv.data.startswith(b"\xef\xbb\xbf")
