"""The national batch (compute_runs): every seller's run priced in one pass, with the rules of
compute_run; the bulk-inserted drafts are audited like ORM-flushed ones; the fast sv-SE number texts
of the computation column equal core.formatting's."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.errors import IllegalRunTransition
from billing.invoicing import services
from billing.models import BilledService, Invoice, InvoiceLine, InvoiceRun, PeriodKind, RunStatus
from billing.pricing_engine import _money_text, _number_text
from core.audit import acting_as, verify_audit_chain
from core.formatting import format_money, format_number
from core.models import AuditEntry, AuditEntryScope
from tests.billing import invoicing_fixtures as fx

_fixed_today = fx._fixed_today
seller_finance = fx.seller_finance

OCTOBER = services.period_of(PeriodKind.MONTH, dt.date(2026, 10, 1))


def _content(run) -> list:
    return sorted(
        (
            i.agreement_id,
            i.buyer_municipality_id,
            i.vat_group.value,
            i.series.code,
            str(i.net_amount),
            str(i.total_amount),
            tuple((line.position, line.description, line.computation, str(line.amount)) for line in i.lines),
        )
        for i in run.invoices
    )


@pytest.fixture
def two_sellers(db, make_agreement, make_version, make_service):
    """Göteborg sells to Härryda and Lerum, Lerum to Alingsås; October services for each (Göteborg's
    mileage has no 2026 price: a problem of Göteborg's run)."""
    gbg = make_agreement()
    make_version(gbg, status="approved")
    lerum = make_agreement(host="Lerum", buyers=("Alingsås",))
    make_version(lerum, status="approved")
    make_service(gbg, quantity="1.5")
    make_service(gbg, quantity="0.1")
    make_service(gbg, buyer="Lerum", quantity="2")
    make_service(gbg, buyer="Lerum", code="resa", unit="km", quantity="12.5")
    make_service(lerum, buyer="Alingsås", quantity="1234.25")
    return gbg, lerum


def test_one_pass_makes_one_run_per_seller_like_compute_run(db, two_sellers, seller_finance):
    gbg, lerum = two_sellers
    with acting_as("test: batch"):
        runs = services.compute_runs(db, None, OCTOBER)
    db.commit()
    by_seller = {run.seller_municipality_id: run for run in runs}
    assert set(by_seller) == {gbg.host.municipality_id, lerum.host.municipality_id}
    for run in runs:
        assert (run.period_kind, run.period_start, run.status) == (
            PeriodKind.MONTH,
            OCTOBER.start,
            RunStatus.DRAFT,
        )
        assert run.agreement_id is None and run.buyer_municipality_id is None
        assert run.computed_at is not None
    gbg_problems = by_seller[gbg.host.municipality_id].problems
    assert len(gbg_problems) == 1 and "Priset för 2026 saknas" in gbg_problems[0]["message"]
    assert by_seller[lerum.host.municipality_id].problems == []
    batch = {seller: _content(run) for seller, run in by_seller.items()}
    assert db.scalar(select(func.count()).select_from(BilledService)) == 4
    alingsas = by_seller[lerum.host.municipality_id].invoices[0]
    assert alingsas.lines[0].computation.startswith("1\u00a0234,25 h × 1\u00a0120,00\u00a0kr")
    # The same drafts as each seller's own compute_run gives, once the batch's are gone.
    for run in runs:
        services.delete_run(
            db, seller_finance(gbg if run.seller_municipality_id == gbg.host.municipality_id else lerum), run
        )
    db.commit()
    assert db.scalar(select(func.count()).select_from(BilledService)) == 0
    for agreement in (gbg, lerum):
        user = seller_finance(agreement)
        run = services.create_run(db, user, PeriodKind.MONTH, OCTOBER.start)
        services.compute_run(db, user, run)
        assert _content(run) == batch[agreement.host.municipality_id]
        assert run.problems == by_seller[agreement.host.municipality_id].problems


def test_running_the_batch_again_replaces_the_drafts(db, two_sellers):
    runs = services.compute_runs(db, None, OCTOBER)
    db.commit()
    first = {run.id: _content(run) for run in runs}
    again = services.compute_runs(db, None, OCTOBER)
    db.commit()
    db.expire_all()
    assert {run.id: _content(run) for run in again} == first  # the same runs, recomputed
    assert db.scalar(select(func.count()).select_from(InvoiceRun)) == 2
    assert db.scalar(select(func.count()).select_from(Invoice)) == 3
    assert db.scalar(select(func.count()).select_from(BilledService)) == 4


def test_only_the_named_sellers_and_never_an_approved_run(db, two_sellers, seller_finance):
    gbg, lerum = two_sellers
    (run,) = services.compute_runs(db, None, OCTOBER, sellers=[lerum.host.municipality_id])
    assert run.seller_municipality_id == lerum.host.municipality_id
    services.approve_run(db, seller_finance(lerum), run)
    db.commit()
    # A whole batch leaves the approved run alone; naming its seller is refused.
    runs = services.compute_runs(db, None, OCTOBER)
    assert [r.seller_municipality_id for r in runs] == [gbg.host.municipality_id]
    with pytest.raises(IllegalRunTransition):
        services.compute_runs(db, None, OCTOBER, sellers=[lerum.host.municipality_id])


def test_a_user_needs_invoice_rights_for_every_seller(db, two_sellers, seller_finance):
    from core.errors import PermissionDenied

    gbg, _lerum = two_sellers
    with pytest.raises(PermissionDenied):
        services.compute_runs(db, seller_finance(gbg), OCTOBER)
    runs = services.compute_runs(db, seller_finance(gbg), OCTOBER, sellers=[gbg.host.municipality_id])
    assert runs[0].created_by_id == seller_finance(gbg).id


def test_bulk_inserted_drafts_are_audited_like_flushed_ones(db, two_sellers):
    gbg, _lerum = two_sellers
    before = db.scalar(select(func.max(AuditEntry.id))) or 0
    with acting_as("test: batch"):
        runs = services.compute_runs(db, None, OCTOBER)
    db.commit()
    entries = db.scalars(select(AuditEntry).where(AuditEntry.id > before)).all()
    invoices = db.scalars(select(Invoice).where(Invoice.run_id.in_([r.id for r in runs]))).all()
    lines = [line for invoice in invoices for line in invoice.lines]
    audited = {(e.entity, e.entity_id): e for e in entries if e.action == "insert"}
    for invoice in invoices:
        entry = audited[("invoices", str(invoice.id))]
        assert entry.actor == "test: batch" and entry.municipality_id == invoice.seller_municipality_id
        assert entry.changes["net_amount"] == [None, str(invoice.net_amount)]
        assert entry.changes["status"] == [None, "draft"] and entry.changes["number"] == [None, None]
        scopes = set(
            db.scalars(select(AuditEntryScope.municipality_id).where(AuditEntryScope.entry_id == entry.id))
        )
        assert scopes == {invoice.seller_municipality_id, invoice.buyer_municipality_id}
    for line in lines:
        entry = audited[("invoice_lines", str(line.id))]
        assert entry.changes["computation"] == [None, line.computation]
        assert entry.changes["invoice_id"] == [None, line.invoice_id]
    # Every column is recorded, as the flush events record an insert.
    assert set(audited[("invoices", str(invoices[0].id))].changes) == set(Invoice.__table__.columns.keys())
    assert set(audited[("invoice_lines", str(lines[0].id))].changes) == set(
        InvoiceLine.__table__.columns.keys()
    )
    assert verify_audit_chain(db).ok


def test_fast_number_texts_equal_core_formatting():
    rng = random.Random(5)
    values = [Decimal(rng.randrange(0, 10**10)) / Decimal(10 ** rng.randrange(0, 5)) for _ in range(3000)]
    values += [
        Decimal("0"),
        Decimal("-0.00"),
        Decimal("-12.5"),
        Decimal("0.005"),
        Decimal("999.995"),
        0,
        7,
        1234567,
    ]
    values += [Decimal("1E+3"), Decimal("12.50"), Decimal("1120.0000"), Decimal("-1")]
    for value in values:
        assert _number_text(value) == format_number(value), value
        assert _money_text(value) == format_money(value), value
    assert (
        _number_text(Decimal("12.25")) == "12,25" and _money_text(Decimal("1120")) == "1\u00a0120,00\u00a0kr"
    )


def test_the_batch_refuses_a_key_billed_by_another_run_and_names_it(
    db, two_sellers, seller_finance, make_service
):
    """The batch checks every seller's keys in one query; a clash is still the 409 naming the run."""
    from billing.invoicing.services import RunConflict

    gbg, lerum = two_sellers
    user = seller_finance(lerum)
    own = services.create_run(db, user, PeriodKind.MONTH, OCTOBER.start, agreement_id=lerum.id)
    services.compute_run(db, user, own)
    db.commit()
    make_service(lerum, buyer="Alingsås", quantity="3")  # new work for the same October key
    with pytest.raises(RunConflict) as excinfo:
        services.compute_runs(db, None, OCTOBER)
    assert f"fakturakörning {own.id}" in excinfo.value.message
    assert lerum.number in excinfo.value.message and excinfo.value.status_code == 409
    db.rollback()
    # Gbg alone has no clash: its run is made, and computing it again only meets its own drafts.
    for _ in range(2):
        (run,) = services.compute_runs(db, None, OCTOBER, sellers=[gbg.host.municipality_id])
        db.commit()
    assert len(run.invoices) == 2


def test_bulk_audit_values_are_what_jsonable_records():
    """_insert_entry converts by type (once per type) what core.audit.jsonable converts per value."""
    import json

    from billing.invoicing.services import _audit_converter
    from billing.models import ChargeKind, InvoiceKind, InvoiceStatus, VatGroup
    from contracts.models import ServiceUnit, VatCategory
    from core.audit import jsonable

    values = [None, 0, 7, True, False, "", "Åsa", Decimal("1.50"), Decimal("-0.00"), Decimal("1E+3")]
    values += [dt.date(2026, 1, 2), dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)]
    values += [InvoiceKind.INVOICE, InvoiceStatus.DRAFT, ChargeKind.SERVICES, VatGroup.OUTSIDE_SCOPE]
    values += [VatCategory.O, ServiceUnit.HOUR, ("a", 1), {"k": Decimal("2")}]
    for value in values:
        convert = _audit_converter(type(value))
        recorded = value if convert is None else convert(value)
        assert json.dumps(recorded) == json.dumps(jsonable(value)), value


