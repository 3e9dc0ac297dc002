"""Invoice runs: periods, computing drafts (with the pricing engine and with hand-made priced invoices),
idempotent recomputation, a service billed once only, the one-invoice-per-key rule across runs, pricing
problems and approval, the category O split, VAT per document, atomic failures, roles and scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.errors import IllegalRunTransition, PricingError, RunNotFound
from billing.invoicing import services
from billing.invoicing.services import RunConflict, RunHasProblems
from billing.models import (
    BilledService,
    Invoice,
    InvoiceDocument,
    InvoiceLine,
    InvoiceRun,
    InvoiceSeries,
    InvoiceStatus,
    PeriodKind,
    RunStatus,
    VatGroup,
)
from billing.pricing import PricingProblem
from core.errors import PermissionDenied, ValidationFailed
from tests.billing import invoicing_fixtures as fx
from tests.billing.invoicing_fixtures import ISSUE_DAY, priced_invoice, priced_line

# The invoicing fixtures (see tests/billing/invoicing_fixtures.py).
_fixed_today = fx._fixed_today
fake_pricing = fx.fake_pricing
issue_docs = fx.issue_docs
seller_finance = fx.seller_finance

OCTOBER = dt.date(2026, 10, 1)
NOVEMBER = dt.date(2026, 11, 1)


def _billed(db) -> dict[int, int]:
    """performed service id -> invoice id."""
    rows = db.execute(
        select(BilledService.performed_service_id, InvoiceLine.invoice_id).join(
            InvoiceLine, InvoiceLine.id == BilledService.invoice_line_id
        )
    ).all()
    return dict(rows)


def _content(run) -> list:
    """What a run's drafts say, independent of row ids."""
    return sorted(
        (
            i.buyer_municipality_id,
            i.vat_group.value,
            str(i.net_amount),
            str(i.total_amount),
            tuple((line.description, line.computation, str(line.amount)) for line in i.lines),
        )
        for i in run.invoices
    )


