"""JSON API of shared roles under /api/v1/shared-roles."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from core.api import paginate_select
from core.auth import require_login
from core.db import db_session
from core.errors import NotFound
from core.formatting import format_date
from registry.roles import services
from registry.roles.costs import allocations_on
from registry.roles.schemas import (
    AllocationQuerySchema,
    AllocationSetCreateSchema,
    AllocationSetSchema,
    SharedRoleCreateSchema,
    SharedRoleQuerySchema,
    SharedRoleSchema,
    SharedRoleUpdateSchema,
)

blp = Blueprint(
    "shared_roles",
    __name__,
    url_prefix="/api/v1/shared-roles",
    description=(
        "Gemensamma tjänster: en kommun anställer, avtalets parter betalar en andel. Fördelningen är "
        "daterade uppsättningar i procent som summerar till exakt 100,00; en ändring gäller från ett datum."
    ),
)


blp.before_request(require_login)


@blp.route("/")
class SharedRoleCollection(MethodView):
    @blp.arguments(SharedRoleQuerySchema, location="query")
    @blp.response(200, SharedRoleSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista gemensamma tjänster i avtal som den egna kommunen är part i"""
        stmt = services.search_shared_roles(db_session, current_user, args.get("q"), args.get("agreement_id"))
        return paginate_select(stmt, pagination_parameters)

    @blp.arguments(SharedRoleCreateSchema)
    @blp.response(201, SharedRoleSchema)
    def post(self, values):
        """Registrera en gemensam tjänst med sin första fördelning (arbetsgivarens administratör eller ekonomi)"""
        return services.register_shared_role(db_session, current_user, values)


@blp.route("/<int:role_id>")
class SharedRoleItem(MethodView):
    @blp.response(200, SharedRoleSchema)
    def get(self, role_id):
        """Hämta en gemensam tjänst med kostnad och fördelningshistorik"""
        return services.get_shared_role(db_session, current_user, role_id)

    @blp.arguments(SharedRoleUpdateSchema)
    @blp.response(200, SharedRoleSchema)
    def patch(self, values, role_id):
        """Ändra uppgifter och kostnadsunderlag (inte fördelningen: den ändras med en ny uppsättning)"""
        role = services.get_shared_role(db_session, current_user, role_id)
        return services.update_shared_role(db_session, current_user, role, values)


@blp.route("/<int:role_id>/allocations")
class SharedRoleAllocations(MethodView):
    @blp.arguments(AllocationQuerySchema, location="query")
    @blp.response(200, AllocationSetSchema)
    def get(self, args, role_id):
        """Fördelningen som gäller ett datum (utan datum: i dag), med varje kommuns andel per månad"""
        role = services.get_shared_role(db_session, current_user, role_id)
        day = args.get("on") or services.local_today()
        allocation_set = allocations_on(role, day)
        if allocation_set is None:
            raise NotFound(
                f"Ingen fördelning gäller {format_date(day)}: dagen ligger utanför tjänstens period."
            )
        return allocation_set

    @blp.arguments(AllocationSetCreateSchema)
    @blp.response(201, AllocationSetSchema)
    def post(self, values, role_id):
        """Ny fördelning från ett datum; tidigare fördelningar ändras aldrig, planerade från samma dag ersätts"""
        role = services.get_shared_role(db_session, current_user, role_id)
        change = services.set_allocations(
            db_session,
            current_user,
            role,
            values["valid_from"],
            services.percents_from_rows(values["allocations"]),
        )
        return change.allocation_set
