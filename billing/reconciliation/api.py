"""JSON API of the year-end reconciliation under /api/v1/reconciliations: report the actual cost,
compute, approve and issue, read. The host's finance acts; parties read (buyers: issued ones);
everyone else gets 404."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from billing.errors import ReconciliationNotFound
from billing.models import Reconciliation
from billing.reconciliation import services
from billing.reconciliation.schemas import (
    ReconciliationCostInSchema,
    ReconciliationCostSchema,
    ReconciliationDetailSchema,
    ReconciliationQuerySchema,
    ReconciliationSchema,
)
from core.api import paginate_select
from core.auth import acting_user, require_login
from core.db import db_session

blp = Blueprint(
    "billing_reconciliations",
    __name__,
    url_prefix="/api/v1/reconciliations",
    description="Avräkning vid årets slut av preliminär debitering: verklig kostnad, slutliga andelar per "
    "köpare, skillnaden mot det preliminärt fakturerade som förslag till faktura eller kreditfaktura, "
    "godkänn och utfärda (kan inte ångras). Ekonomi i utförarkommunen.",
)
blp.before_request(require_login)
_user = acting_user


@blp.route("/")
class ReconciliationCollection(MethodView):
    @blp.arguments(ReconciliationQuerySchema, location="query")
    @blp.response(200, ReconciliationSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista avräkningar vi får se (utförare: alla; köpare: utfärdade)"""
        stmt = services.reconciliations_for(db_session, _user())
        if args.get("year"):
            stmt = stmt.where(Reconciliation.year == args["year"])
        if args.get("agreement_id"):
            stmt = stmt.where(Reconciliation.agreement_id == args["agreement_id"])
        return paginate_select(stmt, pagination_parameters)


@blp.route("/<int:reconciliation_id>")
class ReconciliationItem(MethodView):
    @blp.response(200, ReconciliationDetailSchema)
    def get(self, reconciliation_id):
        """Hämta en avräkning med raderna per köpare och föreslagna fakturor"""
        return services.get_reconciliation_for(db_session, _user(), reconciliation_id)


@blp.route("/<int:reconciliation_id>/approve")
class ReconciliationApprove(MethodView):
    @blp.response(200, ReconciliationDetailSchema)
    def post(self, reconciliation_id):
        """Godkänn och utfärda årets avräkning: fakturor och kreditfakturor får nummer (kan inte ångras)"""
        user = _user()
        reconciliation = services.get_reconciliation_for(db_session, user, reconciliation_id)
        services.approve_reconciliation(db_session, user, reconciliation)
        return reconciliation


@blp.route("/agreements/<int:agreement_id>/<int:year>/cost")
class ReconciliationCost(MethodView):
    @blp.response(200, ReconciliationCostSchema)
    def get(self, agreement_id, year):
        """Hämta årets rapporterade verkliga kostnad (utförarens ekonomi)"""
        user = _user()
        agreement = services.get_agreement_for(db_session, user, agreement_id)
        view = services.year_view(db_session, user, agreement, year)
        if view.cost is None:
            raise ReconciliationNotFound("Ingen verklig kostnad är rapporterad för året.")
        return view.cost

    @blp.arguments(ReconciliationCostInSchema)
    @blp.response(200, ReconciliationCostSchema)
    def put(self, values, agreement_id, year):
        """Rapportera eller rätta årets verkliga kostnad (låst när avräkningen är utfärdad eller
        uppföljningen skickad)"""
        user = _user()
        agreement = services.get_agreement_for(db_session, user, agreement_id)
        return services.report_cost(db_session, user, agreement, year, values["amount"], values.get("note"))


@blp.route("/agreements/<int:agreement_id>/<int:year>/compute")
class ReconciliationCompute(MethodView):
    @blp.response(200, ReconciliationDetailSchema(many=True))
    def post(self, agreement_id, year):
        """Räkna fram (eller om) årets avräkning: ett förslag per preliminär komponent"""
        user = _user()
        agreement = services.get_agreement_for(db_session, user, agreement_id)
        return services.compute_reconciliation(db_session, user, agreement, year)
