"""Pages of contract terms: the version list, the version page, the edit forms and the comparison;
who may see and edit what."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from contracts.models import CompensationModel, ContractVersion, VersionStatus

D = dt.date


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr("contracts.terms.views.local_today", lambda: D(2025, 6, 1))


def _html(response) -> str:
    return response.get_data(as_text=True)


def _hourly(version):
    return next(c for c in version.components if c.model == CompensationModel.HOURLY)


@pytest.fixture
def two_versions(make_agreement, make_version):
    agreement = make_agreement(start_date=D(2024, 1, 1), end_date=D(2027, 12, 31))
    v1 = make_version(agreement, status="approved", effective_from=D(2024, 1, 1))
    v2 = make_version(agreement, status="approved", number=2, effective_from=D(2025, 3, 1))
    return agreement, v1, v2


# --- Version list ---------------------------------------------------------------------------------


def test_version_list_shows_status_superseded_and_in_force(login_as, two_versions, make_version):
    agreement, v1, v2 = two_versions
    make_version(agreement, number=3, effective_from=D(2026, 1, 1))
    html = _html(login_as("caseworker", kommun="Lerum").get(f"/avtal/{agreement.id}/versioner"))
    assert "Ersatt från 2025-03-01" in html
    assert "<strong>Gäller i dag</strong>" in html
    assert "Utkast" in html and "Tilläggsavtal 2" in html
    assert "Skapa ett tilläggsavtal" not in html  # a caseworker reads only


def test_admin_creates_the_first_version_with_defaults(login_as, make_agreement, db):
    agreement = make_agreement(start_date=D(2024, 2, 1))
    client = login_as("admin", kommun="Göteborg")
    page = _html(client.get(f"/avtal/{agreement.id}/versioner"))
    assert "Skapa det ursprungliga avtalet" in page and 'value="2024-02-01"' in page
    response = client.post_form(
        f"/avtal/{agreement.id}/versioner",
        {"title": "Ursprungligt avtal", "effective_from": "2024-02-01", "change_summary": ""},
    )
    assert response.status_code == 302
    version = db.scalar(select(ContractVersion).where(ContractVersion.agreement_id == agreement.id))
    assert (version.number, version.status) == (1, VersionStatus.DRAFT)
    detail = _html(client.get(response.headers["Location"]))
    assert "Version 1: Ursprungligt avtal" in detail and "är skapad som utkast" in detail


def test_create_version_form_rerenders_with_errors(login_as, make_agreement, make_version):
    agreement = make_agreement(start_date=D(2024, 1, 1))
    make_version(agreement, status="approved")
    client = login_as("finance", kommun="Härryda")
    response = client.post_form(
        f"/avtal/{agreement.id}/versioner", {"title": "X", "effective_from": "2023-05-01"}
    )
    assert response.status_code == 422
    assert "före avtalets startdatum" in _html(response)
    make_version(agreement, number=2, effective_from=D(2025, 1, 1))
    response = client.post_form(
        f"/avtal/{agreement.id}/versioner", {"title": "X", "effective_from": "2025-05-01"}
    )
    assert response.status_code == 409


# --- Version page ---------------------------------------------------------------------------------


def test_version_page_shows_all_terms_and_edit_links_for_an_editor(login_as, make_version):
    version = make_version()
    html = _html(login_as("legal", kommun="Lerum").get(f"/avtalsversioner/{version.id}"))
    for text in (
        "Version 1: Ursprungligt avtal",
        "1\u00a0085,00\u00a0kr",
        "2,50\u00a0kr",
        "Per påbörjad kvart (15 minuter)",
        "30 dagar netto",
        "OPI oktober",
        "VATEX-EU-O",
        "REF-1441",
        "Till självkostnad, utan påslag",
        "Utredning och beslut i jävsärenden",
    ):
        assert text in html, text
    assert f"/avtalsversioner/{version.id}/villkor/fakturering" in html
    assert f"/avtalsversioner/{version.id}/ta-bort" in html
    assert "data-confirm" in html


def test_caseworker_reads_but_cannot_edit(login_as, make_version):
    version = make_version()
    client = login_as("caseworker", kommun="Göteborg")
    html = _html(client.get(f"/avtalsversioner/{version.id}"))
    assert "1\u00a0085,00\u00a0kr" in html
    assert "/villkor/" not in html and "/ta-bort" not in html
    assert client.get(f"/avtalsversioner/{version.id}/villkor/fakturering").status_code == 403
    response = client.post_form(
        f"/avtalsversioner/{version.id}/villkor/fakturering", {"payment_terms_days": "10"}
    )
    assert response.status_code == 403
    assert client.post_form(f"/avtalsversioner/{version.id}/ta-bort").status_code == 403


@pytest.mark.parametrize("status", ["approved", "in_review"])
def test_editing_a_version_that_is_not_a_draft_is_409(login_as, make_version, db, status):
    version = make_version(status=status)
    client = login_as("admin", kommun="Göteborg")
    html = _html(client.get(f"/avtalsversioner/{version.id}"))
    assert "/villkor/" not in html
    url = f"/avtalsversioner/{version.id}"
    hourly = _hourly(version)
    price = hourly.prices[0]
    for path in (
        "/villkor/fakturering",
        "/tjanstetyper/ny",
        f"/ersattning/{hourly.id}",
        f"/priser/{price.id}",
        "/kopare",
    ):
        assert client.get(url + path).status_code == 409, path
    response = client.post_form(
        url + "/villkor/fakturering", {"invoice_frequency": "monthly", "payment_terms_days": "10"}
    )
    assert response.status_code == 409
    assert "kan inte ändras" in _html(response)
    assert client.post_form(f"{url}/priser/{price.id}/ta-bort").status_code == 409
    assert client.post_form(f"{url}/ta-bort").status_code == 409
    db.expire_all()
    assert version.payment_terms_days == 30 and len(hourly.prices) == 3


def test_non_party_gets_404_everywhere(login_as, make_version):
    version = make_version()
    client = login_as("admin", kommun="Malmö")
    url = f"/avtalsversioner/{version.id}"
    hourly = _hourly(version)
    for path in (
        f"/avtal/{version.agreement_id}/versioner",
        url,
        url + "/villkor/grunduppgifter",
        url + f"/ersattning/{hourly.id}",
        url + "/kopare",
        url + f"/jamfor?med={version.id}",
    ):
        assert client.get(path).status_code == 404, path
    assert client.post_form(url + "/villkor/fakturering", {"payment_terms_days": "1"}).status_code == 404
    assert client.post_form(f"/avtal/{version.agreement_id}/versioner", {"title": "X"}).status_code == 404


# --- Edit forms -----------------------------------------------------------------------------------


def test_terms_form_saves_and_rerenders_with_field_errors(login_as, make_version, db):
    version = make_version()
    client = login_as("finance", kommun="Göteborg")
    page = _html(client.get(f"/avtalsversioner/{version.id}/villkor/indexering"))
    assert 'value="OPI oktober"' in page and "PKV är SKR:s prisindex" in page
    response = client.post_form(
        f"/avtalsversioner/{version.id}/villkor/indexering",
        {"index_kind": "pkv", "index_edition": "", "index_effective_from": "", "index_rounding": "krona"},
    )
    assert response.status_code == 422
    html = _html(response)
    assert "Ange vilken utgåva av indexet" in html and 'aria-invalid="true"' in html
    response = client.post_form(
        f"/avtalsversioner/{version.id}/villkor/fakturering",
        {
            "invoice_frequency": "quarterly",
            "payment_terms_days": "20",
            "invoice_series": "",
            "cost_cap_amount": "250 000",
        },
    )
    assert response.status_code == 302
    db.expire_all()
    assert (version.payment_terms_days, version.cost_cap_amount) == (20, Decimal("250000.00"))
    assert "250\u00a0000,00\u00a0kr" in _html(client.get(f"/avtalsversioner/{version.id}"))


def test_term_form_is_prefilled_from_the_agreement(login_as, make_version, db):
    version = make_version()
    client = login_as("legal", kommun="Göteborg")
    page = _html(client.get(f"/avtalsversioner/{version.id}/villkor/avtalstid"))
    assert 'value="2026-12-31"' in page and 'value="12"' in page and 'value="6"' in page
    response = client.post_form(
        f"/avtalsversioner/{version.id}/villkor/avtalstid",
        {
            "changes_term": "true",
            "term_end_date": "2028-12-31",
            "term_renewal_months": "24",
            "term_notice_months": "6",
        },
    )
    assert response.status_code == 302
    db.expire_all()
    assert (version.changes_term, version.term_end_date, version.term_renewal_months) == (
        True,
        D(2028, 12, 31),
        24,
    )


def test_personal_number_is_refused_in_a_form(login_as, make_version):
    version = make_version()
    client = login_as("admin", kommun="Göteborg")
    response = client.post_form(
        f"/avtalsversioner/{version.id}/villkor/grunduppgifter",
        {
            "title": "Ursprungligt avtal",
            "effective_from": "2024-01-01",
            "scope": "Gäller 19850101-2382",
            "executor": "",
        },
    )
    assert response.status_code == 422
    assert "personnummer" in _html(response)


def test_service_types_through_the_forms(login_as, make_version, db):
    version = make_version()
    client = login_as("finance", kommun="Göteborg")
    url = f"/avtalsversioner/{version.id}/tjanstetyper"
    response = client.post_form(
        url + "/ny", {"code": "stod", "name": "Stödsamtal", "unit": "hour", "vat_category": "E"}
    )
    assert response.status_code == 422 and "undantagen från moms" in _html(response)
    response = client.post_form(
        url + "/ny",
        {"code": "stod", "name": "Stödsamtal", "unit": "hour", "vat_category": "S", "vat_rate": ""},
    )
    assert response.status_code == 302
    assert "S (25,00\u00a0%) – momspliktig" in _html(client.get(f"/avtalsversioner/{version.id}"))
    used = next(st for st in version.service_types if st.code == "utredning")
    response = client.post_form(f"{url}/{used.id}/ta-bort")
    assert response.status_code == 409
    assert "används av Timpris" in _html(response)


def test_add_hourly_component_then_prices(login_as, make_version, db):
    version = make_version(terms=False)
    client = login_as("admin", kommun="Göteborg")
    url = f"/avtalsversioner/{version.id}"
    assert (
        client.post_form(
            url + "/tjanstetyper/ny",
            {"code": "utredning", "name": "Utredning", "unit": "hour", "vat_category": "O"},
        ).status_code
        == 302
    )
    choose = _html(client.get(url + "/ersattning/ny"))
    assert "Styckpris per ärendetyp" in choose and "Preliminär debitering med avräkning" in choose
    form = _html(client.get(url + "/ersattning/ny?modell=hourly"))
    assert "Timtak" in form
    db.expire_all()
    st_id = version.service_types[0].id
    response = client.post_form(
        url + "/ersattning/ny",
        {
            "modell": "hourly",
            "service_type_id": str(st_id),
            "time_rounding_minutes": "30",
            "ceiling_hours": "8",
            "ceiling_per": "",
        },
    )
    assert response.status_code == 422 and "Ange både antal timmar" in _html(response)
    response = client.post_form(
        url + "/ersattning/ny",
        {
            "modell": "hourly",
            "service_type_id": str(st_id),
            "time_rounding_minutes": "30",
            "ceiling_hours": "",
            "ceiling_per": "",
        },
    )
    assert response.status_code == 302
    component_url = response.headers["Location"].split("#")[0]
    response = client.post_form(component_url + "/priser", {"year": "2024", "amount": "1 050,00"})
    assert response.status_code == 302
    response = client.post_form(component_url + "/priser", {"year": "2024", "amount": "1 060,00"})
    assert response.status_code == 422
    assert "Det finns redan ett pris för 2024" in _html(response)
    page = _html(client.get(component_url))
    assert "1\u00a0050,00\u00a0kr" in page


def test_preliminary_with_fixed_shares_through_the_form(login_as, make_version, municipality, db):
    version = make_version()
    client = login_as("finance", kommun="Härryda")
    ids = {name: municipality(name).id for name in ("Göteborg", "Härryda", "Lerum")}
    st = next(s for s in version.service_types if s.code == "utredning")
    data = {
        "modell": "preliminary",
        "service_type_id": str(st.id),
        "share_basis": "fixed",
        "reconciliation_deadline_month": "3",
        "reconciliation_deadline_day": "31",
        f"share-{ids['Härryda']}": "60",
        f"share-{ids['Lerum']}": "30",
        # a population field filled in by mistake is ignored for agreed shares
        "population_ref_month": "11",
    }
    response = client.post_form(f"/avtalsversioner/{version.id}/ersattning/ny", data)
    assert response.status_code == 422
    assert "exakt 100,00" in _html(response)
    data[f"share-{ids['Göteborg']}"] = "10"
    response = client.post_form(f"/avtalsversioner/{version.id}/ersattning/ny", data)
    assert response.status_code == 302
    db.expire_all()
    component = next(c for c in version.components if c.model == CompensationModel.PRELIMINARY)
    assert sorted(s.percent for s in component.fixed_shares) == [
        Decimal("10.00"),
        Decimal("30.00"),
        Decimal("60.00"),
    ]
    assert component.population_ref_month is None


def test_buyer_references_form(login_as, make_version, municipality, db):
    version = make_version()
    lerum = municipality("Lerum").id
    client = login_as("admin", kommun="Lerum")
    page = _html(client.get(f"/avtalsversioner/{version.id}/kopare"))
    assert 'value="REF-1441"' in page
    harryda = municipality("Härryda").id
    response = client.post_form(
        f"/avtalsversioner/{version.id}/kopare", {f"ref-{lerum}": "Ekonomi 99", f"ref-{harryda}": ""}
    )
    assert response.status_code == 302
    db.expire_all()
    assert {t.municipality_id: t.buyer_reference for t in version.buyer_terms} == {lerum: "Ekonomi 99"}


def test_delete_a_draft_through_the_page(login_as, make_version, db):
    version = make_version()
    version_id, agreement_id = version.id, version.agreement_id
    client = login_as("admin", kommun="Göteborg")
    response = client.post_form(f"/avtalsversioner/{version_id}/ta-bort")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/avtal/{agreement_id}/versioner"
    )
    db.expire_all()
    assert db.get(ContractVersion, version_id) is None


# --- Comparison -----------------------------------------------------------------------------------


def test_compare_page_shows_old_and_new_values(login_as, two_versions, make_version, db):
    agreement, v1, v2 = two_versions
    client = login_as("auditor", kommun="Härryda")
    html = _html(client.get(f"/avtalsversioner/{v2.id}/jamfor?med={v1.id}"))
    assert "Version 1 (Ursprungligt avtal" in html
    assert "2024-01-01" in html and "2025-03-01" in html  # the effective dates differ
    assert "Inga skillnader" not in html
    draft = make_version(agreement, number=3, title="Tilläggsavtal 1", effective_from=D(2025, 3, 1))
    price = _hourly(draft).prices[1]
    price.amount = Decimal("1099.00")
    db.commit()
    html = _html(client.get(f"/avtalsversioner/{v2.id}/jamfor?med={draft.id}"))
    rows = re.findall(r"<tr class=\"change-\w+\">.*?</tr>", html, re.S)
    assert len(rows) == 1 and "1 skillnad." in html  # only the price differs
    row = rows[0]
    assert "pris per timme 2025" in row
    assert "1\u00a0085,00\u00a0kr" in row and "1\u00a0099,00\u00a0kr" in row
    html = _html(client.get(f"/avtalsversioner/{v1.id}/jamfor?med={v1.id}"))
    assert "Inga skillnader" in html


def test_compare_choice_redirects_and_other_agreement_is_refused(login_as, two_versions, make_version):
    agreement, v1, v2 = two_versions
    client = login_as("legal", kommun="Göteborg")
    response = client.get(f"/avtal/{agreement.id}/versioner/jamfor?version={v1.id}&med={v2.id}")
    assert (
        response.status_code == 302
        and f"/avtalsversioner/{v1.id}/jamfor?med={v2.id}" in response.headers["Location"]
    )
    other = make_version()
    response = client.get(f"/avtalsversioner/{v1.id}/jamfor?med={other.id}")
    assert response.status_code == 422 and "samma avtal" in _html(response)


# --- The agreement page's panel -------------------------------------------------------------------


def test_agreement_page_lists_the_versions(login_as, two_versions):
    agreement, v1, v2 = two_versions
    html = _html(login_as("caseworker", kommun="Härryda").get(f"/avtal/{agreement.id}"))
    assert "Avtalsversioner och villkor" in html
    assert f"/avtalsversioner/{v1.id}" in html and f"/avtal/{agreement.id}/versioner" in html
    assert "Ersatt från 2025-03-01" in html
