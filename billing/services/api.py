"""JSON API of performed services under /api/v1/performed-services (flask-smorest): list with filters,
read, register, change, delete, attest and take back an attest, and the CSV import. The same services
(and rules) as the pages: only the performing municipality changes a service, and only while it is not
billed (409); only its finance attests (403 otherwise); services the user's municipality neither
performed nor bought are 404."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from billing.services import importing, services
from billing.services.schemas import (
    PerformedServiceIdsSchema,
    PerformedServiceInputSchema,
    PerformedServiceQuerySchema,
    PerformedServiceSchema,
    PerformedServiceUpdateSchema,
    ServiceImportSchema,
    ServiceImportUploadSchema,
)
from core.api import paginate_select
from core.auth import acting_user, require_login
from core.db import db_session

blp = Blueprint(
    "performed_services",
    __name__,
    url_prefix="/api/v1/performed-services",
    description=(
        "Prestationer: utförda tjänster per avtal (timmar, ärenden, dagar, km, utlägg) som den utförande "
        "kommunen registrerar och ekonomi attesterar före fakturering. Du ser prestationer som din kommun "
        "utfört eller köpt; andra ger 404. Import från CSV: alla rader eller ingen, med fel per rad."
    ),
)
blp.before_request(require_login)

_user = acting_user


@blp.route("/")
class ServiceCollection(MethodView):
    @blp.arguments(PerformedServiceQuerySchema, location="query")
    @blp.response(200, PerformedServiceSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista prestationer som den egna kommunen utfört eller köpt (filter: avtal, köpare, period, status)"""
        items = paginate_select(services.search_services(db_session, _user(), **args), pagination_parameters)
        services.annotate_billing(db_session, items)
        return items

    @blp.arguments(PerformedServiceInputSchema)
    @blp.response(201, PerformedServiceSchema)
    def post(self, values):
        """Registrera en prestation som den egna kommunen utfört (administratör, handläggare, ekonomi)"""
        return services.register_service(db_session, _user(), values)


@blp.route("/<int:service_id>")
class ServiceItem(MethodView):
    @blp.response(200, PerformedServiceSchema)
    def get(self, service_id):
        """Hämta en prestation, med fakturan den är fakturerad på"""
        return services.get_service(db_session, _user(), service_id)

    @blp.arguments(PerformedServiceUpdateSchema(partial=True))
    @blp.response(200, PerformedServiceSchema)
    @blp.alt_response(409, description="Prestationen är fakturerad")
    def patch(self, values, service_id):
        """Ändra en prestation (utförande kommun, bara medan den inte är fakturerad; attesten tas bort)"""
        user = _user()
        service = services.get_service(db_session, user, service_id)
        return services.update_service(db_session, user, service, values, partial=True)

    @blp.response(204)
    @blp.alt_response(409, description="Prestationen är fakturerad")
    def delete(self, service_id):
        """Ta bort en prestation (utförande kommun, bara medan den inte är fakturerad)"""
        user = _user()
        services.delete_service(db_session, user, services.get_service(db_session, user, service_id))


@blp.route("/attest")
class ServiceAttest(MethodView):
    @blp.arguments(PerformedServiceIdsSchema)
    @blp.response(200, PerformedServiceSchema(many=True))
    def post(self, values):
        """Attestera prestationer (ekonomi i den utförande kommunen); svarar med de som attesterades nu"""
        return services.attest_services(db_session, _user(), values["ids"])


@blp.route("/unattest")
class ServiceUnattest(MethodView):
    @blp.arguments(PerformedServiceIdsSchema)
    @blp.response(200, PerformedServiceSchema(many=True))
    @blp.alt_response(409, description="En av prestationerna är fakturerad")
    def post(self, values):
        """Ta bort attesten (ekonomi i den utförande kommunen; inte för fakturerade prestationer)"""
        return services.unattest_services(db_session, _user(), values["ids"])


@blp.route("/imports")
class ServiceImports(MethodView):
    @blp.response(200, ServiceImportSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Den egna kommunens importerade filer, nyast först"""
        return paginate_select(services.list_imports(db_session, _user()), pagination_parameters)

    @blp.arguments(ServiceImportUploadSchema, location="files")
    @blp.response(201, ServiceImportSchema)
    @blp.alt_response(409, description="Samma fil är redan importerad")
    def post(self, values):
        """Importera en CSV-fil (multipart, fältet `file`). Alla rader eller ingen: vid fel svarar API:t 422
        med `errors.rows` = [{"row", "column", "message"}] för varje fel (rubrikraden är rad 1), eller
        `errors.file` när filen inte kan läsas."""
        upload = values["file"]
        # One byte past the limit is enough to know the file is too large.
        data = upload.stream.read(importing.MAX_IMPORT_BYTES + 1)
        return importing.import_services_csv(db_session, _user(), upload.filename, data)
