"""The reconciliation pages and API: the host's finance reports the cost, computes and approves (with a
confirmation), sees the table per buyer and the deadline warning; a buyer sees only issued
reconciliations; a non-party gets 404; the API does the same steps; the issued documents are valid
Peppol (billing's issue path validates them)."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from decimal import Decimal

import pytest
from flask_login import login_user
from sqlalchemy import select

from billing.exports import peppol
from billing.exports.documents import stored_document
from billing.models import DocumentFormat, InvoiceKind, InvoiceStatus, Reconciliation, ReconciliationStatus
from billing.reconciliation import services
from tests.billing.exports_support import need_rules, set_details
from tests.billing.reconciliation.conftest import YEAR
from tests.conftest import LoggedInClient
from tests.support import IN_CI


@pytest.fixture
def case(db, prelim, populations, prelim_invoice, municipality):
    """As in test_services: Härryda is owed an invoice of 11 752,38 and Lerum a credit note of 5 704,76
    once the cost 1 030 000 is reported."""
    set_details(db, municipality)
    agreement, _component = prelim()
    populations(2024, {"Göteborg": 600000, "Härryda": 40000, "Lerum": 60000})
    prelim_invoice(agreement, "Härryda", ["26000"] * 4)
    prelim_invoice(agreement, "Lerum", ["36250"] * 4)
    return agreement


def text_of(response) -> str:
    """The page's text without tags, whitespace collapsed (no-break spaces too)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    return " ".join(text.replace("\xa0", " ").split())


def test_host_finance_reports_computes_and_approves_on_the_pages(db, case, app, make_user, fake_docs):
    user = make_user(roles=("finance",), kommun="Göteborg")
    client = LoggedInClient(app, user)
    page = f"/avrakning/avtal/{case.id}/{YEAR}"
    listing = client.get("/avrakning/")
    assert listing.status_code == 200 and case.number in text_of(listing)
    assert "Avräkning av preliminär debitering" in text_of(listing)
    response = client.get(page)
    assert response.status_code == 200
    assert "Ingen verklig kostnad är rapporterad för 2025" in text_of(response)
    assert "Sista dag för avräkningen 2026-03-31" in text_of(response)

    bad = client.post_form(f"{page}/kostnad", {"amount": "1e6", "note": ""})
    assert bad.status_code == 422 and "Ange ett tal" in text_of(bad)
    response = client.post_form(
        f"{page}/kostnad", {"amount": "1 030 000", "note": "Bokslut 2025"}, follow_redirects=True
    )
    assert "1 030 000,00 kr" in text_of(response)
    response = client.post_form(f"{page}/berakna", follow_redirects=True)
    body = text_of(response)
    assert "2 förslag till faktura eller kreditfaktura" in body
    assert "115 752,38 kr" in body and "11 752,38 kr" in body and "-5 704,76 kr" in body
    assert 'data-confirm="Godkänna och utfärda avräkningen för 2025?' in response.get_data(as_text=True)
    response = client.post_form(f"{page}/godkann", follow_redirects=True)
    assert "är godkänd och utfärdad" in text_of(response)
    db.expire_all()
    [rec] = db.scalars(select(Reconciliation).where(Reconciliation.agreement_id == case.id)).all()
    assert rec.status == ReconciliationStatus.ISSUED
    # A second approval is refused with a message, not a 500.
    response = client.post_form(f"{page}/godkann", follow_redirects=True)
    assert response.status_code == 200 and "redan godkänd och utfärdad" in text_of(response)
    # The cost is now locked on the page and in the service.
    assert "Kostnaden är låst" in text_of(client.get(page))


def test_deadline_warning_when_passed(db, case, app, make_user, monkeypatch):
    monkeypatch.setattr("billing.reconciliation.services.local_today", lambda: dt.date(2026, 4, 1))
    client = LoggedInClient(app, make_user(roles=("finance",), kommun="Göteborg"))
    assert "2026-03-31, har passerat" in text_of(client.get(f"/avrakning/avtal/{case.id}/{YEAR}"))


def test_buyer_sees_only_issued_and_cannot_act(db, case, app, make_user, report, fake_docs):
    host = make_user(roles=("finance",), kommun="Göteborg")
    report(case, "1030000", host)
    [rec] = services.compute_reconciliation(db, host, case, YEAR)
    db.commit()
    buyer = LoggedInClient(app, make_user(roles=("finance",), kommun="Härryda"))
    page = f"/avrakning/avtal/{case.id}/{YEAR}"
    body = text_of(buyer.get(page))
    assert "115 752,38" not in body and "Räkna fram" not in body
    assert buyer.post_form(f"{page}/berakna", follow_redirects=True).status_code == 200
    db.expire_all()
    assert rec.status == ReconciliationStatus.PROPOSED
    assert (
        buyer.api("post", f"/api/v1/reconciliations/agreements/{case.id}/{YEAR}/compute").status_code == 403
    )
    assert buyer.get(f"/api/v1/reconciliations/{rec.id}").status_code == 404  # a proposal is the host's
    services.approve_reconciliation(db, host, rec)
    db.commit()
    assert "115 752,38" in text_of(buyer.get(page))
    assert buyer.get(f"/api/v1/reconciliations/{rec.id}").status_code == 200


