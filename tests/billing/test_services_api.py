"""API of performed services: /api/v1/performed-services (list, get, create, update, delete, attest,
unattest, import), scoped to the services the user's municipality performed or bought."""

from __future__ import annotations

import io

import pytest

from tests.billing import services_support as support
from tests.billing.services_support import PERSONAL_NUMBER, count_services, csv_bytes, form

agreement = support.agreement
approve = support.approve
fixed_today = support.fixed_today

URL = "/api/v1/performed-services/"


@pytest.fixture
def caseworker(login_as):
    return login_as("caseworker", kommun="Göteborg")


def create(client, agreement, municipality, **overrides):
    return client.api("post", URL, json=form(agreement, municipality, **overrides))


def test_create_get_update_delete(caseworker, agreement, municipality, db):
    response = create(caseworker, agreement, municipality, note="Möte")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["quantity"] == "2.50" and body["unit"] == "hour" and body["unit_label"] == "timmar"
    assert body["agreement"]["number"] == agreement.number
    assert body["performing_municipality"]["name"] == "Göteborg"
    assert body["buying_municipality"]["kommunkod"] == "1401"
    assert body["attested"] is False and body["billed"] is False and body["billing"] is None
    assert body["registered_by"] == caseworker.user.name
    service_id = body["id"]

    got = caseworker.get(f"{URL}{service_id}")
    assert got.status_code == 200 and got.json["note"] == "Möte"

    patched = caseworker.api("patch", f"{URL}{service_id}", json={"quantity": 3.25, "note": ""})
    assert patched.status_code == 200, patched.json
    assert (patched.json["quantity"], patched.json["note"], patched.json["service_type_code"]) == (
        "3.25",
        None,
        "utredning",
    )

    assert caseworker.api("delete", f"{URL}{service_id}").status_code == 204
    assert caseworker.get(f"{URL}{service_id}").status_code == 404
    assert count_services(db) == 0


def test_create_validation_errors_by_field(caseworker, agreement, municipality):
    response = create(caseworker, agreement, municipality, note=PERSONAL_NUMBER, quantity="0,001")
    assert response.status_code == 422
    errors = response.json["errors"]
    assert "personnummer" in errors["note"][0]
    assert errors["quantity"] == [
        "Högst två decimaler (timmar anges i decimaltimmar: 1,25 = 1 timme 15 minuter)."
    ]
    response = create(caseworker, agreement, municipality, service_type_code="terapi")
    assert response.status_code == 422
    assert response.json["errors"]["service_type_code"][0].startswith("Tjänstetypen ”terapi” finns inte")
    response = create(caseworker, agreement, municipality, service_date="2026-12-01")
    assert response.json["errors"] == {
        "service_date": ["Datumet 2026-12-01 har inte varit än. Registrera prestationer när de är utförda."]
    }
    response = create(caseworker, agreement, municipality, service_type_code="arende", quantity="1")
    assert response.status_code == 422
    assert response.json["errors"]["case_type"][0].startswith("Ange ärendetyp")
    response = create(caseworker, agreement, municipality, unit="km")
    assert response.json["errors"] == {
        "unit": ["Tjänstetypen ”utredning” räknas i timmar, inte i kilometer."]
    }


def test_unknown_fields_are_refused(caseworker, agreement, municipality):
    response = create(caseworker, agreement, municipality, attested_by_id=1)
    assert response.status_code == 422
    assert response.json["errors"]["attested_by_id"] == ["Okänt fält."]


def test_patch_personal_number_refused(caseworker, agreement, make_service):
    service = make_service(agreement, attested=False)
    response = caseworker.api("patch", f"{URL}{service.id}", json={"note": PERSONAL_NUMBER})
    assert response.status_code == 422 and "personnummer" in response.json["errors"]["note"][0]


def test_billed_service_cannot_change(caseworker, agreement, make_service, make_invoice, db):
    service = make_service(agreement)
    invoice = support.bill(db, make_invoice, service)
    body = caseworker.get(f"{URL}{service.id}").json
    assert body["billed"] is True
    assert body["billing"] == {
        "invoice_id": invoice.id,
        "invoice_line_id": invoice.lines[0].id,
        "invoice_status": "draft",
        "invoice_status_label": "Utkast",
        "invoice_number": None,
    }
    response = caseworker.api("patch", f"{URL}{service.id}", json={"quantity": "1"})
    assert response.status_code == 409 and response.json["message"].startswith("Prestationen är fakturerad")
    assert caseworker.api("delete", f"{URL}{service.id}").status_code == 409


def test_scope_non_party_sees_nothing(login_as, agreement, make_service):
    service = make_service(agreement)
    outsider = login_as("finance", kommun="Partille")
    assert outsider.get(f"{URL}{service.id}").status_code == 404
    listed = outsider.get(URL)
    assert listed.status_code == 200 and listed.json == []
    assert outsider.api("post", f"{URL}attest", json={"ids": [service.id]}).status_code == 404
    assert outsider.api("patch", f"{URL}{service.id}", json={"quantity": "1"}).status_code == 404