def test_the_national_pass_reads_billed_charges_and_cost_caps_once(
    db, make_agreement, make_version, approve, make_invoice, municipality
):
    """Already billed charges and the year's invoiced amounts (cost caps) are read in one query for
    every agreement of the pass, not one per agreement, with the same result."""
    from sqlalchemy import event

    from billing.models import BilledCharge
    from billing.pricing import PricingRequest, price_run
    from contracts.models import CompensationModel, FeePeriod
    from tests.billing.test_pricing_periodic import add_component

    agreements = []
    for _ in range(3):
        agreement = make_agreement()
        version = make_version(agreement, terms=False, cost_cap_amount=Decimal("100000.00"))
        add_component(
            version,
            CompensationModel.FIXED_FEE,
            fee_period=FeePeriod.QUARTERLY,
            in_advance=True,
            prices={2026: "4000"},
        )
        approve(version)
        agreements.append(agreement)
    invoice = make_invoice(agreements[0], buyer="Härryda")
    db.add(
        BilledCharge(
            invoice_line_id=invoice.lines[0].id,
            agreement_id=agreements[0].id,
            buyer_municipality_id=municipality("Härryda").id,
            charge_key="fixed_fee:avgift",
            charge_period_start=dt.date(2026, 10, 1),
            charge_period_end=dt.date(2026, 12, 31),
        )
    )
    db.commit()
    statements = []
    engine = db.get_bind().engine

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        result = price_run(db, PricingRequest(None, OCTOBER.start, OCTOBER.end))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    billed = {
        (p.agreement_id, p.buyer_municipality_id)
        for p in result.invoices
        if p.agreement_id in {a.id for a in agreements}
    }
    harryda, lerum = municipality("Härryda").id, municipality("Lerum").id
    assert billed == {(agreements[0].id, lerum)} | {
        (a.id, b) for a in agreements[1:] for b in (harryda, lerum)
    }
    assert len([s for s in statements if "FROM billed_charges" in s]) == 1
    assert len([s for s in statements if "sum(invoices.net_amount)" in s]) == 1
