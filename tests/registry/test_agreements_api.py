"""The agreements API: create, read, change, list with filters and pages, parties; unknown fields
refused and errors in the shell's one shape."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from core.models import AuditEntry
from registry.agreements import services
from registry.models import Agreement, AgreementStatus
from tests.registry.test_agreements_support import agreement_body, party

URL = "/api/v1/agreements/"


def count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Agreement))


@pytest.fixture
def admin(login_as):
    return login_as("admin", kommun="Härryda")


def test_create_with_two_buyers_returns_the_agreement(admin, municipality, db, monkeypatch):
    monkeypatch.setattr(services, "local_today", lambda: dt.date(2025, 3, 1))
    response = admin.api("post", URL, json=agreement_body(municipality))
    assert response.status_code == 201, response.json
    body = response.json
    assert body["number"] == "GR-JAV-2024"
    assert body["status"] == "draft" and body["status_label"] == "Utkast"
    assert body["area_label"] == "Jävsärenden"
    assert body["cooperation_form_label"] == "Avtalssamverkan"
    assert body["allowed_transitions"] == ["active"]
    assert body["owner"]["id"] == admin.user.id
    assert [(p["municipality"]["name"], p["role"], p["board"]) for p in body["parties"]] == [
        ("Göteborg", "host", "Socialnämnden Göteborg"),
        ("Härryda", "buyer", "Socialnämnden Härryda"),
        ("Lerum", "buyer", "Socialnämnden Lerum"),
    ]
    assert body["parties"][0]["municipality"]["kommunkod"] == "1480"
    assert body["parties"][0]["role_label"] == "Utförare (värdkommun)"
    assert (body["current_end_date"], body["last_notice_date"], body["next_notice_date"]) == (
        "2026-12-31",
        "2026-06-30",
        "2026-06-30",
    )
    assert count(db) == 1


def test_parties_can_be_given_by_kommunkod(admin, municipality):
    body = agreement_body(municipality)
    body["parties"] = [
        {"kommunkod": "1480", "role": "host"},
        {"kommunkod": "1401", "role": "buyer", "decision_reference": "KS § 7", "decision_date": "2023-10-02"},
    ]
    response = admin.api("post", URL, json=body)
    assert response.status_code == 201, response.json
    assert [p["municipality"]["name"] for p in response.json["parties"]] == ["Göteborg", "Härryda"]
    assert response.json["parties"][1]["decision_date"] == "2023-10-02"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"status": "active"}, {"status": ["Okänt fält."]}),
        ({"approved_by": "Anna"}, {"approved_by": ["Okänt fält."]}),
        ({"renewal_months": 0}, {"renewal_months": ["Måste vara minst 1 och högst 120."]}),
        ({"area": "skola"}, None),
        ({"start_date": "31/12/2024"}, {"start_date": ["Ange ett datum som ÅÅÅÅ-MM-DD."]}),
        ({"title": None}, {"title": ["Fältet får inte vara tomt."]}),
    ],
)
def test_create_refuses_unknown_and_invalid_fields(admin, municipality, db, change, expected):
    response = admin.api("post", URL, json=agreement_body(municipality) | change)
    assert response.status_code == 422
    assert response.json["code"] == 422
    assert response.json["message"]
    if expected is None:
        assert response.json["errors"]["area"][0].startswith("Välj ett av: familjeratt (Familjerätt)")
    else:
        assert response.json["errors"] == expected
    assert count(db) == 0


def test_unknown_field_in_a_party_is_refused(admin, municipality, db):
    body = agreement_body(municipality)
    body["parties"][1]["personnummer"] = "x"
    response = admin.api("post", URL, json=body)
    assert response.status_code == 422
    assert response.json["errors"] == {"parties": {"1": {"personnummer": ["Okänt fält."]}}}
    assert count(db) == 0


PARTY_PROBLEMS = {
    "two hosts": (
        lambda m: [party(m("Göteborg"), "host"), party(m("Härryda"), "host"), party(m("Lerum"))],
        "Ett avtal har exakt en utförande kommun (värdkommun), men 2 är angivna: Göteborg, Härryda. "
        "Ange de övriga som köpare.",
    ),
    "no buyer": (lambda m: [party(m("Härryda"), "host")], "Ange minst en köpande kommun."),
    "no host": (
        lambda m: [party(m("Härryda")), party(m("Lerum"))],
        "Ange den utförande kommunen (värdkommunen).",
    ),
    "same municipality twice": (
        lambda m: [party(m("Göteborg"), "host"), party(m("Härryda")), party(m("Härryda"))],
        "Härryda finns med mer än en gång. Varje kommun kan bara vara part en gång.",
    ),
    "host also buyer": (
        lambda m: [party(m("Härryda"), "host"), party(m("Härryda"))],
        "Härryda finns med mer än en gång. Varje kommun kan bara vara part en gång.",
    ),
}


@pytest.mark.parametrize("case", list(PARTY_PROBLEMS), ids=list(PARTY_PROBLEMS))
def test_party_rules_are_enforced_with_swedish_messages(admin, municipality, db, case):
    parties, message = PARTY_PROBLEMS[case]
    response = admin.api("post", URL, json=agreement_body(municipality, parties=parties(municipality)))
    assert response.status_code == 422
    assert message in response.json["errors"]["parties"]
    assert count(db) == 0


def test_unknown_municipality_is_reported_on_its_row(admin, municipality, db):
    body = agreement_body(municipality)
    body["parties"].append({"kommunkod": "9999", "role": "buyer"})
    body["parties"].append({"municipality_id": 999999, "role": "buyer"})
    response = admin.api("post", URL, json=body)
    assert response.status_code == 422
    assert response.json["errors"] == {
        "parties": {
            "3": {"kommunkod": ["Det finns ingen kommun med kommunkod 9999."]},
            "4": {"municipality_id": ["Kommunen finns inte."]},
        }
    }


def test_api_reports_field_errors_before_the_rules_that_need_several_fields(
    admin, municipality, make_agreement, db
):
    make_agreement(number="GR-JAV-2024")
    body = agreement_body(
        municipality,
        start_date="2025-01-01",
        end_date="2024-12-31",
        description="Klient 811218-9876",
    )
    response = admin.api("post", URL, json=body)
    assert response.status_code == 422
    # The request schema answers first (as for every endpoint); then the service's rules follow.
    assert set(response.json["errors"]) == {"description"}
    body["description"] = None
    response = admin.api("post", URL, json=body)
    assert set(response.json["errors"]) == {"number", "end_date"}
    assert count(db) == 1


def test_registering_for_other_municipalities_only_is_refused(admin, municipality, db):
    body = agreement_body(municipality, host="Göteborg", buyers=("Lerum",))
    response = admin.api("post", URL, json=body)
    assert response.status_code == 422
    assert response.json["errors"]["parties"] == [
        "Härryda måste vara part i avtalet, som utförare eller köpare: du kan bara registrera avtal som din "
        "egen kommun deltar i."
    ]
    assert count(db) == 0


@pytest.mark.parametrize("role", ["finance", "legal", "caseworker", "auditor"])
def test_only_administrators_register(login_as, municipality, role, db):
    c = login_as(role, kommun="Härryda")
    response = c.api("post", URL, json=agreement_body(municipality))
    assert response.status_code == 403
    assert response.json["message"] == "Du har inte behörighet till detta."
    assert count(db) == 0


def test_patch_changes_only_the_given_fields(admin, make_agreement, db):
    agreement = make_agreement(title="Titel", notice_months=6)
    response = admin.api(
        "patch",
        f"{URL}{agreement.id}",
        json={"notice_months": 3, "description": "Uppdaterad efter omförhandling."},
    )
    assert response.status_code == 200, response.json
    assert response.json["notice_months"] == 3
    assert response.json["title"] == "Titel"
    db.expire_all()
    stored = db.get(Agreement, agreement.id)
    assert (stored.notice_months, stored.description, stored.title) == (
        3,
        "Uppdaterad efter omförhandling.",
        "Titel",
    )


def test_patch_checks_dates_against_the_stored_values(admin, make_agreement):
    agreement = make_agreement(start_date=dt.date(2024, 1, 1), end_date=dt.date(2026, 12, 31))
    response = admin.api("patch", f"{URL}{agreement.id}", json={"start_date": "2027-01-01"})
    assert response.status_code == 422
    assert response.json["errors"] == {"end_date": ["Slutdatumet kan inte vara före startdatumet."]}


def test_patch_cannot_change_the_status(admin, make_agreement):
    agreement = make_agreement(status=AgreementStatus.DRAFT)
    response = admin.api("patch", f"{URL}{agreement.id}", json={"status": "active"})
    assert response.status_code == 422
    assert response.json["errors"] == {"status": ["Okänt fält."]}


def test_patch_number_must_stay_unique(admin, make_agreement):
    make_agreement(number="GR-A")
    agreement = make_agreement(number="GR-B")
    assert admin.api("patch", f"{URL}{agreement.id}", json={"number": "GR-B"}).status_code == 200  # itself
    response = admin.api("patch", f"{URL}{agreement.id}", json={"number": "gr-a"})
    assert response.status_code == 422
    assert response.json["errors"]["number"] == [
        "Avtalsnumret gr-a används redan av ett annat avtal. Välj ett annat nummer."
    ]


def test_parties_endpoint_reads_and_replaces(admin, make_agreement, municipality, db):
    agreement = make_agreement(host="Göteborg", buyers=("Lerum", "Härryda"))
    response = admin.api("get", f"{URL}{agreement.id}/parties")
    assert [p["municipality"]["name"] for p in response.json] == ["Göteborg", "Härryda", "Lerum"]
    response = admin.api(
        "put",
        f"{URL}{agreement.id}/parties",
        json={
            "parties": [
                party(municipality("Göteborg"), "host", contact_email="kontakt@goteborg.test"),
                party(municipality("Härryda"), contact_phone="031-724 61 00"),
                party(municipality("Ale"), board="Socialnämnden Ale"),
            ]
        },
    )
    assert response.status_code == 200, response.json
    assert [(p["municipality"]["name"], p["role"]) for p in response.json] == [
        ("Göteborg", "host"),
        ("Ale", "buyer"),
        ("Härryda", "buyer"),
    ]
    assert response.json[0]["contact_email"] == "kontakt@goteborg.test"
    db.expire_all()
    assert {p.municipality.name for p in db.get(Agreement, agreement.id).parties} == {
        "Göteborg",
        "Härryda",
        "Ale",
    }


def test_parties_put_refuses_a_bad_set_and_keeps_the_old(admin, make_agreement, municipality, db):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"))
    response = admin.api(
        "put",
        f"{URL}{agreement.id}/parties",
        json={"parties": [party(municipality("Göteborg"), "host"), party(municipality("Härryda"), "host")]},
    )
    assert response.status_code == 422
    assert response.json["errors"]["parties"] == [
        "Ett avtal har exakt en utförande kommun (värdkommun), men 2 är angivna: Göteborg, Härryda. "
        "Ange de övriga som köpare.",
        "Ange minst en köpande kommun.",
    ]
    assert admin.api("put", f"{URL}{agreement.id}/parties", json=[]).status_code == 422
    db.expire_all()
    assert len(db.get(Agreement, agreement.id).parties) == 3


def test_list_is_paginated_and_filtered(admin, make_agreement, municipality, monkeypatch):
    monkeypatch.setattr(services, "local_today", lambda: dt.date(2026, 6, 1))
    for n in range(5):
        make_agreement(
            number=f"GR-{n}", buyers=("Härryda",), end_date=dt.date(2026, 6, 10 + n), renewal_months=None
        )
    make_agreement(number="OTHER", host="Mölndal", buyers=("Partille",))
    response = admin.api("get", f"{URL}?page=1&page_size=2")
    assert response.status_code == 200
    assert [a["number"] for a in response.json] == ["GR-0", "GR-1"]
    assert json.loads(response.headers["X-Pagination"])["total"] == 5
    response = admin.api("get", f"{URL}?ends_within_days=11&page_size=2&page=2")
    assert [a["number"] for a in response.json] == ["GR-2"]
    assert json.loads(response.headers["X-Pagination"])["total"] == 3
    harryda = municipality("Härryda").id
    assert (
        len(admin.api("get", f"{URL}?party_municipality_id={harryda}&status=active&area=javsarenden").json)
        == 5
    )
    assert admin.api("get", f"{URL}?q=gr-4").json[0]["number"] == "GR-4"
    bad = admin.api("get", f"{URL}?ends_within_days=-1&status=paused")
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"ends_within_days", "status"}


def test_requires_login(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json["message"] == "Du behöver logga in."


def test_bearer_token_works_without_csrf(app, make_user, make_agreement, db):
    from core import services as core_services

    agreement = make_agreement()
    user = make_user(roles=("admin",), kommun="Lerum")
    _, secret = core_services.create_api_token(db, user, "Avtalsregister")
    db.commit()
    response = app.test_client().patch(
        f"{URL}{agreement.id}", json={"title": "Via nyckel"}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200
    assert response.json["title"] == "Via nyckel"


def test_openapi_documents_the_agreement_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    assert set(paths["/api/v1/agreements/"]) >= {"get", "post"}
    assert set(paths["/api/v1/agreements/{agreement_id}"]) >= {"get", "patch"}
    assert "post" in paths["/api/v1/agreements/{agreement_id}/transition"]
    assert set(paths["/api/v1/agreements/{agreement_id}/parties"]) >= {"get", "put"}
    upload = paths["/api/v1/agreements/{agreement_id}/attachments"]["post"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]
    assert "get" in paths["/api/v1/agreements/{agreement_id}/attachments/{attachment_id}/content"]
    schema = spec["components"]["schemas"]["Agreement"]["properties"]
    assert schema["current_end_date"]["format"] == "date" and schema["current_end_date"]["readOnly"]
    query = {p["name"] for p in paths["/api/v1/agreements/"]["get"]["parameters"]}
    assert query >= {"q", "area", "party_municipality_id", "status", "ends_within_days", "notice_within_days"}


def test_creation_is_recorded_in_the_audit_log_for_every_party(admin, municipality, db, login_as):
    created = admin.api("post", URL, json=agreement_body(municipality)).json
    db.expire_all()
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.entity.in_(["agreements", "agreement_parties"]))
    ).all()
    inserted = {(e.entity, e.action) for e in entries}
    assert ("agreements", "insert") in inserted and ("agreement_parties", "insert") in inserted
    agreement_entry = next(e for e in entries if e.entity == "agreements")
    assert agreement_entry.entity_id == str(created["id"])
    assert agreement_entry.changes["number"] == [None, "GR-JAV-2024"]
    assert agreement_entry.user_id == admin.user.id
    # Auditors of every party read the entry; a third municipality's auditor does not.
    lerum_auditor = login_as("auditor", kommun="Lerum")
    ids = {e["entity_id"] for e in lerum_auditor.get("/api/v1/audit/?entity=agreements").json}
    assert str(created["id"]) in ids
    assert login_as("auditor", kommun="Mölndal").get("/api/v1/audit/?entity=agreements").json == []