def test_buyer_sees_but_cannot_change(login_as, agreement, make_service):
    service = make_service(agreement, buyer="Lerum")
    lerum = login_as("finance", kommun="Lerum")
    assert lerum.get(f"{URL}{service.id}").status_code == 200
    assert [s["id"] for s in lerum.get(URL).json] == [service.id]
    assert lerum.api("patch", f"{URL}{service.id}", json={"quantity": "1"}).status_code == 403
    assert lerum.api("post", f"{URL}unattest", json={"ids": [service.id]}).status_code == 403
    # Another buyer of the same agreement sees nothing of Lerum's.
    assert login_as("finance", kommun="Härryda").get(f"{URL}{service.id}").status_code == 404


def test_list_filters_and_pagination(caseworker, agreement, make_service, make_invoice, municipality, db):
    a = make_service(agreement, day=support.D(2026, 9, 30), attested=False)
    b = make_service(agreement, day=support.D(2026, 10, 1), buyer="Lerum")
    c = make_service(agreement, day=support.D(2026, 10, 2))
    support.bill(db, make_invoice, c)

    def ids(query=""):
        response = caseworker.get(URL + query)
        assert response.status_code == 200, response.json
        return [s["id"] for s in response.json]

    assert ids() == [c.id, b.id, a.id]
    assert ids("?state=unattested") == [a.id]
    assert ids("?state=attested") == [b.id]
    assert ids("?state=billed") == [c.id]
    assert ids(f"?buying_municipality_id={municipality('Lerum').id}") == [b.id]
    assert ids("?date_from=2026-10-01&date_to=2026-10-01") == [b.id]
    assert ids(f"?agreement_id={agreement.id}&side=performed") == [c.id, b.id, a.id]
    assert ids("?side=bought") == []
    page = caseworker.get(URL + "?page=2&page_size=2")
    assert [s["id"] for s in page.json] == [a.id]
    assert '"total": 3' in page.headers["X-Pagination"]
    assert caseworker.get(URL + "?state=paid").status_code == 422


def test_attest_and_unattest(login_as, agreement, make_service):
    one, two = make_service(agreement, attested=False), make_service(agreement, attested=False)
    finance = login_as("finance", kommun="Göteborg")
    response = finance.api("post", f"{URL}attest", json={"ids": [one.id, two.id]})
    assert response.status_code == 200
    assert [(s["id"], s["attested"], s["attested_by"]) for s in response.json] == [
        (one.id, True, finance.user.name),
        (two.id, True, finance.user.name),
    ]
    response = finance.api("post", f"{URL}unattest", json={"ids": [two.id]})
    assert response.status_code == 200 and response.json[0]["attested"] is False
    caseworker = login_as("caseworker", kommun="Göteborg")
    assert caseworker.api("post", f"{URL}attest", json={"ids": [two.id]}).status_code == 403
    assert finance.api("post", f"{URL}attest", json={"ids": []}).status_code == 422


def test_import_multipart(caseworker, agreement, db):
    data = csv_bytes(
        "avtal;datum;kopare;tjanst;antal",
        f"{agreement.number};2026-10-01;1401;utredning;2,5",
        f"{agreement.number};2026-10-02;1441;resa;42",
    )
    response = caseworker.api(
        "post",
        f"{URL}imports",
        data={"file": (io.BytesIO(data), "okt.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert (response.json["filename"], response.json["row_count"]) == ("okt.csv", 2)
    assert count_services(db) == 2
    listed = caseworker.get(f"{URL}imports")
    assert [i["filename"] for i in listed.json] == ["okt.csv"]
    again = caseworker.api(
        "post",
        f"{URL}imports",
        data={"file": (io.BytesIO(data), "okt2.csv")},
        content_type="multipart/form-data",
    )
    assert again.status_code == 409 and "Samma fil har redan importerats" in again.json["message"]


def test_import_errors_as_structured_rows(caseworker, agreement, db):
    data = csv_bytes(
        "avtal;datum;kopare;tjanst;antal;anteckning",
        f"{agreement.number};2026-10-01;1401;utredning;2,5;",
        f"{agreement.number};2026-10-01;1401;utredning;abc;{PERSONAL_NUMBER}",
    )
    response = caseworker.api(
        "post",
        f"{URL}imports",
        data={"file": (io.BytesIO(data), "fel.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    rows = response.json["errors"]["rows"]
    assert [(r["row"], r["column"]) for r in rows] == [(3, "antal"), (3, "anteckning")]
    assert rows[0]["message"] == "'abc' är inget tal. Ange t.ex. 1,5 eller 1.5."
    assert response.json["message"].startswith("Filen importerades inte")
    assert count_services(db) == 0


def test_import_without_a_file(caseworker):
    response = caseworker.api("post", f"{URL}imports", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.json["errors"]


def test_import_needs_a_role_that_registers(login_as, agreement):
    auditor = login_as("auditor", kommun="Göteborg")
    data = csv_bytes("avtal;datum;kopare;tjanst;antal", f"{agreement.number};2026-10-01;1401;utredning;1")
    response = auditor.api(
        "post",
        f"{URL}imports",
        data={"file": (io.BytesIO(data), "x.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def test_requires_login(client):
    assert client.get(URL).status_code == 401
