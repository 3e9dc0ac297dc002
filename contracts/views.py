"""Pages of the index values register: the list with a filter, recording a value, a value with its
revision history and a revise form, and the "räkna fram nytt pris" preview."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import contracts
from contracts import services
from contracts.errors import IndexRevisionRefused
from contracts.indexation import ROUNDING_LABELS, Rounding
from contracts.models import (
    INDEX_KIND_LABELS,
    INDEX_KIND_SHORT,
    INDEX_STATUS_LABELS,
    IndexKind,
    IndexStatus,
)
from contracts.permissions import INDEX_EDIT, INDEX_READ
from contracts.schemas import IndexPreviewQuerySchema, IndexValueQuerySchema
from core.db import db_session
from core.errors import ValidationFailed
from core.formatting import LOCALE
from core.permissions import can, require
from core.services import load_or_raise
from core.views import Page

bp = Blueprint(
    "contracts_index_values", __name__, url_prefix="/indexvarden", template_folder=contracts.TEMPLATES
)

VALUE_FIELDS = ("kind", "edition", "year", "percent", "status", "source", "published_on")
REVISION_FIELDS = ("percent", "status", "reason")
PREVIEW_FIELDS = ("price", "index", "year", "rounding")
FIELD_LABELS = {
    "kind": "Index",
    "index": "Index",
    "edition": "Utgåva",
    "year": "År",
    "percent": "Förändring i procent",
    "status": "Status",
    "source": "Källa",
    "published_on": "Publicerad",
    "reason": "Skäl",
    "price": "Föregående års pris",
    "rounding": "Avrundning",
}


def format_percent(value: Decimal | None) -> str:
    """sv-SE percent with two to four decimals: `3,10 %`, `2,455 %`, `-1,50 %`."""
    if value is None:
        return ""
    text = format_decimal(value, format="#,##0.00##", locale=LOCALE).replace("\u2212", "-")
    return f"{text}\u00a0%"


def format_exact_amount(value: Decimal | None) -> str:
    """An unrounded amount with every decimal it has (at least two): `1 009,1325`."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.00########", locale=LOCALE).replace("\u2212", "-")


def nav_visible(user) -> bool:
    return can(user, INDEX_READ)


def _page_number() -> int:
    try:
        return int(request.args.get("sida", 1))
    except ValueError:
        return 1


def _choices() -> dict:
    return {
        "kinds": list(IndexKind),
        "kind_labels": INDEX_KIND_LABELS,
        "kind_short": INDEX_KIND_SHORT,
        "statuses": list(IndexStatus),
        "status_labels": INDEX_STATUS_LABELS,
        "roundings": list(Rounding),
        "rounding_labels": ROUNDING_LABELS,
        "labels": FIELD_LABELS,
    }


@bp.get("/")
@login_required
def index_value_list():
    require(current_user, INDEX_READ)
    raw = {"kind": request.args.get("index") or None, "year": request.args.get("ar") or None}
    try:
        args = load_or_raise(IndexValueQuerySchema(), {k: v for k, v in raw.items() if v is not None})
        errors = {}
    except ValidationFailed as exc:
        args, errors = {}, exc.errors
    stmt = services.search_index_values(db_session, current_user, **args)
    return render_template(
        "contracts/list.html",
        page=Page(stmt, _page_number()),
        filters=raw,
        errors=errors,
        may_edit=can(current_user, INDEX_EDIT),
        **_choices(),
    ), (422 if errors else 200)


@bp.route("/ny", methods=["GET", "POST"])
@login_required
def index_value_create():
    require(current_user, INDEX_EDIT)
    errors: dict = {}
    form: dict = {"status": IndexStatus.PRELIMINARY.value}
    if request.method == "POST":
        form = {f: request.form.get(f, "") for f in VALUE_FIELDS}
        try:
            value = services.record_index_value(db_session, current_user, form)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(f"{INDEX_KIND_SHORT[value.kind]} {value.year} är registrerat.", "success")
            return redirect(url_for(".index_value_detail", value_id=value.id))
    return render_template("contracts/form.html", form=form, errors=errors, **_choices()), (
        422 if errors else 200
    )


def _render_detail(value, form: dict, errors: dict, status: int = 200):
    return render_template(
        "contracts/detail.html",
        value=value,
        form=form,
        errors=errors,
        may_edit=can(current_user, INDEX_EDIT),
        **_choices(),
    ), status


@bp.get("/<int:value_id>")
@login_required
def index_value_detail(value_id: int):
    value = services.get_index_value(db_session, current_user, value_id)
    return _render_detail(
        value, {"percent": str(value.percent).replace(".", ","), "status": value.status.value}, {}
    )


@bp.post("/<int:value_id>/revidera")
@login_required
def index_value_revise(value_id: int):
    value = services.get_index_value(db_session, current_user, value_id)
    require(current_user, INDEX_EDIT)
    form = {f: request.form.get(f, "") for f in REVISION_FIELDS}
    try:
        revision = services.revise_index_value(
            db_session, current_user, value, form["percent"], form["status"] or None, form["reason"] or None
        )
    except IndexRevisionRefused as exc:
        return _render_detail(value, form, exc.errors, 409)
    except ValidationFailed as exc:
        return _render_detail(value, form, exc.errors, 422)
    flash(
        f"{revision.kind_label}: {INDEX_KIND_SHORT[value.kind]} {value.year} är nu {format_percent(value.percent)}.",
        "success",
    )
    return redirect(url_for(".index_value_detail", value_id=value.id))


@bp.get("/berakna")
@login_required
def index_preview():
    require(current_user, INDEX_READ)
    form = {f: request.args.get(f, "") for f in PREVIEW_FIELDS}
    form["rounding"] = form["rounding"] or Rounding.ORE.value
    errors: dict = {}
    preview = None
    if request.args.get("price") is not None:
        try:
            args = load_or_raise(IndexPreviewQuerySchema(), form)
            preview = services.preview_indexation(
                db_session, current_user, args["price"], args["index"], args["year"], args["rounding"]
            )
        except ValidationFailed as exc:
            errors = exc.errors
    return render_template(
        "contracts/preview.html", form=form, errors=errors, preview=preview, **_choices()
    ), (422 if errors else 200)
