"""Pages (/avtalsversioner/<id>/indexering, /indexjusteringar/), the version panel and the API
(/api/v1/contract-versions/<id>/indexation, /api/v1/index-adjustments) of indexing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import pytest
from flask import render_template
from flask_login import login_user
from sqlalchemy import select

from contracts import services as register
from contracts.indexing import services
from contracts.models import CompensationModel, ContractVersion, IndexValue, VersionStatus
from tests.contracts.test_indexing_services import add_component, approve

DATE = dt.date
NBSP = "\u00a0"


@pytest.fixture
def version(db, make_agreement, make_version, make_index_value, legal):
    """Approved version 1 (hourly 1 120,00 kr in 2026, OPI oktober from 2025-01-01, öre) plus a fixed
    fee of 250 000 kr, and OPI 2027 = 3,1 % (preliminary)."""
    agreement = make_agreement(start_date=DATE(2024, 1, 1), end_date=DATE(2029, 12, 31))
    version = make_version(agreement, status="draft")
    add_component(version, CompensationModel.FIXED_FEE, {2026: "250000.00"})
    db.commit()
    approve(db, version, legal)
    make_index_value(kind="opi", year=2027, percent="3.1", edition="OPI 2027 (preliminär)")
    return version


@pytest.fixture
def legal(make_user):
    return make_user(roles=("legal",), kommun="Göteborg")


def url(version, year=None):
    return f"/avtalsversioner/{version.id}/indexering" + (f"?year={year}" if year else "")


def api_url(version, year=None):
    return f"/api/v1/contract-versions/{version.id}/indexation" + (f"?year={year}" if year else "")


def _amendment(db, version) -> ContractVersion:
    db.expire_all()
    return db.scalar(
        select(ContractVersion).where(
            ContractVersion.agreement_id == version.agreement_id, ContractVersion.number == 2
        )
    )


# --- The indexation page --------------------------------------------------------------------------


def test_page_shows_the_reviewable_change_in_swedish_formats(login_as, version):
    page = login_as("finance", kommun="Härryda").get(url(version, 2027))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Priserna räknas upp varje år med OPI (OPI oktober)" in html
    assert f"1{NBSP}120,00{NBSP}kr" in html and f"1{NBSP}154,72{NBSP}kr" in html  # old and new hourly rate
    assert f"1{NBSP}154,72 kr" in html  # the exact price (1 154,72000)
    assert f"34,72{NBSP}kr" in html  # the difference
    assert f"257{NBSP}750,00{NBSP}kr" in html and f"7{NBSP}750,00{NBSP}kr" in html  # the fixed fee
    assert f"3,10{NBSP}%" in html and "preliminärt" in html
    assert "Till hela ören" in html
    assert "2027-01-01" in html
    assert "Skapa tilläggsavtal med nya priser" in html
    assert 'data-confirm="Skapa tilläggsavtalet' in html


def test_page_defaults_to_next_year(login_as, version, monkeypatch):
    monkeypatch.setattr("contracts.indexing.schemas.local_today", lambda: DATE(2026, 11, 5))
    html = login_as("legal", kommun="Göteborg").get(url(version)).get_data(as_text=True)
    assert 'value="2027"' in html and "Nya priser 2027" in html


def test_page_errors_are_swedish(db, login_as, version):
    client = login_as("finance", kommun="Härryda")
    no_prices = client.get(url(version, 2028))
    assert no_prices.status_code == 422
    assert "Versionen har inga priser för 2027" in no_prices.get_data(as_text=True)
    already = client.get(url(version, 2026))
    assert already.status_code == 422
    assert "Versionen har redan priser för 2026" in already.get_data(as_text=True)
    assert client.get(url(version) + "?year=tjugo").status_code == 422
    db.delete(db.scalar(select(IndexValue).where(IndexValue.year == 2027)))
    db.commit()
    missing = client.get(url(version, 2027))
    assert missing.status_code == 422
    assert "Det finns inget värde för OPI 2027 i indexregistret" in missing.get_data(as_text=True)
    assert "Skapa tilläggsavtal" not in missing.get_data(as_text=True)


def test_caseworker_sees_the_preview_without_the_button_and_gets_403_on_apply(login_as, version):
    client = login_as("caseworker", kommun="Lerum")
    html = client.get(url(version, 2027)).get_data(as_text=True)
    assert f"1{NBSP}154,72{NBSP}kr" in html
    assert "Skapa tilläggsavtal med nya priser" not in html
    assert client.post_form(url(version), {"year": "2027"}).status_code == 403


def test_non_party_gets_404_everywhere(login_as, version):
    client = login_as("legal", kommun="Malmö")
    assert client.get(url(version, 2027)).status_code == 404
    assert client.post_form(url(version), {"year": "2027"}).status_code == 404
    assert client.api("get", api_url(version, 2027)).status_code == 404
    assert client.api("post", api_url(version), json={"year": 2027}).status_code == 404


def test_apply_creates_the_amendment_and_goes_to_it(db, login_as, version):
    client = login_as("legal", kommun="Göteborg")
    response = client.post_form(url(version), {"year": "2027"})
    assert response.status_code == 302
    amendment = _amendment(db, version)
    assert response.headers["Location"].endswith(f"/avtalsversioner/{amendment.id}")
    assert (amendment.status, amendment.title, amendment.effective_from) == (
        VersionStatus.DRAFT,
        "Indexuppräkning 2027",
        DATE(2027, 1, 1),
    )
    assert len(amendment.price_indexations) == 2
    # A second try while the amendment is open: 409 with the reason on the page.
    again = client.post_form(url(version), {"year": "2027"})
    assert again.status_code == 409
    assert "redan en öppen version (version 2" in again.get_data(as_text=True)


def test_apply_without_a_year_is_422(login_as, version):
    response = login_as("finance", kommun="Härryda").post_form(url(version), {"year": ""})
    assert response.status_code == 422
    assert "Ange året som de nya priserna ska gälla." in response.get_data(as_text=True)


# --- The version panel ----------------------------------------------------------------------------


def _panel(app, user, version) -> str:
    with app.test_request_context():
        login_user(user)
        return render_template("contracts/indexing/_version_panel.html", version=version)


def test_panel_shows_the_rule_the_indexations_and_the_link(app, db, make_user, version):
    finance = make_user(roles=("finance",), kommun="Härryda")
    html = _panel(app, finance, version)
    assert "Priserna räknas upp varje år med OPI" in html
    assert "Inga priser i den här versionen har räknats fram med index." in html
    assert f"/avtalsversioner/{version.id}/indexering" in html
    caseworker = make_user(roles=("caseworker",), kommun="Härryda")
    assert "/indexering" not in _panel(app, caseworker, version)

    amendment = services.apply_indexation(db, finance, version, 2027)
    db.commit()
    value = amendment.price_indexations[0].index_value
    register.revise_index_value(db, finance, value, "3.4", "preliminary")
    db.commit()
    html = _panel(app, finance, amendment)
    assert f"1{NBSP}120,00{NBSP}kr" in html and f"1{NBSP}154,72{NBSP}kr" in html
    assert f"OPI 2027: 3,10{NBSP}%" in html and "(preliminärt)" in html
    assert f"Indexvärdet är nu 3,40{NBSP}%" in html  # revised since: shown on the draft
    assert "/indexering" not in html  # a draft is not indexed again


def test_version_page_includes_the_panel(login_as, version):
    html = login_as("finance", kommun="Härryda").get(f"/avtalsversioner/{version.id}").get_data(as_text=True)
    assert 'id="indexing-h-' in html and f'href="/avtalsversioner/{version.id}/indexering"' in html


# --- The adjustments page -------------------------------------------------------------------------


@pytest.fixture
def revised(db, version, make_user, legal):
    """Version 2 "Indexuppräkning 2027" approved, then OPI 2027 revised from 3,1 % to 3,4 %."""
    finance = make_user(roles=("finance",), kommun="Göteborg")
    amendment = services.apply_indexation(db, finance, version, 2027)
    db.commit()
    approve(db, amendment, legal)
    register.revise_index_value(db, finance, amendment.price_indexations[0].index_value, "3.4", "preliminary")
    db.commit()
    return amendment


def test_adjustments_page_lists_the_difference(login_as, version, revised):
    client = login_as("finance", kommun="Lerum")
    page = client.get("/indexjusteringar/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/indexjusteringar/"' in html and "Indexjusteringar" in html  # the menu item
    assert "skrivs aldrig om" in html
    assert version.agreement.number in html
    # 1 120 × 1,034 = 1 158,08 (used 1 154,72): +3,36; 250 000 × 1,034 = 258 500 (used 257 750): +750.
    assert f"1{NBSP}154,72{NBSP}kr" in html and f"1{NBSP}158,08{NBSP}kr" in html and f"3,36{NBSP}kr" in html
    assert f"258{NBSP}500,00{NBSP}kr" in html and f"750,00{NBSP}kr" in html
    assert f"3,10{NBSP}% (preliminärt)" in html and f"3,40{NBSP}% (preliminärt)" in html
    assert (
        client.get("/indexjusteringar/?ar=2026").get_data(as_text=True).count("Fortfarande preliminärt") == 0
    )
    assert client.get("/indexjusteringar/?ar=x").status_code == 422


def test_adjustments_page_roles_and_scope(login_as, version, revised):
    caseworker = login_as("caseworker", kommun="Härryda")
    assert caseworker.get("/indexjusteringar/").status_code == 403
    assert 'href="/indexjusteringar/"' not in caseworker.get("/").get_data(as_text=True)
    outsider = login_as("legal", kommun="Malmö").get("/indexjusteringar/").get_data(as_text=True)
    assert version.agreement.number not in outsider and "Det finns inga indexjusteringar" in outsider


def test_finalizing_with_the_same_percent_shows_a_status_change(db, login_as, version, make_user, legal):
    finance = make_user(roles=("finance",), kommun="Göteborg")
    amendment = services.apply_indexation(db, finance, version, 2027)
    db.commit()
    approve(db, amendment, legal)
    register.revise_index_value(db, finance, amendment.price_indexations[0].index_value, "3.1", "final")
    db.commit()
    html = login_as("legal", kommun="Göteborg").get("/indexjusteringar/").get_data(as_text=True)
    assert "bara statusen har ändrats" in html and f"0,00{NBSP}kr" in html


# --- API ------------------------------------------------------------------------------------------


def test_api_preview(login_as, version):
    response = login_as("auditor", kommun="Härryda").api("get", api_url(version, 2027))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["year"], body["effective_from"], body["edition"], body["rounding"]) == (
        2027,
        "2027-01-01",
        "OPI oktober",
        "ore",
    )
    assert body["index"] == {
        "kind": "opi",
        "year": 2027,
        "percent": "3.1000",
        "status": "preliminary",
        "register_edition": "OPI 2027 (preliminär)",
    }
    hourly = next(r for r in body["rows"] if r["model"] == "hourly")
    assert (hourly["old_year"], hourly["old_price"], hourly["new_price"], hourly["difference"]) == (
        2026,
        "1120.00",
        "1154.72",
        "34.72",
    )
    assert D(hourly["exact_new_price"]) == D("1154.72")
    assert body["may_apply"] is False  # an auditor may not create amendments
    refused = login_as("finance", kommun="Härryda").api("get", api_url(version, 2026))
    assert refused.status_code == 422
    assert "redan priser för 2026" in refused.get_json()["errors"]["year"][0]


def test_api_apply_and_conflicts(db, login_as, version):
    client = login_as("finance", kommun="Härryda")
    created = client.api("post", api_url(version), json={"year": 2027})
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert (body["number"], body["status"], body["title"], body["based_on_id"]) == (
        2,
        "draft",
        "Indexuppräkning 2027",
        version.id,
    )
    assert sorted((i["old_amount"], i["new_amount"]) for i in body["price_indexations"]) == [
        ("1120.00", "1154.72"),
        ("250000.00", "257750.00"),
    ]
    again = client.api("post", api_url(version), json={"year": 2027})
    assert again.status_code == 409 and "redan en öppen version" in again.get_json()["message"]
    unknown = client.api("post", api_url(version), json={"year": 2027, "x": 1})
    assert unknown.status_code == 422
    caseworker = login_as("caseworker", kommun="Härryda")
    assert caseworker.api("post", api_url(version), json={"year": 2028}).status_code == 403


def test_api_adjustments(login_as, version, revised):
    client = login_as("legal", kommun="Härryda")
    response = client.api("get", "/api/v1/index-adjustments")
    assert response.status_code == 200
    rows = {r["component_label"]: r for r in response.get_json()}
    hourly = rows["Timpris, Utredning och handläggning"]
    assert (hourly["price_used"], hourly["recomputed_price"], hourly["difference"]) == (
        "1154.72",
        "1158.08",
        "3.36",
    )
    assert (hourly["percent_used"], hourly["current_percent"], hourly["is_final"]) == (
        "3.1000",
        "3.4000",
        False,
    )
    assert (hourly["version_id"], hourly["year"], hourly["agreement_number"]) == (
        revised.id,
        2027,
        version.agreement.number,
    )
    assert json.loads(response.headers["X-Pagination"])["total"] == 2
    filtered = client.api("get", f"/api/v1/index-adjustments?agreement_id={version.agreement_id}&year=2026")
    assert filtered.get_json() == []
    assert login_as("legal", kommun="Malmö").api("get", "/api/v1/index-adjustments").get_json() == []
    assert login_as("auditor", kommun="Härryda").api("get", "/api/v1/index-adjustments").status_code == 403


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert set(paths["/api/v1/contract-versions/{version_id}/indexation"]) >= {"get", "post"}
    assert "get" in paths["/api/v1/index-adjustments"]
