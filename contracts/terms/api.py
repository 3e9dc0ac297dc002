"""JSON API of contract terms (flask-smorest): an agreement's versions and the version in force on a
date, a version with all its terms, and its service types, compensation components, prices and buyer
references; the comparison of two versions. The same services (and rules) as the pages: terms change
only in a draft (409 otherwise), CONTRACT_EDIT for a party (403), and non-parties get 404."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from contracts import versions
from contracts.models import ContractVersion
from contracts.permissions import CONTRACT_EDIT
from contracts.terms import services
from contracts.terms.schemas import (
    CompensationComponentInputSchema,
    CompensationComponentSchema,
    CompensationComponentUpdateSchema,
    ContractBuyerTermsInputSchema,
    ContractBuyerTermsSchema,
    ContractBuyerTermsUpdateSchema,
    ContractPriceInputSchema,
    ContractPriceSchema,
    ContractPriceUpdateSchema,
    ContractServiceTypeInputSchema,
    ContractServiceTypeSchema,
    ContractServiceTypeUpdateSchema,
    ContractVersionCreateSchema,
    ContractVersionSummarySchema,
    ContractVersionTermsSchema,
    ContractVersionWithTermsSchema,
    VersionCompareQuerySchema,
    VersionComparisonSchema,
    VersionInForceQuerySchema,
)
from core.api import paginate_select
from core.auth import acting_user, require_login
from core.db import db_session
from core.errors import NotFound
from core.formatting import local_today

blp = Blueprint(
    "contract_terms",
    __name__,
    url_prefix="/api/v1",
    description="Avtalsversioner och deras villkor: ersättningsmodeller, priser per år, tjänstetyper med "
    "moms, fakturering, indexering, personuppgifter och köparnas referenser. Villkor ändras bara i ett "
    "utkast (annars 409). Du ser bara avtal där din kommun är part; andra ger 404.",
)
blp.before_request(require_login)

_user = acting_user


def _version(version_id: int) -> ContractVersion:
    return versions.get_version(db_session, _user(), version_id)


def _page(items: list, pagination_parameters) -> list:
    pagination_parameters.item_count = len(items)
    first = pagination_parameters.first_item
    return items[first : first + pagination_parameters.page_size]


def _child(items, child_id: int, message: str):
    found = next((item for item in items if item.id == child_id), None)
    if found is None:
        raise NotFound(message)
    return found


def _service_type(version_id: int, service_type_id: int):
    return _child(_version(version_id).service_types, service_type_id, "Tjänstetypen finns inte i versionen.")


def _component(version_id: int, component_id: int):
    return _child(
        _version(version_id).components, component_id, "Ersättningsmodellen finns inte i versionen."
    )


def _price(version_id: int, price_id: int):
    prices = [p for c in _version(version_id).components for p in c.prices]
    return _child(prices, price_id, "Priset finns inte i versionen.")


def _buyer_terms(version_id: int, terms_id: int):
    return _child(_version(version_id).buyer_terms, terms_id, "Referensen finns inte i versionen.")


# --- Versions of an agreement ---------------------------------------------------------------------


@blp.route("/agreements/<int:agreement_id>/contract-versions")
class AgreementVersions(MethodView):
    @blp.response(200, ContractVersionSummarySchema(many=True))
    @blp.paginate()
    def get(self, agreement_id, pagination_parameters):
        """Avtalets versioner, version 1 först"""
        agreement = versions.get_agreement(db_session, _user(), agreement_id)
        stmt = (
            select(ContractVersion)
            .where(ContractVersion.agreement_id == agreement.id)
            .order_by(ContractVersion.number)
        )
        return paginate_select(stmt, pagination_parameters)

    @blp.arguments(ContractVersionCreateSchema)
    @blp.response(201, ContractVersionWithTermsSchema)
    @blp.alt_response(409, description="Avtalet har redan en version som är utkast eller under granskning")
    def post(self, values, agreement_id):
        """Skapa en version (utkast). Den första är ursprungsavtalet; senare versioner (tilläggsavtal)
        börjar som en kopia av den senaste godkända versionen."""
        agreement = versions.get_agreement(db_session, _user(), agreement_id, CONTRACT_EDIT)
        version = services.create_contract_version(db_session, _user(), agreement, values)
        return versions.get_version(db_session, _user(), version.id)


@blp.route("/agreements/<int:agreement_id>/contract-versions/in-force")
class VersionInForce(MethodView):
    @blp.arguments(VersionInForceQuerySchema, location="query")
    @blp.response(200, ContractVersionWithTermsSchema)
    def get(self, args, agreement_id):
        """Den godkända version som gäller en viss dag (den med senaste giltighetsdatum på eller före dagen)"""
        agreement = versions.get_agreement(db_session, _user(), agreement_id)
        day = args.get("date") or local_today()
        version = versions.version_in_force(db_session, agreement.id, day)
        if version is None:
            raise NotFound(
                f"Ingen godkänd avtalsversion gäller {day.isoformat()} för avtal {agreement.number}."
            )
        return version


# --- One version ------------------------------------------------------------------------------------


@blp.route("/contract-versions/<int:version_id>")
class VersionItem(MethodView):
    @blp.response(200, ContractVersionWithTermsSchema)
    def get(self, version_id):
        """Hämta en version med alla villkor"""
        return _version(version_id)

    @blp.arguments(ContractVersionTermsSchema(partial=True))
    @blp.response(200, ContractVersionWithTermsSchema)
    @blp.alt_response(409, description="Versionen är inte ett utkast")
    def patch(self, values, version_id):
        """Ändra versionens egna villkor (utelämnade fält behålls)"""
        return services.update_version_terms(db_session, _user(), _version(version_id), values)

    @blp.response(204)
    @blp.alt_response(409, description="Versionen är inte ett utkast")
    def delete(self, version_id):
        """Ta bort ett utkast med alla dess villkor"""
        services.delete_version(db_session, _user(), _version(version_id))


@blp.route("/contract-versions/<int:version_id>/compare")
class VersionCompare(MethodView):
    @blp.arguments(VersionCompareQuerySchema, location="query")
    @blp.response(200, VersionComparisonSchema)
    def get(self, args, version_id):
        """Vad som ändrats från denna version till versionen `with` (samma avtal): tillagt, borttaget
        och ändrat, med gamla och nya värden, per avsnitt"""
        return services.compare_versions(_version(version_id), _version(args["with_"]))


# --- Service types ----------------------------------------------------------------------------------


@blp.route("/contract-versions/<int:version_id>/service-types")
class ServiceTypes(MethodView):
    @blp.response(200, ContractServiceTypeSchema(many=True))
    @blp.paginate()
    def get(self, version_id, pagination_parameters):
        """Versionens tjänstetyper med enhet och moms"""
        return _page(list(_version(version_id).service_types), pagination_parameters)

    @blp.arguments(ContractServiceTypeInputSchema)
    @blp.response(201, ContractServiceTypeSchema)
    def post(self, values, version_id):
        """Lägg till en tjänstetyp. Moms: O och E har 0 % och ett skäl (O: VATEX-EU-O om inget annat
        anges); S har en momssats över 0 (25 % om inget annat anges)."""
        return services.add_service_type(db_session, _user(), _version(version_id), values)


@blp.route("/contract-versions/<int:version_id>/service-types/<int:service_type_id>")
class ServiceTypeItem(MethodView):
    @blp.response(200, ContractServiceTypeSchema)
    def get(self, version_id, service_type_id):
        """Hämta en tjänstetyp"""
        return _service_type(version_id, service_type_id)

    @blp.arguments(ContractServiceTypeUpdateSchema)
    @blp.response(200, ContractServiceTypeSchema)
    def patch(self, values, version_id, service_type_id):
        """Ändra en tjänstetyp"""
        return services.update_service_type(
            db_session, _user(), _service_type(version_id, service_type_id), values
        )

    @blp.response(204)
    @blp.alt_response(
        409, description="Tjänstetypen används av en ersättningsmodell, eller versionen är låst"
    )
    def delete(self, version_id, service_type_id):
        """Ta bort en tjänstetyp som ingen ersättningsmodell använder"""
        services.delete_service_type(db_session, _user(), _service_type(version_id, service_type_id))


# --- Compensation components ------------------------------------------------------------------------


@blp.route("/contract-versions/<int:version_id>/components")
class Components(MethodView):
    @blp.response(200, CompensationComponentSchema(many=True))
    @blp.paginate()
    def get(self, version_id, pagination_parameters):
        """Versionens ersättningsmodeller med priser per år"""
        components = sorted(_version(version_id).components, key=lambda c: (c.position, c.id))
        return _page(components, pagination_parameters)

    @blp.arguments(CompensationComponentInputSchema)
    @blp.response(201, CompensationComponentSchema)
    def post(self, values, version_id):
        """Lägg till en ersättningsmodell. Fälten som gäller beror på modellen; fält som inte gäller
        modellen avvisas och saknade fält namnges."""
        return services.add_component(db_session, _user(), _version(version_id), values)


@blp.route("/contract-versions/<int:version_id>/components/<int:component_id>")
class ComponentItem(MethodView):
    @blp.response(200, CompensationComponentSchema)
    def get(self, version_id, component_id):
        """Hämta en ersättningsmodell"""
        return _component(version_id, component_id)

    @blp.arguments(CompensationComponentUpdateSchema(partial=True))
    @blp.response(200, CompensationComponentSchema)
    def patch(self, values, version_id, component_id):
        """Ändra en ersättningsmodell (inte modellen själv)"""
        return services.update_component(db_session, _user(), _component(version_id, component_id), values)

    @blp.response(204)
    def delete(self, version_id, component_id):
        """Ta bort en ersättningsmodell med dess priser"""
        services.delete_component(db_session, _user(), _component(version_id, component_id))


@blp.route("/contract-versions/<int:version_id>/components/<int:component_id>/prices")
class Prices(MethodView):
    @blp.response(200, ContractPriceSchema(many=True))
    @blp.paginate()
    def get(self, version_id, component_id, pagination_parameters):
        """Ersättningsmodellens priser per år (och ärendetyp)"""
        return _page(list(_component(version_id, component_id).prices), pagination_parameters)

    @blp.arguments(ContractPriceInputSchema)
    @blp.response(201, ContractPriceSchema)
    def post(self, values, version_id, component_id):
        """Lägg till ett pris för ett år (ett per år och ärendetyp)"""
        return services.add_price(db_session, _user(), _component(version_id, component_id), values)


@blp.route("/contract-versions/<int:version_id>/prices/<int:price_id>")
class PriceItem(MethodView):
    @blp.response(200, ContractPriceSchema)
    def get(self, version_id, price_id):
        """Hämta ett pris"""
        return _price(version_id, price_id)

    @blp.arguments(ContractPriceUpdateSchema)
    @blp.response(200, ContractPriceSchema)
    def patch(self, values, version_id, price_id):
        """Ändra ett pris"""
        return services.update_price(db_session, _user(), _price(version_id, price_id), values)

    @blp.response(204)
    def delete(self, version_id, price_id):
        """Ta bort ett pris"""
        services.delete_price(db_session, _user(), _price(version_id, price_id))


# --- Buyer references -------------------------------------------------------------------------------


@blp.route("/contract-versions/<int:version_id>/buyer-terms")
class BuyerTerms(MethodView):
    @blp.response(200, ContractBuyerTermsSchema(many=True))
    @blp.paginate()
    def get(self, version_id, pagination_parameters):
        """Köparnas referenser (Er referens, Peppol BT-10)"""
        return _page(list(_version(version_id).buyer_terms), pagination_parameters)

    @blp.arguments(ContractBuyerTermsInputSchema)
    @blp.response(201, ContractBuyerTermsSchema)
    def post(self, values, version_id):
        """Ange referensen för en köpande kommun"""
        return services.add_buyer_terms(db_session, _user(), _version(version_id), values)


@blp.route("/contract-versions/<int:version_id>/buyer-terms/<int:terms_id>")
class BuyerTermsItem(MethodView):
    @blp.response(200, ContractBuyerTermsSchema)
    def get(self, version_id, terms_id):
        """Hämta en köpares referens"""
        return _buyer_terms(version_id, terms_id)

    @blp.arguments(ContractBuyerTermsUpdateSchema)
    @blp.response(200, ContractBuyerTermsSchema)
    def patch(self, values, version_id, terms_id):
        """Ändra en köpares referens"""
        return services.update_buyer_terms(db_session, _user(), _buyer_terms(version_id, terms_id), values)

    @blp.response(204)
    def delete(self, version_id, terms_id):
        """Ta bort en köpares referens"""
        services.delete_buyer_terms(db_session, _user(), _buyer_terms(version_id, terms_id))
