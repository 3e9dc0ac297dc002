"""JSON API of invoicing: runs under /api/v1/invoice-runs, invoices and credit notes under
/api/v1/invoices (flask-smorest). Runs are the seller's; invoices are seen by the seller and, once
issued, the buyer; everything else is 404."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from billing.invoicing import services
from billing.invoicing.schemas import (
    CreditSchema,
    InvoiceDetailSchema,
    InvoiceQuerySchema,
    InvoiceRunCreateSchema,
    InvoiceRunDetailSchema,
    InvoiceRunSchema,
    InvoiceSchema,
    NoteSchema,
    PaymentSchema,
    RunApproveSchema,
    RunQuerySchema,
)
from billing.models import RunStatus
from billing.permissions import INVOICE_EDIT
from core.api import paginate_select
from core.auth import acting_user, require_login
from core.db import db_session

runs_blp = Blueprint(
    "billing_invoice_runs",
    __name__,
    url_prefix="/api/v1/invoice-runs",
    description="Fakturakörningar: en period (månad, kvartal, år) för säljarkommunen, valfritt ett avtal "
    "eller en köpare. Beräkna ger utkast att granska (en ny beräkning ersätter utkasten), godkänn, "
    "utfärda (fakturanummer tilldelas, kan inte ångras). Ekonomi i säljarkommunen.",
)
invoices_blp = Blueprint(
    "billing_invoices",
    __name__,
    url_prefix="/api/v1/invoices",
    description="Fakturor och kreditfakturor som vår kommun har utfärdat eller tagit emot: rader, "
    "momssammanställning, kreditering och betalmarkering.",
)
for _blp in (runs_blp, invoices_blp):
    _blp.before_request(require_login)

_user = acting_user


@runs_blp.route("/")
class RunCollection(MethodView):
    @runs_blp.arguments(RunQuerySchema, location="query")
    @runs_blp.response(200, InvoiceRunSchema(many=True))
    @runs_blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista vår kommuns fakturakörningar, nyast först"""
        stmt = services.runs_for(db_session, _user())
        if args.get("status"):
            from billing.models import InvoiceRun

            stmt = stmt.where(InvoiceRun.status == RunStatus(args["status"]))
        return paginate_select(stmt, pagination_parameters)

    @runs_blp.arguments(InvoiceRunCreateSchema)
    @runs_blp.response(201, InvoiceRunDetailSchema)
    def post(self, values):
        """Skapa en fakturakörning (beräknas med compute)"""
        if values.get("period"):
            period = services.parse_period(values["period"])
        else:
            period = services.period_of(values["period_kind"], values["period_start"])
        return services.create_run(
            db_session,
            _user(),
            period.kind,
            period.start,
            agreement_id=values.get("agreement_id"),
            buyer_id=values.get("buyer_municipality_id"),
        )


@runs_blp.route("/<int:run_id>")
class RunItem(MethodView):
    @runs_blp.response(200, InvoiceRunDetailSchema)
    def get(self, run_id):
        """Hämta en körning med dess fakturor (rader, moms) och problem"""
        return services.get_run_for(db_session, _user(), run_id)

    @runs_blp.response(204)
    def delete(self, run_id):
        """Ta bort en körning som inte är godkänd (med dess utkast)"""
        run = services.get_run_for(db_session, _user(), run_id, INVOICE_EDIT)
        services.delete_run(db_session, _user(), run)


@runs_blp.route("/<int:run_id>/compute")
class RunCompute(MethodView):
    @runs_blp.response(200, InvoiceRunDetailSchema)
    def post(self, run_id):
        """Beräkna körningen: utkasten ersätts (inget dubbleras, ingen prestation faktureras två gånger)"""
        run = services.get_run_for(db_session, _user(), run_id, INVOICE_EDIT)
        return services.compute_run(db_session, _user(), run)


@runs_blp.route("/<int:run_id>/approve")
class RunApprove(MethodView):
    @runs_blp.arguments(RunApproveSchema)
    @runs_blp.response(200, InvoiceRunDetailSchema)
    def post(self, values, run_id):
        """Godkänn körningens utkast (med problem: bara om confirm_problems är sant)"""
        run = services.get_run_for(db_session, _user(), run_id, INVOICE_EDIT)
        return services.approve_run(db_session, _user(), run, confirm_problems=values["confirm_problems"])


