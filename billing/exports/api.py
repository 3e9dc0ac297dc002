"""JSON API of the exports (flask-smorest): an invoice's PDF and Peppol XML under /api/v1/invoices/<id>,
a run's files under /api/v1/invoice-runs/<id>/export?format=, a period's SIE or CSV under
/api/v1/invoice-exports, and the accounting configuration for SIE under /api/v1/accounting. The same
services and rules as the pages."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from billing.exports import accounting, services
from billing.exports.common import get_invoice, get_run
from billing.exports.schemas import (
    AccountingSettingsSchema,
    CounterpartyCodeSchema,
    ExportQuerySchema,
    PeriodExportQuerySchema,
    RevenueAccountSchema,
)
from billing.exports.views import download_response
from billing.models import CounterpartyCode, RevenueAccount
from core.api import paginate_select
from core.auth import acting_user, require_login
from core.db import db_session
from core.errors import NotFound
from core.models import Municipality

blp = Blueprint(
    "billing_exports_api",
    __name__,
    url_prefix="/api/v1",
    description=(
        "Fakturornas filer: PDF och e-faktura (Peppol BIS Billing 3.0, kontrollerad mot de officiella reglerna "
        "när fakturan utfärdas), SIE 4I till ekonomisystemet och CSV för Excel. En utfärdad fakturas filer är "
        "exakt de som lagrades vid utfärdandet (SHA-256); ett utkast blir en PDF märkt UTKAST. Bara säljaren och "
        "köparen ser en faktura; andra får 404. Bokföringsinställningarna för SIE hör till den egna kommunen."
    ),
)

blp.before_request(require_login)

_FILE = {"schema": {"type": "string", "format": "binary"}}


def _binary(description: str, *media_types: str) -> dict:
    return {"200": {"description": description, "content": {m: _FILE for m in media_types}}}


@blp.route("/invoices/<int:invoice_id>/pdf")
class InvoicePdf(MethodView):
    @blp.doc(
        responses={
            **_binary(
                "Fakturan som PDF: den lagrade filen för en utfärdad faktura, annars ett utkast märkt UTKAST",
                "application/pdf",
            ),
            "503": {"description": "PDF kan inte skapas: wkhtmltopdf saknas på servern"},
        }
    )
    def get(self, invoice_id):
        """Hämta fakturan som PDF"""
        invoice = get_invoice(db_session, acting_user(), invoice_id)
        return download_response(services.invoice_pdf(db_session, invoice))


@blp.route("/invoices/<int:invoice_id>/peppol")
class InvoicePeppol(MethodView):
    @blp.doc(
        responses={
            **_binary(
                "E-fakturan (UBL 2.1, Peppol BIS Billing 3.0) som lagrades när fakturan utfärdades",
                "application/xml",
            ),
            "409": {"description": "Fakturan är ett utkast: e-fakturan skapas när den utfärdas"},
        }
    )
    def get(self, invoice_id):
        """Hämta e-fakturan (Peppol XML)"""
        invoice = get_invoice(db_session, acting_user(), invoice_id)
        return download_response(services.invoice_peppol(db_session, invoice))


@blp.route("/invoice-runs/<int:run_id>/export")
class RunExport(MethodView):
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.doc(
        responses={
            **_binary(
                "pdf: ZIP med en PDF per faktura; peppol: ZIP med en XML per utfärdad faktura; sie: SIE 4I (.SI, "
                "codepage 437); csv: semikolonseparerad, UTF-8 med BOM",
                "application/zip",
                "application/octet-stream",
                "text/csv",
            ),
            "409": {"description": "Inga utfärdade fakturor för formatet"},
            "422": {"description": "Okänt format, eller bokföringsinställningarna för SIE är inte kompletta"},
        }
    )
    def get(self, args, run_id):
        """Exportera en faktureringskörnings fakturor (säljarens körning)"""
        run = get_run(db_session, acting_user(), run_id)
        return download_response(services.run_export(db_session, run, args["format"]))


@blp.route("/invoice-exports")
class PeriodExport(MethodView):
    @blp.arguments(PeriodExportQuerySchema, location="query")
    @blp.doc(
        responses={
            **_binary(
                "SIE 4I eller CSV med den egna kommunens utfärdade fakturor i perioden",
                "application/octet-stream",
                "text/csv",
            ),
            "409": {"description": "Inga utfärdade fakturor i perioden"},
        }
    )
    def get(self, args):
        """Exportera den egna kommunens utfärdade fakturor med fakturadatum i en period (SIE eller CSV)"""
        download = services.period_export(
            db_session, acting_user(), args["date_from"], args["date_to"], args["format"]
        )
        return download_response(download)


# --- Accounting configuration --------------------------------------------------------------------------


def _own_id() -> int:
    user = acting_user()
    if user.municipality_id is None or not accounting.can_read_accounting(user):
        raise NotFound("Bokföringsinställningar hör till en kommun som du arbetar för.")
    return user.municipality_id


@blp.route("/accounting/settings")
class AccountingSettingsItem(MethodView):
    @blp.response(200, AccountingSettingsSchema)
    def get(self):
        """Den egna kommunens konton och dimensioner för SIE (404 om de inte är ifyllda)"""
        settings = accounting.get_settings(db_session, _own_id())
        if settings is None:
            raise NotFound("Bokföringsinställningarna är inte ifyllda ännu.")
        return settings

    @blp.arguments(AccountingSettingsSchema)
    @blp.response(200, AccountingSettingsSchema)
    def put(self, values):
        """Spara den egna kommunens konton och dimensioner (ekonomi)"""
        _own_id()
        return accounting.save_settings(db_session, acting_user(), values)


@blp.route("/accounting/revenue-accounts")
class RevenueAccountCollection(MethodView):
    @blp.response(200, RevenueAccountSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Intäktskonto per tjänstetyp"""
        stmt = (
            select(RevenueAccount)
            .where(RevenueAccount.municipality_id == _own_id())
            .order_by(RevenueAccount.service_type_code)
        )
        return paginate_select(stmt, pagination_parameters)

    @blp.arguments(RevenueAccountSchema)
    @blp.response(201, RevenueAccountSchema)
    def post(self, values):
        """Ange intäktskontot för en tjänstetyp (ersätter ett tidigare för samma kod)"""
        _own_id()
        return accounting.set_revenue_account(
            db_session, acting_user(), values["service_type_code"], values["account"]
        )