# --- Periods -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2026-10", PeriodKind.MONTH, dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
        ("2026-02", PeriodKind.MONTH, dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        ("2028-2", PeriodKind.MONTH, dt.date(2028, 2, 1), dt.date(2028, 2, 29)),
        ("2026-Q4", PeriodKind.QUARTER, dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        ("2026-k1", PeriodKind.QUARTER, dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        ("2026", PeriodKind.YEAR, dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ],
)
def test_periods_are_read_as_typed(text, kind, start, end):
    period = services.parse_period(text)
    assert (period.kind, period.start, period.end) == (kind, start, end)
    assert services.parse_period(period.code) == period


@pytest.mark.parametrize("text", ["", "oktober", "2026-13", "2026-Q5", "26-10", "2026-10-01"])
def test_unreadable_periods_are_refused_in_swedish(text):
    with pytest.raises(ValidationFailed) as excinfo:
        services.parse_period(text)
    assert "2026-Q4" in " ".join(excinfo.value.errors["period"]) or "Månaden" in str(excinfo.value.errors)


def test_a_run_starts_on_the_first_day_of_its_period(db, priced_agreement, seller_finance):
    user = seller_finance(priced_agreement)
    with pytest.raises(ValidationFailed):
        services.create_run(db, user, PeriodKind.QUARTER, dt.date(2026, 11, 1))
    run = services.create_run(db, user, PeriodKind.QUARTER, OCTOBER)
    assert (run.period_start, run.period_end, run.status) == (OCTOBER, dt.date(2026, 12, 31), RunStatus.DRAFT)
    assert run.seller_municipality_id == priced_agreement.host.municipality_id


# --- Computing with the pricing engine ---------------------------------------------------------------------


def test_compute_makes_drafts_without_numbers_that_bill_each_service(
    db, priced_agreement, make_service, seller_finance
):
    harryda = make_service(priced_agreement, quantity="1.5")
    lerum = make_service(priced_agreement, buyer="Lerum", quantity="2")
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    db.commit()

    assert run.computed_at is not None and run.problems == []
    invoices = {i.buyer.name: i for i in run.invoices}
    assert set(invoices) == {"Härryda", "Lerum"}
    first = invoices["Härryda"]
    assert first.status == InvoiceStatus.DRAFT and first.number is None and first.issue_date is None
    assert first.series is not None and first.series.code == "F" and first.series.last_number == 0
    assert first.vat_group == VatGroup.OUTSIDE_SCOPE
    assert [line.amount for line in first.lines] == [Decimal("1680.00")]  # 1,5 h × 1 120,00 kr
    assert "1\u00a0120,00\u00a0kr" in first.lines[0].computation
    assert first.net_amount == first.total_amount == Decimal("1680.00") and first.vat_amount == 0
    assert first.buyer_reference is not None or first.buyer_reference is None  # the terms decide
    assert _billed(db) == {harryda.id: first.id, lerum.id: invoices["Lerum"].id}


def test_recompute_replaces_the_drafts_and_duplicates_nothing(
    db, priced_agreement, make_service, seller_finance
):
    make_service(priced_agreement, quantity="1.5")
    make_service(priced_agreement, buyer="Lerum", quantity="2")
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    db.commit()
    before = _content(run)

    services.compute_run(db, user, run)
    db.commit()
    db.expire_all()
    assert _content(run) == before
    assert db.scalar(select(func.count()).select_from(Invoice)) == 2
    assert db.scalar(select(func.count()).select_from(BilledService)) == 2


def test_recompute_picks_up_a_service_registered_meanwhile(
    db, priced_agreement, make_service, seller_finance
):
    make_service(priced_agreement, quantity="1")
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    db.commit()
    assert [i.net_amount for i in run.invoices] == [Decimal("1120.00")]
    make_service(priced_agreement, quantity="2", day=dt.date(2026, 10, 20))
    services.compute_run(db, user, run)
    db.commit()
    assert [i.net_amount for i in run.invoices] == [Decimal("3360.00")]


def test_a_service_is_billed_once_and_a_late_one_goes_to_the_next_run(
    db, priced_agreement, make_service, seller_finance, issue_docs
):
    on_time = make_service(priced_agreement, quantity="1")
    user = seller_finance(priced_agreement)
    october = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, october)
    services.issue_run(db, user, october, approve=True)
    db.commit()
    assert october.status == RunStatus.ISSUED

    # Registered in November for a day in October: the October run is issued; the next run bills it.
    late = make_service(priced_agreement, quantity="2", day=dt.date(2026, 10, 28))
    november = services.create_run(db, user, PeriodKind.MONTH, NOVEMBER)
    services.compute_run(db, user, november)
    db.commit()
    billed = _billed(db)
    assert billed[on_time.id] == october.invoices[0].id
    assert billed[late.id] == november.invoices[0].id
    assert [i.net_amount for i in november.invoices] == [Decimal("2240.00")]  # not the October hour again

    # Nothing left: a December run has nothing to bill.
    december = services.create_run(db, user, PeriodKind.MONTH, dt.date(2026, 12, 1))
    services.compute_run(db, user, december)
    assert december.invoices == []


def test_a_second_run_for_the_same_key_is_a_409_naming_the_other_run(
    db, priced_agreement, make_service, seller_finance
):
    make_service(priced_agreement, quantity="1")
    user = seller_finance(priced_agreement)
    first = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, first)
    db.commit()
    # The same October key again (e.g. one agreement after the whole seller), once new work came in.
    make_service(priced_agreement, quantity="3")
    second = services.create_run(db, user, PeriodKind.MONTH, OCTOBER, agreement_id=priced_agreement.id)
    with pytest.raises(RunConflict) as excinfo:
        services.compute_run(db, user, second)
    assert f"fakturakörning {first.id}" in excinfo.value.message
    assert priced_agreement.number in excinfo.value.message
    assert excinfo.value.status_code == 409


def test_the_database_refuses_a_duplicate_key_too(
    db, priced_agreement, fake_pricing, seller_finance, monkeypatch
):
    """If two runs compute at the same moment, the unique index is the last line (a Swedish 409)."""
    harryda = priced_agreement.buyers[0].municipality
    fake_pricing.invoices = [priced_invoice(priced_agreement, harryda, [priced_line()])]
    user = seller_finance(priced_agreement)
    first = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, first)
    second = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    monkeypatch.setattr(services, "_check_keys_free", lambda *args: None)  # the race past the check
    with pytest.raises(RunConflict) as excinfo:
        services.compute_run(db, user, second)
    assert "samma avtal, köpare, period" in excinfo.value.message


# --- Computing with hand-made priced invoices --------------------------------------------------------------


def test_hand_made_priced_invoices_become_drafts_with_links(
    db, priced_agreement, make_service, fake_pricing, seller_finance
):
    s1, s2 = make_service(priced_agreement), make_service(priced_agreement, quantity="2")
    harryda = priced_agreement.buyers[0].municipality
    fake_pricing.invoices = [
        priced_invoice(priced_agreement, harryda, [priced_line("1680.00", "1.5", services=[s1, s2])])
    ]
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    request = fake_pricing.requests[0]
    assert (request.seller_municipality_id, request.period_start, request.period_end) == (
        run.seller_municipality_id,
        OCTOBER,
        dt.date(2026, 10, 31),
    )
    (invoice,) = run.invoices
    assert _billed(db) == {s1.id: invoice.id, s2.id: invoice.id}
    services.compute_run(db, user, run)
    db.expire_all()
    assert len(run.invoices) == 1 and len(_billed(db)) == 2


def test_vat_is_computed_per_category_and_rate_on_the_document(
    db, priced_agreement, fake_pricing, seller_finance
):
    harryda = priced_agreement.buyers[0].municipality
    fake_pricing.invoices = [
        priced_invoice(
            priced_agreement,
            harryda,
            [
                priced_line("10.02", category="S"),
                priced_line("10.02", category="S"),
                priced_line("500.00", category="E"),
            ],
        )
    ]
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    (invoice,) = run.invoices
    # 20,04 × 25 % = 5,01 on the document (rounding each line, 2,505 -> 2,51 twice, would give 5,02).
    assert invoice.vat_amount == Decimal("5.01")
    assert invoice.net_amount == Decimal("520.04")
    assert invoice.total_amount == Decimal("525.05")
    rows = services.vat_summary(invoice.lines)
    assert [(r.category.value, r.taxable_amount, r.vat_amount) for r in rows] == [
        ("S", Decimal("20.04"), Decimal("5.01")),
        ("E", Decimal("500.00"), Decimal("0.00")),
    ]
    assert invoice.vat_group == VatGroup.OTHER


def test_category_o_never_shares_an_invoice(db, priced_agreement, fake_pricing, seller_finance):
    harryda = priced_agreement.buyers[0].municipality
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    db.commit()

    fake_pricing.invoices = [
        priced_invoice(priced_agreement, harryda, [priced_line(category="O"), priced_line(category="S")])
    ]
    with pytest.raises(PricingError) as excinfo:
        services.compute_run(db, user, run)
    assert "kategori O" in excinfo.value.message
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Invoice)) == 0

    # A VAT group that does not match the lines is refused too.
    fake_pricing.invoices = [
        priced_invoice(
            priced_agreement, harryda, [priced_line(category="S")], vat_group=VatGroup.OUTSIDE_SCOPE
        )
    ]
    with pytest.raises(PricingError):
        services.compute_run(db, user, run)
    db.rollback()

    # Split as pricing does it: one invoice for O, one for the rest.
    fake_pricing.invoices = [
        priced_invoice(priced_agreement, harryda, [priced_line(category="O")]),
        priced_invoice(priced_agreement, harryda, [priced_line(category="S"), priced_line(category="E")]),
    ]
    services.compute_run(db, user, run)
    groups = sorted(
        (i.vat_group.value, sorted({line.vat_category.value for line in i.lines})) for i in run.invoices
    )
    assert groups == [("O", ["O"]), ("other", ["E", "S"])]


def test_problems_are_kept_and_approval_needs_finance_to_confirm(
    db, priced_agreement, fake_pricing, seller_finance
):
    harryda = priced_agreement.buyers[0].municipality
    fake_pricing.invoices = [priced_invoice(priced_agreement, harryda, [priced_line()])]
    fake_pricing.problems = [PricingProblem(priced_agreement.id, harryda.id, "Pris saknas för 2026.")]
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    db.commit()
    assert run.problems == [
        {
            "agreement_id": priced_agreement.id,
            "buyer_municipality_id": harryda.id,
            "message": "Pris saknas för 2026.",
        }
    ]
    with pytest.raises(RunHasProblems):
        services.approve_run(db, user, run)
    db.rollback()
    # Fixed and recomputed: no problems, approval without confirmation.
    fake_pricing.problems = []
    services.compute_run(db, user, run)
    assert run.problems == []
    fake_pricing.problems = [PricingProblem(priced_agreement.id, None, "Folkmängd saknas.")]
    services.compute_run(db, user, run)
    services.approve_run(db, user, run, confirm_problems=True)
    assert run.status == RunStatus.APPROVED
    assert {i.status for i in run.invoices} == {InvoiceStatus.APPROVED}
    assert run.approved_by_id == user.id
    with pytest.raises(IllegalRunTransition):
        services.compute_run(db, user, run)


def test_an_empty_or_uncomputed_run_cannot_be_approved(db, priced_agreement, fake_pricing, seller_finance):
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    with pytest.raises(IllegalRunTransition):
        services.approve_run(db, user, run)
    services.compute_run(db, user, run)
    with pytest.raises(IllegalRunTransition) as excinfo:
        services.approve_run(db, user, run)
    assert "inga fakturor" in excinfo.value.message


def test_a_draft_run_can_be_deleted_and_its_services_billed_again(
    db, priced_agreement, make_service, seller_finance
):
    make_service(priced_agreement)
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    db.commit()
    services.delete_run(db, user, run)
    db.commit()
    assert db.scalar(select(func.count()).select_from(Invoice)) == 0
    assert _billed(db) == {}
    again = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, again)
    assert len(again.invoices) == 1


# --- Issuing a run, and failures that leave nothing ---------------------------------------------------------


def _four_invoices(fake_pricing, agreement, municipality):
    buyers = [municipality(name) for name in ("Härryda", "Lerum", "Ale", "Partille")]
    fake_pricing.invoices = [
        priced_invoice(agreement, buyer, [priced_line(f"{100 * (n + 1)}.00")])
        for n, buyer in enumerate(buyers)
    ]


def test_issue_run_numbers_the_invoices_in_order(
    db, priced_agreement, fake_pricing, municipality, seller_finance, issue_docs
):
    _four_invoices(fake_pricing, priced_agreement, municipality)
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    with pytest.raises(IllegalRunTransition):
        services.issue_run(db, user, run)  # approve first
    services.approve_run(db, user, run)
    done = []
    issued = services.issue_run(db, user, run, progress=done.append)
    db.commit()
    assert [i.number for i in issued] == [1, 2, 3, 4]
    assert [i.id for i in issued] == sorted(i.id for i in issued)
    assert sum(done) == 4 and issue_docs.issued == [i.id for i in issued]
    for invoice in issued:
        assert invoice.status == InvoiceStatus.ISSUED
        assert invoice.issue_date == ISSUE_DAY and invoice.due_date == ISSUE_DAY + dt.timedelta(days=30)
        assert invoice.issued_by_id == user.id and invoice.display_number == f"F{invoice.number}"
    assert run.status == RunStatus.ISSUED and run.issued_at is not None
    with pytest.raises(IllegalRunTransition):
        services.issue_run(db, user, run)


def test_an_invalid_e_invoice_mid_run_leaves_nothing_issued(
    db, priced_agreement, make_service, fake_pricing, municipality, login_as, issue_docs
):
    service = make_service(priced_agreement)
    _four_invoices(fake_pricing, priced_agreement, municipality)
    fake_pricing.invoices[0].lines[0].test_service_ids = [service.id]
    client = login_as("finance", kommun="Göteborg")
    run = services.create_run(db, client.user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, client.user, run)
    services.approve_run(db, client.user, run)
    db.commit()
    issue_docs.fail_on = 3

    response = client.api("post", f"/api/v1/invoice-runs/{run.id}/issue")
    assert response.status_code == 409
    assert "BT-10" in response.get_json()["message"]

    db.expire_all()
    invoices = db.scalars(select(Invoice).where(Invoice.run_id == run.id)).all()
    assert {i.status for i in invoices} == {InvoiceStatus.APPROVED}
    assert all(i.number is None and i.ocr is None and i.issue_date is None for i in invoices)
    assert db.scalar(select(InvoiceSeries.last_number)) == 0  # no number consumed
    assert db.scalar(select(func.count()).select_from(InvoiceDocument)) == 0
    assert db.get(InvoiceRun, run.id).status == RunStatus.APPROVED
    assert _billed(db) == {service.id: invoices[0].id}  # links untouched

    # Fixed: the same run issues 1..4.
    issue_docs.fail_on = None
    assert client.api("post", f"/api/v1/invoice-runs/{run.id}/issue").status_code == 200
    db.expire_all()
    assert sorted(db.scalars(select(Invoice.number).where(Invoice.run_id == run.id))) == [1, 2, 3, 4]


def test_a_pricing_error_in_a_recompute_leaves_the_previous_drafts(
    db, priced_agreement, make_service, fake_pricing, login_as, monkeypatch
):
    service = make_service(priced_agreement)
    harryda = priced_agreement.buyers[0].municipality
    fake_pricing.invoices = [priced_invoice(priced_agreement, harryda, [priced_line(services=[service])])]
    client = login_as("finance", kommun="Göteborg")
    run = services.create_run(db, client.user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, client.user, run)
    db.commit()
    before = _content(run)

    fake_pricing.error = PricingError("Prestationerna ändrades medan fakturorna beräknades.")
    response = client.api("post", f"/api/v1/invoice-runs/{run.id}/compute")
    assert response.status_code == 422
    assert "ändrades" in response.get_json()["message"]
    db.expire_all()
    assert _content(db.get(InvoiceRun, run.id)) == before
    assert len(_billed(db)) == 1

    # A failure after the drafts were written (linking) leaves nothing partial either.
    fake_pricing.error = None

    def failing_link(session, pairs):
        type(fake_pricing).link_lines(fake_pricing, session, pairs)
        raise PricingError("Prestationerna ändrades medan fakturorna beräknades.")

    monkeypatch.setattr("billing.pricing.link_lines", failing_link)
    response = client.api("post", f"/api/v1/invoice-runs/{run.id}/compute")
    assert response.status_code == 422
    db.expire_all()
    assert _content(db.get(InvoiceRun, run.id)) == before
    assert db.scalar(select(func.count()).select_from(Invoice)) == 1


# --- Roles and scope ----------------------------------------------------------------------------------------


def test_only_finance_of_the_seller_runs_and_issues(
    db, priced_agreement, make_service, make_user, seller_finance
):
    make_service(priced_agreement)
    finance = seller_finance(priced_agreement)
    run = services.create_run(db, finance, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, finance, run)
    db.commit()

    buyer_finance = make_user(roles=("finance",), kommun="Härryda")
    with pytest.raises(RunNotFound):
        services.get_run_for(db, buyer_finance, run.id)
    with pytest.raises(PermissionDenied):
        services.compute_run(db, buyer_finance, run)

    auditor = make_user(roles=("auditor",), kommun="Göteborg")
    assert services.get_run_for(db, auditor, run.id) is run  # reads
    with pytest.raises(PermissionDenied):
        services.get_run_for(db, auditor, run.id, "invoice.edit")
    for user in (auditor, make_user(roles=("admin",), kommun="Göteborg")):
        with pytest.raises(PermissionDenied):
            services.approve_run(db, user, run)
        with pytest.raises(PermissionDenied):
            services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    caseworker = make_user(roles=("caseworker",), kommun="Göteborg")
    with pytest.raises(PermissionDenied):
        services.runs_for(db, caseworker)
    sysadmin = make_user(roles=("sysadmin",), kommun=None)
    with pytest.raises(PermissionDenied):
        services.create_run(db, sysadmin, PeriodKind.MONTH, OCTOBER)
    # A buyer runs its own runs only: the agreement must be one it is a party to.
    outsider = make_user(roles=("finance",), kommun="Malmö")
    with pytest.raises(ValidationFailed):
        services.create_run(db, outsider, PeriodKind.MONTH, OCTOBER, agreement_id=priced_agreement.id)
    assert db.scalars(services.runs_for(db, outsider)).all() == []