@runs_blp.route("/<int:run_id>/issue")
class RunIssue(MethodView):
    @runs_blp.response(200, InvoiceRunDetailSchema)
    def post(self, run_id):
        """Utfärda körningens godkända fakturor i nummerordning (kan inte ångras)"""
        run = services.get_run_for(db_session, _user(), run_id, INVOICE_EDIT)
        services.issue_run(db_session, _user(), run)
        return run


@invoices_blp.route("/")
class InvoiceCollection(MethodView):
    @invoices_blp.arguments(InvoiceQuerySchema, location="query")
    @invoices_blp.response(200, InvoiceSchema(many=True))
    @invoices_blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista fakturor vi har utfärdat eller tagit emot (filter: riktning, status, avtal, motpart,
        period, betald)"""
        filters = dict(args)
        filters["period"] = services.parse_period(args["period"]) if args.get("period") else None
        stmt = services.invoices_for(db_session, _user(), **filters)
        return paginate_select(stmt, pagination_parameters)


@invoices_blp.route("/<int:invoice_id>")
class InvoiceItem(MethodView):
    @invoices_blp.response(200, InvoiceDetailSchema)
    def get(self, invoice_id):
        """Hämta en faktura med rader, momssammanställning och kreditfakturor"""
        return services.get_invoice_for(db_session, _user(), invoice_id)

    @invoices_blp.response(204)
    def delete(self, invoice_id):
        """Ta bort en kreditfaktura som inte är utfärdad (fakturor i en körning följer körningen)"""
        invoice = services.get_invoice_for(db_session, _user(), invoice_id, INVOICE_EDIT)
        services.delete_credit_note(db_session, _user(), invoice)


@invoices_blp.route("/<int:invoice_id>/credit")
class InvoiceCredit(MethodView):
    @invoices_blp.arguments(CreditSchema)
    @invoices_blp.response(201, InvoiceDetailSchema)
    def post(self, values, invoice_id):
        """Skapa en kreditfaktura (utkast) för hela fakturan eller valda rader"""
        invoice = services.get_invoice_for(db_session, _user(), invoice_id, INVOICE_EDIT)
        return services.credit_invoice(
            db_session, _user(), invoice, line_ids=values.get("line_ids"), reason=values["reason"]
        )


@invoices_blp.route("/<int:invoice_id>/approve")
class InvoiceApprove(MethodView):
    @invoices_blp.response(200, InvoiceDetailSchema)
    def post(self, invoice_id):
        """Godkänn en kreditfaktura (fakturor i en körning godkänns med körningen)"""
        invoice = services.get_invoice_for(db_session, _user(), invoice_id, INVOICE_EDIT)
        return services.approve_invoice(db_session, _user(), invoice)


@invoices_blp.route("/<int:invoice_id>/issue")
class InvoiceIssue(MethodView):
    @invoices_blp.response(200, InvoiceDetailSchema)
    def post(self, invoice_id):
        """Utfärda en godkänd kreditfaktura (nästa nummer i serien; kan inte ångras)"""
        invoice = services.get_invoice_for(db_session, _user(), invoice_id, INVOICE_EDIT)
        return services.issue_credit_note(db_session, _user(), invoice)


@invoices_blp.route("/<int:invoice_id>/payment")
class InvoicePayment(MethodView):
    @invoices_blp.arguments(PaymentSchema)
    @invoices_blp.response(200, InvoiceDetailSchema)
    def put(self, values, invoice_id):
        """Markera fakturan betald (datum) eller obetald (null): enda ändringen efter utfärdandet"""
        invoice = services.get_invoice_for(db_session, _user(), invoice_id, INVOICE_EDIT)
        return services.mark_invoice_paid(db_session, _user(), invoice, values["paid_on"])


@invoices_blp.route("/<int:invoice_id>/note")
class InvoiceNote(MethodView):
    @invoices_blp.arguments(NoteSchema)
    @invoices_blp.response(200, InvoiceDetailSchema)
    def put(self, values, invoice_id):
        """Meddelande på en faktura som inte är utfärdad"""
        invoice = services.get_invoice_for(db_session, _user(), invoice_id, INVOICE_EDIT)
        return services.set_invoice_note(db_session, _user(), invoice, values["note"])
