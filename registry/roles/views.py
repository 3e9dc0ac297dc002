"""Pages of shared roles: list, registration, the role with its cost split and allocation history,
a new allocation from a date, and editing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import registry
from core.db import db_session, swedish_sort_key
from core.errors import ValidationFailed
from core.formatting import format_date
from core.permissions import can, require
from core.services import load_or_raise
from core.views import Page
from registry.models import Agreement, AgreementParty, PartyRole, SharedRole
from registry.permissions import SHARED_ROLE_EDIT
from registry.roles import services
from registry.roles.costs import (
    SET_STATE_LABELS,
    AllocationSet,
    allocation_history,
    allocations_on,
    monthly_cost,
)
from registry.roles.schemas import AllocationSetCreateSchema

bp = Blueprint(
    "registry_roles", __name__, url_prefix="/gemensamma-tjanster", template_folder=registry.TEMPLATES
)

ROLE_FIELDS = (
    "title",
    "holder_name",
    "period_start",
    "period_end",
    "salary_per_month",
    "po_percent",
    "overhead_per_month",
    "delegations",
)
FIELD_LABELS = {
    "agreement_id": "Avtal",
    "employer_municipality_id": "Arbetsgivare",
    "title": "Titel",
    "holder_name": "Innehavare",
    "period_start": "Period från",
    "period_end": "Period till",
    "salary_per_month": "Månadslön",
    "po_percent": "PO-pålägg",
    "overhead_per_month": "Overhead per månad",
    "delegations": "Delegationer",
    "valid_from": "Gäller från",
    "allocations": "Fördelning",
}


def _page_number() -> int:
    try:
        return int(request.args.get("sida", 1))
    except ValueError:
        return 1


def _decimal_text(value: Decimal | None) -> str:
    return "" if value is None else str(value).replace(".", ",")


def _percent_field(municipality_id: int) -> str:
    return f"percent_{municipality_id}"


def _allocation_rows(parties: list[int]) -> list[dict]:
    """The filled-in percent fields of the form, in the order of `parties`."""
    rows = []
    for municipality_id in parties:
        text = request.form.get(_percent_field(municipality_id), "").strip()
        if text:
            rows.append({"municipality_id": municipality_id, "percent": text})
    return rows


def _form_errors(errors: dict, rows: list[dict]) -> dict:
    """Schema and service errors keyed by form field: per-row errors go next to that municipality."""
    flat: dict = {}
    for key, messages in errors.items():
        if key == "allocations" and isinstance(messages, dict):
            for index, row_errors in messages.items():
                field = _percent_field(rows[int(index)]["municipality_id"])
                flat[field] = [m for ms in row_errors.values() for m in ms]
        else:
            flat[key] = messages
    return flat


def _party_ids(agreement: Agreement) -> list[int]:
    return [p.municipality_id for p in _parties(agreement)]


def _parties(agreement: Agreement) -> list[AgreementParty]:
    """Parties in the order the pages show them: the host first, then the buyers by name."""
    return sorted(
        agreement.parties, key=lambda p: (p.role != PartyRole.HOST, swedish_sort_key(p.municipality.name))
    )


def _history_columns(role: SharedRole, history: list[AllocationSet]) -> list[tuple[int, str]]:
    """(municipality_id, name) of the history table: the agreement's parties, then any municipality
    that had a share earlier but is no longer a party."""
    columns = [(p.municipality_id, p.municipality.name) for p in _parties(role.agreement)]
    known = {municipality_id for municipality_id, _ in columns}
    for allocation_set in history:
        for row in allocation_set.rows:
            if row.municipality_id not in known:
                known.add(row.municipality_id)
                columns.append((row.municipality_id, row.municipality.name))
    return columns


# --- List ---------------------------------------------------------------------------------------


@bp.get("/")
@login_required
def shared_role_list():
    q = request.args.get("q", "").strip()
    stmt = services.search_shared_roles(db_session, current_user, q or None)
    page = Page(stmt, _page_number())
    today = services.local_today()
    return render_template(
        "registry/roles/list.html",
        page=page,
        q=q,
        in_force={role.id: allocations_on(role, today) for role in page.items},
        monthly_cost=monthly_cost,
        may_register=can(current_user, SHARED_ROLE_EDIT, current_user.municipality_id),
    )


# --- Register -----------------------------------------------------------------------------------


@bp.route("/ny", methods=["GET", "POST"])
@login_required
def shared_role_create():
    require(current_user, SHARED_ROLE_EDIT, current_user.municipality_id)
    agreements = services.agreements_for_new_role(db_session, current_user)
    try:
        agreement_id = int(request.args["avtal"]) if request.args.get("avtal") else None
    except ValueError:
        agreement_id = None
    agreement = services.find_agreement_for_role(db_session, current_user, agreement_id)
    if agreement is None:
        error = (
            {"agreement_id": ["Välj ett avtal som din kommun är part i."]}
            if request.args.get("avtal")
            else {}
        )
        return render_template("registry/roles/choose_agreement.html", agreements=agreements, errors=error), (
            422 if error else 200
        )

    party_ids = _party_ids(agreement)
    errors: dict = {}
    form: dict = {}
    if request.method == "POST":
        form = request.form.to_dict()
        rows = _allocation_rows(party_ids)
        data = {f: request.form.get(f, "") for f in ROLE_FIELDS}
        data |= {"agreement_id": agreement.id, "allocations": rows}
        try:
            role = services.register_shared_role(db_session, current_user, data)
        except ValidationFailed as exc:
            errors = _form_errors(exc.errors, rows)
        else:
            flash(f"Den gemensamma tjänsten ”{role.title}” är registrerad.", "success")
            return redirect(url_for(".shared_role_detail", role_id=role.id))
    return render_template(
        "registry/roles/form.html",
        role=None,
        agreement=agreement,
        parties=_parties(agreement),
        form=form,
        errors=errors,
        labels=FIELD_LABELS,
    ), (422 if errors else 200)


# --- Detail and new allocation ------------------------------------------------------------------


def _shown_set(
    role: SharedRole, history: list[AllocationSet], today: dt.date
) -> tuple[AllocationSet | None, str]:
    """The set to show the cost split for, and a sentence saying which it is."""
    in_force = allocations_on(role, today)
    if in_force is not None:
        return in_force, f"Fördelningen som gäller i dag ({format_date(today)})."
    if not history:
        return None, "Tjänsten har ingen fördelning."
    if today < history[0].valid_from:
        return history[
            0
        ], f"Tjänsten börjar {format_date(history[0].valid_from)}; fördelningen gäller från dess."
    return history[-1], f"Tjänsten upphörde {format_date(role.period_end)}; den sista fördelningen visas."


def _render_detail(role: SharedRole, form: dict, errors: dict, status: int = 200):
    today = services.local_today()
    history = allocation_history(role)
    cost = monthly_cost(role)
    shown, shown_note = _shown_set(role, history, today)
    if not form and shown is not None:
        form = {_percent_field(mid): _decimal_text(p) for mid, p in shown.percents.items()}
    return render_template(
        "registry/roles/detail.html",
        role=role,
        today=today,
        history=list(reversed(history)),
        columns=_history_columns(role, history),
        shown=shown,
        shown_note=shown_note,
        cost=cost,
        po_amount=cost - role.salary_per_month - role.overhead_per_month,
        own_share=shown.share_of(current_user.municipality_id) if shown else None,
        set_state_labels=SET_STATE_LABELS,
        can_edit=services.can_edit(current_user, role),
        parties=_parties(role.agreement),
        form=form,
        errors=errors,
        labels=FIELD_LABELS,
    ), status


@bp.get("/<int:role_id>")
@login_required
def shared_role_detail(role_id: int):
    role = services.get_shared_role(db_session, current_user, role_id)
    return _render_detail(role, {}, {})


@bp.post("/<int:role_id>/fordelning")
@login_required
def shared_role_allocate(role_id: int):
    role = services.get_shared_role(db_session, current_user, role_id)
    require(current_user, SHARED_ROLE_EDIT, role.employer_municipality_id)
    rows = _allocation_rows(_party_ids(role.agreement))
    form = request.form.to_dict()
    try:
        values = load_or_raise(
            AllocationSetCreateSchema(),
            {"valid_from": request.form.get("valid_from") or None, "allocations": rows},
        )
        change = services.set_allocations(
            db_session,
            current_user,
            role,
            values["valid_from"],
            services.percents_from_rows(values["allocations"]),
        )
    except ValidationFailed as exc:
        return _render_detail(role, form, _form_errors(exc.errors, rows), 422)
    message = f"Den nya fördelningen gäller från {format_date(change.allocation_set.valid_from)}."
    if change.replaced:
        dates = ", ".join(format_date(d) for d in change.replaced)
        message += f" Den planerade fördelningen från {dates} är ersatt."
    flash(message, "success")
    return redirect(url_for(".shared_role_detail", role_id=role.id) + "#fordelningar")


# --- Edit ---------------------------------------------------------------------------------------


@bp.route("/<int:role_id>/redigera", methods=["GET", "POST"])
@login_required
def shared_role_edit(role_id: int):
    role = services.get_shared_role(db_session, current_user, role_id)
    require(current_user, SHARED_ROLE_EDIT, role.employer_municipality_id)
    errors: dict = {}
    if request.method == "POST":
        form = {f: request.form.get(f, "") for f in ROLE_FIELDS}
        try:
            services.update_shared_role(db_session, current_user, role, form)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(f"Ändringarna av ”{role.title}” är sparade.", "success")
            return redirect(url_for(".shared_role_detail", role_id=role.id))
    else:
        form = {
            "title": role.title,
            "holder_name": role.holder_name or "",
            "period_start": format_date(role.period_start),
            "period_end": format_date(role.period_end),
            "salary_per_month": _decimal_text(role.salary_per_month),
            "po_percent": _decimal_text(role.po_percent),
            "overhead_per_month": _decimal_text(role.overhead_per_month),
            "delegations": role.delegations or "",
        }
    return render_template(
        "registry/roles/form.html",
        role=role,
        agreement=role.agreement,
        parties=[],
        form=form,
        errors=errors,
        labels=FIELD_LABELS,
    ), (422 if errors else 200)
