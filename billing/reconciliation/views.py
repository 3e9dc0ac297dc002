"""Pages of the year-end reconciliation (avräkning), in Swedish: the list of reconciliations, and per
agreement and year the reported actual cost, the computation per buyer, the proposed invoices and credit
notes, and "Godkänn och utfärda" (confirmed: it cannot be undone). Forms validate with the services.

Action buttons post, then redirect. A refused action rolls the transaction back before the redirect."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

import billing
from billing.invoicing.services import CHARGE_KIND_LABELS
from billing.models import (
    INVOICE_KIND_LABELS,
    INVOICE_STATUS_LABELS,
    RECONCILIATION_STATUS_LABELS,
    InvoiceKind,
    InvoiceStatus,
    ReconciliationStatus,
)
from billing.permissions import INVOICE_READ
from billing.reconciliation import services
from contracts.models import SHARE_BASIS_LABELS
from core.auth import acting_user
from core.db import db_session
from core.errors import DomainError, ValidationFailed
from core.formatting import local_today
from core.permissions import can
from core.views import Page, page_arg

bp = Blueprint("billing_reconciliation", __name__, template_folder=billing.TEMPLATES)
_user = acting_user
COST_LABELS = {"amount": "Verklig kostnad", "note": "Vad kostnaden omfattar"}


def nav_visible(user) -> bool:
    return can(user, INVOICE_READ) and user.municipality_id is not None


def _labels() -> dict:
    return {
        "status_labels": RECONCILIATION_STATUS_LABELS,
        "invoice_kind_labels": INVOICE_KIND_LABELS,
        "invoice_status_labels": INVOICE_STATUS_LABELS,
        "share_basis_labels": SHARE_BASIS_LABELS,
        "charge_kind_labels": CHARGE_KIND_LABELS,
        "ReconciliationStatus": ReconciliationStatus,
        "InvoiceKind": InvoiceKind,
        "InvoiceStatus": InvoiceStatus,
    }


def _refused(exc: DomainError, target: str):
    db_session.rollback()
    details = [m for messages in (exc.errors or {}).values() for m in messages if m != exc.message]
    flash(" ".join([exc.message, *details]), "error")
    return redirect(target)


@bp.get("/avrakning/")
@login_required
def reconciliation_list():
    user = _user()
    stmt = services.reconciliations_for(db_session, user)
    agreement_id, year = request.args.get("avtal", ""), request.args.get("ar", "")
    if agreement_id.isdigit() and year.isdigit():
        return redirect(url_for(".year_detail", agreement_id=int(agreement_id), year=int(year)))
    last_year = local_today().year - 1
    return render_template(
        "billing/reconciliation/list.html",
        page=Page(stmt, page_arg()),
        agreements=services.reconcilable_agreements(db_session, user),
        years=list(range(last_year, last_year - 5, -1)),
        **_labels(),
    )


def _render_year(agreement, year: int, cost_form=None, errors=None, status: int = 200):
    user = _user()
    view = services.year_view(db_session, user, agreement, year)
    if cost_form is None:
        cost_form = {
            "amount": view.cost.amount if view.cost else "",
            "note": view.cost.note if view.cost else "",
        }
    return render_template(
        "billing/reconciliation/year.html",
        view=view,
        cost_form=cost_form,
        errors=errors or {},
        cost_labels=COST_LABELS,
        today=local_today(),
        **_labels(),
    ), status


@bp.get("/avrakning/avtal/<int:agreement_id>/<int:year>")
@login_required
def year_detail(agreement_id: int, year: int):
    agreement = services.get_agreement_for(db_session, _user(), agreement_id)
    return _render_year(agreement, year)


@bp.post("/avrakning/avtal/<int:agreement_id>/<int:year>/kostnad")
@login_required
def report_cost(agreement_id: int, year: int):
    user = _user()
    agreement = services.get_agreement_for(db_session, user, agreement_id)
    form = {"amount": request.form.get("amount", "").strip(), "note": request.form.get("note", "")}
    try:
        services.report_cost(db_session, user, agreement, year, form["amount"], form["note"])
    except ValidationFailed as exc:
        db_session.rollback()
        errors = exc.errors or {"amount": [exc.message]}
        return _render_year(agreement, year, form, errors, 422)
    except DomainError as exc:
        return _refused(exc, url_for(".year_detail", agreement_id=agreement_id, year=year))
    flash(
        f"Den verkliga kostnaden för {year} är sparad. Räkna fram avräkningen för att se resultatet.",
        "success",
    )
    return redirect(url_for(".year_detail", agreement_id=agreement_id, year=year))


@bp.post("/avrakning/avtal/<int:agreement_id>/<int:year>/berakna")
@login_required
def compute(agreement_id: int, year: int):
    user = _user()
    agreement = services.get_agreement_for(db_session, user, agreement_id)
    target = url_for(".year_detail", agreement_id=agreement_id, year=year)
    try:
        recs = services.compute_reconciliation(db_session, user, agreement, year)
    except DomainError as exc:
        return _refused(exc, target)
    documents = len({row.invoice_id for rec in recs for row in rec.rows if row.invoice_id})
    flash(
        f"Avräkningen för {year} är framräknad: {documents} förslag till faktura eller kreditfaktura. "
        "Granska dem innan du godkänner.",
        "success",
    )
    return redirect(target)


@bp.post("/avrakning/avtal/<int:agreement_id>/<int:year>/godkann")
@login_required
def approve(agreement_id: int, year: int):
    user = _user()
    agreement = services.get_agreement_for(db_session, user, agreement_id)
    target = url_for(".year_detail", agreement_id=agreement_id, year=year)
    recs = services.visible_year_reconciliations(db_session, user, agreement, year)
    if not recs:
        flash("Det finns ingen framräknad avräkning att godkänna.", "error")
        return redirect(target)
    try:
        issued = services.approve_reconciliation(db_session, user, recs[0])
    except DomainError as exc:
        return _refused(exc, target)
    numbers = ", ".join(i.display_number for i in issued if i.display_number)
    flash(
        f"Avräkningen för {year} är godkänd och utfärdad"
        + (f": {numbers}." if numbers else " (alla skillnader låg inom beloppsgränsen)."),
        "success",
    )
    return redirect(target)
