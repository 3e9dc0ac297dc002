"""Pages of invoicing (Swedish): the runs list and the new-run form, a run's preview with recompute /
approve / issue, the invoices list (issued and received), an invoice's page with payment marking and
credit notes. Forms validate with the same services (and schemas) as the API.

Action buttons post, then redirect. A refused action rolls the transaction back before the redirect
(a redirect is a success for the request's commit), so a failed issue leaves nothing behind."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

import billing
from billing.invoicing import services
from billing.models import (
    INVOICE_KIND_LABELS,
    INVOICE_STATUS_LABELS,
    PERIOD_KIND_LABELS,
    RUN_STATUS_LABELS,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    PeriodKind,
    RunStatus,
)
from billing.permissions import INVOICE_EDIT, INVOICE_READ
from contracts.models import SERVICE_UNIT_LABELS, VAT_CATEGORY_LABELS
from core.auth import acting_user
from core.db import db_session
from core.errors import DomainError, ValidationFailed
from core.formatting import local_today
from core.models import Municipality
from core.permissions import can
from core.views import Page, page_arg
from registry.models import Agreement

bp = Blueprint("billing_invoicing", __name__, template_folder=billing.TEMPLATES)

PREVIEW_LIMIT = 200
RUN_FORM_LABELS = {
    "period_kind": "Periodtyp",
    "period": "Period",
    "period_start": "Period",
    "agreement_id": "Avtal",
    "buyer_municipality_id": "Köpare",
}
CREDIT_FORM_LABELS = {"reason": "Skäl", "line_ids": "Rader"}
DIRECTION_LABELS = {"issued": "Utfärdade av oss", "received": "Mottagna"}
PAID_LABELS = {"ja": "Betalda", "nej": "Obetalda"}

_user = acting_user


def nav_visible(user) -> bool:
    return can(user, INVOICE_READ) and user.municipality_id is not None


def _labels() -> dict:
    return {
        "run_status_labels": RUN_STATUS_LABELS,
        "invoice_status_labels": INVOICE_STATUS_LABELS,
        "invoice_kind_labels": INVOICE_KIND_LABELS,
        "period_kind_labels": PERIOD_KIND_LABELS,
        "charge_kind_labels": services.CHARGE_KIND_LABELS,
        "vat_group_labels": services.VAT_GROUP_LABELS,
        "vat_category_labels": VAT_CATEGORY_LABELS,
        "unit_labels": SERVICE_UNIT_LABELS,
        "RunStatus": RunStatus,
        "InvoiceStatus": InvoiceStatus,
        "InvoiceKind": InvoiceKind,
    }


def _refused(exc: DomainError, target: str):
    """Roll back whatever the refused action did, tell the user why, go back to the page."""
    db_session.rollback()
    message = exc.message
    details = [m for messages in (exc.errors or {}).values() for m in messages if m != message]
    flash(" ".join([message, *details]), "error")
    return redirect(target)


def _id_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > 2**31 - 1:
        return -1
    return int(value)


# --- Runs ------------------------------------------------------------------------------------------------


@bp.get("/fakturering/")
@login_required
def run_list():
    user = _user()
    stmt = services.runs_for(db_session, user)
    page = Page(stmt, page_arg())
    run_ids = [run.id for run in page.items]
    buyer_ids = {run.buyer_municipality_id for run in page.items if run.buyer_municipality_id}
    counts = (
        dict(
            db_session.execute(
                select(Invoice.run_id, func.count())
                .where(Invoice.run_id.in_(run_ids))
                .group_by(Invoice.run_id)
            ).all()
        )
        if run_ids
        else {}
    )
    buyers = (
        {m.id: m for m in db_session.scalars(select(Municipality).where(Municipality.id.in_(buyer_ids)))}
        if buyer_ids
        else {}
    )
    return render_template(
        "billing/invoicing/runs.html",
        page=page,
        may_edit=user.municipality_id is not None and can(user, INVOICE_EDIT, user.municipality_id),
        period_of=services.run_period,
        counts=counts,
        buyers=buyers,
        **_labels(),
    )


def _buyer_choices(user) -> list[Municipality]:
    agreements = services.agreement_choices(db_session, user)
    ids = {p.municipality_id for a in agreements for p in a.parties} - {user.municipality_id}
    if not ids:
        return []
    return sorted(
        db_session.scalars(select(Municipality).where(Municipality.id.in_(ids))).all(), key=lambda m: m.name
    )


def _run_form_values() -> tuple[dict, services.Period | None, dict]:
    form = {
        "period_kind": request.form.get("period_kind", "").strip(),
        "period": request.form.get("period", "").strip(),
        "agreement_id": request.form.get("agreement_id", "").strip(),
        "buyer_municipality_id": request.form.get("buyer_municipality_id", "").strip(),
        "compute": request.form.get("compute") == "on",
    }
    errors: dict[str, list[str]] = {}
    period = None
    try:
        period = services.parse_period(form["period"])
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if form["period_kind"] and period is not None and period.kind.value != form["period_kind"]:
        chosen = PERIOD_KIND_LABELS[PeriodKind(form["period_kind"])].lower()
        errors["period"] = [
            f"{form['period']} är {PERIOD_KIND_LABELS[period.kind].lower()}, inte {chosen}. "
            + services.PERIOD_HINT
        ]
    for key in ("agreement_id", "buyer_municipality_id"):
        if form[key] and not form[key].isdigit():
            errors[key] = ["Välj i listan."]
    return form, period, errors


@bp.route("/fakturering/korningar/ny", methods=["GET", "POST"])
@login_required
def run_create():
    user = _user()
    services.runs_for(db_session, user)  # INVOICE_READ, else 403
    if user.municipality_id is None or not can(user, INVOICE_EDIT, user.municipality_id):
        abort(403)
    errors: dict = {}
    today = local_today()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    form = {"period_kind": "month", "period": f"{last_month.year}-{last_month.month:02d}", "compute": True}
    status = 200
    if request.method == "POST":
        form, period, errors = _run_form_values()
        if not errors:
            try:
                run = services.create_run(
                    db_session,
                    user,
                    period.kind,
                    period.start,
                    agreement_id=int(form["agreement_id"]) if form["agreement_id"] else None,
                    buyer_id=int(form["buyer_municipality_id"]) if form["buyer_municipality_id"] else None,
                )
                if form["compute"]:
                    services.compute_run(db_session, user, run)
            except ValidationFailed as exc:
                db_session.rollback()
                errors = exc.errors or {"period": [exc.message]}
                status = 422
            except DomainError as exc:
                db_session.rollback()
                errors = {"period": [exc.message]}
                status = exc.status_code
            else:
                if form["compute"]:
                    flash(
                        f"Fakturakörning {run.id} för {services.run_period(run).label} är beräknad: "
                        f"{services.run_summary(db_session, run)['invoices']} fakturautkast. "
                        "Granska dem innan du godkänner.",
                        "success",
                    )
                else:
                    flash(f"Fakturakörning {run.id} är skapad. Beräkna den för att se fakturorna.", "success")
                return redirect(url_for(".run_detail", run_id=run.id))
        else:
            status = 422
    return render_template(
        "billing/invoicing/run_form.html",
        form=form,
        errors=errors,
        labels=RUN_FORM_LABELS,
        kinds=list(PeriodKind),
        agreements=services.agreement_choices(db_session, user),
        buyers=_buyer_choices(user),
        **_labels(),
    ), status


def _problem_rows(run) -> list[dict]:
    problems = run.problems or []
    agreement_ids = {p.get("agreement_id") for p in problems if p.get("agreement_id")}
    buyer_ids = {p.get("buyer_municipality_id") for p in problems if p.get("buyer_municipality_id")}
    agreements = (
        {a.id: a for a in db_session.scalars(select(Agreement).where(Agreement.id.in_(agreement_ids)))}
        if agreement_ids
        else {}
    )
    buyers = (
        {m.id: m for m in db_session.scalars(select(Municipality).where(Municipality.id.in_(buyer_ids)))}
        if buyer_ids
        else {}
    )
    return [
        {
            "agreement": agreements.get(p.get("agreement_id")),
            "buyer": buyers.get(p.get("buyer_municipality_id")),
            "message": p.get("message", ""),
        }
        for p in problems
    ]


@bp.get("/fakturering/korningar/<int:run_id>")
@login_required
def run_detail(run_id: int):
    user = _user()
    run = services.get_run_for(db_session, user, run_id)
    invoices = db_session.scalars(
        select(Invoice)
        .where(Invoice.run_id == run.id)
        .options(
            selectinload(Invoice.lines),
            joinedload(Invoice.buyer),
            joinedload(Invoice.agreement),
            joinedload(Invoice.series),
        )
        .order_by(Invoice.id)
        .limit(PREVIEW_LIMIT)
    ).all()
    return render_template(
        "billing/invoicing/run.html",
        run=run,
        period=services.run_period(run),
        invoices=invoices,
        summary=services.run_summary(db_session, run),
        problems=_problem_rows(run),
        limit=PREVIEW_LIMIT,
        vat_summary=services.vat_summary,
        may_edit=can(user, INVOICE_EDIT, run.seller_municipality_id),
        **_labels(),
    )


@bp.post("/fakturering/korningar/<int:run_id>/berakna")
@login_required
def run_compute(run_id: int):
    user = _user()
    run = services.get_run_for(db_session, user, run_id, INVOICE_EDIT)
    target = url_for(".run_detail", run_id=run_id)
    try:
        services.compute_run(db_session, user, run)
    except DomainError as exc:
        return _refused(exc, target)
    problems = len(run.problems or [])
    flash(
        f"Körningen är beräknad: {services.run_summary(db_session, run)['invoices']} fakturautkast"
        + (f", {problems} problem att granska." if problems else "."),
        "success",
    )
    return redirect(target)


@bp.post("/fakturering/korningar/<int:run_id>/godkann")
@login_required
def run_approve(run_id: int):
    user = _user()
    run = services.get_run_for(db_session, user, run_id, INVOICE_EDIT)
    target = url_for(".run_detail", run_id=run_id)
    try:
        services.approve_run(
            db_session, user, run, confirm_problems=request.form.get("confirm_problems") == "on"
        )
    except DomainError as exc:
        return _refused(exc, target)
    count = services.run_summary(db_session, run)["invoices"]
    flash(f"Körningen är godkänd: {count} fakturor väntar på att utfärdas.", "success")
    return redirect(target)


@bp.post("/fakturering/korningar/<int:run_id>/utfarda")
@login_required
def run_issue(run_id: int):
    user = _user()
    run = services.get_run_for(db_session, user, run_id, INVOICE_EDIT)
    target = url_for(".run_detail", run_id=run_id)
    try:
        issued = services.issue_run(db_session, user, run)
    except DomainError as exc:
        return _refused(exc, target)
    numbers = [i.display_number for i in issued]
    span = f" ({numbers[0]}–{numbers[-1]})" if len(numbers) > 1 else (f" ({numbers[0]})" if numbers else "")
    flash(f"{len(issued)} fakturor är utfärdade{span}.", "success")
    return redirect(target)


@bp.post("/fakturering/korningar/<int:run_id>/ta-bort")
@login_required
def run_delete(run_id: int):
    user = _user()
    run = services.get_run_for(db_session, user, run_id, INVOICE_EDIT)
    try:
        services.delete_run(db_session, user, run)
    except DomainError as exc:
        return _refused(exc, url_for(".run_detail", run_id=run_id))
    flash(f"Fakturakörning {run_id} och dess utkast är borttagna.", "success")
    return redirect(url_for(".run_list"))


# --- Invoices --------------------------------------------------------------------------------------------


@bp.get("/fakturor/")
@login_required
def invoice_list():
    user = _user()
    raw = {
        "riktning": request.args.get("riktning", "").strip(),
        "status": request.args.get("status", "").strip(),
        "avtal": request.args.get("avtal", "").strip(),
        "motpart": request.args.get("motpart", "").strip(),
        "period": request.args.get("period", "").strip(),
        "betald": request.args.get("betald", "").strip(),
        "korning": request.args.get("korning", "").strip(),
    }
    errors: dict = {}
    period = None
    if raw["period"]:
        try:
            period = services.parse_period(raw["period"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    status = raw["status"] if raw["status"] in {s.value for s in InvoiceStatus} else None
    stmt = services.invoices_for(
        db_session,
        user,
        direction=raw["riktning"] if raw["riktning"] in DIRECTION_LABELS else None,
        status=status,
        agreement_id=_id_arg("avtal"),
        counterpart_id=_id_arg("motpart"),
        period=period,
        paid={"ja": True, "nej": False}.get(raw["betald"]),
        run_id=_id_arg("korning"),
    ).options(joinedload(Invoice.seller), joinedload(Invoice.buyer), joinedload(Invoice.agreement))
    page = Page(stmt, page_arg())
    return render_template(
        "billing/invoicing/invoices.html",
        page=page,
        raw=raw,
        errors=errors,
        direction_labels=DIRECTION_LABELS,
        paid_labels=PAID_LABELS,
        agreements=services.agreement_choices(db_session, user),
        counterparts=services.counterpart_choices(db_session, user),
        today=local_today(),
        is_overdue=services.is_overdue,
        **_labels(),
    ), (422 if errors else 200)


def _invoice_page(
    invoice: Invoice, *, credit_form: dict | None = None, errors: dict | None = None, status=200
):
    user = _user()
    credited = services.credited_lines(db_session, invoice)
    return render_template(
        "billing/invoicing/invoice.html",
        invoice=invoice,
        lines=invoice.lines,
        vat_rows=services.vat_summary(invoice.lines),
        credited=credited,
        credit_notes=services.credit_notes_of(db_session, invoice),
        may_edit=can(user, INVOICE_EDIT, invoice.seller_municipality_id),
        is_seller=user.municipality_id == invoice.seller_municipality_id,
        overdue=services.is_overdue(invoice),
        today=local_today(),
        credit_form=credit_form or {},
        errors=errors or {},
        labels=CREDIT_FORM_LABELS,
        **_labels(),
    ), status


@bp.get("/fakturor/<int:invoice_id>")
@login_required
def invoice_detail(invoice_id: int):
    invoice = services.get_invoice_for(db_session, _user(), invoice_id)
    return _invoice_page(invoice)


@bp.post("/fakturor/<int:invoice_id>/betalning")
@login_required
def invoice_payment(invoice_id: int):
    user = _user()
    invoice = services.get_invoice_for(db_session, user, invoice_id, INVOICE_EDIT)
    target = url_for(".invoice_detail", invoice_id=invoice_id) + "#betalning"
    paid_on = None
    if request.form.get("action") != "unpaid":
        text = request.form.get("paid_on", "").strip()
        try:
            paid_on = dt.date.fromisoformat(text)
        except ValueError:
            return _refused(ValidationFailed("Ange betaldatum som ÅÅÅÅ-MM-DD."), target)
    try:
        services.mark_invoice_paid(db_session, user, invoice, paid_on)
    except DomainError as exc:
        return _refused(exc, target)
    if paid_on is None:
        flash(f"Faktura {invoice.display_number} är markerad som obetald.", "success")
    else:
        flash(f"Faktura {invoice.display_number} är markerad som betald {paid_on.isoformat()}.", "success")
    return redirect(target)


@bp.post("/fakturor/<int:invoice_id>/meddelande")
@login_required
def invoice_note(invoice_id: int):
    user = _user()
    invoice = services.get_invoice_for(db_session, user, invoice_id, INVOICE_EDIT)
    target = url_for(".invoice_detail", invoice_id=invoice_id)
    try:
        services.set_invoice_note(db_session, user, invoice, request.form.get("note", ""))
    except DomainError as exc:
        return _refused(exc, target)
    flash("Meddelandet är sparat.", "success")
    return redirect(target)


@bp.route("/fakturor/<int:invoice_id>/kreditera", methods=["GET", "POST"])
@login_required
def invoice_credit(invoice_id: int):
    user = _user()
    invoice = services.get_invoice_for(db_session, user, invoice_id, INVOICE_EDIT)
    if request.method == "GET":
        return _invoice_page(invoice, credit_form={"open": True})
    whole = request.form.get("scope") == "whole"
    raw_ids = request.form.getlist("line_ids")
    form = {
        "open": True,
        "reason": request.form.get("reason", ""),
        "scope": "whole" if whole else "lines",
        "line_ids": raw_ids,
    }
    if not whole and not all(i.isdigit() for i in raw_ids):
        return _invoice_page(
            invoice, credit_form=form, errors={"line_ids": ["Välj rader i listan."]}, status=422
        )
    try:
        credit_note = services.credit_invoice(
            db_session,
            user,
            invoice,
            line_ids=None if whole else [int(i) for i in raw_ids],
            reason=form["reason"],
        )
    except DomainError as exc:
        db_session.rollback()
        errors = exc.errors or {"line_ids": [exc.message]}
        return _invoice_page(invoice, credit_form=form, errors=errors, status=exc.status_code)
    flash(
        f"Kreditfakturan är skapad som utkast ({len(credit_note.lines)} rader). Godkänn och utfärda den "
        "för att den ska gälla.",
        "success",
    )
    return redirect(url_for(".invoice_detail", invoice_id=credit_note.id))


@bp.post("/fakturor/<int:invoice_id>/godkann")
@login_required
def invoice_approve(invoice_id: int):
    user = _user()
    invoice = services.get_invoice_for(db_session, user, invoice_id, INVOICE_EDIT)
    target = url_for(".invoice_detail", invoice_id=invoice_id)
    try:
        services.approve_invoice(db_session, user, invoice)
    except DomainError as exc:
        return _refused(exc, target)
    flash("Kreditfakturan är godkänd och kan utfärdas.", "success")
    return redirect(target)


@bp.post("/fakturor/<int:invoice_id>/utfarda")
@login_required
def invoice_issue(invoice_id: int):
    user = _user()
    invoice = services.get_invoice_for(db_session, user, invoice_id, INVOICE_EDIT)
    target = url_for(".invoice_detail", invoice_id=invoice_id)
    try:
        services.issue_credit_note(db_session, user, invoice)
    except DomainError as exc:
        return _refused(exc, target)
    flash(f"Kreditfaktura {invoice.display_number} är utfärdad.", "success")
    return redirect(target)


@bp.post("/fakturor/<int:invoice_id>/ta-bort")
@login_required
def invoice_delete(invoice_id: int):
    user = _user()
    invoice = services.get_invoice_for(db_session, user, invoice_id, INVOICE_EDIT)
    original_id = invoice.original_invoice_id
    try:
        services.delete_credit_note(db_session, user, invoice)
    except DomainError as exc:
        return _refused(exc, url_for(".invoice_detail", invoice_id=invoice_id))
    flash("Kreditfakturan (utkastet) är borttagen.", "success")
    return redirect(url_for(".invoice_detail", invoice_id=original_id))
