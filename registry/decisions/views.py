"""HTML pages of decisions and the IVO watch: the watch list of the user's municipality, recording a
decision under a transfer or an agreement, the decision page with the performer's feedback forms,
and the quarter's IVO report with its CSV file. Pages validate with the same services as the API."""

from __future__ import annotations

import datetime as dt
import math

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import login_required

from core.auth import acting_user
from core.db import db_session
from core.errors import ValidationFailed
from core.permissions import can, can_any, require, require_any
from core.services import load_or_raise
from core.views import page_arg
from registry import TEMPLATES
from registry.dates import three_months_after
from registry.decisions import services
from registry.decisions.schemas import IvoReportQuerySchema
from registry.decisions.watch import STATE_LABELS, WatchRole, case_reference, watch_of
from registry.models import CASE_AREA_LABELS, TRANSFER_STATUS_LABELS
from registry.permissions import DECISION_EDIT

bp = Blueprint(
    "registry_decisions",
    __name__,
    url_prefix="/beslut",
    template_folder=TEMPLATES,
    static_folder="static",
)

PAGE_SIZE = 50
ROLE_PARAMS = {"ansvarar": WatchRole.RESPONSIBLE, "utfor": WatchRole.PERFORMING}
LABELS = {
    "transfer_id": "Ärendeöverlämning",
    "agreement_id": "Avtal",
    "legal_basis": "Lagrum",
    "insats_type": "Typ av insats",
    "decision_date": "Beslutsdatum",
    "execution_date": "Verkställighetsdatum",
    "delay_reason": "Skäl till dröjsmål",
    "ivo_person_ref": "IVO-personreferens",
    "offered_on": "Datum för erbjudandet",
    "declined": "Tackade nej",
    "note": "Anteckning",
    "interrupted_on": "Avbrottsdatum",
    "reason": "Skäl till avbrottet",
    "resumed_on": "Återupptaget datum",
    "closed_on": "Avslutsdatum",
    "closing_reason": "Skäl till avslut",
    "year": "År",
    "quarter": "Kvartal",
}
DECISION_FIELDS = (
    "legal_basis",
    "insats_type",
    "decision_date",
    "execution_date",
    "delay_reason",
    "ivo_person_ref",
)
EDIT_FIELDS = ("legal_basis", "insats_type", "decision_date", "delay_reason", "ivo_person_ref")


class ListPage:
    """A page of an already computed list (the watch state is computed per decision, not in SQL)."""

    def __init__(self, items: list, page: int, size: int = PAGE_SIZE):
        self.total = len(items)
        self.pages = max(1, math.ceil(self.total / size))
        self.page = min(max(1, page), self.pages)
        self.items = items[(self.page - 1) * size : self.page * size]
        self.first = (self.page - 1) * size + 1 if self.total else 0
        self.last = (self.page - 1) * size + len(self.items)

    def url(self, page: int) -> str:
        args = request.args.to_dict()
        args["sida"] = page
        return url_for(request.endpoint, **(request.view_args or {}), **args)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) > 2**31 - 1:
        abort(404)
    return int(value)


def _form_data(names: tuple[str, ...], checkboxes: tuple[str, ...] = ()) -> dict:
    data = {name: request.form.get(name, "") for name in names}
    data.update({name: request.form.get(name) == "on" for name in checkboxes})
    return data


_user = acting_user


# --- The watch list -----------------------------------------------------------------------------


@bp.get("/")
@login_required
def watch_list():
    state = request.args.get("status") or None
    if state not in STATE_LABELS:
        state = None
    reportable_only = request.args.get("rapporteras") == "1"
    role_param = request.args.get("roll") if request.args.get("roll") in ROLE_PARAMS else "ansvarar"
    today = services.today()
    rows = services.decisions_for_watch(
        db_session, _user(), today, state=state, reportable_only=reportable_only, role=ROLE_PARAMS[role_param]
    )
    everything = (
        rows
        if state is None and not reportable_only
        else services.decisions_for_watch(db_session, _user(), today, role=ROLE_PARAMS[role_param])
    )
    return render_template(
        "registry/decisions/list.html",
        page=ListPage(rows, page_arg()),
        state=state,
        reportable_only=reportable_only,
        role_param=role_param,
        state_labels=STATE_LABELS,
        total=len(everything),
        reportable_count=sum(1 for w in everything if w.reportable),
        can_record=can(_user(), DECISION_EDIT),
        today=today,
    )


