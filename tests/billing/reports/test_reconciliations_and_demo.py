"""Reconciliations on the overview (open and issued, the municipality's part as host and as buyer) and
the demo: Göteborg's overview and the national overview render and agree with SQL on the demo data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from billing.models import Reconciliation, ReconciliationRow, ReconciliationStatus
from billing.reports import services
from core.models import User
from tests.billing.reports.conftest import TODAY
from tests.billing.reports.sql_support import year_money


def test_open_and_issued_reconciliations_with_each_partys_part(
    db, data, make_version, make_user, municipality
):
    a1 = data["a1"]
    version = make_version(a1)
    component = version.components[0]

    def reconciliation(year, status, differences):
        rec = Reconciliation(
            agreement=a1,
            year=year,
            component_id=component.id,
            contract_version_id=version.id,
            actual_cost=Decimal("100000.00"),
            basis_text="Invånare",
            status=ReconciliationStatus.PROPOSED,  # rows are added before it is issued (the triggers)
            rows=[
                ReconciliationRow(
                    buyer_municipality_id=municipality(name).id,
                    share=Decimal("0.5"),
                    share_text="50 %",
                    final_amount=Decimal("50000.00"),
                    invoiced_amount=Decimal("50000.00") - diff,
                    difference=diff,
                )
                for name, diff in differences.items()
            ],
        )
        db.add(rec)
        db.commit()
        if status == ReconciliationStatus.ISSUED:
            rec.status = status
            rec.approved_at = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
            db.commit()
        return rec

    reconciliation(
        2025, ReconciliationStatus.PROPOSED, {"Härryda": Decimal("100.00"), "Lerum": Decimal("-50.00")}
    )
    reconciliation(
        2024, ReconciliationStatus.ISSUED, {"Härryda": Decimal("-20.00"), "Lerum": Decimal("30.00")}
    )
    host = services.overview_for_user(db, make_user(roles=("finance",), kommun="Göteborg"), 2025, TODAY)
    assert [(r.year, r.status, r.difference) for r in host.open_reconciliations] == [
        (2025, "proposed", Decimal("50.00"))
    ]
    assert [(r.year, r.status, r.difference) for r in host.issued_reconciliations] == [
        (2024, "issued", Decimal("10.00"))
    ]
    buyer = services.overview_for_user(db, make_user(roles=("finance",), kommun="Härryda"), 2025, TODAY)
    assert [(r.year, r.difference) for r in buyer.reconciliations] == [
        (2025, Decimal("100.00")),
        (2024, Decimal("-20.00")),
    ]
    # Mölndal is party to none of them.
    molndal = services.overview_for_user(db, make_user(roles=("finance",), kommun="Mölndal"), 2025, TODAY)
    assert molndal.reconciliations == ()


def _demo_client(demo, email):
    user_id = demo.session.scalar(select(User.id).where(User.email == email))
    demo.session.rollback()
    client = demo.app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user_id)
        sess["_fresh"] = True
    return client


def test_demo_overview_for_goteborg_and_nationally(demo):
    gbg = demo.session.scalar(select(User.municipality_id).where(User.email == "admin@goteborg.demo"))
    expected_in = year_money(demo.session, 2025, seller_id=gbg)
    expected_total = year_money(demo.session, 2025)
    demo.session.rollback()
    assert expected_in > 0

    client = _demo_client(demo, "admin@goteborg.demo")
    response = client.get("/oversikt?ar=2025")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "GR-JAV-2024" in html and "data:image/svg+xml;base64," in html
    body = client.get("/api/v1/overview/?year=2025").get_json()
    assert Decimal(body["totals"][-1]["money_in"]) == expected_in
    assert client.get("/oversikt/oversikt.csv?ar=2025").status_code == 200

    sysadmin = _demo_client(demo, "sysadmin@samverkan.demo")
    response = sysadmin.get("/oversikt/nationell?ar=2025")
    assert response.status_code == 200
    assert "Göteborg" in response.get_data(as_text=True)
    national = sysadmin.get("/api/v1/overview/national?year=2025").get_json()
    assert (
        Decimal(national["totals"]["invoiced_out"])
        == expected_total
        == Decimal(national["totals"]["invoiced_in"])
    )
    assert any(
        r["name"] == "Göteborg" and Decimal(r["invoiced_out"]) == expected_in for r in national["rows"]
    )
    assert _demo_client(demo, "admin@goteborg.demo").get("/oversikt/nationell").status_code == 403
