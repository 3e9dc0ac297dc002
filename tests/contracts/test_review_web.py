"""Pages (/avtalsversioner/<id>/granskning, /avtalsgranskning/) and API (/api/v1/contract-versions/<id>/review,
/api/v1/contract-reviews) of the legal review: roles, the non-party 404, approval refused with the rows
named, the override reason in the audit log, the lists, the menu item and the start-page panel."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import render_template
from flask_login import login_user
from sqlalchemy import select

from contracts.models import ReviewStatus, VersionStatus
from core.models import AuditEntry
from tests.contracts import review_support
from tests.contracts.review_support import approve_directly, mark_all_ok, row

public_parties = review_support.public_parties
complete_version = review_support.complete_version
submitted = review_support.submitted


def page(version) -> str:
    return f"/avtalsversioner/{version.id}/granskning"


def api(version, path: str = "") -> str:
    return f"/api/v1/contract-versions/{version.id}/review{path}"


# --- Who sees what -----------------------------------------------------------------------------------


def test_non_party_gets_404_everywhere(login_as, submitted):
    version = submitted()
    outsider = login_as("legal", kommun="Malmö")
    assert outsider.get(page(version)).status_code == 404
    for path, method, body in [
        ("", "get", None),
        ("/submit", "post", None),
        ("/prechecks", "post", None),
        ("/rows/scope", "put", {"status": "ok"}),
        ("/approve", "post", {"override_reason": "x"}),
        ("/return", "post", {"reason": "x"}),
    ]:
        response = outsider.api(method, api(version, path), json=body)
        assert response.status_code == 404, path
        assert response.json["code"] == 404
    for path in ("", "/lamna-in", "/forkontroller", "/godkann", "/tillbaka"):
        assert outsider.post_form(page(version) + path, {}).status_code == 404, path


def test_caseworker_of_a_party_reads_the_review_without_forms(login_as, submitted):
    version = submitted()
    html = login_as("caseworker", kommun="Lerum").get(page(version)).get_data(as_text=True)
    assert "Juridisk granskning: TEST-" in html
    assert "Du kan läsa granskningen." in html
    assert "Spara granskningen" not in html and "Godkänn versionen</button>" not in html
    assert "Alla parter är offentliga organ" in html  # the pre-checks are shown
    assert "Hamburgundantaget" in html and "OSL 10 kap. 2 §" in html  # sections and hints


def test_legal_of_a_party_gets_the_forms(login_as, submitted):
    version = submitted()
    html = login_as("legal", kommun="Härryda").get(page(version)).get_data(as_text=True)
    assert 'id="granskning"' in html and "Spara granskningen" in html
    assert 'data-confirm="Godkänna version 1? En godkänd version kan inte ändras."' in html
    assert "Skäl att godkänna trots bristerna" in html  # rows block approval: the override field shows
    assert "Skicka tillbaka till utkast</button>" in html
    assert "Omfattning</a>: inte bedömd" in html


def test_draft_page_offers_submission_to_editors_only(login_as, complete_version):
    version = complete_version()
    admin_html = login_as("admin", kommun="Göteborg").get(page(version)).get_data(as_text=True)
    assert "Lämna in för juridisk granskning</button>" in admin_html
    assert "räknas de fram nu" in admin_html  # live pre-checks for a draft
    caseworker_html = login_as("caseworker", kommun="Göteborg").get(page(version)).get_data(as_text=True)
    assert "Lämna in för juridisk granskning</button>" not in caseworker_html


# --- Submitting and marking through the pages --------------------------------------------------------


def test_submit_through_the_page(login_as, complete_version, db):
    version = complete_version()
    client = login_as("finance", kommun="Lerum")
    response = client.post_form(page(version) + "/lamna-in")
    assert response.status_code == 302
    db.expire_all()
    assert version.status == VersionStatus.IN_REVIEW and len(version.review_rows) == 31
    assert "Version 1 är inlämnad för juridisk granskning" in client.get(page(version)).get_data(as_text=True)
    again = client.post_form(page(version) + "/lamna-in")
    assert again.status_code == 409
    assert "Bara ett utkast kan lämnas in" in again.get_data(as_text=True)
    assert login_as("caseworker", kommun="Lerum").post_form(page(version) + "/lamna-in").status_code == 403


def test_mark_rows_through_the_form_rerenders_errors(login_as, submitted, db):
    version = submitted()
    client = login_as("legal", kommun="Göteborg")
    scope, hamburg = row(version, "scope"), row(version, "hamburg_cooperation")
    response = client.post_form(
        page(version),
        {
            f"row-{scope.id}-status": "missing",
            f"row-{scope.id}-answer": "",
            f"row-{scope.id}-comment": "",
            f"row-{hamburg.id}-status": "ok",
            f"row-{hamburg.id}-answer": "",
            f"row-{hamburg.id}-comment": "Alla parter bidrar med handläggare.",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Uppgifterna sparades inte" in html
    assert "Omfattning: kommentar" in html and "Skriv vad som saknas eller avviker." in html
    assert "Svara ja eller nej: är kriteriet uppfyllt?" in html
    assert "Alla parter bidrar med handläggare." in html  # what was typed is kept
    db.expire_all()
    assert scope.status is None and hamburg.status is None  # nothing was saved
    response = client.post_form(
        page(version),
        {
            f"row-{scope.id}-status": "missing",
            f"row-{scope.id}-comment": "Vem som verkställer saknas.",
            f"row-{hamburg.id}-status": "ok",
            f"row-{hamburg.id}-answer": "yes",
            f"row-{hamburg.id}-comment": "Alla parter bidrar med handläggare.",
        },
    )
    assert response.status_code == 302
    db.expire_all()
    assert (scope.status, scope.comment, scope.reviewed_by_id) == (
        ReviewStatus.MISSING,
        "Vem som verkställer saknas.",
        client.user.id,
    )
    assert (hamburg.status, hamburg.answer) == (ReviewStatus.OK, True)
    assert "Granskningen är sparad (2 rader)." in client.get(page(version)).get_data(as_text=True)


def test_unchanged_rows_are_not_re_marked(login_as, submitted, db):
    version = submitted()
    parties = row(version, "parties")  # set OK by the pre-check
    client = login_as("legal", kommun="Göteborg")
    response = client.post_form(
        page(version), {f"row-{parties.id}-status": "ok", f"row-{parties.id}-comment": ""}
    )
    assert response.status_code == 302
    db.expire_all()
    assert parties.reviewed_at is None
    assert "Inga ändringar att spara." in client.get(page(version)).get_data(as_text=True)


@pytest.mark.parametrize("roles", [("admin",), ("finance",), ("caseworker",)])
def test_only_legal_marks_and_approves_through_the_pages(login_as, submitted, roles):
    version = submitted()
    client = login_as(*roles, kommun="Göteborg")
    scope = row(version, "scope")
    assert client.post_form(page(version), {f"row-{scope.id}-status": "ok"}).status_code == 403
    assert client.post_form(page(version) + "/godkann", {"override_reason": "x"}).status_code == 403


def test_approval_refused_on_the_page_then_approved_with_a_reason(login_as, submitted, db):
    version = submitted()
    client = login_as("legal", kommun="Göteborg")
    refused = client.post_form(page(version) + "/godkann", {"override_reason": ""})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "Versionen kan inte godkännas: " in html and "Omfattning (inte bedömd)" in html
    assert "Ange ett skäl för att godkänna trots raderna ovan" in html
    done = client.post_form(page(version) + "/godkann", {"override_reason": "Brådskande beslut i nämnden."})
    assert done.status_code == 302
    html = client.get(page(version)).get_data(as_text=True)
    assert "Version 1 är godkänd. Skälet att godkänna trots bristerna är sparat i granskningsloggen." in html
    assert "Brådskande beslut i nämnden." in html
    assert "Spara granskningen" not in html  # approved: read-only


def test_return_to_draft_through_the_page(login_as, submitted, db):
    version = submitted()
    client = login_as("legal", kommun="Härryda")
    missing = client.post_form(page(version) + "/tillbaka", {"reason": " "})
    assert missing.status_code == 422
    assert "Vad behöver ändras?" in missing.get_data(as_text=True)
    assert (
        client.post_form(page(version) + "/tillbaka", {"reason": "Ange vem som verkställer."}).status_code
        == 302
    )
    db.expire_all()
    assert version.status == VersionStatus.DRAFT
    html = client.get(page(version)).get_data(as_text=True)
    assert "Skickades tillbaka till utkast" in html and "Ange vem som verkställer." in html


def test_refresh_prechecks_through_the_page(login_as, submitted, public_parties, db):
    version = submitted()
    public_parties("Lerum", None)
    client = login_as("admin", kommun="Lerum")
    assert client.post_form(page(version) + "/forkontroller").status_code == 302
    db.expire_all()
    assert row(version, "parties").status == ReviewStatus.MISSING


def test_a_broken_checklist_file_gives_a_swedish_error_not_a_crash(app, login_as, complete_version, tmp_path):
    broken = tmp_path / "lista.csv"
    broken.write_text("key;section;label;hint;precheck\nscope;bilaga;Omfattning;Vad;\n", encoding="utf-8")
    version = complete_version()
    client = login_as("admin", kommun="Göteborg")
    app.config["CONTRACTS_REVIEW_CHECKLIST"] = str(broken)
    try:
        response = client.api("post", api(version, "/submit"))
    finally:
        del app.config["CONTRACTS_REVIEW_CHECKLIST"]
    assert response.status_code == 503
    assert "rad 2: avsnittet ”bilaga” är okänt" in response.json["message"]


# --- API ---------------------------------------------------------------------------------------------


def test_api_review_of_a_version_in_review(login_as, submitted, public_parties):
    public_parties("Härryda", None)
    version = submitted()
    body = login_as("auditor", kommun="Härryda").api("get", api(version)).json
    assert body["status"] == "in_review" and body["status_label"] == "Under juridisk granskning"
    assert len(body["rows"]) == 31 and body["rows"][0]["key"] == "parties"
    assert body["rows"][0]["status"] == "missing" and body["rows"][0]["auto_ok"] is False
    assert body["rows"][0]["hint"].startswith("Alla parter anges")
    prechecks = {p["key"]: p for p in body["prechecks"]}
    assert prechecks["public_parties"]["ok"] is False and prechecks["public_parties"]["row_key"] == "parties"
    assert "Härryda saknar organisationsnummer" in prechecks["public_parties"]["detail"]
    blocking = {b["key"]: b["reason"] for b in body["blocking_rows"]}
    assert blocking["parties"] == "saknas" and blocking["scope"] == "inte bedömd"
    assert blocking["hamburg_public_interest"] == "ja/nej-svar saknas"
    assert (body["may_review"], body["may_edit"]) == (False, False)


def test_api_submit_mark_and_approve(login_as, complete_version, db):
    version = complete_version()
    admin = login_as("admin", kommun="Göteborg")
    submitted_body = admin.api("post", api(version, "/submit")).json
    assert submitted_body["status"] == "in_review" and submitted_body["may_edit"] is True
    legal = login_as("legal", kommun="Lerum")
    response = legal.api(
        "put", api(version, "/rows/hamburg_cooperation"), json={"status": "ok", "answer": True}
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"comment": ["Motivera svaret."]}
    response = legal.api(
        "put",
        api(version, "/rows/hamburg_cooperation"),
        json={"status": "ok", "answer": True, "comment": "Alla bidrar."},
    )
    assert response.status_code == 200
    assert response.json["answer"] is True and response.json["reviewed_by"] == legal.user.name
    assert response.json["blocking"] is None
    assert legal.api("put", api(version, "/rows/okand"), json={"status": "ok"}).status_code == 404
    assert legal.api("put", api(version, "/rows/scope"), json={"status": "ok", "extra": 1}).status_code == 422
    refused = legal.api("post", api(version, "/approve"), json={})
    assert refused.status_code == 409
    assert refused.json["code"] == 409
    assert "Omfattning (inte bedömd)" in refused.json["errors"]["rows"]
    assert "Omfattning (inte bedömd)" in refused.json["message"]
    db.expire_all()
    mark_all_ok(db, legal.user, version)
    approved = legal.api("post", api(version, "/approve"), json={})
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved" and approved.json["approved_by"] == legal.user.name
    assert approved.json["blocking_rows"] == []
    assert legal.api("post", api(version, "/approve"), json={}).status_code == 409


@pytest.mark.parametrize("roles", [("admin",), ("finance",), ("caseworker",)])
def test_api_approval_is_403_for_other_roles(login_as, submitted, roles):
    version = submitted()
    response = login_as(*roles, kommun="Göteborg").api(
        "post", api(version, "/approve"), json={"override_reason": "x"}
    )
    assert response.status_code == 403


def test_api_override_reason_lands_in_the_audit_log(login_as, submitted, db):
    version = submitted()
    legal = login_as("legal", kommun="Härryda")
    response = legal.api(
        "post", api(version, "/approve"), json={"override_reason": "Nämnden beslutar i morgon."}
    )
    assert response.status_code == 200
    assert response.json["approval_override_reason"] == "Nämnden beslutar i morgon."
    entry = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "contract_versions", AuditEntry.entity_id == str(version.id))
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry.user_id == legal.user.id
    assert entry.changes["approval_override_reason"] == [None, "Nämnden beslutar i morgon."]
    assert entry.changes["status"] == ["in_review", "approved"]


def test_api_return_to_draft(login_as, submitted):
    version = submitted()
    legal = login_as("legal", kommun="Göteborg")
    assert legal.api("post", api(version, "/return"), json={}).status_code == 422
    body = legal.api("post", api(version, "/return"), json={"reason": "Omfattningen saknas."}).json
    assert body["status"] == "draft" and body["review_return_reason"] == "Omfattningen saknas."
    assert legal.api("post", api(version, "/prechecks")).status_code == 409


def test_api_lists(login_as, submitted, make_agreement, make_version, make_user, db):
    awaiting = submitted()
    old = make_version(make_agreement(), status="in_review")
    approve_directly(
        db, old, make_user(roles=("legal",), kommun="Göteborg"), dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    client = login_as("legal", kommun="Lerum")
    listed = client.api("get", "/api/v1/contract-reviews/awaiting")
    assert listed.status_code == 200
    assert [v["version_id"] for v in listed.json] == [awaiting.id]
    assert listed.json[0]["agreement_number"] == awaiting.agreement.number
    assert listed.headers["X-Pagination"]
    stale = client.api("get", "/api/v1/contract-reviews/stale").json
    assert [(v["version_id"], v["approved_at"][:10]) for v in stale] == [(old.id, "2020-01-01")]
    outsider = login_as("legal", kommun="Malmö")
    assert outsider.api("get", "/api/v1/contract-reviews/awaiting").json == []
    assert outsider.api("get", "/api/v1/contract-reviews/stale").json == []


# --- Queue, menu, panels --------------------------------------------------------------------------


def test_queue_page_and_menu_item(login_as, submitted, make_agreement, make_version, make_user, db):
    awaiting = submitted()
    old = make_version(make_agreement(title="Gammalt avtal"), status="in_review")
    approve_directly(
        db, old, make_user(roles=("legal",), kommun="Göteborg"), dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    legal = login_as("legal", kommun="Härryda")
    html = legal.get("/avtalsgranskning/").get_data(as_text=True)
    assert ">Avtalsgranskning</a>" in html  # the menu item
    assert "Väntar på granskning (1)" in html and f"/avtalsversioner/{awaiting.id}/granskning" in html
    assert "Godkända för mer än ett år sedan (1)" in html and "Gammalt avtal" in html and "2020-01-01" in html
    caseworker = login_as("caseworker", kommun="Härryda")
    start = caseworker.get("/").get_data(as_text=True)
    assert ">Avtalsgranskning</a>" not in start
    outsider_html = login_as("legal", kommun="Malmö").get("/avtalsgranskning/").get_data(as_text=True)
    assert "Inga versioner väntar på granskning." in outsider_html
    assert "Inga godkännanden är äldre än ett år." in outsider_html


def test_start_page_panel_for_legal(login_as, submitted):
    submitted()
    html = login_as("legal", kommun="Lerum").get("/").get_data(as_text=True)
    assert "<strong>1 avtalsversion</strong> väntar på juridisk granskning." in html
    assert "Till avtalsgranskningen" in html
    assert "Till avtalsgranskningen" not in login_as("finance", kommun="Lerum").get("/").get_data(
        as_text=True
    )
    nothing = login_as("legal", kommun="Partille").get("/").get_data(as_text=True)
    assert "Inga avtalsversioner väntar på juridisk granskning." in nothing


def _panel(app, user, version) -> str:
    with app.test_request_context("/"):
        login_user(user)
        return render_template("contracts/review/_version_panel.html", version=version)


def test_version_panel(app, db, complete_version, submitted, make_user):
    draft = complete_version()
    admin = make_user(roles=("admin",), kommun="Göteborg")
    html = _panel(app, admin, draft)
    assert "<h2" in html and "Juridisk granskning</h2>" in html
    assert "Versionen är ett utkast och är inte inlämnad för granskning." in html
    assert "Lämna in för juridisk granskning</button>" in html
    assert f'action="/avtalsversioner/{draft.id}/granskning/lamna-in"' in html
    caseworker = make_user(roles=("caseworker",), kommun="Göteborg")
    assert "Lämna in för juridisk granskning</button>" not in _panel(app, caseworker, draft)
    version = submitted()
    legal = make_user(roles=("legal",), kommun="Göteborg")
    html = _panel(app, legal, version)
    assert "Versionen är under granskning: 5 av 31 rader är bedömda, 27 rader hindrar godkännande." in html
    assert "Granska versionen</a>" in html
    mark_all_ok(db, legal, version)
    from contracts.review import services

    services.approve_version(db, legal, version)
    db.commit()
    assert "Versionen är godkänd" in _panel(app, caseworker, version)