# --- Recording a decision -----------------------------------------------------------------------


@bp.route("/ny", methods=["GET", "POST"])
@login_required
def decision_new():
    transfer_id, agreement_id = _int_arg("overlamning"), _int_arg("avtal")
    user = _user()
    if transfer_id is None and agreement_id is None:
        require(user, DECISION_EDIT)
        return render_template(
            "registry/decisions/choose.html",
            transfers=services.transfers_open_for_decisions(db_session, user),
            agreements=services.agreements_open_for_decisions(db_session, user),
            transfer_status_labels=TRANSFER_STATUS_LABELS,
            case_area_labels=CASE_AREA_LABELS,
        )
    context = services.decision_context(db_session, user, transfer_id, None if transfer_id else agreement_id)
    errors: dict = {}
    form: dict = {}
    if request.method == "POST":
        form = _form_data(DECISION_FIELDS)
        data = dict(form, transfer_id=transfer_id, agreement_id=None if transfer_id else agreement_id)
        try:
            decision = services.record_decision(db_session, user, data)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(f"Beslutet för {case_reference(decision)} är registrerat.", "success")
            return redirect(url_for(".decision_detail", decision_id=decision.id))
    return render_template(
        "registry/decisions/new.html",
        context=context,
        bases=services.legal_bases(db_session),
        form=form,
        errors=errors,
        labels=LABELS,
        today=services.today(),
    ), (422 if errors else 200)


# --- One decision -------------------------------------------------------------------------------


def _render_detail(decision, errors: dict | None = None, form: dict | None = None, status: int = 200):
    user = _user()
    today = services.today()
    watch = watch_of(decision, today)
    return render_template(
        "registry/decisions/detail.html",
        w=watch,
        d=decision,
        can_edit=can_any(user, DECISION_EDIT, services.decision_party_ids(decision)),
        is_performer=decision.transfer is not None
        and decision.transfer.performing_municipality_id == user.municipality_id,
        errors=errors or {},
        form=form or {},
        labels=LABELS,
        today=today,
        three_months_after=three_months_after,
    ), status


@bp.get("/<int:decision_id>")
@login_required
def decision_detail(decision_id: int):
    decision = services.get_decision_for(db_session, _user(), decision_id, channel="sida")
    return _render_detail(decision)


@bp.route("/<int:decision_id>/andra", methods=["GET", "POST"])
@login_required
def decision_edit(decision_id: int):
    user = _user()
    decision = services.get_decision_for(
        db_session, user, decision_id, channel="sida" if request.method == "GET" else None
    )
    require_any(user, DECISION_EDIT, services.decision_party_ids(decision))
    errors: dict = {}
    if request.method == "POST":
        form = _form_data(EDIT_FIELDS)
        try:
            services.update_decision(db_session, user, decision, form)
        except ValidationFailed as exc:
            errors = exc.errors
            decision = _shown_despite_error(decision_id)
        else:
            flash("Ändringarna är sparade.", "success")
            return redirect(url_for(".decision_detail", decision_id=decision.id))
    else:
        form = {
            "legal_basis": decision.legal_basis.code,
            "insats_type": decision.insats_type,
            "decision_date": decision.decision_date.isoformat(),
            "delay_reason": decision.delay_reason or "",
            "ivo_person_ref": decision.ivo_person_ref or "",
        }
    return render_template(
        "registry/decisions/edit.html",
        w=watch_of(decision, services.today()),
        d=decision,
        bases=services.legal_bases(db_session),
        form=form,
        errors=errors,
        labels=LABELS,
    ), (422 if errors else 200)


