"""Pages of case transfers: the list, the request form and the detail page with its timeline, next
steps and insight log. Pages validate with the same schemas and services as the API."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import registry
from core.db import db_session
from core.errors import Conflict, ValidationFailed
from core.permissions import can, can_any, require
from core.services import load_or_raise
from core.views import Page, page_arg
from registry.models import (
    CASE_AREA_LABELS,
    EXECUTOR_LABELS,
    JAV_GROUND_LABELS,
    RESOLUTION_TYPE_LABELS,
    TRANSFER_STATUS_LABELS,
    CaseArea,
    Executor,
    JavGround,
    ResolutionType,
    TransferStatus,
)
from registry.permissions import DECISION_EDIT, TRANSFER_EDIT, TRANSFER_READ
from registry.transfers import services
from registry.transfers.schemas import TransferQuerySchema

bp = Blueprint(
    "registry_transfers", __name__, url_prefix="/overlamningar", template_folder=registry.TEMPLATES
)

PAGE_SIZE = 25
INSIGHT_PAGE_SIZE = 25
FORM_FIELDS = (
    "performing_municipality_id",
    "agreement_id",
    "jav_ground",
    "resolution_type",
    "case_area",
    "executor",
    "delegation_decision",
    "note",
    "requested_on",
)
FORM_LABELS = {
    "performing_municipality_id": "Utförande kommun",
    "agreement_id": "Avtal",
    "jav_ground": "Jävsgrund",
    "resolution_type": "Lösning",
    "case_area": "Ärendeområde",
    "executor": "Verkställer beslutet",
    "delegation_decision": "Delegationsbeslut",
    "note": "Anteckning",
    "requested_on": "Begärd den",
}
STEP_LABELS = {"target": "Steg", "on": "Datum", "comment": "Kommentar"}
# The list page's Swedish query parameters ("sida" is the page number).
SIDE_PARAMS = {"begarda": "requesting", "utforda": "performing"}
RESOLUTION_HELP = {
    ResolutionType.OWN_OTHER_UNIT: "en annan arbetsgrupp eller ett annat kontor, där ingen har koppling till "
    "klienten, handlägger ärendet.",
    ResolutionType.HOURLY_CASEWORKER: "den egna nämnden anställer tillfälligt, per timme, en handläggare från "
    "en annan kommun; besluten fattas i den egna nämndens namn.",
    ResolutionType.CONSULTANT: "en inhyrd konsult utreder på uppdrag av den egna nämnden, som också fattar "
    "besluten.",
    ResolutionType.EXTERNAL_DELEGATION: "den andra kommunen utreder enligt ett samverkansavtal, och den egna "
    "nämnden delegerar beslutanderätten till en namngiven anställd där (extern delegering). Kräver ett avtal.",
}


def _labels() -> dict:
    return {
        "status_labels": TRANSFER_STATUS_LABELS,
        "jav_ground_labels": JAV_GROUND_LABELS,
        "resolution_labels": RESOLUTION_TYPE_LABELS,
        "case_area_labels": CASE_AREA_LABELS,
        "executor_labels": EXECUTOR_LABELS,
        "channel_labels": services.CHANNEL_LABELS,
    }


@bp.get("/")
@login_required
def transfer_list():
    require(current_user, TRANSFER_READ)
    raw = {
        "status": request.args.get("status") or None,
        "side": SIDE_PARAMS.get(request.args.get("roll", "")),
        "q": request.args.get("q", "").strip() or None,
        "waiting_for_answer": request.args.get("vantar") == "1",
    }
    filters = load_or_raise(TransferQuerySchema(), {k: v for k, v in raw.items() if v is not None})
    stmt = services.search_transfers(db_session, current_user, **filters)
    return render_template(
        "registry/transfers/list.html",
        page=Page(stmt, page_arg(), PAGE_SIZE),
        args=request.args,
        awaiting=services.count_awaiting_our_answer(db_session, current_user),
        can_request=can(current_user, TRANSFER_EDIT, current_user.municipality_id or -1),
        today=services.local_today(),
        days_waiting=services.days_waiting,
        answer_days=services.answer_days,
        statuses=list(TransferStatus),
        **_labels(),
    )


@bp.route("/ny", methods=["GET", "POST"])
@login_required
def transfer_create():
    require(current_user, TRANSFER_EDIT, current_user.municipality_id or -1)
    errors: dict = {}
    form: dict = {"requested_on": services.local_today().isoformat()}
    if request.method == "POST":
        form = {name: request.form.get(name, "") for name in FORM_FIELDS}
        try:
            transfer = services.request_transfer(db_session, current_user, form)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(
                f"Överlämningen är begärd med referensen {transfer.reference}. "
                f"{transfer.performing_municipality.name} ser den nu och kan svara.",
                "success",
            )
            return redirect(url_for(".transfer_detail", transfer_id=transfer.id))
    partners, others = services.performing_choices(db_session, current_user)
    return render_template(
        "registry/transfers/form.html",
        form=form,
        errors=errors,
        labels=FORM_LABELS,
        partners=partners,
        others=others,
        agreements=services.agreement_choices(db_session, current_user),
        jav_grounds=list(JavGround),
        resolution_types=list(ResolutionType),
        resolution_help=RESOLUTION_HELP,
        case_areas=list(CaseArea),
        executors=list(Executor),
        **_labels(),
    ), (422 if errors else 200)


def _render_detail(transfer, status: int = 200, errors=None, step_form=None, error_message=None):
    side = services.side_of(current_user, transfer)
    return render_template(
        "registry/transfers/detail.html",
        t=transfer,
        side=side,
        events=db_session.scalars(services.list_events(transfer)).all(),
        steps=services.steps_for(current_user, transfer),
        all_steps=services.next_steps(transfer),
        may_edit=can_any(current_user, TRANSFER_EDIT, transfer.party_municipality_ids),
        rules=services.TRANSITION_RULES,
        insight=Page(services.list_insight(transfer), page_arg(), INSIGHT_PAGE_SIZE),
        errors=errors or {},
        step_form=step_form or {},
        error_message=error_message,
        step_labels=STEP_LABELS,
        today=services.local_today(),
        days_waiting=services.days_waiting(transfer),
        answer_days=services.answer_days(transfer),
        decisions=_decisions_of(transfer),
        may_record_decision=can_any(current_user, DECISION_EDIT, transfer.party_municipality_ids)
        and transfer.status not in (TransferStatus.REQUESTED, TransferStatus.DECLINED),
        **_labels(),
    ), status


def _decisions_of(transfer):
    """The decisions under the transfer with their three-month state (see registry.decisions)."""
    from registry.decisions.services import decisions_for_transfer

    return decisions_for_transfer(db_session, current_user, transfer.id)


@bp.get("/<int:transfer_id>")
@login_required
def transfer_detail(transfer_id: int):
    transfer = services.get_transfer_for(db_session, current_user, transfer_id, channel="sida")
    return _render_detail(transfer)


def _shown_despite_error(transfer_id: int):
    """A step answered with an error still shows the transfer: discard the failed step, log the view
    in the insight log like any other, and let the request keep (commit) only that row."""
    db_session.rollback()
    g.commit_on_error = True
    return services.get_transfer_for(db_session, current_user, transfer_id, channel="sida")


@bp.post("/<int:transfer_id>/status")
@login_required
def transfer_transition(transfer_id: int):
    transfer = services.lookup_transfer(db_session, current_user, transfer_id)
    step_form = {name: request.form.get(name, "") for name in ("target", "on", "comment")}
    try:
        event = services.transition_transfer(
            db_session,
            current_user,
            transfer,
            step_form["target"],
            on=step_form["on"] or None,
            comment=step_form["comment"],
        )
    except ValidationFailed as exc:
        # Nothing is changed; show the page with the message by the field (the view is logged).
        return _render_detail(_shown_despite_error(transfer_id), 422, errors=exc.errors, step_form=step_form)
    except Conflict as exc:  # e.g. the other party moved the transfer since the page was loaded
        return _render_detail(_shown_despite_error(transfer_id), exc.status_code, error_message=exc.message)
    flash(
        f"{transfer.reference}: {TRANSFER_STATUS_LABELS[event.from_status]} → "
        f"{TRANSFER_STATUS_LABELS[event.to_status]} är registrerat.",
        "success",
    )
    return redirect(url_for(".transfer_detail", transfer_id=transfer.id))
