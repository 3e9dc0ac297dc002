"""JSON API of case transfers under /api/v1/transfers (flask-smorest)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.api import paginate_select
from core.auth import acting_user, require_login
from core.db import db_session
from registry.transfers import services
from registry.transfers.schemas import (
    InsightEntrySchema,
    TransferCreateSchema,
    TransferEventSchema,
    TransferQuerySchema,
    TransferSchema,
    TransitionSchema,
)

blp = Blueprint(
    "transfers",
    __name__,
    url_prefix="/api/v1/transfers",
    description=(
        "Ärendeöverlämningar vid jäv. Den begärande kommunen behåller ansvaret; ärendet identifieras bara "
        "med sin pseudonyma referens. Bara parterna ser en överlämning (andra får 404). Varje läsning av "
        "en överlämning eller dess händelser av en användare i den utförande kommunen loggas i insynsloggen."
    ),
)


blp.before_request(require_login)


_user = acting_user


@blp.route("/")
class TransferCollection(MethodView):
    @blp.arguments(TransferQuerySchema, location="query")
    @blp.response(200, TransferSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista överlämningar där den egna kommunen är part (filter: status, roll, referens, obesvarade)"""
        stmt = services.search_transfers(db_session, _user(), **args)
        return paginate_select(stmt, pagination_parameters)

    @blp.arguments(TransferCreateSchema)
    @blp.response(201, TransferSchema)
    def post(self, values):
        """Begär en överlämning som den egna kommunen (administratör eller handläggare)"""
        return services.request_transfer(db_session, _user(), values)


@blp.route("/<int:transfer_id>")
class TransferItem(MethodView):
    @blp.response(200, TransferSchema)
    def get(self, transfer_id):
        """Hämta en överlämning (loggas i insynsloggen när den utförande kommunen läser)"""
        return services.get_transfer_for(db_session, _user(), transfer_id, channel="api")


@blp.route("/<int:transfer_id>/transition")
class TransferTransition(MethodView):
    @blp.arguments(TransitionSchema)
    @blp.response(200, TransferSchema)
    def post(self, values, transfer_id):
        """Ta nästa steg: `target` är den nya statusen; för att återuppta, statusen före avbrottet.

        Otillåtna steg ger 409, steg som den andra parten ska ta eller roller utan skrivrätt 403.
        """
        user = _user()
        transfer = services.lookup_transfer(db_session, user, transfer_id)
        services.transition_transfer(
            db_session, user, transfer, values["target"], on=values.get("on"), comment=values.get("comment")
        )
        return transfer


@blp.route("/<int:transfer_id>/events")
class TransferEvents(MethodView):
    @blp.response(200, TransferEventSchema(many=True))
    @blp.paginate()
    def get(self, transfer_id, pagination_parameters):
        """Överlämningens händelser, äldst först (loggas i insynsloggen som en läsning)"""
        transfer = services.get_transfer_for(db_session, _user(), transfer_id, channel="api")
        return paginate_select(services.list_events(transfer), pagination_parameters)


@blp.route("/<int:transfer_id>/insight")
class TransferInsight(MethodView):
    @blp.response(200, InsightEntrySchema(many=True))
    @blp.paginate()
    def get(self, transfer_id, pagination_parameters):
        """Insynsloggen: den utförande kommunens läsningar, nyast först (båda parter kan läsa den)"""
        transfer = services.lookup_transfer(db_session, _user(), transfer_id)
        return paginate_select(services.list_insight(transfer), pagination_parameters)
