"""The national overview: sysadmins only (403 for everyone else, pages, files and API); every figure
per municipality and the totals against independent SQL on the fixture data; no case details."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from billing.reports import services
from core.errors import PermissionDenied
from tests.billing.reports.conftest import TODAY
from tests.billing.reports.sql_support import count, year_money

D = Decimal
PATHS = (
    "/oversikt/nationell",
    "/oversikt/nationell/nationell-oversikt.csv",
    "/oversikt/nationell/nationell-oversikt.pdf",
    "/api/v1/overview/national",
)


@pytest.fixture
def sysadmin(make_user):
    return make_user(roles=("sysadmin",), kommun=None)


@pytest.mark.parametrize("roles", [("admin",), ("finance",), ("auditor",), ("legal",), ("caseworker",)])
def test_everyone_but_sysadmins_gets_403(db, data, login_as, make_user, roles):
    client = login_as(*roles, kommun="Göteborg")
    for path in PATHS:
        assert client.get(path).status_code == 403, path
    with pytest.raises(PermissionDenied):
        services.national_overview_for_user(db, make_user(roles=roles, kommun="Göteborg"), 2025, TODAY)


def test_every_figure_equals_sql(db, data, sysadmin, municipality):
    o = services.national_overview_for_user(db, sysadmin, 2025, TODAY)
    party_ids = set(db.scalars(text("SELECT DISTINCT municipality_id FROM agreement_parties")))
    assert {r.municipality_id for r in o.rows} == party_ids
    assert {r.name for r in o.rows} == {"Göteborg", "Härryda", "Lerum", "Mölndal", "Partille"}
    for r in o.rows:
        m = r.municipality_id
        in_force = (
            "SELECT COUNT(*) FROM agreement_parties p JOIN agreements a ON a.id = p.agreement_id "
            "WHERE p.municipality_id = :m AND p.role = :role AND a.status IN ('active', 'under_renegotiation')"
        )
        assert r.agreements_as_host == count(db, in_force, m=m, role="host"), r.name
        assert r.agreements_as_buyer == count(db, in_force, m=m, role="buyer"), r.name
        assert r.invoiced_out == year_money(db, 2025, seller_id=m), r.name
        assert r.invoiced_in == year_money(db, 2025, buyer_id=m), r.name
        assert r.open_transfers == count(
            db,
            "SELECT COUNT(*) FROM case_transfers WHERE status NOT IN ('declined', 'closed') "
            "AND (requesting_municipality_id = :m OR performing_municipality_id = :m)",
            m=m,
        ), r.name
        # Reportable today (fixture: no interruptions): not executed, not closed, decided over three
        # months before 2026-05-15.
        assert r.reportable_decisions == count(
            db,
            "SELECT COUNT(*) FROM decisions d JOIN legal_bases b ON b.id = d.legal_basis_id "
            "WHERE d.responsible_municipality_id = :m AND b.reportable AND d.execution_date IS NULL "
            "AND d.closed_on IS NULL AND d.decision_date < '2026-02-15'",
            m=m,
        ), r.name
        assert r.followups_sent == count(
            db,
            "SELECT COUNT(*) FROM annual_followups f JOIN agreement_parties p ON p.agreement_id = f.agreement_id "
            "WHERE p.role = 'host' AND p.municipality_id = :m AND f.year = 2025 AND f.status = 'sent'",
            m=m,
        ), r.name
    rows = {r.name: r for r in o.rows}
    # By hand, to be sure the SQL above asks the right thing.
    assert (rows["Göteborg"].agreements_as_host, rows["Göteborg"].agreements_as_buyer) == (
        1,
        1,
    )  # a4 terminated
    assert rows["Göteborg"].invoiced_out == D("7457.00") and rows["Göteborg"].invoiced_in == D("3000.00")
    assert rows["Göteborg"].open_transfers == 3 and rows["Härryda"].open_transfers == 2
    assert rows["Härryda"].reportable_decisions == 1 and rows["Göteborg"].followups_sent == 1


def test_totals(db, data, sysadmin):
    o = services.national_overview_for_user(db, sysadmin, 2025, TODAY)
    t = o.totals
    assert t.invoiced_out == t.invoiced_in == year_money(db, 2025)
    assert t.agreements_as_host == count(
        db, "SELECT COUNT(*) FROM agreements WHERE status IN ('active', 'under_renegotiation')"
    )
    assert (
        t.open_transfers
        == count(db, "SELECT COUNT(*) FROM case_transfers WHERE status NOT IN ('declined', 'closed')")
        == 3
    )
    assert t.reportable_decisions == sum(r.reportable_decisions for r in o.rows) == 1
    assert t.followups_sent == 1


def test_page_shows_counts_and_sums_but_no_case(db, data, login_as):
    client = login_as("sysadmin")
    response = client.get("/oversikt/nationell?ar=2025")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Nationell översikt 2025" in html and "Totalt" in html
    assert "7\u00a0457,00\u00a0kr" in html
    assert "Fakturerat per kommun 2025, de 15 största" in html and "data:image/svg+xml;base64," in html
    # No case reference, insats or agreement of a case.
    for transfer_ref in ("JAV-", "Kontaktfamilj", "OV-GBG-1"):
        assert transfer_ref not in html


def test_api_shape(db, data, login_as):
    body = login_as("sysadmin").get("/api/v1/overview/national?year=2025").get_json()
    assert set(body) == {"year", "today", "followup_year", "rows", "totals", "counties"}
    assert body["year"] == 2025 and body["followup_year"] == 2025
    row = next(r for r in body["rows"] if r["name"] == "Göteborg")
    assert row["invoiced_out"] == "7457.00" and row["kommunkod"] == "1480"
    assert set(row) == {
        "municipality_id",
        "kommunkod",
        "name",
        "county_code",
        "county_name",
        "agreements_as_host",
        "agreements_as_buyer",
        "invoiced_out",
        "invoiced_in",
        "open_transfers",
        "reportable_decisions",
        "followups_sent",
    }
    assert body["totals"]["open_transfers"] == 3
    assert login_as("sysadmin").get("/api/v1/overview/national?year=1999").status_code == 422
