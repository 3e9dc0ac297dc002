"""Pages and downloads of the exports: an invoice's PDF and Peppol XML, a run's files (PDF and Peppol
as ZIP, SIE, CSV), SIE and CSV for a period, and /bokforing with the accounting configuration that
the SIE file needs. Downloads of issued invoices serve the stored bytes; drafts are rendered on the
fly as UTKAST. Everything is scoped to the seller and buyer (404 for others)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup
from marshmallow import ValidationError
from sqlalchemy import select

import billing
from billing.exports import accounting, services
from billing.exports.common import get_invoice, get_run
from billing.exports.schemas import (
    AccountingSettingsSchema,
    CounterpartyCodeSchema,
    ExportQuerySchema,
    PeriodExportQuerySchema,
    RevenueAccountSchema,
)
from billing.models import Invoice, InvoiceRun
from billing.permissions import INVOICE_READ
from core.auth import acting_user
from core.db import db_session, swedish
from core.errors import DomainError, NotFound, ValidationFailed
from core.formatting import local_today
from core.models import Municipality
from core.permissions import can
from core.views import download_response as file_download

bp = Blueprint("billing_exports", __name__, template_folder=billing.TEMPLATES)

SETTINGS_LABELS = {
    "receivable_account": "Kundfordringar (konto)",
    "revenue_account": "Intäktskonto (standard)",
    "output_vat_account": "Utgående moms (konto)",
    "voucher_series": "Verifikationsserie",
    "counterparty_dimension": "Motpartsdimension",
    "counterparty_dimension_name": "Motpartsdimensionens namn",
    "responsibility_dimension": "Ansvarsdimension",
    "responsibility_dimension_name": "Ansvarsdimensionens namn",
    "responsibility_code": "Ansvarskod",
    "service_type_code": "Tjänstetyp (kod)",
    "account": "Intäktskonto",
    "counterparty_municipality_id": "Kommun",
    "code": "Motpartskod",
    "format": "Format",
    "from": "Från",
    "to": "Till och med",
}
SETTINGS_FIELDS = list(SETTINGS_LABELS)[:9]


def download_response(download: services.Download):
    """A file download: never cached (an invoice is the parties' business only), not sniffed."""
    return file_download(download.content, download.media_type, download.filename)


def _format_arg() -> str:
    try:
        return ExportQuerySchema().load(request.args.to_dict())["format"]
    except ValidationError as exc:
        raise ValidationFailed("Välj format: pdf, peppol, sie eller csv.", errors=exc.messages) from exc


# --- Downloads ---------------------------------------------------------------------------------------


@bp.get("/fakturor/<int:invoice_id>/faktura.pdf")
@login_required
def invoice_pdf(invoice_id: int):
    invoice = get_invoice(db_session, acting_user(), invoice_id)
    return download_response(services.invoice_pdf(db_session, invoice))


@bp.get("/fakturor/<int:invoice_id>/peppol.xml")
@login_required
def invoice_peppol(invoice_id: int):
    invoice = get_invoice(db_session, acting_user(), invoice_id)
    return download_response(services.invoice_peppol(db_session, invoice))


@bp.get("/fakturakorningar/<int:run_id>/export")
@login_required
def run_export(run_id: int):
    run = get_run(db_session, acting_user(), run_id)
    fmt = _format_arg()
    try:
        return download_response(services.run_export(db_session, run, fmt))
    except accounting.AccountingNotConfigured as exc:
        # The page where it is fixed, with the message saying what to fill in.
        flash(exc.message, "error")
        return redirect(url_for(".accounting_page") + "#installningar")
    except DomainError as exc:
        # The message says it all; the field keys are for the API.
        exc.errors = {}
        raise


# --- Accounting page with the period export -------------------------------------------------------------


def _municipality_choices(own_id: int | None) -> list[Municipality]:
    return list(
        db_session.scalars(
            select(Municipality).where(Municipality.id != own_id).order_by(swedish(Municipality.name))
        )
    )


def _render_accounting(status: int = 200, **forms):
    user = acting_user()
    municipality_id = user.municipality_id
    if municipality_id is None or not (accounting.can_read_accounting(user)):
        raise NotFound()
    settings = accounting.get_settings(db_session, municipality_id)
    today = local_today()
    first_of_month = today.replace(day=1)
    last_month_end = first_of_month - dt.timedelta(days=1)
    period_form = forms.get("period_form") or {
        "from": last_month_end.replace(day=1).isoformat(),
        "to": last_month_end.isoformat(),
        "format": "sie",
    }
    settings_form = forms.get("settings_form")
    if settings_form is None:
        settings_form = (
            {k: getattr(settings, k) for k in SETTINGS_FIELDS} if settings else {"voucher_series": "F"}
        )
    return render_template(
        "billing/exports/accounting.html",
        municipality=db_session.get(Municipality, municipality_id),
        settings=settings,
        may_edit=accounting.can_edit_accounting(user),
        may_export=can(user, INVOICE_READ, municipality_id),
        revenue_accounts=accounting.revenue_accounts(db_session, municipality_id),
        counterparties=accounting.counterparty_rows(db_session, municipality_id),
        municipalities=_municipality_choices(municipality_id),
        labels=SETTINGS_LABELS,
        settings_form=settings_form,
        settings_errors=forms.get("settings_errors") or {},
        revenue_form=forms.get("revenue_form") or {},
        revenue_errors=forms.get("revenue_errors") or {},
        counterparty_form=forms.get("counterparty_form") or {},
        counterparty_errors=forms.get("counterparty_errors") or {},
        period_form=period_form,
        period_errors=forms.get("period_errors") or {},
    ), status


@bp.get("/bokforing")
@login_required
def accounting_page():
    return _render_accounting()


@bp.get("/bokforing/export")
@login_required
def period_export():
    """SIE or CSV of the user's municipality's issued invoices in a period (by invoice date)."""
    user = acting_user()
    form = request.args.to_dict()
    try:
        values = PeriodExportQuerySchema().load(form)
    except ValidationError as exc:
        return _render_accounting(422, period_form=form, period_errors=exc.messages)
    try:
        download = services.period_export(
            db_session, user, values["date_from"], values["date_to"], values["format"]
        )
    except accounting.AccountingNotConfigured as exc:
        flash(exc.message, "error")
        return _render_accounting(422, period_form=form)
    except ValidationFailed as exc:
        flash(exc.message, "error")
        return _render_accounting(422, period_form=form)
    except services.NothingIssued as exc:
        flash(exc.message, "error")
        return _render_accounting(409, period_form=form)
    return download_response(download)


def _form_data(fields: list[str]) -> dict:
    return {k: request.form.get(k, "") for k in fields}


@bp.post("/bokforing/installningar")
@login_required
def accounting_settings():
    form = _form_data(SETTINGS_FIELDS)
    try:
        values = AccountingSettingsSchema().load(form)
    except ValidationError as exc:
        return _render_accounting(422, settings_form=form, settings_errors=exc.messages)
    accounting.save_settings(db_session, acting_user(), values)
    flash("Bokföringsinställningarna är sparade.", "success")
    return redirect(url_for(".accounting_page"))


@bp.post("/bokforing/intaktskonton")
@login_required
def revenue_account_add():
    form = _form_data(["service_type_code", "account"])
    try:
        values = RevenueAccountSchema().load(form)
    except ValidationError as exc:
        return _render_accounting(422, revenue_form=form, revenue_errors=exc.messages)
    row = accounting.set_revenue_account(
        db_session, acting_user(), values["service_type_code"], values["account"]
    )
    flash(f"Tjänstetypen {row.service_type_code} bokförs på konto {row.account}.", "success")
    return redirect(url_for(".accounting_page") + "#intaktskonton")


@bp.post("/bokforing/intaktskonton/<int:row_id>/ta-bort")
@login_required
def revenue_account_delete(row_id: int):
    accounting.delete_revenue_account(db_session, acting_user(), row_id)
    flash("Intäktskontot är borttaget; tjänstetypen bokförs på standardkontot.", "success")
    return redirect(url_for(".accounting_page") + "#intaktskonton")


@bp.post("/bokforing/motpartskoder")
@login_required
def counterparty_code_add():
    form = _form_data(["counterparty_municipality_id", "code"])
    data = {**form, "active": True}
    try:
        values = CounterpartyCodeSchema().load(data)
        row = accounting.set_counterparty_code(
            db_session,
            acting_user(),
            values["counterparty_municipality_id"],
            values["code"],
            values["active"],
        )
    except ValidationError as exc:
        return _render_accounting(422, counterparty_form=form, counterparty_errors=exc.messages)
    except ValidationFailed as exc:
        return _render_accounting(422, counterparty_form=form, counterparty_errors=exc.errors)
    flash(f"{row.counterparty} har motpartskod {row.code}.", "success")
    return redirect(url_for(".accounting_page") + "#motpartskoder")


@bp.post("/bokforing/motpartskoder/<int:row_id>/ta-bort")
@login_required
def counterparty_code_delete(row_id: int):
    accounting.delete_counterparty_code(db_session, acting_user(), row_id)
    flash("Motpartskoden är borttagen.", "success")
    return redirect(url_for(".accounting_page") + "#motpartskoder")


# --- Panels on the invoicing part's pages ---------------------------------------------------------------


def invoice_panel(user, invoice: Invoice) -> str | None:
    """Download links for an invoice page (detail_panels("invoice", invoice))."""
    if not can(user, INVOICE_READ) or user.municipality_id not in (
        invoice.seller_municipality_id,
        invoice.buyer_municipality_id,
    ):
        return None
    return Markup(render_template("billing/exports/_invoice_panel.html", invoice=invoice))


def run_panel(user, run: InvoiceRun) -> str | None:
    """Download links for a run page (detail_panels("invoice_run", run))."""
    if not can(user, INVOICE_READ, run.seller_municipality_id):
        return None
    return Markup(render_template("billing/exports/_run_panel.html", run=run, formats=services.FORMAT_LABELS))


def nav_visible(user) -> bool:
    return user.municipality_id is not None and accounting.can_read_accounting(user)
