"""Pages and downloads of the overviews: /oversikt (the user's own municipality: admin, finance, legal,
auditor) and /oversikt/nationell (sysadmins), each as HTML, PDF and CSV for the year in `?ar=`."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required
from marshmallow import ValidationError
from werkzeug.routing import BuildError

import billing
from billing.reports import outputs, services
from billing.reports.charts import national_charts, overview_charts
from billing.reports.schemas import YearQuerySchema
from core.auth import acting_user
from core.db import db_session
from core.errors import ValidationFailed
from core.views import download_response
from registry.deadlines.services import GROUP_LABELS, group_deadlines

bp = Blueprint("billing_reports", __name__, template_folder=billing.TEMPLATES)

# Pages of other parts the overview links to, tried in order; an endpoint that is not registered (or
# takes other arguments) gives no link rather than an error.
FOLLOWUP_ENDPOINTS = (("billing_followup.followup_page", ("agreement_id", "year")),)
RECONCILIATION_ENDPOINTS = (("billing_reconciliation.year_detail", ("agreement_id", "year")),)
AGREEMENT_ENDPOINT = "registry_agreements.agreement_detail"


def _first_url(candidates, values: dict) -> str | None:
    for endpoint, names in candidates:
        try:
            return url_for(endpoint, **{name: values[name] for name in names})
        except BuildError:
            continue
    return None


def followup_url(agreement_id: int, year: int) -> str | None:
    return _first_url(FOLLOWUP_ENDPOINTS, {"agreement_id": agreement_id, "year": year})


def reconciliation_url(agreement_id: int, year: int) -> str | None:
    return _first_url(RECONCILIATION_ENDPOINTS, {"agreement_id": agreement_id, "year": year})


def agreement_url(agreement_id: int) -> str | None:
    return _first_url(((AGREEMENT_ENDPOINT, ("agreement_id",)),), {"agreement_id": agreement_id})


def deadline_url(deadline) -> str | None:
    if deadline.endpoint is None:
        return None
    try:
        return url_for(deadline.endpoint, **deadline.args)
    except BuildError:
        return None


def _year() -> int | None:
    try:
        return YearQuerySchema().load(request.args.to_dict())["year"]
    except ValidationError as exc:
        raise ValidationFailed(
            "Året ska anges med fyra siffror, till exempel 2025.", errors=exc.messages
        ) from exc


def _overview():
    return services.overview_for_user(db_session, acting_user(), _year(), services.local_today())


def _national():
    return services.national_overview_for_user(db_session, acting_user(), _year(), services.local_today())


@bp.get("/oversikt")
@login_required
def overview():
    o = _overview()
    return render_template(
        "billing/reports/overview.html",
        o=o,
        charts=overview_charts(o),
        year_choices=services.selectable_years(o.today),
        deadline_groups=group_deadlines(o.deadlines),
        group_labels=GROUP_LABELS,
        followup_url=followup_url,
        reconciliation_url=reconciliation_url,
        agreement_url=agreement_url,
        deadline_url=deadline_url,
    )


@bp.get("/oversikt/oversikt.pdf")
@login_required
def overview_pdf():
    o = _overview()
    return download_response(
        outputs.overview_pdf(o), outputs.PDF_MEDIA_TYPE, outputs.overview_filename(o, "pdf")
    )


@bp.get("/oversikt/oversikt.csv")
@login_required
def overview_csv():
    o = _overview()
    return download_response(
        outputs.overview_csv(o), outputs.CSV_MEDIA_TYPE, outputs.overview_filename(o, "csv")
    )


@bp.get("/oversikt/nationell")
@login_required
def national():
    o = _national()
    return render_template(
        "billing/reports/national.html",
        o=o,
        charts=national_charts(o),
        year_choices=services.selectable_years(o.today),
    )


@bp.get("/oversikt/nationell/nationell-oversikt.pdf")
@login_required
def national_pdf():
    o = _national()
    return download_response(
        outputs.national_pdf(o), outputs.PDF_MEDIA_TYPE, outputs.national_filename(o, "pdf")
    )


@bp.get("/oversikt/nationell/nationell-oversikt.csv")
@login_required
def national_csv():
    o = _national()
    return download_response(
        outputs.national_csv(o), outputs.CSV_MEDIA_TYPE, outputs.national_filename(o, "csv")
    )
