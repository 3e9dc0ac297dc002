"""Pages of the annual follow-up: the list (agreements x years with status), the follow-up of an
agreement and year (figures, charts, the text sections and recommendation), the confirmation page that
sends it, the PDF (frozen when sent, else UTKAST) and the figures as CSV. A panel on the registry's
agreement page links to it. Everything is scoped to the agreement's parties (404 for others)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import billing
from billing.followup import services
from billing.followup.charts import MONTHS, followup_charts
from billing.followup.schemas import MAX_TEXT
from billing.models import FOLLOWUP_STATUS_LABELS, RECOMMENDATION_LABELS, Recommendation
from billing.permissions import FOLLOWUP_READ
from core.db import db_session
from core.errors import ValidationFailed
from core.formatting import local_today
from core.permissions import can
from core.views import download_response as file_download

bp = Blueprint(
    "billing_followup",
    __name__,
    url_prefix="/uppfoljning",
    template_folder=billing.TEMPLATES,
    static_folder="static",
    static_url_path="/static",
)

FORM_FIELDS = (
    "quality_text",
    "complaints_text",
    "deviations_text",
    "lex_sarah_text",
    "recommendation",
    "recommendation_text",
)


def nav_visible(user) -> bool:
    return user.municipality_id is not None and can(user, FOLLOWUP_READ, user.municipality_id)


def download_response(download: services.Download):
    return file_download(download.content, download.media_type, download.filename)


def _year_arg() -> int | None:
    text = (request.args.get("ar") or "").strip()
    return int(text) if text.isdigit() and len(text) == 4 else None


@bp.get("/")
@login_required
def followup_list():
    year = _year_arg()
    rows = services.followups_for(db_session, current_user, year=year)
    years = sorted({r.year for r in services.followups_for(db_session, current_user)}, reverse=True)
    return render_template("billing/followup/list.html", rows=rows, year=year, years=years)


def _as_form(followup) -> dict:
    if followup is None:
        return {}
    form = {name: getattr(followup, name) or "" for name in FORM_FIELDS}
    form["recommendation"] = followup.recommendation.value if followup.recommendation else ""
    return form


def _render_page(agreement, year: int, followup, form: dict | None = None, errors: dict | None = None):
    figures = services.followup_figures(db_session, agreement, year, followup)
    return render_template(
        "billing/followup/detail.html",
        agreement=agreement,
        year=year,
        followup=followup,
        f=figures,
        charts=followup_charts(figures),
        months=MONTHS,
        may_edit=services.may_edit(current_user, agreement) and not (followup and followup.is_sent),
        form=form if form is not None else _as_form(followup),
        errors=errors or {},
        labels=services.FIELD_LABELS,
        recommendations=list(Recommendation),
        recommendation_labels=RECOMMENDATION_LABELS,
        status_labels=FOLLOWUP_STATUS_LABELS,
        sent_by_name=services.user_name(db_session, followup.sent_by_id) if followup else None,
        max_text=MAX_TEXT,
        pdf=False,
    )


@bp.route("/<int:agreement_id>/<int:year>", methods=["GET", "POST"])
@login_required
def followup_page(agreement_id: int, year: int):
    agreement = services.get_agreement(db_session, current_user, agreement_id)
    followup = services.get_or_create_followup(db_session, current_user, agreement, year)
    if request.method == "POST":
        form = {name: request.form.get(name, "") for name in FORM_FIELDS}
        if followup is None:  # a reader (403 with the reason)
            services.require_edit(current_user, agreement)
        try:
            services.update_followup(db_session, current_user, followup, form)
        except ValidationFailed as exc:
            return _render_page(agreement, year, followup, form, exc.errors), 422
        flash("Texterna och rekommendationen är sparade.", "success")
        return redirect(url_for(".followup_page", agreement_id=agreement.id, year=year) + "#texter")
    return _render_page(agreement, year, followup)


@bp.route("/<int:agreement_id>/<int:year>/skicka", methods=["GET", "POST"])
@login_required
def followup_send(agreement_id: int, year: int):
    agreement = services.get_agreement(db_session, current_user, agreement_id)
    followup = services.get_or_create_followup(db_session, current_user, agreement, year)
    if followup is None:  # a reader (403 with the reason)
        services.require_edit(current_user, agreement)
    errors: dict = {}
    sent_to = services.default_recipients(agreement)
    if request.method == "POST":
        sent_to = request.form.get("sent_to", "")
        try:
            services.send_followup(db_session, current_user, followup, sent_to)
        except ValidationFailed as exc:
            errors = exc.errors or {"sent_to": [exc.message]}
        else:
            flash(
                f"Uppföljningen av {agreement.number} {year} är skickad och låst. "
                f"PDF-filens kontrollsumma (SHA-256): {followup.snapshot_sha256}.",
                "success",
            )
            return redirect(url_for(".followup_page", agreement_id=agreement.id, year=year))
    elif followup.is_sent:
        flash("Uppföljningen är redan skickad.", "info")
        return redirect(url_for(".followup_page", agreement_id=agreement.id, year=year))
    return render_template(
        "billing/followup/send.html",
        agreement=agreement,
        year=year,
        followup=followup,
        sent_to=sent_to,
        errors=errors,
        labels=services.FIELD_LABELS,
        recommendation_labels=RECOMMENDATION_LABELS,
    ), (422 if errors else 200)


@bp.get("/<int:agreement_id>/<int:year>/uppfoljning.pdf")
@login_required
def followup_pdf(agreement_id: int, year: int):
    agreement = services.get_agreement(db_session, current_user, agreement_id)
    services.check_year(agreement, year, local_today())
    followup = services.find_followup(db_session, agreement, year)
    return download_response(services.followup_pdf(db_session, agreement, year, followup))


@bp.get("/<int:agreement_id>/<int:year>/siffror.csv")
@login_required
def followup_csv(agreement_id: int, year: int):
    agreement = services.get_agreement(db_session, current_user, agreement_id)
    services.check_year(agreement, year, local_today())
    followup = services.find_followup(db_session, agreement, year)
    return download_response(services.followup_csv(db_session, agreement, year, followup))


def agreement_panel(user, agreement) -> str | None:
    """The follow-ups section on the registry's agreement page (parties with FOLLOWUP_READ)."""
    if user.municipality_id not in agreement.party_municipality_ids or not can(
        user, FOLLOWUP_READ, user.municipality_id
    ):
        return None
    today = local_today()
    years = list(reversed(services.followup_years(agreement, today)))
    existing = services.followups_by_year(db_session, agreement)
    return render_template(
        "billing/followup/_agreement_panel.html",
        agreement=agreement,
        years=years,
        existing=existing,
        status_labels=FOLLOWUP_STATUS_LABELS,
    )
