"""Pages of indexing: a version's next-year prices as a reviewable change with the button that creates
the amendment (/avtalsversioner/<id>/indexering), and the adjustments billing picks up after a
revised index value (/indexjusteringar/)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import contracts
from contracts.indexation import ROUNDING_LABELS
from contracts.indexing import services
from contracts.indexing.permissions import INDEX_ADJUSTMENT_READ
from contracts.indexing.schemas import (
    IndexAdjustmentQuerySchema,
    IndexationApplySchema,
    IndexationQuerySchema,
)
from contracts.models import INDEX_KIND_SHORT, INDEX_STATUS_LABELS
from contracts.permissions import CONTRACT_EDIT
from contracts.versions import get_version
from core.db import db_session
from core.errors import Conflict, ValidationFailed
from core.permissions import can, can_any
from core.services import load_or_raise
from core.views import Page, page_arg

bp = Blueprint("contracts_indexing", __name__, template_folder=contracts.TEMPLATES)

LABELS = {"year": "År", "index": "Indexklausul", "version": "Version", "agreement_id": "Avtal"}


def adjustments_visible(user) -> bool:
    return can(user, INDEX_ADJUSTMENT_READ)


def _common() -> dict:
    return {
        "kind_short": INDEX_KIND_SHORT,
        "status_labels": INDEX_STATUS_LABELS,
        "rounding_labels": ROUNDING_LABELS,
        "labels": LABELS,
    }


def _render_indexation(version, year_text: str, year: int | None, errors=None, status=200, explicit=True):
    """The page; with a year, the preview (its errors shown, 422 when the user chose the year)."""
    errors = dict(errors or {})
    preview = None
    if year is not None:
        try:
            preview = services.preview_indexation(db_session, current_user, version, year)
        except ValidationFailed as exc:
            errors = errors or exc.errors or {"year": [exc.message]}
            if explicit and status < 400:  # a refusal already answered (409) stays the answer
                status = 422
    return render_template(
        "contracts/indexing/indexation.html",
        version=version,
        form={"year": year_text},
        errors=errors,
        preview=preview,
        rule_text=services.rule_in_words(version),
        may_edit=can_any(current_user, CONTRACT_EDIT, version.agreement.party_municipality_ids),
        **_common(),
    ), status


@bp.get("/avtalsversioner/<int:version_id>/indexering")
@login_required
def indexation(version_id: int):
    version = get_version(db_session, current_user, version_id)
    raw = request.args.get("year", "").strip()
    try:
        year = load_or_raise(IndexationQuerySchema(), {"year": raw} if raw else {})["year"]
    except ValidationFailed as exc:
        return _render_indexation(version, raw, None, exc.errors, 422)
    return _render_indexation(version, raw or str(year), year, explicit=bool(raw))


@bp.post("/avtalsversioner/<int:version_id>/indexering")
@login_required
def indexation_apply(version_id: int):
    version = get_version(db_session, current_user, version_id, CONTRACT_EDIT)
    raw = request.form.get("year", "").strip()
    try:
        year = load_or_raise(IndexationApplySchema(), {"year": raw} if raw else {})["year"]
    except ValidationFailed as exc:
        return _render_indexation(version, raw, None, exc.errors, 422)
    try:
        amendment = services.apply_indexation(db_session, current_user, version, year)
    except Conflict as exc:
        return _render_indexation(version, raw, year, exc.errors or {"version": [exc.message]}, 409)
    except ValidationFailed as exc:
        return _render_indexation(version, raw, year, exc.errors or {"year": [exc.message]}, 422)
    flash(
        f"Tilläggsavtalet ”{amendment.title}” (version {amendment.number}) är skapat som utkast med "
        f"{len(amendment.price_indexations)} nya priser. Det gäller först när det har granskats och godkänts.",
        "success",
    )
    return redirect(url_for("contracts_terms.version_detail", version_id=amendment.id))


@bp.get("/indexjusteringar/")
@login_required
def adjustments():
    raw = {"agreement_id": request.args.get("avtal") or None, "year": request.args.get("ar") or None}
    try:
        args = load_or_raise(IndexAdjustmentQuerySchema(), {k: v for k, v in raw.items() if v is not None})
        errors = {}
    except ValidationFailed as exc:
        args, errors = {}, exc.errors
    stmt = services.search_index_adjustments(current_user, **args)
    page = Page(stmt, page_arg())
    return render_template(
        "contracts/indexing/adjustments.html",
        page=page,
        rows=[services.adjustment_of(item) for item in page.items],
        filters=raw,
        errors=errors,
        **_common(),
    ), (422 if errors else 200)


def panel_context(version) -> dict:
    """What `_version_panel.html` shows (a Jinja global, since the terms page includes the panel)."""
    user = current_user._get_current_object()
    return {
        "rule_text": services.rule_in_words(version),
        "indexations": services.recorded_indexations(version),
        "may_index": version.is_approved
        and version.index_kind is not None
        and can_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids),
        "kind_short": INDEX_KIND_SHORT,
        "status_labels": INDEX_STATUS_LABELS,
        "rounding_labels": ROUNDING_LABELS,
    }
