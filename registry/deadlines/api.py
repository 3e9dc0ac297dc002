"""JSON API of the deadlines: GET /api/v1/deadlines for the signed-in user's municipality."""

from __future__ import annotations

from dataclasses import asdict

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, Page

from core.auth import require_login
from core.db import db_session
from registry.deadlines import services
from registry.deadlines.schemas import DeadlineQuerySchema, DeadlineSchema
from registry.deadlines.views import deadline_url

blp = Blueprint(
    "deadlines",
    __name__,
    url_prefix="/api/v1/deadlines",
    description=(
        "Tidsfrister för den egna kommunen: uppsägningsdatum, avtal som löper ut, ärendeöverlämningar "
        "som väntar på svar, beslut nära eller över tremånadersgränsen och IVO:s rapporteringsperioder."
    ),
)


blp.before_request(require_login)


@blp.route("/")
class DeadlineCollection(MethodView):
    @blp.arguments(DeadlineQuerySchema, location="query")
    @blp.response(200, DeadlineSchema(many=True))
    @blp.paginate(Page)
    def get(self, args):
        """Tidsfristerna för den egna kommunen, sorterade på datum"""
        deadlines = services.deadlines_for_user(
            db_session, current_user, services.local_today(), args["horizon_days"]
        )
        return [
            asdict(d)
            | {
                "kind_label": d.kind_label,
                "severity_label": d.severity_label,
                "group": d.group,
                "url": deadline_url(d),
            }
            for d in deadlines
        ]
