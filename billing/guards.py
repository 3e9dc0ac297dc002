"""The flush-time guard: an issued invoice or credit note, its lines, its billed-service links and its
stored documents never change, whatever code path tries. Only the payment marking (paid_on,
paid_marked_by_id) may change after issue. The services refuse first with a friendlier message;
database triggers (migration 0005) are the last line."""

from __future__ import annotations

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from billing.errors import (
    FollowupImmutable,
    InvoiceImmutable,
    ReconciliationImmutable,
    ReportedCostLocked,
)
from billing.models import (
    AnnualFollowup,
    BilledCharge,
    BilledService,
    FollowupStatus,
    Invoice,
    InvoiceDocument,
    InvoiceLine,
    InvoiceStatus,
    Reconciliation,
    ReconciliationRow,
    ReconciliationStatus,
    ReportedCost,
)
from core.db import AppSession, stored_value

PAYMENT_FIELDS = frozenset({"paid_on", "paid_marked_by_id"})


def _changed_fields(obj) -> set[str]:
    state = inspect(obj)
    return {
        attr.key
        for attr in state.attrs
        if attr.history.has_changes() and attr.key in state.mapper.column_attrs
    }


def _invoice_of(session: Session, obj) -> Invoice | None:
    if isinstance(obj, BilledService | BilledCharge):
        line = obj.line or (session.get(InvoiceLine, obj.invoice_line_id) if obj.invoice_line_id else None)
        obj = line
        if obj is None:
            return None
    invoice = obj.invoice
    if invoice is None and obj.invoice_id is not None:
        invoice = session.get(Invoice, obj.invoice_id)
    return invoice


@event.listens_for(AppSession, "before_flush")
def _refuse_changes_to_issued_invoices(session: Session, _ctx, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Invoice) and stored_value(obj, "status") == InvoiceStatus.ISSUED:
            if obj in session.deleted or not _changed_fields(obj) <= PAYMENT_FIELDS:
                raise InvoiceImmutable()
    changed = [o for o in session.dirty if session.is_modified(o)] + list(session.deleted) + list(session.new)
    for obj in changed:
        if not isinstance(obj, InvoiceLine | BilledService | BilledCharge | InvoiceDocument):
            continue
        invoice = _invoice_of(session, obj)
        if invoice is not None and stored_value(invoice, "status") == InvoiceStatus.ISSUED:
            raise InvoiceImmutable()


@event.listens_for(AppSession, "before_flush")
def _refuse_changes_to_sent_followups_and_issued_reconciliations(session: Session, _ctx, _instances) -> None:
    """A sent follow-up never changes (its snapshot is what the nämnd received); an issued
    reconciliation and its rows never change (its invoices are issued). Triggers in migration 0006
    are the last line."""
    changed = [o for o in session.dirty if session.is_modified(o)] + list(session.deleted)
    for obj in changed:
        if isinstance(obj, AnnualFollowup) and stored_value(obj, "status") == FollowupStatus.SENT:
            raise FollowupImmutable()
        if isinstance(obj, Reconciliation) and stored_value(obj, "status") == ReconciliationStatus.ISSUED:
            raise ReconciliationImmutable()
    for obj in changed + list(session.new):
        if isinstance(obj, ReconciliationRow):
            parent = obj.reconciliation or (
                session.get(Reconciliation, obj.reconciliation_id) if obj.reconciliation_id else None
            )
            if parent is not None and stored_value(parent, "status") == ReconciliationStatus.ISSUED:
                raise ReconciliationImmutable()


@event.listens_for(AppSession, "before_flush")
def _refuse_changes_to_locked_reported_costs(session: Session, _ctx, _instances) -> None:
    """A reported cost that an issued reconciliation or a sent follow-up of its year relies on never
    changes (billing.reconciliation.services.report_cost refuses first with the reason)."""
    changed = [o for o in session.dirty if session.is_modified(o)] + list(session.deleted)
    for obj in changed:
        if not isinstance(obj, ReportedCost):
            continue
        agreement_id, year = stored_value(obj, "agreement_id"), stored_value(obj, "year")
        with session.no_autoflush:
            issued = session.scalar(
                select(func.count(Reconciliation.id)).where(
                    Reconciliation.agreement_id == agreement_id,
                    Reconciliation.year == year,
                    Reconciliation.status == ReconciliationStatus.ISSUED,
                )
            )
            sent = session.scalar(
                select(func.count(AnnualFollowup.id)).where(
                    AnnualFollowup.agreement_id == agreement_id,
                    AnnualFollowup.year == year,
                    AnnualFollowup.status == FollowupStatus.SENT,
                )
            )
        if issued or sent:
            raise ReportedCostLocked()
