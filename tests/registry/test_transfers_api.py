"""The JSON API of case transfers: /api/v1/transfers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core import services as core_services
from registry.models import CaseTransfer, InsightLogEntry
from registry.models import TransferStatus as S
from registry.transfers.services import local_today
from tests.registry.test_transfers_helpers import PERSONNUMMER, THIRD_KOMMUN, request_payload, transfer_in

BASE = "/api/v1/transfers"


def _insight(db, transfer) -> list[InsightLogEntry]:
    db.expire_all()
    return db.scalars(
        select(InsightLogEntry).where(InsightLogEntry.transfer_id == transfer.id).order_by(InsightLogEntry.id)
    ).all()


def _status(db, transfer) -> S:
    db.expire_all()
    return db.get(CaseTransfer, transfer.id).status


def test_create(login_as, make_agreement, municipality):
    agreement = make_agreement(host="Lerum", buyers=("Härryda",))
    c = login_as("caseworker", kommun="Härryda")
    payload = request_payload(
        municipality,
        agreement_id=agreement.id,
        resolution_type="extern_delegering",
        requested_on="2026-04-01",
    )
    response = c.api("post", BASE + "/", json=payload)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["reference"] == "JAV-1401-2026-0001"
    assert body["status"] == "requested" and body["status_label"] == "Begärd"
    assert body["requesting_municipality"] == {
        "id": municipality("Härryda").id,
        "kommunkod": "1401",
        "name": "Härryda",
    }
    assert body["performing_municipality"]["name"] == "Lerum"
    assert body["agreement"]["number"] == agreement.number
    assert body["jav_ground_label"] == "Anställd i kommunen"
    assert body["resolution_type_label"] == "Avtalssamverkan med extern delegering"
    assert body["executor"] == "performing"
    assert body["requested_on"] == "2026-04-01"
    assert body["days_waiting"] == (local_today() - dt.date(2026, 4, 1)).days
    assert [(s["target"], s["sides"], s["needs_reason"]) for s in body["next_steps"]] == [
        ("accepted", ["performing"], False),
        ("declined", ["performing"], True),
    ]


def test_create_refuses_unknown_fields_and_personal_numbers(login_as, municipality, db):
    c = login_as("caseworker", kommun="Härryda")
    response = c.api("post", BASE + "/", json=request_payload(municipality, klientnamn="Kalle"))
    assert response.status_code == 422
    assert response.json["errors"]["klientnamn"] == ["Okänt fält."]
    response = c.api("post", BASE + "/", json=request_payload(municipality, note=f"Avser {PERSONNUMMER}"))
    assert response.status_code == 422
    assert "personnummer eller samordningsnummer (19850101-****)" in response.json["errors"]["note"][0]
    response = c.api("post", BASE + "/", json=request_payload(municipality, performing_municipality_id=None))
    assert response.status_code == 422
    assert db.scalar(select(func.count()).select_from(CaseTransfer)) == 0


def test_create_is_refused_for_reading_roles(login_as, municipality):
    response = login_as("finance", kommun="Härryda").api(
        "post", BASE + "/", json=request_payload(municipality)
    )
    assert response.status_code == 403


def test_list_is_scoped_paginated_and_filtered(login_as, make_transfer):
    for n in range(1, 4):
        make_transfer("Härryda", "Lerum", reference=f"JAV-1401-2026-000{n}", requested_on=dt.date(2026, 1, n))
    make_transfer("Lerum", "Härryda", status=S.ACCEPTED, reference="JAV-1441-2026-0001")
    make_transfer("Lerum", "Göteborg", reference="JAV-1441-2026-0002")
    c = login_as("auditor", kommun="Härryda")
    response = c.get(BASE + "/?page_size=2")
    assert response.status_code == 200
    assert [t["reference"] for t in response.json] == ["JAV-1441-2026-0001", "JAV-1401-2026-0003"]
    assert '"total": 4' in response.headers["X-Pagination"]
    assert {t["reference"] for t in c.get(BASE + "/?side=performing").json} == {"JAV-1441-2026-0001"}
    assert len(c.get(BASE + "/?side=requesting&waiting_for_answer=true").json) == 3
    assert [t["reference"] for t in c.get(BASE + "/?status=accepted").json] == ["JAV-1441-2026-0001"]
    assert [t["reference"] for t in c.get(BASE + "/?q=2026-0002").json] == ["JAV-1401-2026-0002"]
    assert c.get(BASE + "/?side=alla").status_code == 422
    assert login_as("admin", kommun=THIRD_KOMMUN).get(BASE + "/").json == []


def test_get_logs_insight_as_api_for_the_performing_side_only(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    owner = login_as("caseworker", kommun="Härryda")
    assert owner.get(f"{BASE}/{transfer.id}").status_code == 200
    assert _insight(db, transfer) == []
    performer = login_as("legal", kommun="Lerum")
    response = performer.get(f"{BASE}/{transfer.id}")
    assert response.status_code == 200
    assert response.json["reference"] == transfer.reference
    [entry] = _insight(db, transfer)
    assert (entry.user_id, entry.channel) == (performer.user.id, "api")

    for reader in (owner, performer):
        insight = reader.get(f"{BASE}/{transfer.id}/insight")
        assert insight.status_code == 200
        assert [(e["user_id"], e["channel"], e["municipality"]) for e in insight.json] == [
            (performer.user.id, "api", "Lerum")
        ]
    assert len(_insight(db, transfer)) == 1  # reading the insight log is not a view of the case


def test_transition_and_events(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.REQUESTED, requested_on=dt.date(2026, 5, 4))
    performer = login_as("caseworker", kommun="Lerum")
    response = performer.api(
        "post",
        f"{BASE}/{transfer.id}/transition",
        json={"target": "accepted", "on": "2026-05-06", "comment": "OK"},
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "accepted"
    assert response.json["answered_on"] == "2026-05-06"
    assert [s["target"] for s in response.json["next_steps"]] == ["investigating", "interrupted"]
    assert _status(db, transfer) == S.ACCEPTED

    performer.api("post", f"{BASE}/{transfer.id}/transition", json={"target": "investigating"})
    owner = login_as("caseworker", kommun="Härryda", name="Rut Ägare")
    performer.api(
        "post", f"{BASE}/{transfer.id}/transition", json={"target": "interrupted", "comment": "Paus"}
    )
    resumed = owner.api("post", f"{BASE}/{transfer.id}/transition", json={"target": "investigating"})
    assert resumed.status_code == 200 and resumed.json["status_before_interruption"] is None

    events = owner.get(f"{BASE}/{transfer.id}/events")
    assert events.status_code == 200
    assert [(e["from_status"], e["to_status"]) for e in events.json] == [
        ("requested", "accepted"),
        ("accepted", "investigating"),
        ("investigating", "interrupted"),
        ("interrupted", "investigating"),
    ]
    assert events.json[0]["user_id"] == performer.user.id
    assert events.json[0]["municipality"] == "Lerum"
    assert events.json[0]["effective_on"] == "2026-05-06"
    assert events.json[0]["comment"] == "OK"
    assert events.json[0]["occurred_at"]
    assert events.json[3]["user"] == "Rut Ägare"
    assert _insight(db, transfer) == []  # the owner's reads are not logged
    assert performer.get(f"{BASE}/{transfer.id}/events").status_code == 200
    assert [e.channel for e in _insight(db, transfer)] == ["api"]


def test_transition_errors(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    url = f"{BASE}/{transfer.id}/transition"
    performer = login_as("caseworker", kommun="Lerum")

    illegal = performer.api("post", url, json={"target": "closed"})
    assert illegal.status_code == 409
    assert illegal.json["message"].startswith("Överlämningen kan inte gå från ”Begärd” till ”Avslutad”")
    assert illegal.json["errors"]["status"]

    no_reason = performer.api("post", url, json={"target": "declined"})
    assert no_reason.status_code == 422 and "comment" in no_reason.json["errors"]

    unknown = performer.api("post", url, json={"target": "accepted", "by": "someone"})
    assert unknown.status_code == 422 and unknown.json["errors"]["by"] == ["Okänt fält."]
    assert performer.api("post", url, json={"target": "resumed"}).status_code == 422

    wrong_side = login_as("admin", kommun="Härryda").api("post", url, json={"target": "accepted"})
    assert wrong_side.status_code == 403
    assert "den utförande kommunen (Lerum)" in wrong_side.json["message"]
    for role in ("finance", "legal", "auditor"):
        assert login_as(role, kommun="Lerum").api("post", url, json={"target": "accepted"}).status_code == 403
    assert _status(db, transfer) == S.REQUESTED


@pytest.mark.parametrize("suffix", ["", "/events", "/insight"])
def test_a_third_municipality_gets_404(login_as, make_transfer, db, suffix):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    c = login_as("admin", kommun=THIRD_KOMMUN)
    response = c.get(f"{BASE}/{transfer.id}{suffix}")
    assert response.status_code == 404
    assert (
        response.json["message"] == "Ärendeöverlämningen finns inte, eller så är din kommun inte part i den."
    )
    assert (
        c.api("post", f"{BASE}/{transfer.id}/transition", json={"target": "investigating"}).status_code == 404
    )
    assert _status(db, transfer) == S.ACCEPTED
    assert _insight(db, transfer) == []


def test_token_access_and_401_without_login(app, make_user, make_transfer, db):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    assert app.test_client().get(f"{BASE}/{transfer.id}").status_code == 401
    user = make_user(roles=("caseworker",), kommun="Lerum")
    _, secret = core_services.create_api_token(db, user, "Verksamhetssystemet")
    db.commit()
    response = app.test_client().get(f"{BASE}/{transfer.id}", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert [(e.user_id, e.channel) for e in _insight(db, transfer)] == [(user.id, "api")]


def test_the_api_is_documented(app, login_as):
    spec = login_as("caseworker").get("/api/v1/openapi.json")
    assert spec.status_code == 200
    paths = spec.json["paths"]
    for path in (
        "/api/v1/transfers/",
        "/api/v1/transfers/{transfer_id}",
        "/api/v1/transfers/{transfer_id}/transition",
        "/api/v1/transfers/{transfer_id}/events",
        "/api/v1/transfers/{transfer_id}/insight",
    ):
        assert path in paths, path
