"""Pages (/indexvarden) and API (/api/v1/index-values) of the index values register."""

import json
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from contracts.models import IndexStatus, IndexValue, IndexValueRevision, RevisionKind

URL = "/api/v1/index-values/"


def api_body(**changes):
    data = {
        "kind": "opi",
        "edition": "OPI 2026",
        "year": 2026,
        "percent": "2.9",
        "status": "preliminary",
        "source": "SKR cirkulär 25:40",
    }
    data.update(changes)
    return data


# --- Pages --------------------------------------------------------------------------------------


def test_list_page_shows_values_in_swedish(login_as, make_index_value):
    make_index_value(kind="pkv", year=2026, percent="3.1")
    make_index_value(kind="opi", year=2026, percent="2.455")
    client = login_as("caseworker")
    page = client.get("/indexvarden/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "3,10\u00a0%" in html
    assert "2,455\u00a0%" in html
    assert "Registrera indexvärde" not in html  # read-only role
    assert "Indexvärden" in html  # the menu item and heading
    filtered = client.get("/indexvarden/?index=opi").get_data(as_text=True)
    assert "2,455\u00a0%" in filtered and "3,10\u00a0%" not in filtered


def test_list_page_bad_filter_is_422(login_as):
    assert login_as("caseworker").get("/indexvarden/?ar=tjugo").status_code == 422


def test_finance_records_a_value_through_the_form(login_as, db):
    client = login_as("finance")
    assert "Registrera indexvärde" in client.get("/indexvarden/").get_data(as_text=True)
    response = client.post_form(
        "/indexvarden/ny",
        {
            "kind": "pkv",
            "edition": "PKV oktober 2025",
            "year": "2026",
            "percent": "3,1",
            "status": "preliminary",
            "source": "SKR",
        },
    )
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "PKV 2026: 3,10\u00a0%" in detail
    assert "PKV 2026 är registrerat." in detail


def test_form_rerenders_with_swedish_messages(login_as, make_index_value):
    make_index_value(kind="pkv", year=2026)
    client = login_as("legal")
    response = client.post_form(
        "/indexvarden/ny",
        {
            "kind": "pkv",
            "edition": "PKV",
            "year": "2026",
            "percent": "3,1",
            "status": "preliminary",
            "source": "SKR",
        },
    )
    assert response.status_code == 422
    assert "Det finns redan ett värde för PKV 2026" in response.get_data(as_text=True)


@pytest.mark.parametrize("roles", [("caseworker",), ("admin",)])
def test_read_only_roles_get_403_on_page_writes(login_as, make_index_value, roles):
    value = make_index_value()
    client = login_as(*roles)
    assert client.get("/indexvarden/ny").status_code == 403
    assert (
        client.post_form(f"/indexvarden/{value.id}/revidera", {"percent": "4", "status": "final"}).status_code
        == 403
    )


def test_detail_revise_and_history(login_as, make_index_value, db):
    value = make_index_value(status="final", percent="3.1")
    client = login_as("finance")
    page = client.get(f"/indexvarden/{value.id}")
    assert "Rätta slutligt värde" in page.get_data(as_text=True)
    refused = client.post_form(f"/indexvarden/{value.id}/revidera", {"percent": "3,3", "status": "final"})
    assert refused.status_code == 422
    assert "Skriv varför det slutliga värdet rättas." in refused.get_data(as_text=True)
    done = client.post_form(
        f"/indexvarden/{value.id}/revidera", {"percent": "3,3", "status": "final", "reason": "Nytt cirkulär"}
    )
    assert done.status_code == 302
    html = client.get(f"/indexvarden/{value.id}").get_data(as_text=True)
    assert "Rättelse av slutligt värde" in html and "Nytt cirkulär" in html
    assert "3,30\u00a0%" in html
    back = client.post_form(
        f"/indexvarden/{value.id}/revidera", {"percent": "3,3", "status": "preliminary", "reason": "x"}
    )
    assert back.status_code == 409


def test_detail_of_unknown_value_is_404(login_as):
    assert login_as("caseworker").get("/indexvarden/999999").status_code == 404


def test_preview_page(login_as, make_index_value):
    make_index_value(kind="pkv", year=2026, percent="2.45")
    client = login_as("caseworker")
    assert client.get("/indexvarden/berakna").status_code == 200
    html = client.get("/indexvarden/berakna?price=985&index=pkv&year=2026&rounding=krona").get_data(
        as_text=True
    )
    assert "985,00\u00a0kr" in html
    assert "1\u00a0009,1325\u00a0kr" in html
    assert "1\u00a0009,00\u00a0kr" in html
    assert "2,45\u00a0%" in html
    missing = client.get("/indexvarden/berakna?price=985&index=aki&year=2026&rounding=ore")
    assert missing.status_code == 422
    assert "Det finns inget värde för AKI 2026" in missing.get_data(as_text=True)
    assert client.get("/indexvarden/berakna?price=abc&index=pkv&year=2026").status_code == 422


def test_pages_need_login(client):
    response = client.get("/indexvarden/")
    assert response.status_code in (302, 401)


# --- API ----------------------------------------------------------------------------------------


def test_api_create_get_and_list(login_as, make_index_value):
    make_index_value(kind="pkv", year=2025)
    client = login_as("finance")
    created = client.api("post", URL, json=api_body())
    assert created.status_code == 201, created.json
    assert created.json["percent"] == "2.9000"
    assert created.json["status"] == "preliminary"
    assert created.json["revisions"] == []
    got = client.get(f"{URL}{created.json['id']}")
    assert got.status_code == 200 and got.json["edition"] == "OPI 2026"
    listed = client.get(URL + "?kind=opi")
    assert [v["year"] for v in listed.json] == [2026]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    assert json.loads(client.get(URL).headers["X-Pagination"])["total"] == 2


def test_api_duplicate_and_invalid_are_422(login_as, make_index_value):
    make_index_value(kind="opi", year=2026)
    client = login_as("legal")
    duplicate = client.api("post", URL, json=api_body())
    assert duplicate.status_code == 422
    assert duplicate.json["code"] == 422
    assert "Det finns redan ett värde för OPI 2026" in duplicate.json["errors"]["year"][0]
    invalid = client.api("post", URL, json=api_body(year=2027, percent="150", extra="x"))
    assert invalid.status_code == 422
    assert "percent" in invalid.json["errors"] and "extra" in invalid.json["errors"]


def test_api_revisions(login_as, make_index_value, db):
    value = make_index_value(kind="opi", percent="2.8")
    client = login_as("finance")
    url = f"{URL}{value.id}/revisions"
    first = client.api("post", url, json={"percent": "3.0", "status": "final"})
    assert first.status_code == 201, first.json
    assert first.json["kind"] == "finalization"
    assert (first.json["old_percent"], first.json["new_percent"]) == ("2.8000", "3.0000")
    no_reason = client.api("post", url, json={"percent": "3.1", "status": "final"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["errors"]
    back = client.api("post", url, json={"percent": "3.1", "status": "preliminary", "reason": "x"})
    assert back.status_code == 409 and back.json["message"]
    corrected = client.api(
        "post", url, json={"percent": "3.1", "status": "final", "reason": "Rättat cirkulär"}
    )
    assert corrected.status_code == 201 and corrected.json["kind"] == "correction"
    history = client.get(url).json
    assert [r["kind"] for r in history] == ["finalization", "correction"]
    db.expire_all()
    assert db.get(IndexValue, value.id).percent == D("3.1")
    assert db.get(IndexValue, value.id).status is IndexStatus.FINAL
    kinds = db.scalars(select(IndexValueRevision.kind).order_by(IndexValueRevision.id)).all()
    assert kinds == [RevisionKind.FINALIZATION, RevisionKind.CORRECTION]


@pytest.mark.parametrize("roles", [("caseworker",), ("admin",), ("auditor",)])
def test_api_read_only_roles_get_403_on_writes(login_as, make_index_value, roles):
    value = make_index_value()
    client = login_as(*roles)
    assert client.get(URL).status_code == 200
    assert client.api("post", URL, json=api_body()).status_code == 403
    response = client.api("post", f"{URL}{value.id}/revisions", json={"percent": "4", "status": "final"})
    assert response.status_code == 403
    assert response.json["code"] == 403


def test_api_preview(login_as, make_index_value):
    make_index_value(kind="pkv", year=2026, percent="3.1")
    client = login_as("caseworker")
    response = client.get(URL + "preview?price=1250.00&index=pkv&year=2026&rounding=ore")
    assert response.status_code == 200, response.json
    assert response.json["new_price"] == "1288.75"
    assert response.json["old_price"] == "1250.00"
    assert response.json["percent"] == "3.1000"
    assert response.json["difference"] == "38.75"
    assert response.json["rounding"] == "ore"
    missing = client.get(URL + "preview?price=1250&index=pkv&year=2031")
    assert missing.status_code == 422
    assert "Det finns inget värde för PKV 2031" in missing.json["message"]
    bad = client.get(URL + "preview?price=-1&index=pkv&year=2026")
    assert bad.status_code == 422


def test_api_unknown_value_is_404_and_anonymous_401(login_as, client):
    assert login_as("caseworker").get(f"{URL}999999").status_code == 404
    assert client.get(URL).status_code == 401
