"""Pages of the legal review: a version's review (the checklist grouped by section with the pre-check
results, the lawyer's marks in one form, approve and send back), the queue (versions awaiting review,
approvals older than a year), the start-page panel for legal, and the panel on the version page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.routing import BuildError

import contracts
from contracts import versions
from contracts.errors import ApprovalRefused
from contracts.models import (
    REVIEW_STATUS_LABELS,
    VERSION_STATUS_LABELS,
    ContractVersion,
    ReviewSection,
    ReviewStatus,
    VersionStatus,
)
from contracts.permissions import CONTRACT_EDIT, CONTRACT_READ, CONTRACT_REVIEW
from contracts.review import services
from core.auth import acting_user
from core.db import db_session
from core.errors import ValidationFailed
from core.formatting import local_today
from core.permissions import can, can_any

bp = Blueprint("contracts_review", __name__, template_folder=contracts.TEMPLATES)

QUEUE_LIMIT = 200
SECTION_TITLES = {
    ReviewSection.CHECKLIST: "Checklista",
    ReviewSection.HAMBURG: "Hamburgundantaget",
}
ANSWER_LABELS = {"yes": "Ja", "no": "Nej"}
ROW_FIELD_LABELS = {"status": "bedömning", "answer": "uppfyllt", "comment": "kommentar"}

_user = acting_user


def nav_visible(user) -> bool:
    return can(user, CONTRACT_REVIEW)


def optional_url(endpoint: str, **values) -> str | None:
    """A link to another part's page, or None while that part is not installed."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _answer_value(answer: bool | None) -> str:
    return "" if answer is None else ("yes" if answer else "no")


def _stored_values(version: ContractVersion) -> dict[str, str]:
    values = {}
    for row in version.review_rows:
        values[f"row-{row.id}-status"] = row.status.value if row.status else ""
        values[f"row-{row.id}-answer"] = _answer_value(row.answer)
        values[f"row-{row.id}-comment"] = row.comment or ""
    return values


def _error_labels(version: ContractVersion) -> dict[str, str]:
    labels = {}
    for row in version.review_rows:
        for field, label in ROW_FIELD_LABELS.items():
            labels[f"row-{row.id}-{field}"] = f"{row.label}: {label}"
    return labels


def _render(
    version: ContractVersion,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    approve_form: dict | None = None,
    approve_errors: dict | None = None,
    approve_message: str | None = None,
    return_form: dict | None = None,
    return_errors: dict | None = None,
    status: int = 200,
):
    user = _user()
    review = services.get_review(db_session, user, version)
    return render_template(
        "contracts/review/review.html",
        version=version,
        agreement=version.agreement,
        review=review,
        values=values if values is not None else _stored_values(version),
        errors=errors or {},
        error_labels=_error_labels(version),
        approve_form=approve_form or {},
        approve_errors=approve_errors or {},
        approve_message=approve_message,
        return_form=return_form or {},
        return_errors=return_errors or {},
        sections=[(s, SECTION_TITLES[s], review.section(s)) for s in ReviewSection],
        statuses=list(ReviewStatus),
        status_labels=REVIEW_STATUS_LABELS,
        version_status_labels=VERSION_STATUS_LABELS,
        answer_labels=ANSWER_LABELS,
        VersionStatus=VersionStatus,
        optional_url=optional_url,
    ), status


@bp.get("/avtalsversioner/<int:version_id>/granskning")
@login_required
def review(version_id: int):
    version = versions.get_version(db_session, _user(), version_id)
    return _render(version)


def _submitted_marks(version: ContractVersion) -> dict[int, dict]:
    """The rows whose fields the form changed (a row left as it was is not re-marked)."""
    marks = {}
    stored = _stored_values(version)
    for row in version.review_rows:
        prefix = f"row-{row.id}-"
        if prefix + "status" not in request.form:
            continue
        submitted = {f: request.form.get(prefix + f, "").strip() for f in ("status", "answer", "comment")}
        if all(submitted[f] == stored[prefix + f].strip() for f in submitted):
            continue
        marks[row.id] = submitted
    return marks


@bp.post("/avtalsversioner/<int:version_id>/granskning")
@login_required
def review_save(version_id: int):
    user = _user()
    version = versions.get_version(db_session, user, version_id, CONTRACT_REVIEW)
    marks = _submitted_marks(version)
    if not marks:
        flash("Inga ändringar att spara.", "info")
        return redirect(url_for(".review", version_id=version.id))
    try:
        services.mark_rows(db_session, user, version, marks)
    except ValidationFailed as exc:
        values = {
            **_stored_values(version),
            **{k: v for k, v in request.form.items() if k.startswith("row-")},
        }
        return _render(version, values=values, errors=exc.errors, status=422)
    flash(f"Granskningen är sparad ({len(marks)} {'rad' if len(marks) == 1 else 'rader'}).", "success")
    return redirect(url_for(".review", version_id=version.id))


