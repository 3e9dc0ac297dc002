"""JSON API of indexing (flask-smorest): a version's next-year prices as a preview, creating the
amendment with them, and the adjustments billing picks up. The same services (and rules) as the pages."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from contracts.indexing import services
from contracts.indexing.schemas import (
    IndexAdjustmentQuerySchema,
    IndexAdjustmentSchema,
    IndexationAmendmentSchema,
    IndexationApplySchema,
    IndexationPreviewSchema,
    IndexationQuerySchema,
)
from contracts.permissions import CONTRACT_EDIT
from contracts.versions import get_version
from core.api import paginate_select
from core.auth import acting_user, require_login
from core.db import db_session

blp = Blueprint(
    "contracts_indexing_api",
    __name__,
    url_prefix="/api/v1",
    description="Indexuppräkning av en avtalsversions priser (förhandsgranskning och tilläggsavtal som utkast) "
    "och indexjusteringar efter reviderade indexvärden. Du ser bara avtal där din kommun är part; "
    "andra ger 404.",
)

blp.before_request(require_login)

_user = acting_user


@blp.route("/contract-versions/<int:version_id>/indexation")
class VersionIndexation(MethodView):
    @blp.arguments(IndexationQuerySchema, location="query")
    @blp.response(200, IndexationPreviewSchema)
    def get(self, args, version_id):
        """Nya priser för ett år med versionens indexklausul: gammalt pris, index, exakt och avrundat nytt
        pris, skillnad (inget sparas)"""
        version = get_version(db_session, _user(), version_id)
        return services.preview_indexation(db_session, _user(), version, args["year"])

    @blp.arguments(IndexationApplySchema)
    @blp.response(201, IndexationAmendmentSchema)
    @blp.alt_response(
        409, description="Versionen är inte godkänd och gällande, eller ett tilläggsavtal är öppet"
    )
    def post(self, values, version_id):
        """Skapa tilläggsavtalet ”Indexuppräkning <år>” som utkast med de nya priserna (administratör,
        ekonomi eller jurist i en kommun som är part); det granskas juridiskt innan det gäller"""
        version = get_version(db_session, _user(), version_id, CONTRACT_EDIT)
        return services.apply_indexation(db_session, _user(), version, values["year"])


@blp.route("/index-adjustments")
class IndexAdjustments(MethodView):
    @blp.arguments(IndexAdjustmentQuerySchema, location="query")
    @blp.response(200, IndexAdjustmentSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Indexjusteringar: priser i godkända versioner vars indexvärde har reviderats eller fastställts
        (använt och aktuellt index, använt och omräknat pris, skillnad per enhet; ekonomi och jurist)"""
        stmt = services.search_index_adjustments(_user(), **args)
        return [services.adjustment_of(item) for item in paginate_select(stmt, pagination_parameters)]
