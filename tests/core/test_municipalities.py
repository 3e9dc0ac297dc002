"""The municipality register: reference data, list and detail pages, the edit form, the JSON API.

Every test runs on SQLite and on PostgreSQL (see tests/conftest.py). Objects are detached after a
request, so results are always re-read from the database with `reload()`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape

import pytest
from sqlalchemy import func, select
from stdnum import luhn

from core import services
from core.models import Municipality, MunicipalityPopulation

NBSP = "\u00a0"
EDITABLE_FIELDS = (
    "org_number",
    "peppol_id",
    "bankgiro",
    "street_address",
    "postal_code",
    "city",
    "invoice_email",
)


def with_check_digit(digits: str) -> str:
    """Append the Luhn check digit, as organisation numbers and Bankgiro numbers have."""
    return digits + luhn.calc_check_digit(digits)


ORG_A = with_check_digit("212000137")  # 2120001371
ORG_B = with_check_digit("212000138")
ORG_A_FORMATTED = f"{ORG_A[:6]}-{ORG_A[6:]}"
ORG_B_FORMATTED = f"{ORG_B[:6]}-{ORG_B[6:]}"
BANKGIRO_8 = with_check_digit("5050105")  # 50501055
BANKGIRO_7 = with_check_digit("540296")  # 5402961
ORG_WRONG_CHECK_DIGIT = ORG_A[:-1] + str((int(ORG_A[-1]) + 1) % 10)
BANKGIRO_WRONG_CHECK_DIGIT = BANKGIRO_8[:-1] + str((int(BANKGIRO_8[-1]) + 1) % 10)


# --- helpers ------------------------------------------------------------------------------------


def page_text(response) -> str:
    return unescape(response.get_data(as_text=True))


def field_error(response, name: str) -> str | None:
    """The error message shown next to a form field, or None."""
    match = re.search(rf'<p class="error" id="e-{name}">(.*?)</p>', response.get_data(as_text=True), re.S)
    return unescape(match.group(1)) if match else None


def input_value(response, name: str) -> str:
    match = re.search(
        rf'<input id="f-{name}" name="{name}"[^>]*?value="([^"]*)"', response.get_data(as_text=True)
    )
    assert match, f"no input {name} on the page"
    return unescape(match.group(1))


_LIST_ROW = re.compile(
    r'<tr>\s*<td>(\d{4})</td>\s*<td><a href="/kommuner/\d+">([^<]+)</a></td>\s*<td>([^<]+)</td>', re.S
)


def listed(response) -> list[tuple[str, str, str]]:
    """(kommunkod, name, county) of each row of the municipality list."""
    return [tuple(unescape(x) for x in row) for row in _LIST_ROW.findall(response.get_data(as_text=True))]


def listed_names(response) -> list[str]:
    return [name for _, name, _ in listed(response)]


def reload(db, municipality_id: int) -> Municipality:
    db.expire_all()
    return db.get(Municipality, municipality_id)


def form(**values) -> dict:
    """The edit form as a browser sends it: every field, empty unless given."""
    return {name: values.get(name, "") for name in EDITABLE_FIELDS}


def edit_url(municipality_id: int) -> str:
    return f"/kommuner/{municipality_id}/redigera"


def api_url(municipality_id: int | None = None) -> str:
    return "/api/v1/municipalities/" + (f"{municipality_id}" if municipality_id is not None else "")


def pagination_header(response) -> dict:
    return json.loads(response.headers["X-Pagination"])


def set_details(db, municipality_id: int, **values) -> None:
    """Give a municipality stored details (committed, so a failing request cannot roll them back)."""
    m = db.get(Municipality, municipality_id)
    for key, value in values.items():
        setattr(m, key, value)
    db.commit()


def add_population(db, municipality_id: int, year: int, population: int, **kwargs) -> None:
    db.add(
        MunicipalityPopulation(municipality_id=municipality_id, year=year, population=population, **kwargs)
    )
    db.commit()


def stored_details(db, municipality_id: int) -> dict:
    m = reload(db, municipality_id)
    return {name: getattr(m, name) for name in EDITABLE_FIELDS}


@pytest.fixture
def harryda_id(municipality) -> int:
    return municipality("Härryda").id


@pytest.fixture
def lerum_id(municipality) -> int:
    return municipality("Lerum").id


# --- 1. Reference data --------------------------------------------------------------------------


def test_all_290_municipalities_in_21_counties_are_loaded(db):
    rows = db.execute(
        select(Municipality.kommunkod, Municipality.county_code, Municipality.county_name)
    ).all()
    assert len(rows) == 290
    assert len({county for _, county, _ in rows}) == 21
    assert len({name for _, _, name in rows}) == 21
    codes = [code for code, _, _ in rows]
    assert len(set(codes)) == 290
    assert all(re.fullmatch(r"\d{4}", code) for code in codes)
    # The first two digits of a kommunkod are the county code.
    assert all(code[:2] == county for code, county, _ in rows)


@pytest.mark.parametrize(
    ("name", "kommunkod", "county_code", "county_name"),
    [
        ("Göteborg", "1480", "14", "Västra Götalands län"),
        ("Härryda", "1401", "14", "Västra Götalands län"),
        ("Lerum", "1441", "14", "Västra Götalands län"),
        ("Upplands Väsby", "0114", "01", "Stockholms län"),
        ("Kiruna", "2584", "25", "Norrbottens län"),
    ],
)
def test_known_municipalities_have_their_scb_codes(municipality, name, kommunkod, county_code, county_name):
    m = municipality(name)
    assert (m.kommunkod, m.county_code, m.county_name) == (kommunkod, county_code, county_name)


def test_counties_are_listed_once_each_in_code_order(db):
    counties = services.list_counties(db)
    assert len(counties) == 21
    assert counties[0] == ("01", "Stockholms län")
    assert ("14", "Västra Götalands län") in counties
    assert [code for code, _ in counties] == sorted(code for code, _ in counties)


def test_loading_the_reference_file_again_adds_nothing(db):
    assert services.load_reference_municipalities(db) == 0
    assert db.scalar(select(func.count()).select_from(Municipality)) == 290


# --- 2. Pages: the list -------------------------------------------------------------------------


def test_list_requires_login(client):
    response = client.get("/kommuner/")
    assert response.status_code == 302
    assert "/logga-in" in response.headers["Location"]


def test_list_shows_the_first_25_of_290_municipalities(login_as):
    response = login_as("caseworker").get("/kommuner/")
    assert response.status_code == 200
    text = page_text(response)
    assert "Visar 1–25 av 290 kommuner." in text
    assert "Sida 1 av 12" in text
    rows = listed(response)
    assert len(rows) == 25
    names = [name for _, name, _ in rows]
    assert names == sorted(names)
    assert 'rel="next"' in text and 'rel="prev"' not in text


def test_list_pages_are_chosen_with_sida(login_as):
    c = login_as("caseworker")
    second = c.get("/kommuner/?sida=2")
    assert "Visar 26–50 av 290 kommuner." in page_text(second)
    assert len(listed(second)) == 25
    assert set(listed_names(second)).isdisjoint(listed_names(c.get("/kommuner/")))

    last = c.get("/kommuner/?sida=12")
    text = page_text(last)
    assert "Visar 276–290 av 290 kommuner." in text
    assert "Sida 12 av 12" in text
    assert len(listed(last)) == 15
    assert 'rel="prev"' in text and 'rel="next"' not in text


@pytest.mark.parametrize(
    ("sida", "shown"), [("999", "Visar 276–290"), ("0", "Visar 1–25"), ("abc", "Visar 1–25")]
)
def test_out_of_range_or_garbled_page_numbers_show_a_valid_page(login_as, sida, shown):
    response = login_as("caseworker").get(f"/kommuner/?sida={sida}")
    assert response.status_code == 200
    assert shown in page_text(response)


@pytest.mark.parametrize("q", ["lerum", "LERUM", "Lerum", "  lerum  "])
def test_search_by_name_fragment_ignores_case_and_spaces(login_as, q):
    response = login_as("caseworker").get("/kommuner/", query_string={"q": q})
    assert listed(response) == [("1441", "Lerum", "Västra Götalands län")]
    assert "Visar 1–1 av 1 kommuner." in page_text(response)


def test_search_finds_every_name_containing_the_fragment(login_as):
    response = login_as("caseworker").get("/kommuner/", query_string={"q": "göte"})
    assert listed_names(response) == ["Göteborg", "Götene"]


@pytest.mark.parametrize(
    ("q", "expected"), [("örebro", "Örebro"), ("ÖSTERSUND", "Östersund"), ("åre", "Åre")]
)
def test_search_ignores_case_of_swedish_letters(login_as, q, expected):
    # SQLite's built-in lower() only folds ASCII: lower('Örebro') would stay 'Örebro' and miss "örebro".
    response = login_as("caseworker").get("/kommuner/", query_string={"q": q})
    assert expected in listed_names(response)


def test_search_by_kommunkod_prefix(login_as):
    c = login_as("caseworker")
    assert listed(c.get("/kommuner/?q=1480")) == [("1480", "Göteborg", "Västra Götalands län")]

    county = c.get("/kommuner/?q=14")
    assert "Visar 1–25 av 49 kommuner." in page_text(county)
    assert all(code.startswith("14") for code, _, _ in listed(county))


def test_kommunkod_search_matches_the_start_of_the_code_only(login_as):
    # 1480 contains "48" but does not start with it; no code starts with 48.
    response = login_as("caseworker").get("/kommuner/?q=48")
    assert listed(response) == []
    assert "Ingen kommun matchar ”48”" in page_text(response)


@pytest.mark.parametrize("q", ["%", "_", "Le%m"])
def test_search_treats_percent_and_underscore_as_ordinary_characters(login_as, q):
    # BUG: the search text is put into LIKE patterns unescaped, so "%" or "_" lists all 290.
    response = login_as("caseworker").get("/kommuner/", query_string={"q": q})
    assert listed(response) == []
    assert "Ingen kommun matchar" in page_text(response)


def test_search_without_match_says_so(login_as):
    response = login_as("caseworker").get("/kommuner/", query_string={"q": "Atlantis"})
    assert response.status_code == 200
    text = page_text(response)
    assert listed(response) == []
    assert "Ingen kommun matchar ”Atlantis”. Prova en del av namnet eller kommunkoden." in text
    assert "Visar" not in text


def test_county_filter_lists_only_that_county(login_as):
    response = login_as("caseworker").get("/kommuner/?lan=14")
    text = page_text(response)
    assert "Visar 1–25 av 49 kommuner." in text
    assert {county for _, _, county in listed(response)} == {"Västra Götalands län"}
    assert '<option value="14" selected>Västra Götalands län</option>' in text
    # The next-page link keeps the filter.
    next_link = re.search(r'<a href="([^"]+)" rel="next">', text).group(1)
    assert "lan=14" in next_link and "sida=2" in next_link
    second = login_as("caseworker").get(next_link)
    assert "Visar 26–49 av 49 kommuner." in page_text(second)
    assert {county for _, _, county in listed(second)} == {"Västra Götalands län"}


def test_county_filter_and_search_combine(login_as):
    c = login_as("caseworker")
    assert listed_names(c.get("/kommuner/?lan=14&q=göte")) == ["Göteborg", "Götene"]
    assert listed(c.get("/kommuner/?lan=01&q=lerum")) == []


def test_list_shows_the_latest_population_and_the_org_number(login_as, db, harryda_id):
    set_details(db, harryda_id, org_number=ORG_A_FORMATTED)
    add_population(db, harryda_id, 2023, 38_500)
    add_population(db, harryda_id, 2024, 39_700)
    html = page_text(login_as("caseworker").get("/kommuner/?q=härryda"))
    assert f"<td>{ORG_A_FORMATTED}</td>" in html
    assert f"39{NBSP}700 (2024)" in html
    assert "38" + NBSP + "500" not in html


def test_list_is_in_swedish_alphabetical_order(login_as):
    # In Swedish the alphabet ends ... X Y Z Å Ä Ö, so Åmål comes before Älmhult; code-point order
    # (the databases' default) would put Ä before Å.
    c = login_as("caseworker")
    names = []
    for page in (1, 2, 3):
        names += [m["name"] for m in c.get(f"/api/v1/municipalities/?page={page}&page_size=100").json]
    html_names = listed_names(c.get("/kommuner/?sida=11")) + listed_names(c.get("/kommuner/?sida=12"))
    assert html_names == names[-40:]
    initials = [n[0] for n in names if n[0] in "ÅÄÖ"]
    assert initials == sorted(initials, key="ÅÄÖ".index)


# --- 2. Pages: the detail page ------------------------------------------------------------------


def test_detail_page_shows_the_register_entry(login_as, db, harryda_id):
    set_details(
        db,
        harryda_id,
        org_number=ORG_A_FORMATTED,
        bankgiro="5050-1055",
        street_address="Box 100",
        postal_code="435 80",
        city="Mölnlycke",
        invoice_email="faktura@harryda.se",
    )
    html = page_text(login_as("caseworker").get(f"/kommuner/{harryda_id}"))
    assert "<h1>Härryda kommun</h1>" in html
    assert "<dt>Kommunkod</dt><dd>1401</dd>" in html
    assert "<dt>Län</dt><dd>Västra Götalands län (14)</dd>" in html
    assert f"<dt>Organisationsnummer</dt><dd>{ORG_A_FORMATTED}</dd>" in html
    assert "<dt>Bankgiro</dt><dd>5050-1055</dd>" in html
    assert "Box 100<br>435 80 Mölnlycke" in html
    assert "faktura@harryda.se" in html


def test_peppol_id_defaults_to_0007_and_the_org_number_digits(login_as, db, harryda_id):
    set_details(db, harryda_id, org_number=ORG_A_FORMATTED)
    html = page_text(login_as("caseworker").get(f"/kommuner/{harryda_id}"))
    assert f"<dt>Peppol-id</dt><dd>0007:{ORG_A} " in html
    assert "(standard: 0007 + organisationsnummer)" in html


def test_a_stored_peppol_id_is_shown_instead_of_the_default(login_as, db, harryda_id):
    set_details(db, harryda_id, org_number=ORG_A_FORMATTED, peppol_id="0088:7300009990001")
    html = page_text(login_as("caseworker").get(f"/kommuner/{harryda_id}"))
    assert "<dt>Peppol-id</dt><dd>0088:7300009990001</dd>" in html
    assert f"0007:{ORG_A}" not in html
    assert "(standard:" not in html


def test_detail_page_without_details_says_they_are_missing(login_as, lerum_id):
    html = page_text(login_as("caseworker").get(f"/kommuner/{lerum_id}"))
    assert "<dt>Organisationsnummer</dt><dd>Ej angivet</dd>" in html
    assert "Ej angivet (bildas av organisationsnumret)" in html
    assert "Ingen folkmängd registrerad." in html


def test_population_table_uses_swedish_thousands_separators_newest_year_first(login_as, db, harryda_id):
    add_population(db, harryda_id, 2023, 38_500, source="SCB")
    add_population(
        db, harryda_id, 2024, 39_700, reference_date=dt.date(2024, 12, 31), source="SCB 31 december"
    )
    add_population(db, harryda_id, 2025, 1_234_567)
    html = page_text(login_as("caseworker").get(f"/kommuner/{harryda_id}"))
    rows = re.findall(
        r'<tr><td>(\d{4})</td><td class="num">([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>', html
    )
    assert rows == [
        ("2025", f"1{NBSP}234{NBSP}567", "–", "–"),
        ("2024", f"39{NBSP}700", "2024-12-31", "SCB 31 december"),
        ("2023", f"38{NBSP}500", "–", "SCB"),
    ]


def test_unknown_municipality_is_a_404_page(login_as):
    response = login_as("caseworker").get("/kommuner/999999")
    assert response.status_code == 404
    assert "Kommunen finns inte." in page_text(response)


# --- 2. Pages: who may edit ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_admin_and_finance_may_edit_their_own_municipality(login_as, harryda_id, role):
    c = login_as(role, kommun="Härryda")
    assert f'href="/kommuner/{harryda_id}/redigera"' in page_text(c.get(f"/kommuner/{harryda_id}"))
    response = c.get(edit_url(harryda_id))
    assert response.status_code == 200
    assert "Ändra uppgifter för Härryda" in page_text(response)


def test_sysadmin_may_edit_every_municipality(login_as, lerum_id):
    c = login_as("sysadmin", kommun=None)
    assert c.get(edit_url(lerum_id)).status_code == 200
    assert f'href="/kommuner/{lerum_id}/redigera"' in page_text(c.get(f"/kommuner/{lerum_id}"))


def test_finance_of_one_municipality_cannot_edit_another(login_as, db, lerum_id):
    c = login_as("finance", kommun="Härryda")
    detail = c.get(f"/kommuner/{lerum_id}")
    assert detail.status_code == 200  # the register is readable by everyone
    assert "/redigera" not in page_text(detail)
    assert "Spara folkmängd" not in page_text(detail)

    response = c.get(edit_url(lerum_id))
    assert response.status_code == 403
    assert "Ingen behörighet" in page_text(response)

    post = c.post_form(edit_url(lerum_id), form(org_number=ORG_A, city="Lerum"))
    assert post.status_code == 403
    assert stored_details(db, lerum_id) == dict.fromkeys(EDITABLE_FIELDS)


@pytest.mark.parametrize("role", ["caseworker", "legal", "auditor"])
def test_other_roles_cannot_edit_even_their_own_municipality(login_as, db, harryda_id, role):
    c = login_as(role, kommun="Härryda")
    assert "/redigera" not in page_text(c.get(f"/kommuner/{harryda_id}"))
    assert c.get(edit_url(harryda_id)).status_code == 403
    assert c.post_form(edit_url(harryda_id), form(org_number=ORG_A)).status_code == 403
    assert stored_details(db, harryda_id)["org_number"] is None


# --- 3. Editing via the form --------------------------------------------------------------------


def test_edit_form_shows_the_stored_values(login_as, db, harryda_id):
    set_details(db, harryda_id, org_number=ORG_A_FORMATTED, city="Mölnlycke")
    response = login_as("finance").get(edit_url(harryda_id))
    assert input_value(response, "org_number") == ORG_A_FORMATTED
    assert input_value(response, "city") == "Mölnlycke"
    assert input_value(response, "bankgiro") == ""


def test_valid_values_are_saved_in_normalised_form(login_as, db, harryda_id):
    c = login_as("finance", kommun="Härryda")
    response = c.post_form(
        edit_url(harryda_id),
        form(
            org_number=ORG_A,
            bankgiro=BANKGIRO_8,
            street_address="Box 100",
            postal_code="43580",
            city="Mölnlycke",
            invoice_email="faktura@harryda.se",
        ),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/kommuner/{harryda_id}")
    assert stored_details(db, harryda_id) == {
        "org_number": ORG_A_FORMATTED,
        "peppol_id": None,
        "bankgiro": f"{BANKGIRO_8[:4]}-{BANKGIRO_8[4:]}",
        "street_address": "Box 100",
        "postal_code": "435 80",
        "city": "Mölnlycke",
        "invoice_email": "faktura@harryda.se",
    }
    detail = page_text(c.get(f"/kommuner/{harryda_id}"))
    assert "Uppgifterna för Härryda är sparade." in detail
    assert f"0007:{ORG_A}" in detail


def test_seven_digit_bankgiro_is_shown_as_three_and_four(login_as, db, harryda_id):
    c = login_as("finance")
    assert c.post_form(edit_url(harryda_id), form(bankgiro=BANKGIRO_7)).status_code == 302
    assert reload(db, harryda_id).bankgiro == f"{BANKGIRO_7[:3]}-{BANKGIRO_7[3:]}"


def test_a_peppol_id_can_override_the_default(login_as, db, harryda_id):
    c = login_as("finance")
    response = c.post_form(edit_url(harryda_id), form(org_number=ORG_A, peppol_id=" 0088:7300009990001 "))
    assert response.status_code == 302
    m = reload(db, harryda_id)
    assert m.peppol_id == "0088:7300009990001"
    assert m.effective_peppol_id == "0088:7300009990001"


def test_a_peppol_id_with_scheme_0007_and_a_valid_org_number_is_accepted(login_as, db, harryda_id):
    response = login_as("finance").post_form(edit_url(harryda_id), form(peppol_id=f"0007:{ORG_B}"))
    assert response.status_code == 302
    assert reload(db, harryda_id).peppol_id == f"0007:{ORG_B}"


@pytest.mark.parametrize(
    "bad_org_number",
    [ORG_WRONG_CHECK_DIGIT, ORG_A[:-1], ORG_A + "1", "21200O1371", "abc"],
    ids=["wrong-check-digit", "nine-digits", "eleven-digits", "letter-O", "text"],
)
def test_invalid_org_number_is_refused_and_nothing_is_saved(login_as, db, harryda_id, bad_org_number):
    c = login_as("finance")
    # The other fields are valid; they must not be saved either.
    response = c.post_form(
        edit_url(harryda_id), form(org_number=bad_org_number, city="Mölnlycke", postal_code="43580")
    )
    assert response.status_code == 422
    assert field_error(response, "org_number").startswith("Ogiltigt organisationsnummer")
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html
    assert "Uppgifterna sparades inte" in html
    # The user's input is kept in the form so it can be corrected.
    assert input_value(response, "org_number") == bad_org_number
    assert input_value(response, "city") == "Mölnlycke"
    assert field_error(response, "city") is None
    assert stored_details(db, harryda_id) == dict.fromkeys(EDITABLE_FIELDS)


def test_an_invalid_value_leaves_the_previously_stored_values_alone(login_as, db, harryda_id):
    set_details(db, harryda_id, org_number=ORG_A_FORMATTED, city="Mölnlycke", bankgiro="5050-1055")
    before = stored_details(db, harryda_id)
    response = login_as("finance").post_form(
        edit_url(harryda_id), form(org_number=ORG_WRONG_CHECK_DIGIT, city="Annanstans", bankgiro="")
    )
    assert response.status_code == 422
    assert stored_details(db, harryda_id) == before


def test_org_number_of_another_municipality_is_refused(login_as, db, harryda_id, lerum_id):
    set_details(db, lerum_id, org_number=ORG_A_FORMATTED)
    response = login_as("finance").post_form(edit_url(harryda_id), form(org_number=ORG_A, city="Mölnlycke"))
    assert response.status_code == 422
    assert field_error(response, "org_number") == "Organisationsnumret används redan av Lerum."
    assert stored_details(db, harryda_id) == dict.fromkeys(EDITABLE_FIELDS)
    assert reload(db, lerum_id).org_number == ORG_A_FORMATTED


def test_saving_the_municipalitys_own_org_number_again_is_allowed(login_as, db, harryda_id):
    set_details(db, harryda_id, org_number=ORG_A_FORMATTED)
    response = login_as("finance").post_form(
        edit_url(harryda_id), form(org_number=ORG_A_FORMATTED, city="Mölnlycke")
    )
    assert response.status_code == 302
    assert reload(db, harryda_id).city == "Mölnlycke"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bankgiro", BANKGIRO_WRONG_CHECK_DIGIT, "Ogiltigt bankgironummer: kontrollsiffran stämmer inte."),
        ("bankgiro", "12345", "Ogiltigt bankgironummer: ange 7 eller 8 siffror"),
        ("bankgiro", "5050-105X", "Ogiltigt bankgironummer: ange 7 eller 8 siffror"),
        ("invoice_email", "faktura.harryda.se", "Ogiltig e-postadress."),
        ("invoice_email", "faktura@", "Ogiltig e-postadress."),
        ("postal_code", "4358", "Ogiltigt postnummer"),
        ("postal_code", "435 8A", "Ogiltigt postnummer"),
        (
            "peppol_id",
            f"0007:{ORG_WRONG_CHECK_DIGIT}",
            "Peppol-id med schema 0007 ska vara ett giltigt organisationsnummer",
        ),
        (
            "peppol_id",
            f"0007:{ORG_A_FORMATTED}",
            "Peppol-id med schema 0007 ska vara ett giltigt organisationsnummer",
        ),
        ("peppol_id", ORG_A, "Ogiltigt Peppol-id"),
        ("street_address", "x" * 201, "Högst 200 tecken."),
        ("city", "x" * 101, "Högst 100 tecken."),
    ],
)
def test_invalid_values_are_refused_with_a_swedish_message(login_as, db, harryda_id, field, value, message):
    response = login_as("finance").post_form(edit_url(harryda_id), form(**{field: value}))
    assert response.status_code == 422
    assert message in field_error(response, field)
    assert getattr(reload(db, harryda_id), field) is None


def test_an_empty_field_clears_the_stored_value(login_as, db, harryda_id):
    set_details(
        db,
        harryda_id,
        org_number=ORG_A_FORMATTED,
        bankgiro="5050-1055",
        city="Mölnlycke",
        peppol_id="0088:7300009990001",
    )
    response = login_as("finance").post_form(
        edit_url(harryda_id), form(org_number=ORG_A_FORMATTED, bankgiro="  ")
    )
    assert response.status_code == 302
    m = reload(db, harryda_id)
    assert m.org_number == ORG_A_FORMATTED
    assert (m.bankgiro, m.city, m.peppol_id) == (None, None, None)
    assert m.effective_peppol_id == f"0007:{ORG_A}"


def test_edit_form_without_csrf_token_is_refused(login_as, db, harryda_id):
    c = login_as("finance")
    response = c.client.post(edit_url(harryda_id), data=form(org_number=ORG_A))
    assert response.status_code == 400
    assert reload(db, harryda_id).org_number is None


# --- Population form on the detail page ---------------------------------------------------------


def test_finance_can_record_a_population_with_spaces_in_the_number(login_as, db, harryda_id):
    c = login_as("finance")
    response = c.post_form(
        f"/kommuner/{harryda_id}/folkmangd", {"year": "2025", "population": "39 700", "source": "SCB"}
    )
    assert response.status_code == 302
    html = page_text(c.get(f"/kommuner/{harryda_id}"))
    assert "Folkmängd 2025 för Härryda är sparad." in html
    assert f'<td class="num">39{NBSP}700</td>' in html
    db.expire_all()
    row = db.scalar(
        select(MunicipalityPopulation).where(MunicipalityPopulation.municipality_id == harryda_id)
    )
    assert (row.year, row.population, row.source) == (2025, 39_700, "SCB")


def test_invalid_population_form_saves_nothing_and_says_why(login_as, db, harryda_id):
    c = login_as("finance")
    response = c.post_form(f"/kommuner/{harryda_id}/folkmangd", {"year": "20x5", "population": "39700"})
    assert response.status_code == 302
    assert "Folkmängden sparades inte. År: Ange ett heltal." in page_text(c.get(f"/kommuner/{harryda_id}"))
    db.expire_all()
    assert (
        db.scalar(
            select(func.count())
            .select_from(MunicipalityPopulation)
            .where(MunicipalityPopulation.municipality_id == harryda_id)
        )
        == 0
    )


def test_population_form_for_another_municipality_is_forbidden(login_as, db, lerum_id):
    response = login_as("finance", kommun="Härryda").post_form(
        f"/kommuner/{lerum_id}/folkmangd", {"year": "2025", "population": "44000"}
    )
    assert response.status_code == 403
    db.expire_all()
    assert (
        db.scalar(
            select(func.count())
            .select_from(MunicipalityPopulation)
            .where(MunicipalityPopulation.municipality_id == lerum_id)
        )
        == 0
    )


# --- 4. API -------------------------------------------------------------------------------------


def test_api_requires_login(client, harryda_id):
    for url in (api_url(), api_url(harryda_id)):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.json == {
            "code": 401,
            "status": "Unauthorized",
            "message": "Du behöver logga in.",
            "errors": {},
        }
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_change_without_login_is_401_not_a_csrf_error(client, db, harryda_id):
    # An API client that forgot its Authorization header must hear that it is not signed in, not
    # about a missing form security code (400 CSRF).
    response = client.patch(api_url(harryda_id), json={"city": "X"})
    assert response.status_code == 401
    assert response.json["message"] == "Du behöver logga in."
    assert reload(db, harryda_id).city is None


def test_api_lists_municipalities_page_by_page(login_as):
    c = login_as("caseworker")
    response = c.get(api_url(), query_string={"page": 2, "page_size": 25})
    assert response.status_code == 200
    header = pagination_header(response)
    assert header["total"] == 290
    assert header["total_pages"] == 12
    assert header["page"] == 2
    items = response.json
    assert len(items) == 25
    first_page = c.get(api_url(), query_string={"page": 1, "page_size": 25}).json
    assert {i["id"] for i in items}.isdisjoint(i["id"] for i in first_page)
    assert set(items[0]) >= {
        "id",
        "kommunkod",
        "name",
        "county_code",
        "county_name",
        "org_number",
        "peppol_id",
        "bankgiro",
        "populations",
    }

    default = c.get(api_url())
    assert pagination_header(default)["total"] == 290
    assert len(default.json) == 10


def test_api_filters_by_county(login_as):
    response = login_as("caseworker").get(api_url(), query_string={"county": "14", "page_size": 100})
    assert pagination_header(response)["total"] == 49
    assert len(response.json) == 49
    assert {m["county_code"] for m in response.json} == {"14"}
    assert "Lerum" in {m["name"] for m in response.json}


def test_api_filters_by_name_or_code(login_as):
    c = login_as("caseworker")
    by_name = c.get(api_url(), query_string={"q": "lerum"})
    assert [m["kommunkod"] for m in by_name.json] == ["1441"]
    assert pagination_header(by_name)["total"] == 1
    assert [m["name"] for m in c.get(api_url(), query_string={"q": "1480"}).json] == ["Göteborg"]
    assert [m["name"] for m in c.get(api_url(), query_string={"q": "göte", "county": "14"}).json] == [
        "Göteborg",
        "Götene",
    ]


def test_api_page_size_is_capped_at_100(login_as):
    response = login_as("caseworker").get(api_url(), query_string={"page_size": 1000})
    assert response.status_code == 422
    assert "page_size" in response.json["errors"]


def test_api_patch_with_malformed_json_is_a_400_in_the_usual_shape(login_as, db, harryda_id):
    # BUG: webargs reports a bad body as {"json": ["Invalid JSON body."]}; the error handler does
    # errors.update(<that list>) and raises ValueError, so the client gets a 500 instead of a 400.
    response = login_as("finance").api(
        "PATCH", api_url(harryda_id), data='{"city": "Mölnlycke"', content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert response.json["code"] == 400
    assert reload(db, harryda_id).city is None


def test_api_refuses_a_malformed_county_code(login_as):
    response = login_as("caseworker").get(api_url(), query_string={"county": "Västra Götaland"})
    assert response.status_code == 422
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert "county" in response.json["errors"]


def test_api_returns_one_municipality_with_populations(login_as, db, harryda_id):
    set_details(db, harryda_id, org_number=ORG_A_FORMATTED)
    add_population(db, harryda_id, 2024, 39_700, source="SCB")
    response = login_as("caseworker").get(api_url(harryda_id))
    assert response.status_code == 200
    body = response.json
    assert (body["id"], body["kommunkod"], body["name"]) == (harryda_id, "1401", "Härryda")
    assert (body["county_code"], body["county_name"]) == ("14", "Västra Götalands län")
    assert body["org_number"] == ORG_A_FORMATTED
    assert body["peppol_id"] == f"0007:{ORG_A}"
    assert body["populations"] == [
        {"year": 2024, "population": 39_700, "reference_date": None, "source": "SCB"}
    ]


def test_api_unknown_municipality_is_a_json_404(login_as):
    response = login_as("caseworker").get(api_url(999999))
    assert response.status_code == 404
    assert response.json["message"] == "Kommunen finns inte."


def test_api_patch_saves_and_returns_normalised_values(login_as, db, harryda_id):
    response = login_as("finance").api(
        "PATCH",
        api_url(harryda_id),
        json={
            "org_number": ORG_A,
            "bankgiro": BANKGIRO_8,
            "postal_code": "43580",
            "invoice_email": "faktura@harryda.se",
        },
    )
    assert response.status_code == 200
    body = response.json
    assert body["org_number"] == ORG_A_FORMATTED
    assert body["bankgiro"] == f"{BANKGIRO_8[:4]}-{BANKGIRO_8[4:]}"
    assert body["postal_code"] == "435 80"
    assert body["peppol_id"] == f"0007:{ORG_A}"
    m = reload(db, harryda_id)
    assert (m.org_number, m.postal_code, m.invoice_email) == (ORG_A_FORMATTED, "435 80", "faktura@harryda.se")


def test_api_patch_leaves_absent_fields_alone_and_null_clears(login_as, db, harryda_id):
    set_details(db, harryda_id, org_number=ORG_A_FORMATTED, city="Mölnlycke", bankgiro="5050-1055")
    c = login_as("finance")
    assert c.api("PATCH", api_url(harryda_id), json={"street_address": "Box 100"}).status_code == 200
    m = reload(db, harryda_id)
    assert (m.org_number, m.city, m.bankgiro, m.street_address) == (
        ORG_A_FORMATTED,
        "Mölnlycke",
        "5050-1055",
        "Box 100",
    )

    assert c.api("PATCH", api_url(harryda_id), json={"bankgiro": None, "city": ""}).status_code == 200
    m = reload(db, harryda_id)
    assert (m.bankgiro, m.city, m.org_number) == (None, None, ORG_A_FORMATTED)


def test_api_patch_with_an_unknown_field_changes_nothing(login_as, db, harryda_id):
    response = login_as("finance").api("PATCH", api_url(harryda_id), json={"city": "Mölnlycke", "field": "x"})
    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "status": "Unprocessable Entity",
        "message": "Uppgifterna är inte giltiga.",
        "errors": {"field": ["Okänt fält."]},
    }
    assert reload(db, harryda_id).city is None


def test_api_patch_cannot_change_the_kommunkod_or_name(login_as, db, harryda_id):
    response = login_as("sysadmin", kommun=None).api(
        "PATCH", api_url(harryda_id), json={"kommunkod": "9999", "name": "Nyköping"}
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"kommunkod", "name"}
    m = reload(db, harryda_id)
    assert (m.kommunkod, m.name) == ("1401", "Härryda")


def test_api_patch_with_invalid_org_number_is_refused(login_as, db, harryda_id):
    response = login_as("finance").api(
        "PATCH", api_url(harryda_id), json={"org_number": ORG_WRONG_CHECK_DIGIT, "city": "Mölnlycke"}
    )
    assert response.status_code == 422
    assert response.json["errors"]["org_number"][0].startswith("Ogiltigt organisationsnummer")
    assert stored_details(db, harryda_id) == dict.fromkeys(EDITABLE_FIELDS)


def test_api_patch_with_a_taken_org_number_is_refused(login_as, db, harryda_id, lerum_id):
    set_details(db, lerum_id, org_number=ORG_A_FORMATTED)
    response = login_as("finance").api("PATCH", api_url(harryda_id), json={"org_number": ORG_A_FORMATTED})
    assert response.status_code == 422
    assert response.json["errors"] == {"org_number": ["Organisationsnumret används redan av Lerum."]}
    assert reload(db, harryda_id).org_number is None


def test_api_patch_of_another_municipality_is_forbidden(login_as, db, lerum_id):
    response = login_as("finance", kommun="Härryda").api("PATCH", api_url(lerum_id), json={"city": "Härryda"})
    assert response.status_code == 403
    assert response.json["code"] == 403
    assert response.json["message"] == "Du har inte behörighet till detta."
    assert reload(db, lerum_id).city is None


@pytest.mark.parametrize("role", ["caseworker", "auditor"])
def test_api_patch_of_own_municipality_needs_admin_or_finance(login_as, db, harryda_id, role):
    response = login_as(role, kommun="Härryda").api("PATCH", api_url(harryda_id), json={"city": "Mölnlycke"})
    assert response.status_code == 403
    assert reload(db, harryda_id).city is None


def test_sysadmin_can_patch_any_municipality(login_as, db, lerum_id):
    response = login_as("sysadmin", kommun=None).api("PATCH", api_url(lerum_id), json={"city": "Lerum"})
    assert response.status_code == 200
    assert reload(db, lerum_id).city == "Lerum"


def test_cookie_api_call_without_csrf_header_is_refused(login_as, db, harryda_id):
    c = login_as("finance")
    response = c.client.patch(api_url(harryda_id), json={"city": "Mölnlycke"})
    assert response.status_code == 400
    assert "csrf_token" in response.json["errors"]
    assert reload(db, harryda_id).city is None


def _bearer(db, user) -> dict:
    _, secret = services.create_api_token(db, user, "x")
    db.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_bearer_token_works_without_csrf_for_own_municipality(client, db, make_user, lerum_id):
    headers = _bearer(db, make_user(roles=("finance",), kommun="Lerum"))
    assert client.get(api_url(), headers=headers).status_code == 200
    response = client.patch(api_url(lerum_id), json={"city": "Lerum"}, headers=headers)
    assert response.status_code == 200
    assert reload(db, lerum_id).city == "Lerum"


def test_bearer_token_of_lerum_user_cannot_patch_harryda(client, db, make_user, harryda_id):
    headers = _bearer(db, make_user(roles=("finance",), kommun="Lerum"))
    response = client.patch(api_url(harryda_id), json={"city": "Lerum"}, headers=headers)
    assert response.status_code == 403
    assert reload(db, harryda_id).city is None


def test_unknown_bearer_token_is_401(client, db, harryda_id):
    response = client.patch(
        api_url(harryda_id), json={"city": "X"}, headers={"Authorization": "Bearer svk_finns-inte"}
    )
    assert response.status_code == 401
    assert response.json["message"] == "API-nyckeln är ogiltig, återkallad eller har gått ut."
    assert reload(db, harryda_id).city is None


def _population_rows(db, municipality_id):
    db.expire_all()
    return db.execute(
        select(
            MunicipalityPopulation.year,
            MunicipalityPopulation.population,
            MunicipalityPopulation.reference_date,
            MunicipalityPopulation.source,
        )
        .where(MunicipalityPopulation.municipality_id == municipality_id)
        .order_by(MunicipalityPopulation.year)
    ).all()


def test_api_put_population_creates_then_updates_the_year(login_as, db, harryda_id):
    c = login_as("finance")
    url = f"{api_url(harryda_id)}/populations/2025"
    created = c.api(
        "PUT", url, json={"year": 2025, "population": 39_700, "reference_date": "2024-12-31", "source": "SCB"}
    )
    assert created.status_code == 200
    assert created.json == {
        "year": 2025,
        "population": 39_700,
        "reference_date": "2024-12-31",
        "source": "SCB",
    }
    assert _population_rows(db, harryda_id) == [(2025, 39_700, dt.date(2024, 12, 31), "SCB")]

    updated = c.api("PUT", url, json={"year": 2025, "population": 39_950})
    assert updated.status_code == 200
    assert _population_rows(db, harryda_id) == [(2025, 39_950, None, None)]
    assert c.get(api_url(harryda_id)).json["populations"][0]["population"] == 39_950


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"year": 2024, "population": 39_700}, "year"),
        ({"year": 2025, "population": -1}, "population"),
        ({"year": 2025, "population": "många"}, "population"),
        ({"year": 2025}, "population"),
    ],
)
def test_api_put_population_refuses_bad_values(login_as, db, harryda_id, body, field):
    response = login_as("finance").api("PUT", f"{api_url(harryda_id)}/populations/2025", json=body)
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert _population_rows(db, harryda_id) == []


def test_api_put_population_of_another_municipality_is_forbidden(login_as, db, lerum_id):
    response = login_as("finance", kommun="Härryda").api(
        "PUT", f"{api_url(lerum_id)}/populations/2025", json={"year": 2025, "population": 44_000}
    )
    assert response.status_code == 403
    assert _population_rows(db, lerum_id) == []


def test_openapi_document_lists_the_municipality_paths(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json["paths"]
    assert set(paths["/api/v1/municipalities/"]) >= {"get"}
    assert set(paths["/api/v1/municipalities/{municipality_id}"]) >= {"get", "patch"}
    assert set(paths["/api/v1/municipalities/{municipality_id}/populations/{year}"]) >= {"put"}
