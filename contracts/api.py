"""JSON API of the index values register under /api/v1/index-values (flask-smorest): list with
filters, read, record, revise, and an indexation preview. The same services (and rules) as the pages."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from contracts import services
from contracts.schemas import (
    IndexPreviewQuerySchema,
    IndexPreviewSchema,
    IndexRevisionCreateSchema,
    IndexRevisionSchema,
    IndexValueCreateSchema,
    IndexValueQuerySchema,
    IndexValueSchema,
)
from core.api import paginate_select
from core.auth import acting_user, require_login
from core.db import db_session

blp = Blueprint(
    "index_values",
    __name__,
    url_prefix="/api/v1/index-values",
    description="Indexvärden (PKV, OPI, KPI, AKI per år) med revisionshistorik, och en förhandsberäkning "
    "av nästa års pris. Alla användare läser; ekonomi och jurist registrerar och reviderar.",
)


blp.before_request(require_login)


_user = acting_user


@blp.route("/")
class IndexValueCollection(MethodView):
    @blp.arguments(IndexValueQuerySchema, location="query")
    @blp.response(200, IndexValueSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista indexvärden (filtrera på index, år och status), senaste året först"""
        stmt = services.search_index_values(db_session, _user(), **args)
        return paginate_select(stmt, pagination_parameters)

    @blp.arguments(IndexValueCreateSchema)
    @blp.response(201, IndexValueSchema)
    def post(self, values):
        """Registrera ett indexvärde (ett per index och år; ekonomi eller jurist)"""
        return services.record_index_value(db_session, _user(), values)


@blp.route("/preview")
class IndexPreview(MethodView):
    @blp.arguments(IndexPreviewQuerySchema, location="query")
    @blp.response(200, IndexPreviewSchema)
    def get(self, args):
        """Räkna fram nästa års pris med det registrerade indexvärdet (inget sparas)"""
        return services.preview_indexation(
            db_session, _user(), args["price"], args["index"], args["year"], args["rounding"]
        )


@blp.route("/<int:value_id>")
class IndexValueItem(MethodView):
    @blp.response(200, IndexValueSchema)
    def get(self, value_id):
        """Hämta ett indexvärde med revisionshistorik"""
        return services.get_index_value(db_session, _user(), value_id)


@blp.route("/<int:value_id>/revisions")
class IndexValueRevisions(MethodView):
    @blp.response(200, IndexRevisionSchema(many=True))
    def get(self, value_id):
        """Indexvärdets revisioner, äldsta först"""
        return services.get_index_value(db_session, _user(), value_id).revisions

    @blp.arguments(IndexRevisionCreateSchema)
    @blp.response(201, IndexRevisionSchema)
    @blp.alt_response(409, description="Ett slutligt värde kan inte bli preliminärt igen")
    def post(self, values, value_id):
        """Revidera värdet, fastställ det som slutligt eller rätta ett slutligt värde (kräver skäl)"""
        value = services.get_index_value(db_session, _user(), value_id)
        return services.revise_index_value(
            db_session, _user(), value, values["percent"], values["status"], values.get("reason")
        )