def _shown_despite_error(decision_id: int):
    """A form answered with an error still shows the decision: discard the failed change, log the
    view in the insight log like any other, and let the request keep (commit) only that row."""
    db_session.rollback()
    g.commit_on_error = True
    return services.get_decision_for(db_session, _user(), decision_id, channel="sida")


def _feedback(
    decision_id: int, action, names: tuple[str, ...], message: str, checkboxes: tuple[str, ...] = ()
):
    """Run one of the detail page's forms: on success back to the page, else the page with messages."""
    user = _user()
    decision = services.get_decision_for(db_session, user, decision_id)
    form = _form_data(names, checkboxes)
    try:
        action(db_session, user, decision, form)
    except ValidationFailed as exc:
        return _render_detail(_shown_despite_error(decision_id), exc.errors, form, 422)
    flash(message, "success")
    return redirect(url_for(".decision_detail", decision_id=decision.id))


@bp.post("/<int:decision_id>/erbjudanden")
@login_required
def offer_add(decision_id: int):
    return _feedback(
        decision_id, services.add_offer, ("offered_on", "note"), "Erbjudandet är registrerat.", ("declined",)
    )


@bp.post("/<int:decision_id>/verkstallighet")
@login_required
def execution_record(decision_id: int):
    return _feedback(
        decision_id, services.record_execution, ("execution_date",), "Verkställighetsdatumet är registrerat."
    )


@bp.post("/<int:decision_id>/avbrott")
@login_required
def interruption_add(decision_id: int):
    return _feedback(
        decision_id, services.add_interruption, ("interrupted_on", "reason"), "Avbrottet är registrerat."
    )


@bp.post("/<int:decision_id>/avbrott/<int:interruption_id>/aterupptag")
@login_required
def interruption_resume(decision_id: int, interruption_id: int):
    def resume(session, user, decision, data):
        return services.resume_interruption(session, user, decision, interruption_id, data)

    return _feedback(decision_id, resume, ("resumed_on",), "Att insatsen återupptogs är registrerat.")


@bp.post("/<int:decision_id>/avsluta")
@login_required
def decision_close(decision_id: int):
    return _feedback(
        decision_id, services.close_decision, ("closed_on", "closing_reason"), "Beslutet är avslutat."
    )


# --- The IVO report -----------------------------------------------------------------------------


def _report_args(today: dt.date) -> tuple[int, int]:
    if not request.args.get("ar") and not request.args.get("kvartal"):
        return services.default_report_quarter(today)
    values = load_or_raise(
        IvoReportQuerySchema(),
        {"year": request.args.get("ar", ""), "quarter": request.args.get("kvartal", "")},
    )
    return values["year"], values["quarter"]


@bp.get("/ivo")
@login_required
def ivo_report():
    today = services.today()
    notice = services.window_notice(today)
    try:
        year, quarter = _report_args(today)
    except ValidationFailed as exc:
        return render_template(
            "registry/decisions/ivo.html",
            report=None,
            notice=notice,
            errors=exc.errors,
            labels=LABELS,
            form={"ar": request.args.get("ar", ""), "kvartal": request.args.get("kvartal", "")},
            today=today,
        ), 422
    report = services.ivo_report_for(db_session, _user(), year, quarter, today)
    return render_template(
        "registry/decisions/ivo.html",
        report=report,
        notice=notice,
        errors={},
        labels=LABELS,
        form={"ar": year, "kvartal": quarter},
        today=today,
        offers_text=services.offers_text,
    )


@bp.get("/ivo.csv")
@login_required
def ivo_csv():
    today = services.today()
    year, quarter = _report_args(today)
    report = services.ivo_report_for(db_session, _user(), year, quarter, today)
    filename = services.ivo_csv_filename(report.municipality, year, quarter)
    return Response(
        services.ivo_csv_bytes(report.rows),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Type": "text/csv; charset=utf-8",
            "Cache-Control": "no-store",
        },
    )
