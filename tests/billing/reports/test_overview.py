"""The per-municipality overview: every amount against independent SQL on the fixture data, scope
(another municipality's agreements and money never appear), permissions, follow-up and deadlines."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

import pytest

from billing.reports import services
from core.errors import PermissionDenied, ValidationFailed
from tests.billing.reports.conftest import TODAY
from tests.billing.reports.sql_support import money, year_money

D = Decimal


@pytest.fixture
def gbg_user(make_user):
    return make_user(roles=("finance",), kommun="Göteborg")


def test_money_per_agreement_and_year_equals_sql(db, data, gbg_user, municipality):
    o = services.overview_for_user(db, gbg_user, 2025, TODAY)
    gbg = municipality("Göteborg").id
    assert o.years == (2022, 2023, 2024, 2025)
    assert {a.number for a in o.agreements} == {"OV-GBG-1", "OV-HRY-2", "OV-GBG-4"}
    for a in o.agreements:
        for m in a.years:
            assert m.money_in == year_money(db, m.year, agreement_id=a.agreement_id, seller_id=gbg), (
                a.number,
                m,
            )
            assert m.money_out == year_money(db, m.year, agreement_id=a.agreement_id, buyer_id=gbg), (
                a.number,
                m,
            )
    for t in o.totals:
        assert t.money_in == year_money(db, t.year, seller_id=gbg)
        assert t.money_out == year_money(db, t.year, buyer_id=gbg)
        assert t.net == t.money_in - t.money_out
    # By hand: 2025 in = 2 800 - 1 120 (credit) + 5 000 (net of the 25 % VAT) + 777 (terminated agreement);
    # 2024 in = 4 340 - 4 340 (credited by a note dated 2026); out 2025 = 3 000 (Härryda's invoice).
    by_year = {t.year: t for t in o.totals}
    assert by_year[2025].money_in == D("7457.00")
    assert by_year[2024].money_in == D("0.00")
    assert by_year[2025].money_out == D("3000.00")


def test_months_and_counterparties_equal_sql(db, data, gbg_user, municipality):
    o = services.overview_for_user(db, gbg_user, 2025, TODAY)
    gbg = municipality("Göteborg").id
    for m in range(1, 13):
        first, last = dt.date(2025, m, 1), dt.date(2025, m, calendar.monthrange(2025, m)[1])
        assert o.months_in[m - 1] == money(db, first, last, seller_id=gbg), m
        assert o.months_out[m - 1] == money(db, first, last, buyer_id=gbg), m
    assert o.months_in[2] == D("1680.00")  # March: 2 800 minus the credited hour
    parties = {c.name: c for c in o.counterparties}
    assert set(parties) == {"Härryda", "Lerum", "Partille"}
    for c in o.counterparties:
        assert c.money_in == year_money(db, 2025, seller_id=gbg, buyer_id=c.municipality_id)
        assert c.money_out == year_money(db, 2025, seller_id=c.municipality_id, buyer_id=gbg)


def test_current_year_is_the_default_and_other_years_refused(db, data, gbg_user):
    assert services.overview_for_user(db, gbg_user, None, TODAY).year == 2026
    assert services.overview_for_user(db, gbg_user, None, TODAY).years == (2023, 2024, 2025, 2026)
    for year in (1999, 2027):
        with pytest.raises(ValidationFailed) as exc:
            services.overview_for_user(db, gbg_user, year, TODAY)
        assert "Välj ett år" in exc.value.message


def test_agreement_rows_roles_dates_and_followup_status(db, data, gbg_user):
    o = services.overview_for_user(db, gbg_user, 2026, TODAY)
    rows = {a.number: a for a in o.agreements}
    assert o.followup_year == 2025
    a1, a2 = rows["OV-GBG-1"], rows["OV-HRY-2"]
    assert a1.role == "host" and a1.counterparties == ("Härryda", "Lerum")
    assert a2.role == "buyer" and a2.counterparties == ("Härryda",)
    assert a1.current_end_date == dt.date(2026, 12, 31) and a1.last_notice_date == dt.date(2026, 6, 30)
    assert (a1.followup_status, a1.followup_label) == ("sent", "Skickad")
    assert (a2.followup_status, a2.followup_label) == ("draft", "Utkast")
    assert rows["OV-GBG-4"].followup_status == "none"
    # The last notice day (2026-06-30) is within 90 days of 2026-05-15: on the deadline list.
    assert any(d.date == dt.date(2026, 6, 30) and "OV-GBG-1" in d.title for d in o.deadlines)


def test_another_municipalitys_agreements_and_money_never_appear(db, data, gbg_user, login_as, municipality):
    o = services.overview_for_user(db, gbg_user, 2025, TODAY)
    assert "OV-LER-3" not in {a.number for a in o.agreements}
    assert "Mölndal" not in {c.name for c in o.counterparties}
    client = login_as("admin", kommun="Göteborg")
    html = client.get("/oversikt?ar=2025").get_data(as_text=True)
    assert "OV-GBG-1" in html and "OV-LER-3" not in html and "Mölndal" not in html
    assert "6\u00a0300,00" not in html  # Lerum's invoice to Mölndal (7 × 900)
    # Lerum sees its own: a3 and a1, not a2.
    lerum = login_as("auditor", kommun="Lerum").get("/api/v1/overview/?year=2025").get_json()
    assert {a["number"] for a in lerum["agreements"]} == {"OV-GBG-1", "OV-LER-3"}
    assert lerum["municipality_name"] == "Lerum"


@pytest.mark.parametrize("roles", [("caseworker",), ("sysadmin",)])
def test_who_may_not_read_the_overview(db, data, login_as, make_user, roles):
    client = login_as(*roles, kommun="Göteborg")
    assert client.get("/oversikt").status_code == 403
    assert client.get("/oversikt/oversikt.csv").status_code == 403
    response = client.get("/api/v1/overview/")
    assert response.status_code == 403
    body = response.get_json()
    assert body["code"] == 403 and body["message"] and set(body) == {"code", "status", "message", "errors"}
    with pytest.raises(PermissionDenied):
        services.overview_for_user(db, make_user(roles=roles, kommun="Göteborg"), 2025, TODAY)


def test_page_shows_figures_links_and_charts(db, data, login_as):
    client = login_as("legal", kommun="Göteborg")
    response = client.get("/oversikt?ar=2025")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Översikt för Göteborg 2025" in html
    assert "7\u00a0457,00\u00a0kr" in html and "3\u00a0000,00\u00a0kr" in html
    assert (
        "data:image/svg+xml;base64," in html
        and "Pengar in och ut per månad 2025" in html
        and "Fakturerat per motpart 2025" in html
    )
    assert 'href="/oversikt/oversikt.pdf?ar=2025"' in html and 'href="/oversikt/oversikt.csv?ar=2025"' in html
    assert "Skickad" in html and "Utkast" in html


def test_bad_year_on_the_page_is_a_swedish_422(db, data, login_as):
    client = login_as("admin", kommun="Göteborg")
    for year in ("1999", "abc"):
        response = client.get(f"/oversikt?ar={year}")
        assert response.status_code == 422
        assert "år" in response.get_data(as_text=True).lower()


def test_nav_item_for_overview_readers_only(db, data, login_as):
    assert 'href="/oversikt"' in login_as("finance", kommun="Göteborg").get("/").get_data(as_text=True)
    assert 'href="/oversikt"' not in login_as("caseworker", kommun="Göteborg").get("/").get_data(as_text=True)
    sysadmin_home = login_as("sysadmin").get("/").get_data(as_text=True)
    assert 'href="/oversikt/nationell"' in sysadmin_home and 'href="/oversikt"' not in sysadmin_home


def test_links_to_the_agreement_and_its_followup(db, data, login_as):
    a1 = data["a1"]
    html = login_as("finance", kommun="Göteborg").get("/oversikt?ar=2026").get_data(as_text=True)
    assert f'href="/avtal/{a1.id}"' in html
    assert f'href="/uppfoljning/{a1.id}/2025"' in html


def test_an_unregistered_page_gives_no_link(app):
    from billing.reports.views import _first_url

    with app.test_request_context("/"):
        assert _first_url((("no_such.endpoint", ("agreement_id",)),), {"agreement_id": 1}) is None
        assert (
            _first_url(
                (("billing_followup.followup_page", ("agreement_id", "year")),),
                {"agreement_id": 3, "year": 2025},
            )
            == "/uppfoljning/3/2025"
        )
