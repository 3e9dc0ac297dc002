"""Pages, API and CLI of invoicing: finance runs a month, previews, approves and issues; invoices are
listed and filtered for seller and buyer; credit notes and payment from the invoice page; scope (404 for
municipalities that are not a party) and roles; `flask billing run` and `flask billing issue`."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from billing.invoicing import services
from billing.models import Invoice, InvoiceKind, InvoiceRun, InvoiceStatus, PeriodKind, RunStatus
from billing.pricing import PricingProblem
from tests.billing import invoicing_fixtures as fx
from tests.billing.invoicing_fixtures import ISSUE_DAY, priced_invoice, priced_line

_fixed_today = fx._fixed_today
fake_pricing = fx.fake_pricing
issue_docs = fx.issue_docs
seller_finance = fx.seller_finance

OCTOBER = dt.date(2026, 10, 1)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True).replace("\u00a0", " "))


@pytest.fixture
def gbg(login_as):
    return login_as("finance", kommun="Göteborg")


def test_finance_runs_a_month_previews_approves_and_issues(
    db, gbg, priced_agreement, make_service, issue_docs
):
    make_service(priced_agreement, quantity="1.5")
    make_service(priced_agreement, buyer="Lerum", quantity="2")
    page = _text(gbg.get("/fakturering/"))
    assert "Fakturakörningar" in page and "Ny fakturakörning" in page

    form = gbg.get("/fakturering/korningar/ny")
    assert form.status_code == 200 and "2026-Q4" in _text(form)
    response = gbg.post_form(
        "/fakturering/korningar/ny", {"period_kind": "month", "period": "2026-10", "compute": "on"}
    )
    assert response.status_code == 302
    run = db.scalar(select(InvoiceRun))
    assert response.headers["Location"].endswith(f"/fakturering/korningar/{run.id}")

    preview = _text(gbg.get(f"/fakturering/korningar/{run.id}"))
    assert "Fakturakörning" in preview and "oktober 2026" in preview
    assert "Härryda" in preview and "Lerum" in preview and priced_agreement.number in preview
    assert "1,5 h × 1 120,00 kr" in preview  # the computation
    assert "1 680,00 kr" in preview and "3 920,00 kr" in preview  # a total and the run's total
    assert "Momssammanställning" in preview and "Godkänn körningen" in preview
    assert 'data-confirm="Beräkna körningen igen?' in preview

    assert gbg.post_form(f"/fakturering/korningar/{run.id}/berakna").status_code == 302
    assert gbg.post_form(f"/fakturering/korningar/{run.id}/godkann").status_code == 302
    approved = _text(gbg.get(f"/fakturering/korningar/{run.id}"))
    assert "Att utfärda kan inte ångras" in approved
    assert re.search(r'data-confirm="Utfärda 2 fakturor nu\?[^"]*kan inte ändras', approved)

    response = gbg.post_form(f"/fakturering/korningar/{run.id}/utfarda", follow_redirects=True)
    assert response.status_code == 200
    assert "2 fakturor är utfärdade (F1–F2)" in _text(response)
    db.expire_all()
    assert db.get(InvoiceRun, run.id).status == RunStatus.ISSUED
    invoice = db.scalar(select(Invoice).where(Invoice.number == 1))
    page = _text(gbg.get(f"/fakturor/{invoice.id}"))
    assert "Faktura F1" in page and invoice.ocr in page and "2026-12-02" in page and "Markera betald" in page


def test_the_new_run_form_explains_errors(gbg, db):
    response = gbg.post_form("/fakturering/korningar/ny", {"period_kind": "month", "period": "oktober"})
    assert response.status_code == 422
    assert "Ange en månad (2026-10)" in _text(response)
    response = gbg.post_form("/fakturering/korningar/ny", {"period_kind": "month", "period": "2026-Q4"})
    assert response.status_code == 422
    assert "2026-Q4 är kvartal, inte månad" in _text(response)
    assert db.scalar(select(InvoiceRun)) is None


def test_a_second_run_for_the_same_period_is_explained_not_a_500(gbg, db, priced_agreement, make_service):
    make_service(priced_agreement)
    first = gbg.post_form(
        "/fakturering/korningar/ny", {"period_kind": "month", "period": "2026-10", "compute": "on"}
    )
    assert first.status_code == 302
    make_service(priced_agreement, quantity="2")  # new work for October: the second run would bill it
    response = gbg.post_form(
        "/fakturering/korningar/ny", {"period_kind": "month", "period": "2026-10", "compute": "on"}
    )
    assert response.status_code == 409
    first_id = db.scalar(select(InvoiceRun.id))
    assert f"fakturakörning {first_id}" in _text(response)
    assert len(db.scalars(select(InvoiceRun)).all()) == 1  # the refused run was not kept


def test_problems_are_shown_and_approval_needs_the_checkbox(
    db, gbg, priced_agreement, fake_pricing, municipality
):
    harryda = municipality("Härryda")
    fake_pricing.invoices = [priced_invoice(priced_agreement, harryda, [priced_line()])]
    fake_pricing.problems = [
        PricingProblem(priced_agreement.id, harryda.id, "Pris för 2026 saknas för resor.")
    ]
    run = services.create_run(db, gbg.user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, gbg.user, run)
    db.commit()
    page = _text(gbg.get(f"/fakturering/korningar/{run.id}"))
    assert "Problem vid beräkningen (1)" in page and "Pris för 2026 saknas för resor." in page
    assert 'name="confirm_problems"' in page
    response = gbg.post_form(f"/fakturering/korningar/{run.id}/godkann", follow_redirects=True)
    assert "bekräfta att du har läst dem" in _text(response)
    db.expire_all()
    assert db.get(InvoiceRun, run.id).status == RunStatus.DRAFT
    gbg.post_form(f"/fakturering/korningar/{run.id}/godkann", {"confirm_problems": "on"})
    db.expire_all()
    assert db.get(InvoiceRun, run.id).status == RunStatus.APPROVED


def test_a_failed_issue_on_the_page_rolls_back(
    db, gbg, priced_agreement, fake_pricing, municipality, issue_docs
):
    fake_pricing.invoices = [
        priced_invoice(priced_agreement, municipality(name), [priced_line()])
        for name in ("Härryda", "Lerum", "Ale")
    ]
    run = services.create_run(db, gbg.user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, gbg.user, run)
    services.approve_run(db, gbg.user, run)
    db.commit()
    issue_docs.fail_on = 2
    response = gbg.post_form(f"/fakturering/korningar/{run.id}/utfarda", follow_redirects=True)
    assert "BT-10 saknas" in _text(response)
    db.expire_all()
    assert {i.status for i in db.scalars(select(Invoice))} == {InvoiceStatus.APPROVED}
    assert db.scalar(select(Invoice.number).where(Invoice.number.is_not(None))) is None


def _issued_pair(db, priced_agreement, fake_pricing, municipality, user):
    fake_pricing.invoices = [
        priced_invoice(priced_agreement, municipality("Härryda"), [priced_line("100.00")]),
        priced_invoice(
            priced_agreement, municipality("Lerum"), [priced_line("200.00"), priced_line("300.00")]
        ),
    ]
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    services.issue_run(db, user, run, approve=True)
    db.commit()
    return {i.buyer.name: i for i in run.invoices}


def test_invoice_lists_are_scoped_and_filtered(
    db, gbg, login_as, priced_agreement, fake_pricing, municipality, issue_docs
):
    invoices = _issued_pair(db, priced_agreement, fake_pricing, municipality, gbg.user)
    services.mark_invoice_paid(db, gbg.user, invoices["Lerum"], ISSUE_DAY)
    draft = services.credit_invoice(db, gbg.user, invoices["Härryda"], reason="Fel antal timmar.")
    db.commit()

    def numbers(response) -> set[str]:
        return set(re.findall(r'/fakturor/\d+">([^<]+)</a>', _text(response)))

    assert numbers(gbg.get("/fakturor/")) == {"F1", "F2", f"Utkast {draft.id}"}
    assert numbers(gbg.get("/fakturor/?betald=nej")) == {"F1"}
    assert numbers(gbg.get("/fakturor/?betald=ja")) == {"F2"}
    assert numbers(gbg.get(f"/fakturor/?motpart={municipality('Lerum').id}")) == {"F2"}
    assert numbers(gbg.get("/fakturor/?period=2026-Q4&status=issued")) == {"F1", "F2"}
    assert numbers(gbg.get("/fakturor/?status=draft")) == {f"Utkast {draft.id}"}
    assert numbers(gbg.get(f"/fakturor/?avtal={priced_agreement.id}&riktning=issued")) == {
        "F1",
        "F2",
        f"Utkast {draft.id}",
    }
    assert "Inga fakturor" in _text(gbg.get("/fakturor/?period=2026-09"))
    assert gbg.get("/fakturor/?period=hösten").status_code == 422

    # The buyer sees what it received (issued), not the seller's draft credit note.
    harryda = login_as("finance", kommun="Härryda")
    assert numbers(harryda.get("/fakturor/?riktning=received")) == {"F1"}
    assert numbers(harryda.get("/fakturor/?riktning=issued")) == set()
    assert harryda.get(f"/fakturor/{invoices['Härryda'].id}").status_code == 200
    assert harryda.get(f"/fakturor/{invoices['Lerum'].id}").status_code == 404
    assert harryda.get(f"/fakturor/{draft.id}").status_code == 404
    assert "Markera betald" not in _text(harryda.get(f"/fakturor/{invoices['Härryda'].id}"))
    assert (
        harryda.post_form(
            f"/fakturor/{invoices['Härryda'].id}/betalning", {"paid_on": "2026-11-02"}
        ).status_code
        == 403
    )

    # Not a party: nothing.
    malmo = login_as("finance", kommun="Malmö")
    assert "Inga fakturor" in _text(malmo.get("/fakturor/"))
    assert malmo.get(f"/fakturor/{invoices['Härryda'].id}").status_code == 404
    run_id = invoices["Härryda"].run_id
    assert malmo.get(f"/fakturering/korningar/{run_id}").status_code == 404
    assert harryda.get(f"/fakturering/korningar/{run_id}").status_code == 404
    assert malmo.post_form(f"/fakturering/korningar/{run_id}/berakna").status_code == 404


def test_invoice_page_credits_chosen_lines_and_marks_payment(
    db, gbg, priced_agreement, fake_pricing, municipality, issue_docs
):
    lerum = _issued_pair(db, priced_agreement, fake_pricing, municipality, gbg.user)["Lerum"]
    page = _text(gbg.get(f"/fakturor/{lerum.id}/kreditera"))
    assert "Skapa kreditfaktura" in page and "Prestationerna förblir fakturerade" in page
    second_line = lerum.lines[1]

    response = gbg.post_form(f"/fakturor/{lerum.id}/kreditera", {"scope": "lines", "reason": ""})
    assert response.status_code == 422
    response = gbg.post_form(
        f"/fakturor/{lerum.id}/kreditera",
        {"scope": "lines", "line_ids": str(second_line.id), "reason": "Rad 2 var fel."},
    )
    assert response.status_code == 302
    note = db.scalar(select(Invoice).where(Invoice.kind == InvoiceKind.CREDIT_NOTE))
    note_page = _text(gbg.get(f"/fakturor/{note.id}"))
    assert "Kreditfaktura" in note_page and "Krediterar" in note_page and "Faktura F2" in note_page
    assert "-300,00 kr" in note_page and "Rad 2 var fel." in note_page
    assert gbg.post_form(f"/fakturor/{note.id}/godkann").status_code == 302
    assert 'data-confirm="Utfärda kreditfakturan nu?' in _text(gbg.get(f"/fakturor/{note.id}"))
    assert gbg.post_form(f"/fakturor/{note.id}/utfarda").status_code == 302
    db.expire_all()
    assert note.display_number == "F3"
    original = _text(gbg.get(f"/fakturor/{lerum.id}"))
    assert "Kreditfakturor" in original and "Krediterad: F3" in original
    assert "(redan krediterad)" in _text(gbg.get(f"/fakturor/{lerum.id}/kreditera"))

    twice = gbg.post_form(
        f"/fakturor/{lerum.id}/kreditera",
        {"scope": "lines", "line_ids": str(second_line.id), "reason": "Igen."},
    )
    assert twice.status_code == 409 and "redan krediterad" in _text(twice)

    assert gbg.post_form(f"/fakturor/{lerum.id}/betalning", {"paid_on": "2026-11-02"}).status_code == 302
    db.expire_all()
    assert lerum.paid_on == dt.date(2026, 11, 2)
    response = gbg.post_form(
        f"/fakturor/{lerum.id}/betalning", {"paid_on": "2099-01-01"}, follow_redirects=True
    )
    assert "framtiden" in _text(response)
    gbg.post_form(f"/fakturor/{lerum.id}/betalning", {"action": "unpaid"})
    db.expire_all()
    assert lerum.paid_on is None


def test_menu_and_read_only_roles(
    db, login_as, priced_agreement, fake_pricing, municipality, gbg, issue_docs
):
    invoices = _issued_pair(db, priced_agreement, fake_pricing, municipality, gbg.user)
    assert 'href="/fakturering/"' in gbg.get("/").get_data(as_text=True)
    for role in ("auditor", "legal", "admin"):
        reader = login_as(role, kommun="Göteborg")
        assert 'href="/fakturering/"' in reader.get("/").get_data(as_text=True)
        assert reader.get(f"/fakturering/korningar/{invoices['Lerum'].run_id}").status_code == 200
        page = _text(reader.get(f"/fakturor/{invoices['Lerum'].id}"))
        assert "Faktura F2" in page and "Markera betald" not in page and "Kreditera" not in page
        assert reader.get("/fakturering/korningar/ny").status_code == 403
        assert (
            reader.post_form(f"/fakturor/{invoices['Lerum'].id}/kreditera", {"reason": "x"}).status_code
            == 403
        )
    caseworker = login_as("caseworker", kommun="Göteborg")
    assert 'href="/fakturering/"' not in caseworker.get("/").get_data(as_text=True)
    assert caseworker.get("/fakturor/").status_code == 403


# --- API ----------------------------------------------------------------------------------------------------


def test_api_runs_and_invoices(db, gbg, login_as, priced_agreement, make_service, issue_docs):
    make_service(priced_agreement, quantity="1.5")
    created = gbg.api("post", "/api/v1/invoice-runs/", json={"period": "2026-10"})
    assert created.status_code == 201, created.get_json()
    run_id = created.get_json()["id"]
    assert created.get_json()["period"] == "2026-10" and created.get_json()["invoices"] == []
    computed = gbg.api("post", f"/api/v1/invoice-runs/{run_id}/compute").get_json()
    assert computed["invoice_count"] == 1 and computed["problems"] == []
    (draft,) = computed["invoices"]
    assert draft["number"] is None and draft["lines"][0]["amount"] == "1680.00"
    assert draft["vat_summary"][0]["category"] == "O"
    assert gbg.api("post", f"/api/v1/invoice-runs/{run_id}/issue").status_code == 409  # approve first
    assert gbg.api("post", f"/api/v1/invoice-runs/{run_id}/approve", json={}).status_code == 200
    issued = gbg.api("post", f"/api/v1/invoice-runs/{run_id}/issue").get_json()
    assert issued["status"] == "issued" and issued["invoices"][0]["number"] == "F1"
    invoice_id = issued["invoices"][0]["id"]

    listing = gbg.get("/api/v1/invoices/?direction=issued&paid=false")
    assert [i["id"] for i in listing.get_json()] == [invoice_id]
    assert gbg.get("/api/v1/invoices/?period=nonsens").status_code == 422
    paid = gbg.api("put", f"/api/v1/invoices/{invoice_id}/payment", json={"paid_on": "2026-11-02"})
    assert paid.status_code == 200 and paid.get_json()["paid_on"] == "2026-11-02"
    credit = gbg.api("post", f"/api/v1/invoices/{invoice_id}/credit", json={"reason": "Fel timmar."})
    assert credit.status_code == 201
    note = credit.get_json()
    assert note["kind"] == "credit_note" and note["original_invoice_id"] == invoice_id
    assert note["total_amount"] == "-1680.00" and note["lines"][0]["credited_line_id"] is not None
    assert gbg.api("post", f"/api/v1/invoices/{note['id']}/approve").status_code == 200
    issued_note = gbg.api("post", f"/api/v1/invoices/{note['id']}/issue").get_json()
    assert issued_note["number"] == "F2"
    detail = gbg.get(f"/api/v1/invoices/{invoice_id}").get_json()
    assert detail["credit_note_ids"] == [note["id"]]
    assert gbg.api("put", f"/api/v1/invoices/{invoice_id}/note", json={"note": "x"}).status_code == 409

    # Scope: others get 404; the buyer reads the issued invoice but cannot change it.
    malmo = login_as("finance", kommun="Malmö")
    assert malmo.get(f"/api/v1/invoice-runs/{run_id}").status_code == 404
    assert malmo.get(f"/api/v1/invoices/{invoice_id}").status_code == 404
    assert malmo.api("post", f"/api/v1/invoices/{invoice_id}/credit", json={"reason": "x"}).status_code == 404
    harryda = login_as("finance", kommun="Härryda")
    assert harryda.get(f"/api/v1/invoices/{invoice_id}").status_code == 200
    assert harryda.get(f"/api/v1/invoice-runs/{run_id}").status_code == 404
    assert (
        harryda.api("put", f"/api/v1/invoices/{invoice_id}/payment", json={"paid_on": None}).status_code
        == 403
    )
    auditor = login_as("auditor", kommun="Göteborg")
    assert auditor.get(f"/api/v1/invoice-runs/{run_id}").status_code == 200
    assert auditor.api("post", "/api/v1/invoice-runs/", json={"period": "2026-11"}).status_code == 403


def test_api_refuses_bad_input_in_swedish(gbg):
    response = gbg.api("post", "/api/v1/invoice-runs/", json={"period": "2026-14"})
    assert response.status_code == 422 and "01–12" in str(response.get_json()["errors"])
    response = gbg.api("post", "/api/v1/invoice-runs/", json={})
    assert response.status_code == 422 and "Ange perioden" in str(response.get_json()["errors"])
    response = gbg.api(
        "post", "/api/v1/invoice-runs/", json={"period_kind": "quarter", "period_start": "2026-11-01"}
    )
    assert response.status_code == 422 and "första dagen" in str(response.get_json()["errors"])
    assert gbg.api("post", "/api/v1/invoice-runs/999999/compute").status_code == 404


# --- CLI ----------------------------------------------------------------------------------------------------


def test_cli_run_and_issue(app, db, priced_agreement, make_service, seller_finance, issue_docs):
    make_service(priced_agreement, quantity="1.5")
    make_service(priced_agreement, buyer="Lerum", quantity="2")
    user = seller_finance(priced_agreement)
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "billing",
            "run",
            "--period",
            "2026-10",
            "--seller",
            "1480",
            "--agreement",
            priced_agreement.number,
            "--user",
            user.email,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "2 fakturautkast" in result.output and "att betala 3 920,00 kr" in result.output.replace(
        "\u00a0", " "
    )
    run = db.scalar(select(InvoiceRun))
    assert f"flask billing issue --run {run.id}" in result.output

    result = runner.invoke(args=["billing", "issue", "--run", str(run.id), "--user", user.email])
    assert result.exit_code == 0, result.output
    assert "2 fakturor utfärdade (F1–F2)" in result.output
    db.expire_all()
    assert sorted(db.scalars(select(Invoice.number))) == [1, 2]


def test_cli_refuses_and_leaves_nothing(
    app, db, priced_agreement, make_service, seller_finance, make_user, issue_docs
):
    make_service(priced_agreement)
    user = seller_finance(priced_agreement)
    runner = app.test_cli_runner()
    buyer = make_user(roles=("finance",), kommun="Härryda")
    result = runner.invoke(
        args=["billing", "run", "--period", "2026-10", "--seller", "1480", "--user", buyer.email]
    )
    assert result.exit_code == 1 and "hör inte till Göteborg" in result.output
    result = runner.invoke(
        args=["billing", "run", "--period", "okt", "--seller", "1480", "--user", user.email]
    )
    assert result.exit_code == 1 and "2026-Q4" in result.output
    assert db.scalar(select(InvoiceRun)) is None

    result = runner.invoke(
        args=["billing", "run", "--period", "2026-Q4", "--seller", "1480", "--user", user.email]
    )
    assert result.exit_code == 0, result.output
    run = db.scalar(select(InvoiceRun))
    issue_docs.fail_on = 1
    result = runner.invoke(args=["billing", "issue", "--run", str(run.id), "--user", user.email])
    assert result.exit_code == 1 and "inga fakturanummer förbrukades" in result.output
    db.expire_all()
    assert db.get(InvoiceRun, run.id).status == RunStatus.DRAFT  # not even the approval was kept
    assert db.scalar(select(Invoice.number)) is None


# --- With the real stored documents ---------------------------------------------------------------------


def test_issuing_stores_the_real_pdf_and_peppol_xml(db, gbg, priced_agreement, make_service, municipality):
    """Without the stand-in: the exports part renders and validates in the issuing transaction, and the
    pages link the stored files."""
    from billing.models import InvoiceDocument
    from tests.billing.exports_support import need_pdf_tools, need_rules, set_details

    need_pdf_tools()
    need_rules()
    set_details(db, municipality)
    make_service(priced_agreement, quantity="1.5")
    make_service(priced_agreement, buyer="Lerum", quantity="2")
    gbg.post_form("/fakturering/korningar/ny", {"period_kind": "month", "period": "2026-10", "compute": "on"})
    run = db.scalar(select(InvoiceRun))
    gbg.post_form(f"/fakturering/korningar/{run.id}/godkann")
    response = gbg.post_form(f"/fakturering/korningar/{run.id}/utfarda", follow_redirects=True)
    assert "2 fakturor är utfärdade (F1–F2)" in _text(response), _text(response)
    db.expire_all()
    documents = db.scalars(select(InvoiceDocument)).all()
    assert sorted((d.invoice_id, d.format.value) for d in documents) == sorted(
        (i.id, fmt) for i in db.scalars(select(Invoice)) for fmt in ("pdf", "peppol")
    )
    invoice = db.scalar(select(Invoice).where(Invoice.number == 1))
    page = gbg.get(f"/fakturor/{invoice.id}").get_data(as_text=True)
    assert f"/fakturor/{invoice.id}/faktura.pdf" in page
    pdf = gbg.get(f"/fakturor/{invoice.id}/faktura.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert f"/fakturakorningar/{run.id}/export" in gbg.get(f"/fakturering/korningar/{run.id}").get_data(
        as_text=True
    )
