"""JSON API of decisions and the IVO watch under /api/v1/decisions (flask-smorest)."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from core.auth import acting_user, require_login
from core.db import db_session
from registry.decisions import services
from registry.decisions.schemas import (
    DecisionCloseSchema,
    DecisionCreateSchema,
    DecisionExecutionSchema,
    DecisionInterruptionCreateSchema,
    DecisionLegalBasisSchema,
    DecisionOfferCreateSchema,
    DecisionQuerySchema,
    DecisionResumeSchema,
    DecisionSchema,
    DecisionUpdateSchema,
    IvoReportQuerySchema,
    IvoReportSchema,
)
from registry.decisions.watch import watch_of

blp = Blueprint(
    "decisions",
    __name__,
    url_prefix="/api/v1/decisions",
    description="Gynnande beslut och tremånadersbevakningen: erbjudanden, verkställighet, avbrott, avslut "
    "och kvartalsrapporten till IVO. Den ansvariga (begärande) kommunen och, vid en ärendeöverlämning, "
    "den utförande kommunen ser och uppdaterar ett beslut; andra får 404.",
)


blp.before_request(require_login)


_user = acting_user


def _watch(decision):
    return watch_of(decision, services.today())


def _decision(decision_id: int, channel: str | None = None):
    return services.get_decision_for(db_session, _user(), decision_id, channel=channel)


@blp.route("/")
class DecisionCollection(MethodView):
    @blp.arguments(DecisionQuerySchema, location="query")
    @blp.response(200, DecisionSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista beslut där vår kommun ansvarar eller utför, rapporteringspliktiga först"""
        rows = services.decisions_for_watch(
            db_session,
            _user(),
            services.today(),
            state=args["state"],
            reportable_only=args["reportable"],
            role=args["role"],
            transfer_id=args["transfer_id"],
            agreement_id=args["agreement_id"],
        )
        pagination_parameters.item_count = len(rows)
        first = pagination_parameters.first_item
        return rows[first : first + pagination_parameters.page_size]

    @blp.arguments(DecisionCreateSchema)
    @blp.response(201, DecisionSchema)
    def post(self, values):
        """Registrera ett beslut under en ärendeöverlämning (transfer_id) eller ett avtal (agreement_id)"""
        return _watch(services.record_decision(db_session, _user(), values))


@blp.route("/<int:decision_id>")
class DecisionItem(MethodView):
    @blp.response(200, DecisionSchema)
    def get(self, decision_id):
        """Hämta ett beslut (den utförande kommunens läsning loggas i överlämningens insynslogg)"""
        return _watch(_decision(decision_id, channel="api"))

    @blp.arguments(DecisionUpdateSchema)
    @blp.response(200, DecisionSchema)
    def patch(self, values, decision_id):
        """Rätta lagrum, insats, beslutsdatum, skäl till dröjsmål eller IVO-referens"""
        decision = _decision(decision_id)
        return _watch(services.update_decision(db_session, _user(), decision, values))


@blp.route("/<int:decision_id>/offers")
class DecisionOffers(MethodView):
    @blp.arguments(DecisionOfferCreateSchema)
    @blp.response(201, DecisionSchema)
    def post(self, values, decision_id):
        """Registrera ett erbjudande (datum och om den enskilde tackade nej)"""
        decision = _decision(decision_id)
        services.add_offer(db_session, _user(), decision, values)
        return _watch(decision)


@blp.route("/<int:decision_id>/interruptions")
class DecisionInterruptions(MethodView):
    @blp.arguments(DecisionInterruptionCreateSchema)
    @blp.response(201, DecisionSchema)
    def post(self, values, decision_id):
        """Registrera ett avbrott i verkställigheten (en ny tremånadersperiod börjar)"""
        decision = _decision(decision_id)
        services.add_interruption(db_session, _user(), decision, values)
        return _watch(decision)


@blp.route("/<int:decision_id>/interruptions/<int:interruption_id>/resume")
class DecisionResume(MethodView):
    @blp.arguments(DecisionResumeSchema)
    @blp.response(200, DecisionSchema)
    def post(self, values, decision_id, interruption_id):
        """Registrera att insatsen återupptogs efter ett avbrott"""
        decision = _decision(decision_id)
        services.resume_interruption(db_session, _user(), decision, interruption_id, values)
        return _watch(decision)


@blp.route("/<int:decision_id>/execution")
class DecisionExecution(MethodView):
    @blp.arguments(DecisionExecutionSchema)
    @blp.response(200, DecisionSchema)
    def post(self, values, decision_id):
        """Registrera (eller rätta) verkställighetsdatumet"""
        decision = _decision(decision_id)
        return _watch(services.record_execution(db_session, _user(), decision, values))


@blp.route("/<int:decision_id>/close")
class DecisionClose(MethodView):
    @blp.arguments(DecisionCloseSchema)
    @blp.response(200, DecisionSchema)
    def post(self, values, decision_id):
        """Avsluta beslutet med datum och skäl (kan inte ångras)"""
        decision = _decision(decision_id)
        return _watch(services.close_decision(db_session, _user(), decision, values))


@blp.route("/legal-bases")
class LegalBases(MethodView):
    @blp.response(200, DecisionLegalBasisSchema(many=True))
    def get(self):
        """Lagrum att välja bland, med både tidigare och ny SoL-numrering"""
        return services.legal_bases(db_session)


@blp.route("/ivo-report")
class IvoReport(MethodView):
    @blp.arguments(IvoReportQuerySchema, location="query")
    @blp.response(200, IvoReportSchema)
    def get(self, args):
        """Kvartalets rapporteringspliktiga beslut för vår kommun, med de uppgifter IVO frågar efter"""
        return services.ivo_report_for(db_session, _user(), args["year"], args["quarter"], services.today())


@blp.route("/ivo-report.csv")
class IvoReportCsv(MethodView):
    @blp.arguments(IvoReportQuerySchema, location="query")
    @blp.response(
        200,
        description="CSV för Excel: UTF-8 med BOM, semikolonseparerad, datum ÅÅÅÅ-MM-DD",
        content_type="text/csv",
    )
    def get(self, args):
        """Kvartalets rapporteringspliktiga beslut som CSV-fil"""
        report = services.ivo_report_for(db_session, _user(), args["year"], args["quarter"], services.today())
        filename = services.ivo_csv_filename(report.municipality, report.year, report.quarter)
        return Response(
            services.ivo_csv_bytes(report.rows),
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )
