"""Credit notes (whole and chosen lines, references, the same numbering path, no crediting twice, the
billed services stay billed), payment marking, and immutability of issued invoices in the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.errors import InvoiceImmutable
from billing.invoicing import services
from billing.invoicing.services import InvoiceStateError
from billing.models import BilledService, Invoice, InvoiceKind, InvoiceStatus, PeriodKind, VatGroup
from core.errors import PermissionDenied, ValidationFailed
from tests.billing import invoicing_fixtures as fx
from tests.billing.invoicing_fixtures import ISSUE_DAY, priced_invoice, priced_line

_fixed_today = fx._fixed_today
fake_pricing = fx.fake_pricing
issue_docs = fx.issue_docs
seller_finance = fx.seller_finance

OCTOBER = dt.date(2026, 10, 1)


@pytest.fixture
def issued(db, priced_agreement, make_service, fake_pricing, seller_finance, issue_docs):
    """An issued invoice F1 (Härryda, October) with three S lines (100, 200 and 300 kr + 25 % VAT); the
    first line bills a performed service."""
    service = make_service(priced_agreement)
    harryda = priced_agreement.buyers[0].municipality
    fake_pricing.invoices = [
        priced_invoice(
            priced_agreement,
            harryda,
            [
                priced_line("100.00", category="S", services=[service], description="Stöd A"),
                priced_line("200.00", quantity="2", category="S", description="Stöd B"),
                priced_line("300.00", quantity="3", category="S", description="Stöd C"),
            ],
        )
    ]
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    services.issue_run(db, user, run, approve=True)
    db.commit()
    (invoice,) = run.invoices
    invoice.test_service = service
    return invoice


def test_a_whole_credit_note_mirrors_the_invoice_and_refers_to_it(db, issued, seller_finance):
    user = seller_finance(issued.agreement)
    note = services.credit_invoice(db, user, issued, reason="Fel period fakturerad.")
    db.commit()
    assert note.kind == InvoiceKind.CREDIT_NOTE and note.status == InvoiceStatus.DRAFT and note.number is None
    assert note.original_invoice_id == issued.id and note.original is issued
    for field in (
        "seller_municipality_id",
        "buyer_municipality_id",
        "agreement_id",
        "period_start",
        "period_end",
        "vat_group",
        "charge_kind",
        "series_id",
        "buyer_reference",
        "payment_terms_days",
    ):
        assert getattr(note, field) == getattr(issued, field), field
    assert [(line.quantity, line.amount, line.credited_line_id) for line in note.lines] == [
        (-line.quantity, -line.amount, line.id) for line in issued.lines
    ]
    assert "Kreditering av faktura F1, rad 1" in note.lines[0].computation
    assert (note.net_amount, note.vat_amount, note.total_amount) == (
        -issued.net_amount,
        -issued.vat_amount,
        -issued.total_amount,
    )
    assert note.total_amount == Decimal("-750.00")
    assert note.credit_reason == "Fel period fakturerad."
    assert note.run_id is None


def test_a_credit_note_is_numbered_in_the_same_series_when_issued(db, issued, seller_finance, issue_docs):
    user = seller_finance(issued.agreement)
    note = services.credit_invoice(db, user, issued, reason="Felaktigt pris.")
    with pytest.raises(InvoiceStateError):
        services.issue_credit_note(db, user, note)  # approve first
    services.approve_invoice(db, user, note)
    services.issue_credit_note(db, user, note)
    db.commit()
    assert note.series_id == issued.series_id and note.number == issued.number + 1
    assert note.display_number == "F2" and note.issue_date == ISSUE_DAY and note.ocr != issued.ocr
    assert issue_docs.issued[-1] == note.id
    with pytest.raises(InvoiceStateError):
        services.credit_invoice(db, user, note, reason="Kreditera krediten")  # a credit note is not credited


def test_chosen_lines_are_credited_once_only(db, issued, seller_finance):
    user = seller_finance(issued.agreement)
    line_a, line_b, line_c = issued.lines
    partial = services.credit_invoice(db, user, issued, line_ids=[line_b.id], reason="Rad B var fel.")
    assert [line.credited_line_id for line in partial.lines] == [line_b.id]
    assert (partial.net_amount, partial.vat_amount, partial.total_amount) == (
        Decimal("-200.00"),
        Decimal("-50.00"),
        Decimal("-250.00"),
    )
    with pytest.raises(InvoiceStateError) as excinfo:
        services.credit_invoice(db, user, issued, line_ids=[line_a.id, line_b.id], reason="Igen.")
    assert "Rad 2 är redan krediterad" in excinfo.value.message
    # The whole invoice now means the lines that are left.
    rest = services.credit_invoice(db, user, issued, reason="Resten.")
    assert sorted(line.credited_line_id for line in rest.lines) == [line_a.id, line_c.id]
    with pytest.raises(InvoiceStateError):
        services.credit_invoice(db, user, issued, reason="Allt igen.")
    with pytest.raises(ValidationFailed):
        services.credit_invoice(db, user, issued, line_ids=[], reason="Inga rader.")
    with pytest.raises(ValidationFailed):
        services.credit_invoice(db, user, issued, line_ids=[rest.lines[0].id], reason="Fel faktura.")

    # Deleting a draft credit note frees its lines.
    services.delete_credit_note(db, user, partial)
    again = services.credit_invoice(db, user, issued, line_ids=[line_b.id], reason="Rad B igen.")
    assert [line.credited_line_id for line in again.lines] == [line_b.id]


def test_a_reason_is_required_and_personal_numbers_are_refused(db, issued, seller_finance):
    user = seller_finance(issued.agreement)
    with pytest.raises(ValidationFailed) as excinfo:
        services.credit_invoice(db, user, issued, reason="  ")
    assert "reason" in excinfo.value.errors
    with pytest.raises(ValidationFailed) as excinfo:
        services.credit_invoice(db, user, issued, reason="Gäller 19121212-1212")
    assert "19121212-1212" not in str(excinfo.value.errors)
    assert db.scalar(select(func.count()).select_from(Invoice).where(Invoice.kind == "credit_note")) == 0


def test_only_issued_invoices_are_credited_by_the_seller(
    db, priced_agreement, fake_pricing, seller_finance, make_user
):
    harryda = priced_agreement.buyers[0].municipality
    fake_pricing.invoices = [priced_invoice(priced_agreement, harryda, [priced_line()])]
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    with pytest.raises(InvoiceStateError):
        services.credit_invoice(db, user, run.invoices[0], reason="Utkast")
    buyer = make_user(roles=("finance",), kommun="Härryda")
    with pytest.raises(PermissionDenied):
        services.credit_invoice(db, buyer, run.invoices[0], reason="Köparen krediterar")


def test_crediting_does_not_free_the_billed_services(db, issued, seller_finance, issue_docs):
    user = seller_finance(issued.agreement)
    note = services.credit_invoice(db, user, issued, reason="Fel.")
    services.approve_invoice(db, user, note)
    services.issue_credit_note(db, user, note)
    db.commit()
    link = db.get(BilledService, issued.test_service.id)
    assert link is not None and link.line.invoice_id == issued.id
    assert db.scalar(select(func.count()).select_from(BilledService)) == 1  # nothing billed on the note


def test_category_o_credit_note_keeps_the_group(
    db, priced_agreement, fake_pricing, seller_finance, issue_docs
):
    harryda = priced_agreement.buyers[0].municipality
    fake_pricing.invoices = [priced_invoice(priced_agreement, harryda, [priced_line(category="O")])]
    user = seller_finance(priced_agreement)
    run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER)
    services.compute_run(db, user, run)
    services.issue_run(db, user, run, approve=True)
    note = services.credit_invoice(db, user, run.invoices[0], reason="Fel.")
    assert note.vat_group == VatGroup.OUTSIDE_SCOPE
    assert {line.vat_category.value for line in note.lines} == {"O"} and note.vat_amount == 0


# --- Payment ---------------------------------------------------------------------------------------------


def test_an_issued_invoice_is_marked_paid_and_unpaid(db, issued, seller_finance):
    user = seller_finance(issued.agreement)
    services.mark_invoice_paid(db, user, issued, dt.date(2026, 11, 2))
    db.commit()
    db.expire_all()
    assert issued.paid_on == dt.date(2026, 11, 2) and issued.paid_marked_by_id == user.id
    services.mark_invoice_paid(db, user, issued, None)
    db.commit()
    assert issued.paid_on is None and issued.paid_marked_by_id is None
    with pytest.raises(ValidationFailed):
        services.mark_invoice_paid(db, user, issued, ISSUE_DAY + dt.timedelta(days=1))  # the future
    with pytest.raises(ValidationFailed):
        services.mark_invoice_paid(db, user, issued, ISSUE_DAY - dt.timedelta(days=1))  # before issue


def test_drafts_cannot_be_marked_paid_and_buyers_do_not_mark(
    db, issued, priced_agreement, fake_pricing, seller_finance, make_user
):
    user = seller_finance(priced_agreement)
    note = services.credit_invoice(db, user, issued, reason="Fel.")
    with pytest.raises(InvoiceStateError):
        services.mark_invoice_paid(db, user, note, ISSUE_DAY)
    buyer = make_user(roles=("finance",), kommun="Härryda")
    with pytest.raises(PermissionDenied):
        services.mark_invoice_paid(db, buyer, issued, ISSUE_DAY)


# --- Immutability in the services -------------------------------------------------------------------------


def test_the_services_refuse_to_change_an_issued_invoice(db, issued, seller_finance, issue_docs):
    user = seller_finance(issued.agreement)
    with pytest.raises(InvoiceImmutable):
        services.set_invoice_note(db, user, issued, "Ny text")
    with pytest.raises(InvoiceImmutable):
        services.approve_invoice(db, user, issued)
    with pytest.raises(InvoiceImmutable):
        services.issue_invoice(db, user, issued)
    with pytest.raises(InvoiceImmutable):
        services.delete_credit_note(db, user, issued)
    note = services.credit_invoice(db, user, issued, reason="Fel.")
    services.set_invoice_note(db, user, note, "Rättar F1.")
    assert note.note == "Rättar F1."
    services.approve_invoice(db, user, note)
    services.issue_credit_note(db, user, note)
    for refused in (
        lambda: services.set_invoice_note(db, user, note, "Ändrad"),
        lambda: services.delete_credit_note(db, user, note),
    ):
        with pytest.raises(InvoiceImmutable):
            refused()
    db.commit()
    db.expire_all()
    assert issued.note is None and note.note == "Rättar F1." and note.status == InvoiceStatus.ISSUED
