"""API of contract terms: /api/v1/agreements/<id>/contract-versions and /api/v1/contract-versions."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts.models import CompensationModel

D = dt.date
PERSONAL_NUMBER = "Gäller 19850101-2382"


@pytest.fixture
def two_versions(make_agreement, make_version):
    agreement = make_agreement(start_date=D(2024, 1, 1), end_date=D(2027, 12, 31))
    v1 = make_version(agreement, status="approved", effective_from=D(2024, 1, 1))
    v2 = make_version(agreement, status="approved", number=2, effective_from=D(2025, 3, 1))
    return agreement, v1, v2


def _hourly(version):
    return next(c for c in version.components if c.model == CompensationModel.HOURLY)


# --- Versions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "number"),
    [("2023-12-31", None), ("2024-01-01", 1), ("2025-02-28", 1), ("2025-03-01", 2), ("2025-03-02", 2)],
)
def test_version_in_force_at_the_edges_of_the_effective_date(
    login_as, two_versions, make_version, day, number
):
    agreement, _, _ = two_versions
    make_version(agreement, number=3, effective_from=D(2025, 1, 1))  # a draft is never in force
    client = login_as("finance", kommun="Lerum")
    response = client.get(f"/api/v1/agreements/{agreement.id}/contract-versions/in-force?date={day}")
    if number is None:
        assert response.status_code == 404
        assert (
            response.json["message"]
            == f"Ingen godkänd avtalsversion gäller {day} för avtal {agreement.number}."
        )
    else:
        assert response.status_code == 200
        assert response.json["number"] == number
        assert response.json["components"][0]["prices"][0]["amount"] == "1050.00"


def test_version_in_force_today_by_default(login_as, two_versions, monkeypatch):
    agreement, _, v2 = two_versions
    monkeypatch.setattr("contracts.terms.api.local_today", lambda: D(2025, 6, 1))
    response = login_as("caseworker", kommun="Härryda").get(
        f"/api/v1/agreements/{agreement.id}/contract-versions/in-force"
    )
    assert response.status_code == 200 and response.json["id"] == v2.id


def test_list_versions_with_superseded_date(login_as, two_versions):
    agreement, v1, v2 = two_versions
    response = login_as("auditor", kommun="Göteborg").get(
        f"/api/v1/agreements/{agreement.id}/contract-versions"
    )
    assert response.status_code == 200
    assert [(v["number"], v["status"], v["superseded_on"]) for v in response.json] == [
        (1, "approved", "2025-03-01"),
        (2, "approved", None),
    ]


def test_create_version_through_the_api(login_as, make_agreement):
    agreement = make_agreement(start_date=D(2024, 4, 1))
    client = login_as("legal", kommun="Göteborg")
    url = f"/api/v1/agreements/{agreement.id}/contract-versions"
    assert client.api("post", url, json={"id": 7}).status_code == 422  # ids are dump_only
    assert client.api("post", url, json={"titel": "x"}).json["errors"] == {"titel": ["Okänt fält."]}
    response = client.api("post", url, json={})
    assert response.status_code == 201
    assert (response.json["number"], response.json["title"], response.json["effective_from"]) == (
        1,
        "Ursprungligt avtal",
        "2024-04-01",
    )
    assert response.json["status"] == "draft" and response.json["payment_terms_days"] == 30
    assert client.api("post", url, json={"effective_from": "2025-01-01"}).status_code == 409
    caseworker = login_as("caseworker", kommun="Göteborg")
    assert caseworker.api("post", url, json={}).status_code == 403


def test_update_terms_and_refusals(login_as, make_version, make_user):
    version = make_version()
    client = login_as("finance", kommun="Härryda")
    url = f"/api/v1/contract-versions/{version.id}"
    response = client.api("patch", url, json={"payment_terms_days": 20, "cost_cap_amount": "750000.00"})
    assert response.status_code == 200
    assert (response.json["payment_terms_days"], response.json["cost_cap_amount"]) == (20, "750000.00")
    response = client.api("patch", url, json={"index_kind": "kpi", "index_edition": None})
    assert response.status_code == 422 and "index_edition" in response.json["errors"]
    response = client.api("patch", url, json={"scope": PERSONAL_NUMBER})
    assert response.status_code == 422 and "personnummer" in response.json["errors"]["scope"][0]
    assert client.api("patch", url, json={"status": "approved"}).status_code == 422  # not a term
    caseworker = login_as("caseworker", kommun="Härryda")
    assert caseworker.api("patch", url, json={"payment_terms_days": 1}).status_code == 403
    assert caseworker.get(url).status_code == 200


@pytest.mark.parametrize("status", ["approved", "in_review"])
def test_editing_a_version_that_is_not_a_draft_is_409(login_as, make_version, status):
    version = make_version(status=status)
    client = login_as("admin", kommun="Göteborg")
    base = f"/api/v1/contract-versions/{version.id}"
    hourly = _hourly(version)
    st = hourly.service_type
    calls = [
        ("patch", base, {"payment_terms_days": 10}),
        ("delete", base, None),
        ("post", base + "/service-types", {"code": "x", "name": "X", "unit": "hour", "vat_category": "O"}),
        ("patch", f"{base}/service-types/{st.id}", {"name": "Y"}),
        ("post", base + "/components", {"model": "per_case", "service_type_id": st.id}),
        ("patch", f"{base}/components/{hourly.id}", {"time_rounding_minutes": 30}),
        ("post", f"{base}/components/{hourly.id}/prices", {"year": 2030, "amount": "1.00"}),
        ("patch", f"{base}/prices/{hourly.prices[0].id}", {"amount": "1.00"}),
        ("delete", f"{base}/prices/{hourly.prices[0].id}", None),
        ("patch", f"{base}/buyer-terms/{version.buyer_terms[0].id}", {"buyer_reference": "X"}),
    ]
    for method, url, body in calls:
        response = client.api(method, url, json=body) if body is not None else client.api(method, url)
        assert response.status_code == 409, (method, url)
        assert response.json["code"] == 409 and "kan inte" in response.json["message"]


def test_non_party_gets_404_on_every_endpoint(login_as, make_version):
    version = make_version()
    client = login_as("legal", kommun="Malmö")
    base = f"/api/v1/contract-versions/{version.id}"
    hourly = _hourly(version)
    for url in (
        f"/api/v1/agreements/{version.agreement_id}/contract-versions",
        f"/api/v1/agreements/{version.agreement_id}/contract-versions/in-force?date=2025-01-01",
        base,
        base + "/service-types",
        base + "/components",
        f"{base}/components/{hourly.id}/prices",
        f"{base}/prices/{hourly.prices[0].id}",
        base + "/buyer-terms",
        f"{base}/compare?with={version.id}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.api("patch", base, json={"payment_terms_days": 1}).status_code == 404
    assert client.api("delete", base).status_code == 404
    assert (
        client.api(
            "post", f"/api/v1/agreements/{version.agreement_id}/contract-versions", json={}
        ).status_code
        == 404
    )


# --- Service types, components, prices, buyer terms ------------------------------------------------


def test_service_type_crud(login_as, make_version):
    version = make_version()
    client = login_as("finance", kommun="Göteborg")
    url = f"/api/v1/contract-versions/{version.id}/service-types"
    response = client.api(
        "post", url, json={"code": "stod", "name": "Stöd", "unit": "hour", "vat_category": "S"}
    )
    assert response.status_code == 201
    assert (response.json["vat_rate"], response.json["vat_exemption_reason"]) == ("25.00", None)
    item = f"{url}/{response.json['id']}"
    response = client.api("patch", item, json={"vat_category": "E", "vat_exemption_reason": "Social omsorg"})
    assert response.status_code == 200 and response.json["vat_rate"] == "0.00"
    assert client.api("delete", item).status_code == 204
    used = _hourly(version).service_type_id
    response = client.api("delete", f"{url}/{used}")
    assert response.status_code == 409 and "används av Timpris" in response.json["message"]
    assert len(client.get(url).json) == 3
    assert client.get(f"{url}/999999").status_code == 404


def test_component_and_price_crud(login_as, make_version):
    version = make_version()
    client = login_as("admin", kommun="Lerum")
    base = f"/api/v1/contract-versions/{version.id}"
    st_id = _hourly(version).service_type_id
    response = client.api("post", base + "/components", json={"model": "fixed_fee", "service_type_id": st_id})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"fee_period", "in_advance"}
    response = client.api(
        "post",
        base + "/components",
        json={
            "model": "fixed_fee",
            "service_type_id": st_id,
            "fee_period": "monthly",
            "in_advance": False,
            "usage_measure": "cases",
        },
    )
    assert response.status_code == 422 and "Gäller inte" in response.json["errors"]["usage_measure"][0]
    response = client.api(
        "post",
        base + "/components",
        json={"model": "fixed_fee", "service_type_id": st_id, "fee_period": "monthly", "in_advance": False},
    )
    assert response.status_code == 201
    component = response.json
    assert (component["model"], component["price_meaning"], component["service_type_code"]) == (
        "fixed_fee",
        "Årsavgift",
        "utredning",
    )
    item = f"{base}/components/{component['id']}"
    assert client.api("patch", item, json={"model": "hourly"}).status_code == 422  # the model cannot change
    assert client.api("patch", item, json={"in_advance": True}).json["in_advance"] is True
    prices = item + "/prices"
    response = client.api("post", prices, json={"year": 2025, "amount": "120000"})
    assert response.status_code == 201 and response.json["amount"] == "120000.00"
    duplicate = client.api("post", prices, json={"year": 2025, "amount": "1"})
    assert (
        duplicate.status_code == 422
        and "Det finns redan ett pris för 2025" in duplicate.json["errors"]["year"][0]
    )
    price_url = f"{base}/prices/{response.json['id']}"
    assert client.api("patch", price_url, json={"amount": "121000.50"}).json["amount"] == "121000.50"
    assert client.api("delete", price_url).status_code == 204
    assert client.api("delete", item).status_code == 204
    assert len(client.get(base + "/components").json) == 3


def test_buyer_terms_crud(login_as, make_version, municipality):
    version = make_version()
    client = login_as("legal", kommun="Härryda")
    url = f"/api/v1/contract-versions/{version.id}/buyer-terms"
    listed = client.get(url).json
    assert {t["municipality"]["name"]: t["buyer_reference"] for t in listed} == {
        "Härryda": "REF-1401",
        "Lerum": "REF-1441",
    }
    lerum = next(t for t in listed if t["municipality"]["name"] == "Lerum")
    response = client.api(
        "post", url, json={"municipality_id": municipality("Lerum").id, "buyer_reference": "X"}
    )
    assert response.status_code == 422
    assert client.api("delete", f"{url}/{lerum['id']}").status_code == 204
    response = client.api(
        "post", url, json={"municipality_id": municipality("Lerum").id, "buyer_reference": "Ekonomi"}
    )
    assert response.status_code == 201
    response = client.api("patch", f"{url}/{response.json['id']}", json={"buyer_reference": PERSONAL_NUMBER})
    assert response.status_code == 422


# --- Comparison -----------------------------------------------------------------------------------


def test_compare_two_versions(login_as, two_versions, make_version, db):
    agreement, v1, v2 = two_versions
    client = login_as("caseworker", kommun="Lerum")
    response = client.get(f"/api/v1/contract-versions/{v1.id}/compare?with={v2.id}")
    assert response.status_code == 200
    body = response.json
    assert (body["from_version_id"], body["to_version_id"], body["identical"]) == (v1.id, v2.id, False)
    changes = {c["key"]: c for s in body["sections"] for c in s["changes"]}
    assert changes["version:effective_from"]["old"] == "2024-01-01"
    assert changes["version:effective_from"]["new"] == "2025-03-01"
    assert body["sections"][0]["section_label"] == "Grunduppgifter"
    response = client.get(f"/api/v1/contract-versions/{v1.id}/compare?with={v1.id}")
    assert response.json["identical"] is True and response.json["sections"] == []
    other = make_version()  # another agreement with the same parties
    assert client.get(f"/api/v1/contract-versions/{v1.id}/compare?with={other.id}").status_code == 422
    assert client.get(f"/api/v1/contract-versions/{v1.id}/compare").status_code == 422
