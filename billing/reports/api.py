"""JSON API of the overviews: GET /api/v1/overview (the user's own municipality) and
GET /api/v1/overview/national (sysadmins; counts and sums only), `?year=` (default the current year)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from billing.reports import services
from billing.reports.schemas import (
    OverviewMunicipalitySchema,
    OverviewNationalSchema,
    OverviewYearQuerySchema,
)
from core.auth import acting_user, require_login
from core.db import db_session

blp = Blueprint(
    "billing_overview",
    __name__,
    url_prefix="/api/v1/overview",
    description="Översikter: vår kommuns avtal, pengar in och ut per år och avtal, tidsfrister, uppföljningar "
    "och avräkningar; den nationella översikten (systemadministratörer, bara antal och summor).",
)
blp.before_request(require_login)


@blp.route("/")
class Overview(MethodView):
    @blp.arguments(OverviewYearQuerySchema, location="query")
    @blp.response(200, OverviewMunicipalitySchema)
    def get(self, args):
        """Vår kommuns översikt för ett år (och de tre åren före)"""
        return services.overview_for_user(db_session, acting_user(), args.get("year"), services.local_today())


@blp.route("/national")
class National(MethodView):
    @blp.arguments(OverviewYearQuerySchema, location="query")
    @blp.response(200, OverviewNationalSchema)
    def get(self, args):
        """Nationell översikt per kommun med totalsumma (systemadministratörer)"""
        return services.national_overview_for_user(
            db_session, acting_user(), args.get("year"), services.local_today()
        )
