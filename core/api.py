"""JSON API of the shell under /api/v1 (flask-smorest): municipalities, users, audit log."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Flask, send_from_directory
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Api, Blueprint
from sqlalchemy import func, select

from core import services
from core.audit_queries import audit_query
from core.auth import require_login
from core.db import db_session
from core.errors import NotFound, ValidationFailed
from core.permissions import Permission, can, require
from core.schemas import (
    AuditEntrySchema,
    AuditQuerySchema,
    MunicipalityQuerySchema,
    MunicipalitySchema,
    MunicipalityUpdateSchema,
    PopulationSchema,
    UserCreateSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)

SWAGGER_ASSETS = Path(flask_swagger_ui.__file__).parent / "dist"

municipalities_blp = Blueprint(
    "municipalities",
    __name__,
    url_prefix="/api/v1/municipalities",
    description="Kommunregistret: kommunkod, namn, län, organisationsnummer, Peppol-id, Bankgiro, folkmängd.",
)
users_blp = Blueprint(
    "users",
    __name__,
    url_prefix="/api/v1/users",
    description="Användare och roller. Systemadministratörer hanterar alla; andra ser sin egen kommun.",
)
audit_blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1/audit",
    description="Granskningsloggen (endast läsning, för revisorer).",
)


for _blp in (municipalities_blp, users_blp, audit_blp):
    _blp.before_request(require_login)


def paginate_select(stmt, pagination_parameters):
    pagination_parameters.item_count = db_session.scalar(select(func.count()).select_from(stmt.subquery()))
    return db_session.scalars(
        stmt.offset(pagination_parameters.first_item).limit(pagination_parameters.page_size)
    ).all()


@municipalities_blp.route("/")
class MunicipalityCollection(MethodView):
    @municipalities_blp.arguments(MunicipalityQuerySchema, location="query")
    @municipalities_blp.response(200, MunicipalitySchema(many=True))
    @municipalities_blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista kommuner (sök på namn eller kommunkod, filtrera på län)"""
        require(current_user, Permission.MUNICIPALITY_READ)
        stmt = services.search_municipalities(db_session, args.get("q"), args.get("county"))
        return paginate_select(stmt, pagination_parameters)


@municipalities_blp.route("/<int:municipality_id>")
class MunicipalityItem(MethodView):
    @municipalities_blp.response(200, MunicipalitySchema)
    def get(self, municipality_id):
        """Hämta en kommun"""
        require(current_user, Permission.MUNICIPALITY_READ)
        return services.get_municipality(db_session, municipality_id)

    @municipalities_blp.arguments(MunicipalityUpdateSchema)
    @municipalities_blp.response(200, MunicipalitySchema)
    def patch(self, values, municipality_id):
        """Ändra kommunens uppgifter (egen kommun: administratör eller ekonomi)"""
        municipality = services.get_municipality(db_session, municipality_id)
        # The service validates again with the same schema (idempotent), so pages and API share it.
        return services.update_municipality(db_session, current_user, municipality, values)


@municipalities_blp.route("/<int:municipality_id>/populations/<int:year>")
class MunicipalityPopulation(MethodView):
    @municipalities_blp.arguments(PopulationSchema)
    @municipalities_blp.response(200, PopulationSchema)
    def put(self, values, municipality_id, year):
        """Sätt folkmängd för ett år (för kostnadsfördelning)"""
        municipality = services.get_municipality(db_session, municipality_id)
        if values["year"] != year:
            raise ValidationFailed(errors={"year": ["Året i adressen och i uppgifterna skiljer sig åt."]})
        return services.set_population(
            db_session,
            current_user,
            municipality,
            year,
            values["population"],
            values.get("reference_date"),
            values.get("source"),
        )


@users_blp.route("/")
class UserCollection(MethodView):
    @users_blp.arguments(UserQuerySchema, location="query")
    @users_blp.response(200, UserSchema(many=True))
    @users_blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista användare (systemadministratör: alla; administratör och revisor: den egna kommunen)"""
        stmt = services.search_users(db_session, current_user, args.get("q"), args.get("municipality_id"))
        return paginate_select(stmt, pagination_parameters)

    @users_blp.arguments(UserCreateSchema)
    @users_blp.response(201, UserSchema)
    def post(self, values):
        """Skapa en användare (systemadministratör)"""
        return services.create_user(db_session, current_user, values)


@users_blp.route("/me")
class UserMe(MethodView):
    @users_blp.response(200, UserSchema)
    def get(self):
        """Den inloggade användaren"""
        return current_user._get_current_object()


@users_blp.route("/<int:user_id>")
class UserItem(MethodView):
    @users_blp.response(200, UserSchema)
    def get(self, user_id):
        """Hämta en användare"""
        user = services.get_user(db_session, user_id)
        if not can(current_user, Permission.USER_READ, user.municipality_id or -1):
            # Outside the reader's scope a user is "not found": ids reveal nothing.
            raise NotFound("Användaren finns inte.")
        return user

    @users_blp.arguments(UserUpdateSchema)
    @users_blp.response(200, UserSchema)
    def patch(self, values, user_id):
        """Ändra en användare (systemadministratör)"""
        user = services.get_user(db_session, user_id)
        return services.update_user(db_session, current_user, user, values)


@audit_blp.route("/")
class AuditCollection(MethodView):
    @audit_blp.arguments(AuditQuerySchema, location="query")
    @audit_blp.response(200, AuditEntrySchema(many=True))
    @audit_blp.paginate()
    def get(self, args, pagination_parameters):
        """Granskningsloggen, nyast först, filtrerad på entitet, användare och datum"""
        stmt = audit_query(current_user, **args)
        return paginate_select(stmt, pagination_parameters)


def init_api(app: Flask) -> Api:
    api = Api(app)
    for blp in (municipalities_blp, users_blp, audit_blp):
        api.register_blueprint(blp)

    @app.get("/api/v1/docs-assets/<path:filename>")
    def api_docs_assets(filename):
        # Swagger UI is served from the installed flask-swagger-ui package: no CDN, works offline.
        return send_from_directory(SWAGGER_ASSETS, filename)

    return api