@bp.post("/avtalsversioner/<int:version_id>/granskning/lamna-in")
@login_required
def review_submit(version_id: int):
    user = _user()
    version = versions.get_version(db_session, user, version_id, CONTRACT_EDIT)
    services.submit_for_review(db_session, user, version)
    flash(
        f"Version {version.number} är inlämnad för juridisk granskning. Förkontrollerna är gjorda.", "success"
    )
    return redirect(url_for(".review", version_id=version.id))


@bp.post("/avtalsversioner/<int:version_id>/granskning/forkontroller")
@login_required
def review_refresh(version_id: int):
    user = _user()
    version = versions.get_version(db_session, user, version_id, CONTRACT_EDIT)
    services.refresh_prechecks(db_session, user, version)
    flash("Förkontrollerna är gjorda på nytt.", "success")
    return redirect(url_for(".review", version_id=version.id) + "#forkontroller")


@bp.post("/avtalsversioner/<int:version_id>/granskning/godkann")
@login_required
def review_approve(version_id: int):
    user = _user()
    version = versions.get_version(db_session, user, version_id, CONTRACT_REVIEW)
    form = {"override_reason": request.form.get("override_reason", "")}
    try:
        services.approve_version(db_session, user, version, form["override_reason"] or None)
    except ApprovalRefused as exc:
        return _render(
            version, approve_form=form, approve_errors=exc.errors, approve_message=exc.message, status=409
        )
    except ValidationFailed as exc:
        return _render(version, approve_form=form, approve_errors=exc.errors, status=422)
    message = f"Version {version.number} är godkänd."
    if version.approval_override_reason:
        message += " Skälet att godkänna trots bristerna är sparat i granskningsloggen."
    flash(message, "success")
    return redirect(url_for(".review", version_id=version.id))


@bp.post("/avtalsversioner/<int:version_id>/granskning/tillbaka")
@login_required
def review_return(version_id: int):
    user = _user()
    version = versions.get_version(db_session, user, version_id, CONTRACT_EDIT)
    form = {"reason": request.form.get("reason", "")}
    try:
        services.return_to_draft(db_session, user, version, form["reason"])
    except ValidationFailed as exc:
        return _render(version, return_form=form, return_errors=exc.errors, status=422)
    flash(f"Version {version.number} är tillbaka som utkast och kan ändras.", "success")
    return redirect(url_for(".review", version_id=version.id))


@bp.get("/avtalsgranskning/")
@login_required
def review_queue():
    user = _user()
    today = local_today()
    awaiting_stmt = services.versions_awaiting_review(db_session, user)
    stale_stmt = services.stale_approvals(db_session, user, today)
    stale = db_session.scalars(stale_stmt.limit(QUEUE_LIMIT)).all()
    return render_template(
        "contracts/review/queue.html",
        awaiting=db_session.scalars(awaiting_stmt.limit(QUEUE_LIMIT)).all(),
        awaiting_total=services.count(db_session, awaiting_stmt),
        stale=stale,
        stale_total=services.count(db_session, stale_stmt),
        open_agreements=services.open_version_agreement_ids(db_session, {v.agreement_id for v in stale}),
        cutoff=services.stale_cutoff(today),
        limit=QUEUE_LIMIT,
        today=today,
        may_review=can(user, CONTRACT_REVIEW),
        optional_url=optional_url,
    )


# --- Panels -------------------------------------------------------------------------------------------


def render_start_panel(user) -> str | None:
    """The start page's panel for legal: how many versions await review, how many approvals are old."""
    if user.municipality_id is None or not can(user, CONTRACT_REVIEW):
        return None
    awaiting = services.count(db_session, services.versions_awaiting_review(db_session, user))
    stale = services.count(db_session, services.stale_approvals(db_session, user, local_today()))
    return render_template(
        "contracts/review/_start_panel.html", awaiting=awaiting, stale=stale, municipality=user.municipality
    )


def version_panel(version: ContractVersion) -> dict:
    """What the version page's review panel needs (a Jinja global: the panel is included by terms)."""
    user = _user()
    parties = version.agreement.party_municipality_ids
    rows = list(version.review_rows)
    in_review = version.status == VersionStatus.IN_REVIEW
    return {
        "may_submit": version.is_draft and can_any(user, CONTRACT_EDIT, parties),
        "may_review": can_any(user, CONTRACT_REVIEW, parties),
        "may_read": can_any(user, CONTRACT_READ, parties),
        "rows": len(rows),
        "marked": sum(1 for r in rows if r.status is not None),
        "blocking": len(services.blocking_rows(version)) if in_review else 0,
        "review_url": url_for("contracts_review.review", version_id=version.id),
        "submit_url": url_for("contracts_review.review_submit", version_id=version.id),
    }
