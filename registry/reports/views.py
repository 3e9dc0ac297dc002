"""HTML pages and downloads of the registry's reports: the quarter's IVO report as PDF, and the
de-identified statistics for fullmäktige as a page, PDF and CSV. Who sees what is decided by
`registry.decisions.services.ivo_report_for` (DECISION_READ, the user's own municipality)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, render_template, request
from flask_login import login_required

from core.auth import acting_user
from core.db import db_session
from core.errors import ValidationFailed
from core.services import load_or_raise
from registry import TEMPLATES
from registry.decisions import services as decisions
from registry.decisions.schemas import IvoReportQuerySchema
from registry.reports import services

bp = Blueprint("registry_reports", __name__, url_prefix="/rapporter", template_folder=TEMPLATES)


def _quarter(today: dt.date) -> tuple[int, int]:
    """?ar=&kvartal= (validated, 422 with Swedish messages), else the quarter a reporter most likely wants."""
    if not request.args.get("ar") and not request.args.get("kvartal"):
        return decisions.default_report_quarter(today)
    values = load_or_raise(
        IvoReportQuerySchema(),
        {"year": request.args.get("ar", ""), "quarter": request.args.get("kvartal", "")},
    )
    return values["year"], values["quarter"]


def _download(content: bytes, mimetype: str, filename: str, charset: str | None = None) -> Response:
    return Response(
        content,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Type": f"{mimetype}; charset={charset}" if charset else mimetype,
            "Cache-Control": "no-store",
        },
    )


@bp.get("/ivo.pdf")
@login_required
def ivo_pdf():
    today = decisions.today()
    year, quarter = _quarter(today)
    report = decisions.ivo_report_for(db_session, acting_user(), year, quarter, today)
    return _download(
        services.ivo_pdf(db_session, report), "application/pdf", services.ivo_pdf_filename(report)
    )


@bp.get("/statistik")
@login_required
def statistics():
    today = decisions.today()
    try:
        year, quarter = _quarter(today)
    except ValidationFailed as exc:
        return render_template(
            "registry/reports/statistics.html",
            stats=None,
            errors=exc.errors,
            form={"ar": request.args.get("ar", ""), "kvartal": request.args.get("kvartal", "")},
        ), 422
    stats = services.statistics_for(db_session, acting_user(), year, quarter, today)
    return render_template(
        "registry/reports/statistics.html",
        stats=stats,
        errors={},
        form={"ar": year, "kvartal": quarter},
        column_labels=services.COLUMN_LABELS,
        chart=services.statistics_chart(stats),
    )


@bp.get("/statistik.pdf")
@login_required
def statistics_pdf():
    today = decisions.today()
    year, quarter = _quarter(today)
    stats = services.statistics_for(db_session, acting_user(), year, quarter, today)
    return _download(
        services.statistics_pdf(stats), "application/pdf", services.statistics_filename(stats, "pdf")
    )


@bp.get("/statistik.csv")
@login_required
def statistics_csv():
    today = decisions.today()
    year, quarter = _quarter(today)
    stats = services.statistics_for(db_session, acting_user(), year, quarter, today)
    return _download(
        services.statistics_csv_bytes(stats), "text/csv", services.statistics_filename(stats, "csv"), "utf-8"
    )