@blp.route("/accounting/revenue-accounts/<int:row_id>")
class RevenueAccountItem(MethodView):
    @blp.response(204)
    def delete(self, row_id):
        """Ta bort intäktskontot för en tjänstetyp (den bokförs då på standardkontot)"""
        _own_id()
        accounting.delete_revenue_account(db_session, acting_user(), row_id)


@blp.route("/accounting/counterparty-codes")
class CounterpartyCodeCollection(MethodView):
    @blp.response(200, CounterpartyCodeSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Motpartskod per annan kommun"""
        own = _own_id()
        base = select(CounterpartyCode.id).where(CounterpartyCode.municipality_id == own)
        pagination_parameters.item_count = db_session.scalar(
            select(func.count()).select_from(base.subquery())
        )
        rows = db_session.execute(
            select(CounterpartyCode, Municipality.name)
            .join(Municipality, Municipality.id == CounterpartyCode.counterparty_municipality_id)
            .where(CounterpartyCode.municipality_id == own)
            .order_by(Municipality.name, CounterpartyCode.id)
            .offset(pagination_parameters.first_item)
            .limit(pagination_parameters.page_size)
        ).all()
        return [
            accounting.CounterpartyRow(c.id, c.counterparty_municipality_id, name, c.code, c.active)
            for c, name in rows
        ]

    @blp.arguments(CounterpartyCodeSchema)
    @blp.response(201, CounterpartyCodeSchema)
    def post(self, values):
        """Ange motpartskoden för en annan kommun (ersätter en tidigare)"""
        _own_id()
        return accounting.set_counterparty_code(
            db_session,
            acting_user(),
            values["counterparty_municipality_id"],
            values["code"],
            values["active"],
        )


@blp.route("/accounting/counterparty-codes/<int:row_id>")
class CounterpartyCodeItem(MethodView):
    @blp.response(204)
    def delete(self, row_id):
        """Ta bort en motpartskod"""
        _own_id()
        accounting.delete_counterparty_code(db_session, acting_user(), row_id)