def test_non_party_gets_404(db, case, app, make_user, report):
    host = make_user(roles=("finance",), kommun="Göteborg")
    report(case, "1030000", host)
    [rec] = services.compute_reconciliation(db, host, case, YEAR)
    db.commit()
    outsider = LoggedInClient(app, make_user(roles=("finance",), kommun="Partille"))
    assert outsider.get(f"/avrakning/avtal/{case.id}/{YEAR}").status_code == 404
    assert outsider.post_form(f"/avrakning/avtal/{case.id}/{YEAR}/berakna").status_code == 404
    assert outsider.get(f"/api/v1/reconciliations/{rec.id}").status_code == 404
    response = outsider.api(
        "put", f"/api/v1/reconciliations/agreements/{case.id}/{YEAR}/cost", json={"amount": "1"}
    )
    assert response.status_code == 404 and "Avräkningen finns inte" in response.get_json()["message"]


def test_api_report_compute_approve(db, case, app, make_user, fake_docs):
    client = LoggedInClient(app, make_user(roles=("finance",), kommun="Göteborg"))
    base = f"/api/v1/reconciliations/agreements/{case.id}/{YEAR}"
    bad = client.api("put", f"{base}/cost", json={"amount": "12,345"})
    assert bad.status_code == 422 and "högst två decimaler" in str(bad.get_json()["errors"])
    response = client.api("put", f"{base}/cost", json={"amount": "1 030 000,00", "note": "Bokslut"})
    assert response.status_code == 200 and response.get_json()["amount"] == "1030000.00"
    assert client.get(f"{base}/cost").get_json()["note"] == "Bokslut"
    response = client.api("post", f"{base}/compute")
    assert response.status_code == 200
    [rec] = response.get_json()
    rows = {row["buyer"]: row for row in rec["rows"]}
    assert rows["Härryda"]["difference"] == "11752.38" and rows["Härryda"]["document"]["kind"] == "invoice"
    assert (
        rows["Lerum"]["document"]["kind"] == "credit_note" and rows["Lerum"]["document"]["status"] == "draft"
    )
    response = client.api("post", f"/api/v1/reconciliations/{rec['id']}/approve")
    assert response.status_code == 200 and response.get_json()["status"] == "issued"
    assert all(r["document"]["number"] for r in response.get_json()["rows"])
    again = client.api("post", f"/api/v1/reconciliations/{rec['id']}/approve")
    assert again.status_code == 409 and "redan godkänd och utfärdad" in again.get_json()["message"]
    locked = client.api("put", f"{base}/cost", json={"amount": "1"})
    assert locked.status_code == 409 and "är låst" in locked.get_json()["message"]
    listing = client.get("/api/v1/reconciliations/?year=2025").get_json()
    assert [r["id"] for r in listing] == [rec["id"]]


def test_issued_documents_are_valid_peppol(db, case, app, make_user, report):
    need_rules()
    if shutil.which("wkhtmltopdf") is None:
        if IN_CI:
            pytest.fail("wkhtmltopdf saknas")
        pytest.skip("wkhtmltopdf saknas (sudo apt-get install wkhtmltopdf)")
    host = make_user(roles=("finance",), kommun="Göteborg")
    report(case, "1030000", host)
    [rec] = services.compute_reconciliation(db, host, case, YEAR)
    db.commit()
    with app.test_request_context("/"):
        login_user(host)
        issued = services.approve_reconciliation(db, host, rec)
    db.commit()
    assert {i.kind for i in issued} == {InvoiceKind.INVOICE, InvoiceKind.CREDIT_NOTE}
    for invoice in issued:
        assert invoice.status == InvoiceStatus.ISSUED
        xml = stored_document(db, invoice, DocumentFormat.PEPPOL)
        assert peppol.validate_xml(xml.content).ok
        assert stored_document(db, invoice, DocumentFormat.PDF).content.startswith(b"%PDF")
    credit = next(i for i in issued if i.kind == InvoiceKind.CREDIT_NOTE)
    xml = stored_document(db, credit, DocumentFormat.PEPPOL).content.decode()
    assert credit.original.display_number in xml and "5704.76" in xml
    assert Decimal(credit.total_amount) == Decimal("-5704.76")
