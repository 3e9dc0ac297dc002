"""The decisions API under /api/v1/decisions: the same rules as the pages, in JSON."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from core import services as core_services
from registry.decisions import services
from registry.models import Decision, DecisionOffer, InsightLogEntry, TransferStatus
from tests.registry.test_decisions_support import D, add_decision

TODAY = D(2026, 4, 15)
API = "/api/v1/decisions"


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(services, "today", lambda: TODAY)


@pytest.fixture
def transfer(make_transfer, legal_bases):
    return make_transfer(requesting="Härryda", performing="Lerum", status=TransferStatus.ACCEPTED)


@pytest.fixture
def basis(legal_bases):
    return legal_bases["SOL-KONTAKTPERSON"]


def _count(db, model=Decision) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_create_and_read_a_decision(login_as, db, transfer):
    c = login_as("caseworker", kommun="Härryda")
    body = {
        "transfer_id": transfer.id,
        "legal_basis": "SOL-FAMILJEHEM",
        "insats_type": "Placering i familjehem",
        "decision_date": "2025-11-30",
        "ivo_person_ref": "19850101-t124",
    }
    response = c.api("post", f"{API}/", json=body)
    assert response.status_code == 201, response.json
    created = response.json
    assert created["case_reference"] == transfer.reference
    assert created["responsible_municipality"]["kommunkod"] == "1401"
    assert created["performing_municipality"]["name"] == "Lerum"
    assert created["legal_basis"]["old_reference"] == "SoL (2001:453) 4 kap. 1 §"
    assert created["legal_basis"]["new_reference"] == "SoL (2025:400) 10 kap. 1 § (?)"
    assert created["deadline"] == "2026-02-28"
    assert created["days_since_decision"] == 136
    assert (created["state"], created["reportable"]) == ("not_executed", True)
    assert created["state_label"] == "Ej verkställt efter tre månader"
    assert (created["ivo_person_ref"], created["sex"]) == ("19850101-T124", "kvinna")
    again = c.get(f"{API}/{created['id']}")
    assert again.status_code == 200
    assert again.json == created


def test_validation_errors_are_swedish_and_save_nothing(login_as, db, transfer):
    c = login_as("caseworker", kommun="Härryda")
    body = {
        "transfer_id": transfer.id,
        "legal_basis": "SOL-FAMILJEHEM",
        "insats_type": "Familjehem för 19121212-1212",
        "decision_date": "2026-04-16",
        "ivo_person_ref": "19850101-1236",
    }
    response = c.api("post", f"{API}/", json=body)
    assert response.status_code == 422
    assert response.json["code"] == 422
    errors = response.json["errors"]
    assert "personnummer" in errors["insats_type"][0]
    assert "personnummer" in errors["ivo_person_ref"][0]
    assert "19121212-1212" not in json.dumps(response.json)
    fixed = dict(body, insats_type="Familjehem", ivo_person_ref=None)
    response = c.api("post", f"{API}/", json=fixed)
    assert response.status_code == 422
    assert "har inte inträffat än" in response.json["errors"]["decision_date"][0]
    assert _count(db) == 0


def test_list_is_scoped_filtered_and_paginated(login_as, db, transfer, basis, make_transfer):
    late = add_decision(db, basis, D(2025, 11, 30), transfer=transfer)
    in_time = add_decision(db, basis, D(2026, 1, 5), transfer=transfer, execution_date=D(2026, 2, 1))
    hidden = make_transfer(requesting="Mölndal", performing="Lerum", status=TransferStatus.ACCEPTED)
    add_decision(db, basis, D(2025, 11, 30), transfer=hidden)
    c = login_as("auditor", kommun="Härryda")
    response = c.get(f"{API}/?page_size=1")
    assert response.status_code == 200
    assert [d["id"] for d in response.json] == [late.id]
    assert json.loads(response.headers["X-Pagination"])["total"] == 2
    assert [d["id"] for d in c.get(f"{API}/?page=2&page_size=1").json] == [in_time.id]
    assert [d["id"] for d in c.get(f"{API}/?reportable=true").json] == [late.id]
    assert [d["id"] for d in c.get(f"{API}/?state=executed_in_time").json] == [in_time.id]
    assert c.get(f"{API}/?state=okant").status_code == 422
    lerum = login_as("caseworker", kommun="Lerum")
    assert len(lerum.get(f"{API}/").json) == 3  # Lerum performs all three
    assert lerum.get(f"{API}/?role=responsible").json == []
    assert len(lerum.get(f"{API}/?transfer_id={transfer.id}").json) == 2


def test_third_municipality_gets_404_everywhere(login_as, db, transfer, basis):
    decision = add_decision(db, basis, D(2025, 11, 30), transfer=transfer)
    c = login_as("admin", kommun="Mölndal")
    response = c.get(f"{API}/{decision.id}")
    assert response.status_code == 404
    assert response.json["message"] == "Beslutet finns inte, eller så har du inte behörighet att se det."
    assert c.api("patch", f"{API}/{decision.id}", json={"insats_type": "x"}).status_code == 404
    assert (
        c.api("post", f"{API}/{decision.id}/execution", json={"execution_date": "2026-03-01"}).status_code
        == 404
    )
    body = {
        "transfer_id": transfer.id,
        "legal_basis": "LSS-9-4",
        "insats_type": "x",
        "decision_date": "2026-01-01",
    }
    assert c.api("post", f"{API}/", json=body).status_code == 404
    assert c.get(f"{API}/").json == []


def test_performer_feeds_back_through_the_api(login_as, db, transfer, basis):
    decision = add_decision(db, basis, D(2025, 12, 1), transfer=transfer)
    c = login_as("caseworker", kommun="Lerum")
    assert c.get(f"{API}/{decision.id}").status_code == 200
    viewed = db.scalars(select(InsightLogEntry).where(InsightLogEntry.transfer_id == transfer.id)).all()
    assert [(e.user_id, e.channel) for e in viewed] == [(c.user.id, "api")]

    offer = c.api("post", f"{API}/{decision.id}/offers", json={"offered_on": "2026-01-10", "declined": True})
    assert offer.status_code == 201
    assert offer.json["offers"] == [
        {"id": offer.json["offers"][0]["id"], "offered_on": "2026-01-10", "declined": True, "note": None}
    ]
    executed = c.api("post", f"{API}/{decision.id}/execution", json={"execution_date": "2026-03-02"})
    assert executed.status_code == 200
    assert executed.json["state"] == "executed_late"
    interrupted = c.api("post", f"{API}/{decision.id}/interruptions", json={"interrupted_on": "2026-03-10"})
    assert interrupted.status_code == 201
    interruption = interrupted.json["interruptions"][0]
    assert (interruption["deadline"], interrupted.json["state"]) == ("2026-06-10", "interrupted")
    resumed = c.api(
        "post",
        f"{API}/{decision.id}/interruptions/{interruption['id']}/resume",
        json={"resumed_on": "2026-04-01"},
    )
    assert resumed.status_code == 200
    assert resumed.json["state"] == "resumed"
    patched = c.api("patch", f"{API}/{decision.id}", json={"delay_reason": "Ingen kontaktperson fanns"})
    assert patched.status_code == 200 and patched.json["delay_reason"] == "Ingen kontaktperson fanns"
    closed = c.api(
        "post",
        f"{API}/{decision.id}/close",
        json={"closed_on": "2026-04-10", "closing_reason": "Behovet upphörde"},
    )
    assert closed.status_code == 200
    assert (closed.json["state"], closed.json["closed_on"]) == ("closed", "2026-04-10")
    again = c.api("post", f"{API}/{decision.id}/offers", json={"offered_on": "2026-04-11"})
    assert again.status_code == 409
    assert "avslutades 2026-04-10" in again.json["message"]


@pytest.mark.parametrize("role", ["finance", "auditor", "legal"])
def test_read_only_roles_get_403_on_writes(login_as, db, transfer, basis, role):
    decision = add_decision(db, basis, D(2025, 12, 1), transfer=transfer, execution_date=D(2026, 1, 2))
    c = login_as(role, kommun="Härryda")
    assert c.get(f"{API}/{decision.id}").status_code == 200
    writes = [
        (
            "post",
            f"{API}/",
            {
                "transfer_id": transfer.id,
                "legal_basis": "LSS-9-4",
                "insats_type": "x",
                "decision_date": "2026-01-01",
            },
        ),
        ("patch", f"{API}/{decision.id}", {"insats_type": "Ändrad"}),
        ("post", f"{API}/{decision.id}/offers", {"offered_on": "2026-01-02"}),
        ("post", f"{API}/{decision.id}/execution", {"execution_date": "2026-01-03"}),
        ("post", f"{API}/{decision.id}/interruptions", {"interrupted_on": "2026-02-01"}),
        ("post", f"{API}/{decision.id}/close", {"closed_on": "2026-02-01", "closing_reason": "Flyttat"}),
    ]
    for method, url, body in writes:
        response = c.api(method, url, json=body)
        assert response.status_code == 403, url
        assert response.json["message"] == "Du har inte behörighet till detta."
    db.expire_all()
    stored = db.get(Decision, decision.id)
    assert (stored.insats_type, stored.execution_date) == ("Kontaktfamilj varannan helg", D(2026, 1, 2))
    assert _count(db) == 1 and _count(db, DecisionOffer) == 0


def test_bearer_token_and_anonymous(app, db, make_user, transfer, basis):
    decision = add_decision(db, basis, D(2025, 12, 1), transfer=transfer)
    assert app.test_client().get(f"{API}/").status_code == 401
    user = make_user(roles=["caseworker"], kommun="Lerum")
    _, secret = core_services.create_api_token(db, user, "Verksamhetssystemet")
    db.commit()
    response = app.test_client().post(
        f"{API}/{decision.id}/execution",
        json={"execution_date": "2026-01-20"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200
    assert response.json["state"] == "executed_in_time"


def test_legal_bases(login_as, legal_bases):
    rows = login_as("finance", kommun="Härryda").get(f"{API}/legal-bases").json
    by_code = {row["code"]: row for row in rows}
    assert by_code["LSS-9-4"]["old_reference"] == "LSS 9 § 4"
    assert by_code["SOL-HVB"]["new_reference"] == "SoL (2025:400) 10 kap. 1 § (?)"
    assert rows[0]["law"] == "SoL"


def test_ivo_report_json_and_csv(login_as, db, transfer, basis):
    decision = add_decision(
        db,
        basis,
        D(2025, 11, 30),
        transfer=transfer,
        ivo_person_ref="19850101-T123",
        offers=((D(2026, 1, 5), False),),
    )
    c = login_as("auditor", kommun="Härryda")
    report = c.get(f"{API}/ivo-report?year=2026&quarter=1")
    assert report.status_code == 200
    body = report.json
    assert (body["municipality"]["name"], body["quarter_end"], body["as_of"]) == (
        "Härryda",
        "2026-03-31",
        "2026-03-31",
    )
    assert body["window"] == {"year": 2026, "quarter": 1, "opens": "2026-04-01", "closes": "2026-04-30"}
    assert body["window_open"] is True
    [row] = body["rows"]
    assert row["decision_id"] == decision.id
    assert (row["ivo_person_ref"], row["sex"], row["report_type"]) == ("19850101-T123", "man", "not_executed")
    assert row["legal_basis"]["old_reference"] == "SoL (2001:453) 4 kap. 1 §"
    assert row["offers"] == [{"offered_on": "2026-01-05", "declined": False}]
    assert row["days_since_decision"] == 121

    csv_response = c.get(f"{API}/ivo-report.csv?year=2026&quarter=1")
    assert csv_response.status_code == 200
    assert csv_response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    assert csv_response.get_data().startswith(b"\xef\xbb\xbf")
    assert transfer.reference in csv_response.get_data(as_text=True)

    bad = c.get(f"{API}/ivo-report?year=2026&quarter=5")
    assert bad.status_code == 422
    assert bad.json["errors"]["quarter"] == ["Kvartalet ska vara 1, 2, 3 eller 4."]
    assert c.get(f"{API}/ivo-report?year=2026").status_code == 422
    assert (
        login_as("caseworker", kommun="Lerum").get(f"{API}/ivo-report?year=2026&quarter=1").json["rows"] == []
    )


def test_openapi_documents_the_endpoints(app, client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in (
        "/api/v1/decisions/",
        "/api/v1/decisions/{decision_id}",
        "/api/v1/decisions/{decision_id}/offers",
        "/api/v1/decisions/{decision_id}/interruptions/{interruption_id}/resume",
        "/api/v1/decisions/ivo-report",
        "/api/v1/decisions/ivo-report.csv",
    ):
        assert path in paths, path
    assert "DecisionCreate" in spec["components"]["schemas"]
