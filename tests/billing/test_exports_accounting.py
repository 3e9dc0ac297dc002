"""The accounting configuration for SIE: finance of the municipality edits its own accounts, dimensions,
revenue accounts per service type and counterparty codes, on the page and in the API; others read or
get nothing; bad input is refused in Swedish and nothing is lost."""

from __future__ import annotations

from billing.models import AccountingSettings, CounterpartyCode, RevenueAccount

SETTINGS = {
    "receivable_account": "1510",
    "revenue_account": "3041",
    "output_vat_account": "2611",
    "voucher_series": "F",
    "counterparty_dimension": "6",
    "counterparty_dimension_name": "",
    "responsibility_dimension": "1",
    "responsibility_dimension_name": "Ansvar",
    "responsibility_code": "4100",
}


def test_finance_saves_settings_revenue_accounts_and_counterparty_codes_on_the_page(
    db, login_as, municipality
):
    client = login_as("finance", kommun="Göteborg")
    page = client.get("/bokforing")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Bokföring och export – Göteborg" in html and "Konton och dimensioner" in html
    response = client.post_form("/bokforing/installningar", SETTINGS)
    assert response.status_code == 302
    settings = db.get(AccountingSettings, municipality("Göteborg").id)
    assert (settings.receivable_account, settings.counterparty_dimension, settings.responsibility_code) == (
        "1510",
        6,
        "4100",
    )
    assert settings.counterparty_dimension_name == "Motpart"  # the default name
    assert (
        client.post_form(
            "/bokforing/intaktskonton", {"service_type_code": "resa", "account": "3045"}
        ).status_code
        == 302
    )
    lerum = municipality("Lerum")
    response = client.post_form(
        "/bokforing/motpartskoder", {"counterparty_municipality_id": str(lerum.id), "code": "1441"}
    )
    assert response.status_code == 302
    html = client.get("/bokforing").get_data(as_text=True)
    assert "resa" in html and "3045" in html and "Lerum" in html and "1441" in html
    # The same code again replaces, never duplicates.
    client.post_form(
        "/bokforing/motpartskoder", {"counterparty_municipality_id": str(lerum.id), "code": "L1441"}
    )
    rows = db.query(CounterpartyCode).filter_by(municipality_id=municipality("Göteborg").id).all()
    assert [r.code for r in rows] == ["L1441"]
    revenue = db.query(RevenueAccount).filter_by(municipality_id=municipality("Göteborg").id).one()
    assert client.post_form(f"/bokforing/intaktskonton/{revenue.id}/ta-bort").status_code == 302
    assert client.post_form(f"/bokforing/motpartskoder/{rows[0].id}/ta-bort").status_code == 302
    db.expire_all()
    assert db.query(RevenueAccount).count() == 0 and db.query(CounterpartyCode).count() == 0


def test_bad_input_is_refused_in_swedish_and_kept_in_the_form(db, login_as, municipality):
    client = login_as("finance", kommun="Göteborg")
    bad = {**SETTINGS, "receivable_account": "15x", "responsibility_code": ""}
    response = client.post_form("/bokforing/installningar", bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Ange kontot som 4–10 siffror" in html
    assert "Ange ansvarskoden när en ansvarsdimension är vald" in html
    assert 'value="15x"' in html and 'value="2611"' in html
    assert db.get(AccountingSettings, municipality("Göteborg").id) is None
    response = client.post_form(
        "/bokforing/motpartskoder",
        {"counterparty_municipality_id": str(municipality("Göteborg").id), "code": "1"},
    )
    assert response.status_code == 422 and "Välj en annan kommun än din egen" in response.get_data(
        as_text=True
    )
    response = client.post_form(
        "/bokforing/intaktskonton", {"service_type_code": "resa", "account": "19850101-1234"}
    )
    assert response.status_code == 422


def test_only_finance_edits_and_only_its_own_rows(db, login_as, municipality):
    auditor = login_as("auditor", kommun="Göteborg")
    assert auditor.get("/bokforing").status_code == 200
    assert "Spara inställningarna" not in auditor.get("/bokforing").get_data(as_text=True)
    assert auditor.post_form("/bokforing/installningar", SETTINGS).status_code == 403
    assert (
        auditor.api(
            "put",
            "/api/v1/accounting/settings",
            json={k: v for k, v in SETTINGS.items() if v}
            | {"counterparty_dimension": 6, "responsibility_dimension": 1},
        ).status_code
        == 403
    )
    assert login_as("caseworker", kommun="Göteborg").get("/bokforing").status_code == 404
    other = RevenueAccount(municipality_id=municipality("Lerum").id, service_type_code="resa", account="3000")
    db.add(other)
    db.commit()
    finance = login_as("finance", kommun="Göteborg")
    assert finance.post_form(f"/bokforing/intaktskonton/{other.id}/ta-bort").status_code == 404
    assert finance.api("delete", f"/api/v1/accounting/revenue-accounts/{other.id}").status_code == 404
    db.expire_all()
    assert db.get(RevenueAccount, other.id) is not None


def test_accounting_api(db, login_as, municipality):
    client = login_as("finance", kommun="Göteborg")
    assert client.api("get", "/api/v1/accounting/settings").status_code == 404
    body = {
        "receivable_account": "1510",
        "revenue_account": "3041",
        "output_vat_account": "2611",
        "voucher_series": "F",
        "counterparty_dimension": 6,
    }
    response = client.api("put", "/api/v1/accounting/settings", json=body)
    assert response.status_code == 200
    assert response.get_json()["counterparty_dimension_name"] == "Motpart"
    assert client.api("get", "/api/v1/accounting/settings").get_json()["receivable_account"] == "1510"
    bad = client.api(
        "put", "/api/v1/accounting/settings", json={**body, "receivable_account": "x", "extra": 1}
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"receivable_account", "extra"}
    created = client.api(
        "post", "/api/v1/accounting/revenue-accounts", json={"service_type_code": "resa", "account": "3045"}
    )
    assert created.status_code == 201
    listed = client.api("get", "/api/v1/accounting/revenue-accounts").get_json()
    assert [(r["service_type_code"], r["account"]) for r in listed] == [("resa", "3045")]
    harryda = municipality("Härryda")
    code = client.api(
        "post",
        "/api/v1/accounting/counterparty-codes",
        json={"counterparty_municipality_id": harryda.id, "code": "1401"},
    )
    assert code.status_code == 201 and code.get_json()["counterparty"] == "Härryda"
    listed = client.api("get", "/api/v1/accounting/counterparty-codes")
    assert [c["code"] for c in listed.get_json()] == ["1401"]
    assert "X-Pagination" in listed.headers
    assert (
        client.api("delete", f"/api/v1/accounting/counterparty-codes/{code.get_json()['id']}").status_code
        == 204
    )
    # Another municipality sees its own (empty) configuration only.
    assert (
        login_as("finance", kommun="Lerum").api("get", "/api/v1/accounting/revenue-accounts").get_json() == []
    )
