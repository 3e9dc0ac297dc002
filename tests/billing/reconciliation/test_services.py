"""Year-end reconciliation worked by hand: population basis (an equal part, the host carrying its own
share) giving an invoice and a credit note, fixed shares with a difference within the threshold and a
credited quarter, recompute, issue once, immutability, the reported cost lock and permissions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from billing.errors import (
    EInvoiceInvalid,
    ReconciliationImmutable,
    ReconciliationNotFound,
    ReportedCostLocked,
)
from billing.models import (
    AnnualFollowup,
    BilledCharge,
    ChargeKind,
    FollowupStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Recommendation,
    Reconciliation,
    ReconciliationStatus,
    ReportedCost,
)
from billing.reconciliation import services
from core.db import utcnow
from core.errors import PermissionDenied, ValidationFailed
from tests.billing.reconciliation.conftest import YEAR

D = Decimal


@pytest.fixture
def population_case(prelim, populations, prelim_invoice, report, host_finance):
    """Population basis, 20 % equally among Göteborg (host, carries its share), Härryda and Lerum,
    populations 2024 (the year before): 600 000, 40 000 and 60 000. Actual cost 1 030 000 kr.
    Härryda: 1/15 + 0,8 x 40/700 = 59/525; x 1 030 000 = 115 752,38; invoiced 4 x 26 000 = 104 000.
    Lerum:   1/15 + 0,8 x 60/700 = 71/525; x 1 030 000 = 139 295,24; invoiced 4 x 36 250 = 145 000."""
    agreement, component = prelim()
    populations(2024, {"Göteborg": 600000, "Härryda": 40000, "Lerum": 60000})
    populations(2025, {"Göteborg": 1, "Härryda": 1, "Lerum": 1})  # not the reference year: ignored
    harryda = prelim_invoice(agreement, "Härryda", ["26000"] * 4)
    lerum = prelim_invoice(agreement, "Lerum", ["36250"] * 4)
    user = host_finance(agreement)
    report(agreement, "1030000.00", user)
    return agreement, component, user, harryda, lerum


def rows_by_name(rec):
    return {row.buyer.name: row for row in rec.rows}


def test_population_basis_gives_an_invoice_and_a_credit_note(db, population_case, municipality):
    agreement, component, user, _harryda_prelim, lerum_prelim = population_case
    [rec] = services.compute_reconciliation(db, user, agreement, YEAR)
    db.commit()
    assert rec.status == ReconciliationStatus.PROPOSED and rec.actual_cost == D("1030000.00")
    assert rec.component_id == component.id and rec.threshold == D("5000.00")
    rows = rows_by_name(rec)
    harryda, lerum = rows["Härryda"], rows["Lerum"]
    assert set(rows) == {"Härryda", "Lerum"}  # the host carries its share but is not invoiced
    assert harryda.share == D("0.1123809524")
    assert (harryda.final_amount, harryda.invoiced_amount, harryda.difference) == (
        D("115752.38"),
        D("104000.00"),
        D("11752.38"),
    )
    assert not harryda.within_threshold
    invoice = harryda.invoice
    assert invoice.kind == InvoiceKind.INVOICE and invoice.status == InvoiceStatus.DRAFT
    assert invoice.charge_kind == ChargeKind.RECONCILIATION
    assert (invoice.period_start, invoice.period_end) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert invoice.total_amount == D("11752.38") and invoice.vat_amount == D("0.00")
    assert invoice.buyer_reference == "IFO Härryda" and invoice.series.code == "AVR"
    [line] = invoice.lines
    assert line.vat_category == "E" and line.vat_exemption_reason_code == "VATEX-EU-132-1G"
    computation = line.computation.replace("\xa0", " ")
    assert computation == (
        "Avräkning 2025: slutlig kostnad 1 030 000,00 kr × andel 11,2381 % = 115 752,38 kr, "
        "preliminärt fakturerat 104 000,00 kr, att betala 11 752,38 kr"
    )
    assert "invånare 40 000 av 700 000 (2024)" in harryda.share_text.replace("\xa0", " ")

    assert (lerum.final_amount, lerum.invoiced_amount, lerum.difference) == (
        D("139295.24"),
        D("145000.00"),
        D("-5704.76"),
    )
    credit = lerum.invoice
    assert credit.kind == InvoiceKind.CREDIT_NOTE and credit.original_invoice_id == lerum_prelim.id
    assert credit.total_amount == D("-5704.76") and credit.lines[0].quantity == D("-1")
    assert "att kreditera 5 704,76 kr" in credit.lines[0].computation.replace("\xa0", " ")
    keys = db.scalars(select(BilledCharge.charge_key).where(BilledCharge.charge_key.like("reconciliation:%")))
    assert sorted(keys) == [f"reconciliation:{component.id}"] * 2


def test_fixed_shares_within_threshold_and_a_credited_quarter(
    db, prelim, prelim_invoice, credit_line, report, host_finance
):
    """Fixed 25 % / 75 %, cost 1 000 000: Härryda final 250 000 against 4 x 62 000 = 248 000: 2 000 is
    under the 5 000 threshold, recorded only (a draft credit note of a quarter does not count).
    Lerum final 750 000 against 4 x 190 000 with Q4 credited (issued) = 570 000: invoice 180 000."""
    agreement, _component = prelim(
        basis="fixed", include_host=False, equal=None, fixed={"Härryda": "25", "Lerum": "75"}
    )
    harryda_prelim = prelim_invoice(agreement, "Härryda", ["62000"] * 4)
    credit_line(harryda_prelim, 2, status="draft")
    lerum_prelim = prelim_invoice(agreement, "Lerum", ["190000"] * 4)
    credit_line(lerum_prelim, 4)
    user = host_finance(agreement)
    report(agreement, "1000000", user)
    [rec] = services.compute_reconciliation(db, user, agreement, YEAR)
    db.commit()
    rows = rows_by_name(rec)
    harryda, lerum = rows["Härryda"], rows["Lerum"]
    assert (harryda.share, harryda.final_amount, harryda.invoiced_amount, harryda.difference) == (
        D("0.25"),
        D("250000.00"),
        D("248000.00"),
        D("2000.00"),
    )
    assert harryda.within_threshold and harryda.invoice_id is None
    assert (lerum.final_amount, lerum.invoiced_amount, lerum.difference) == (
        D("750000.00"),
        D("570000.00"),
        D("180000.00"),
    )
    assert lerum.invoice.kind == InvoiceKind.INVOICE and lerum.invoice.total_amount == D("180000.00")
    assert (
        db.scalar(
            select(func.count())
            .select_from(BilledCharge)
            .where(BilledCharge.charge_key.like("reconciliation:%"))
        )
        == 1
    )


def test_no_threshold_means_every_difference_is_invoiced_and_zero_is_nothing(
    db, prelim, prelim_invoice, report, host_finance
):
    agreement, _ = prelim(
        basis="fixed", include_host=False, equal=None, threshold=None, fixed={"Härryda": "25", "Lerum": "75"}
    )
    prelim_invoice(agreement, "Härryda", ["62500"] * 4)  # exactly 250 000
    prelim_invoice(agreement, "Lerum", ["187499.99"] * 4)  # 749 999,96: 0,04 to pay
    user = host_finance(agreement)
    report(agreement, "1000000", user)
    rows = rows_by_name(services.compute_reconciliation(db, user, agreement, YEAR)[0])
    assert (
        rows["Härryda"].difference == 0
        and rows["Härryda"].within_threshold
        and rows["Härryda"].invoice is None
    )
    assert rows["Lerum"].difference == D("0.04") and rows["Lerum"].invoice.total_amount == D("0.04")


def test_usage_basis_uses_the_years_own_usage(db, prelim, prelim_invoice, report, host_finance, make_service):
    agreement, component = prelim(basis="usage", include_host=False, equal=None, usage_measure="hours")
    make_service(agreement, buyer="Härryda", day=dt.date(2024, 5, 5), code="jour", quantity="100")  # not 2025
    make_service(agreement, buyer="Härryda", day=dt.date(2025, 5, 5), code="jour", quantity="10")
    make_service(agreement, buyer="Lerum", day=dt.date(2025, 6, 5), code="jour", quantity="30")
    prelim_invoice(agreement, "Härryda", ["50000"] * 4)
    prelim_invoice(agreement, "Lerum", ["200000"] * 4)
    user = host_finance(agreement)
    report(agreement, "1000000", user)
    rows = rows_by_name(services.compute_reconciliation(db, user, agreement, YEAR)[0])
    assert rows["Härryda"].share == D("0.25") and rows["Härryda"].final_amount == D("250000.00")
    assert rows["Lerum"].final_amount == D("750000.00") and rows["Lerum"].difference == D("-50000.00")


def test_recompute_replaces_the_proposal_and_its_drafts(db, population_case):
    agreement, component, user, *_ = population_case
    [first] = services.compute_reconciliation(db, user, agreement, YEAR)
    db.commit()
    assert len({row.invoice_id for row in first.rows}) == 2
    services.report_cost(db, user, agreement, YEAR, "1 000 000,00", "Bokslut 2025")
    db.commit()
    [second] = services.compute_reconciliation(db, user, agreement, YEAR)
    db.commit()
    assert (
        db.scalar(select(func.count(Reconciliation.id)).where(Reconciliation.agreement_id == agreement.id))
        == 1
    )
    reconciliation_invoices = db.scalars(
        select(Invoice).where(
            Invoice.charge_kind == ChargeKind.RECONCILIATION, Invoice.agreement_id == agreement.id
        )
    ).all()
    assert len(reconciliation_invoices) == 2
    assert {i.id for i in reconciliation_invoices} == {row.invoice_id for row in second.rows}
    assert D("8380.95") in {i.total_amount for i in reconciliation_invoices}
    assert second.actual_cost == D("1000000.00")
    assert rows_by_name(second)["Härryda"].final_amount == D("112380.95")  # 59/525 x 1 000 000
    assert (
        db.scalar(
            select(func.count())
            .select_from(BilledCharge)
            .where(BilledCharge.charge_key == f"reconciliation:{component.id}")
        )
        == 2
    )


def test_approve_issues_every_document_once(db, population_case, fake_docs):
    agreement, _component, user, *_ = population_case
    [rec] = services.compute_reconciliation(db, user, agreement, YEAR)
    db.commit()
    issued = services.approve_reconciliation(db, user, rec)
    db.commit()
    db.expire_all()
    assert rec.status == ReconciliationStatus.ISSUED and rec.approved_by_id == user.id and rec.approved_at
    assert len(issued) == 2 and all(i.status == InvoiceStatus.ISSUED and i.number and i.ocr for i in issued)
    assert {i.kind for i in issued} == {InvoiceKind.INVOICE, InvoiceKind.CREDIT_NOTE}
    assert sorted(fake_docs.issued) == sorted(i.id for i in issued)
    # Issued once: the service refuses to compute or approve again ...
    with pytest.raises(services.ReconciliationAlreadyIssued):
        services.compute_reconciliation(db, user, agreement, YEAR)
    with pytest.raises(services.ReconciliationAlreadyIssued):
        services.approve_reconciliation(db, user, rec)
    db.rollback()
    # ... and the database key refuses a second reconciliation charge for the buyer's year.
    row = rec.rows[0]
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO billed_charges (invoice_line_id, agreement_id, buyer_municipality_id, charge_key, "
                "charge_period_start, charge_period_end) VALUES (:line, :agreement, :buyer, :key, :start, :end)"
            ),
            {
                "line": row.invoice.lines[0].id,
                "agreement": agreement.id,
                "buyer": row.buyer_municipality_id,
                "key": f"reconciliation:{rec.component_id}",
                "start": dt.date(2025, 1, 1),
                "end": dt.date(2025, 12, 31),
            },
        )


def test_an_error_mid_way_issues_nothing(db, population_case, fake_docs):
    agreement, _component, user, *_ = population_case
    [rec] = services.compute_reconciliation(db, user, agreement, YEAR)
    db.commit()
    last_numbers = {row.invoice.series.id: row.invoice.series.last_number for row in rec.rows}
    fake_docs.fail_on = 2
    with pytest.raises(EInvoiceInvalid):
        services.approve_reconciliation(db, user, rec)
    db.rollback()
    db.expire_all()
    assert rec.status == ReconciliationStatus.PROPOSED and rec.approved_at is None
    for row in rec.rows:
        assert row.invoice.status == InvoiceStatus.DRAFT and row.invoice.number is None
        assert row.invoice.series.last_number == last_numbers[row.invoice.series.id]


def test_a_proposal_on_a_cost_reported_again_must_be_recomputed(db, population_case, fake_docs):
    agreement, _component, user, *_ = population_case
    [rec] = services.compute_reconciliation(db, user, agreement, YEAR)
    db.commit()
    services.report_cost(db, user, agreement, YEAR, "1000000", None)
    db.commit()
    with pytest.raises(services.ReconciliationConflict):
        services.approve_reconciliation(db, user, rec)


def test_issued_reconciliation_is_immutable(db, population_case, fake_docs):
    agreement, _component, user, *_ = population_case
    [rec] = services.compute_reconciliation(db, user, agreement, YEAR)
    db.commit()
    services.approve_reconciliation(db, user, rec)
    db.commit()
    row = rec.rows[0]
    row.final_amount = D("1.00")  # flush guard
    with pytest.raises(ReconciliationImmutable):
        db.flush()
    db.rollback()
    rec.basis_text = "ändrad"
    with pytest.raises(ReconciliationImmutable):
        db.flush()
    db.rollback()
    for statement in (
        "UPDATE reconciliation_rows SET final_amount = 1 WHERE id = :row",
        "UPDATE reconciliations SET actual_cost = 1 WHERE id = :rec",
        "DELETE FROM reconciliation_rows WHERE id = :row",
    ):
        with pytest.raises(DBAPIError) as excinfo, db.begin_nested():
            db.execute(text(statement), {"row": row.id, "rec": rec.id})
        assert "immutable" in str(excinfo.value).lower() or "ändras" in str(excinfo.value)


def test_reported_cost_locked_by_an_issued_reconciliation(db, population_case, fake_docs):
    agreement, _component, user, *_ = population_case
    [rec] = services.compute_reconciliation(db, user, agreement, YEAR)
    services.approve_reconciliation(db, user, rec)
    db.commit()
    with pytest.raises(ReportedCostLocked):
        services.report_cost(db, user, agreement, YEAR, "1", None)
    cost = db.scalar(select(ReportedCost).where(ReportedCost.agreement_id == agreement.id))
    cost.amount = D("1.00")  # past the service: the flush guard
    with pytest.raises(ReportedCostLocked):
        db.flush()
    db.rollback()
    db.delete(cost)
    with pytest.raises(ReportedCostLocked):
        db.flush()


def test_reported_cost_locked_by_a_sent_followup(db, prelim, host_finance):
    agreement, _ = prelim()
    user = host_finance(agreement)
    services.report_cost(db, user, agreement, YEAR, "500 000", "Bokslut")
    followup = AnnualFollowup(agreement_id=agreement.id, year=YEAR)
    db.add(followup)
    db.commit()
    followup.status = FollowupStatus.SENT
    followup.sent_at = utcnow()
    followup.snapshot_sha256 = "0" * 64
    followup.snapshot_pdf = b"%PDF"
    followup.snapshot_figures = {}
    followup.recommendation = Recommendation.CONTINUE
    db.commit()
    with pytest.raises(ReportedCostLocked):
        services.report_cost(db, user, agreement, YEAR, "1", None)
    services.report_cost(db, user, agreement, YEAR - 1, "1", None)  # another year is open


def test_report_cost_validates_like_every_amount(db, prelim, host_finance):
    agreement, _ = prelim()
    user = host_finance(agreement)
    cost = services.report_cost(db, user, agreement, YEAR, "1 250 000,50", "Bokslut 2025")
    assert cost.amount == D("1250000.50") and cost.reported_by_id == user.id
    assert services.report_cost(db, user, agreement, YEAR, "1 300 000", None) is cost  # corrected in place
    assert (
        db.scalar(select(func.count(ReportedCost.id)).where(ReportedCost.agreement_id == agreement.id)) == 1
    )
    for bad in ("1e6", "-5", "12,345", "abc"):
        with pytest.raises(ValidationFailed) as excinfo:
            services.report_cost(db, user, agreement, YEAR, bad, None)
        assert "amount" in excinfo.value.errors
    with pytest.raises(ValidationFailed):
        services.report_cost(db, user, agreement, YEAR, "1", "Klient 19121212-1212")


def test_compute_needs_a_reported_cost_and_a_finished_year(db, prelim, host_finance):
    agreement, _ = prelim()
    user = host_finance(agreement)
    with pytest.raises(ValidationFailed, match="Rapportera den verkliga kostnaden"):
        services.compute_reconciliation(db, user, agreement, YEAR)
    with pytest.raises(ValidationFailed):
        services.compute_reconciliation(db, user, agreement, 2026)


def test_permissions(db, population_case, make_user, make_agreement):
    agreement, *_ = population_case
    buyer_finance = make_user(roles=("finance",), kommun="Härryda")
    with pytest.raises(PermissionDenied):
        services.compute_reconciliation(db, buyer_finance, agreement, YEAR)
    with pytest.raises(PermissionDenied):
        services.report_cost(db, buyer_finance, agreement, YEAR, "1", None)
    host_admin = make_user(roles=("admin",), kommun="Göteborg")
    with pytest.raises(PermissionDenied):
        services.report_cost(db, host_admin, agreement, YEAR, "1", None)
    outsider = make_user(roles=("finance",), kommun="Partille")
    with pytest.raises(ReconciliationNotFound):
        services.compute_reconciliation(db, outsider, agreement, YEAR)
    with pytest.raises(ReconciliationNotFound):
        services.get_agreement_for(db, outsider, agreement.id)


def test_buyers_see_only_issued_reconciliations(db, population_case, make_user, fake_docs):
    agreement, _component, user, *_ = population_case
    [rec] = services.compute_reconciliation(db, user, agreement, YEAR)
    db.commit()
    buyer = make_user(roles=("auditor",), kommun="Lerum")
    outsider = make_user(roles=("finance",), kommun="Partille")
    assert db.scalars(services.reconciliations_for(db, user)).all() == [rec]
    assert db.scalars(services.reconciliations_for(db, buyer)).all() == []
    services.approve_reconciliation(db, user, rec)
    db.commit()
    assert db.scalars(services.reconciliations_for(db, buyer)).all() == [rec]
    assert db.scalars(services.reconciliations_for(db, outsider)).all() == []
