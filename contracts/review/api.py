"""JSON API of the legal review (flask-smorest): a version's review under
/api/v1/contract-versions/<id>/review (read, submit, mark a row, refresh the pre-checks, approve, send
back to draft) and the lists under /api/v1/contract-reviews. The same services (and rules) as the pages;
a version of an agreement the user's municipality is not party to answers 404."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from contracts import versions
from contracts.permissions import CONTRACT_EDIT, CONTRACT_READ, CONTRACT_REVIEW
from contracts.review import services
from contracts.review.schemas import (
    ApproveSchema,
    ReturnToDraftSchema,
    ReviewQueueItemSchema,
    ReviewRowMarkSchema,
    ReviewRowSchema,
    ReviewSchema,
)
from core.api import paginate_select
from core.auth import acting_user, require_login
from core.db import db_session
from core.formatting import local_today

blp = Blueprint(
    "contract_version_review",
    __name__,
    url_prefix="/api/v1/contract-versions",
    description="Juridisk granskning av en avtalsversion: checklistan och Hamburgkriterierna med "
    "förkontroller, bedömning per rad, godkännande (bara jurist) och återsändning till utkast. "
    "Versioner av avtal där din kommun inte är part ger 404.",
)
lists_blp = Blueprint(
    "contract_reviews",
    __name__,
    url_prefix="/api/v1/contract-reviews",
    description="Avtalsversioner som väntar på juridisk granskning, och gällande avtal vars version "
    "godkändes för mer än ett år sedan. Bara avtal där din kommun är part.",
)

for _blp in (blp, lists_blp):
    _blp.before_request(require_login)

_user = acting_user


def _review(version):
    return services.get_review(db_session, _user(), version)


@blp.route("/<int:version_id>/review")
class VersionReview(MethodView):
    @blp.response(200, ReviewSchema)
    def get(self, version_id):
        """Versionens granskning: rader, förkontroller och vilka rader som hindrar godkännande"""
        return _review(versions.get_version(db_session, _user(), version_id, CONTRACT_READ))


@blp.route("/<int:version_id>/review/submit")
class VersionReviewSubmit(MethodView):
    @blp.response(200, ReviewSchema)
    @blp.alt_response(409, description="Versionen är inte ett utkast")
    def post(self, version_id):
        """Lämna in ett utkast för juridisk granskning (skapar checklistan och gör förkontrollerna)"""
        user = _user()
        version = versions.get_version(db_session, user, version_id, CONTRACT_EDIT)
        services.submit_for_review(db_session, user, version)
        return _review(version)


@blp.route("/<int:version_id>/review/prechecks")
class VersionReviewPrechecks(MethodView):
    @blp.response(200, ReviewSchema)
    @blp.alt_response(409, description="Versionen är inte under granskning")
    def post(self, version_id):
        """Gör förkontrollerna igen"""
        user = _user()
        version = versions.get_version(db_session, user, version_id, CONTRACT_EDIT)
        services.refresh_prechecks(db_session, user, version)
        return _review(version)


@blp.route("/<int:version_id>/review/rows/<string:key>")
class VersionReviewRow(MethodView):
    @blp.arguments(ReviewRowMarkSchema)
    @blp.response(200, ReviewRowSchema)
    @blp.alt_response(409, description="Versionen är inte under granskning")
    def put(self, values, version_id, key):
        """Bedöm en rad (bara jurist): status, kommentar och för Hamburgkriterierna ja/nej"""
        user = _user()
        version = versions.get_version(db_session, user, version_id, CONTRACT_REVIEW)
        row = services.find_row(version, key)
        services.mark_row(
            db_session, user, row, values["status"], values.get("comment"), values.get("answer")
        )
        return next(info for info in _review(version).rows if info.row.id == row.id)


@blp.route("/<int:version_id>/review/approve")
class VersionReviewApprove(MethodView):
    @blp.arguments(ApproveSchema)
    @blp.response(200, ReviewSchema)
    @blp.alt_response(409, description="Rader saknas eller är inte bedömda (och inget skäl angavs)")
    def post(self, values, version_id):
        """Godkänn versionen (bara jurist); med `override_reason` trots rader som saknas"""
        user = _user()
        version = versions.get_version(db_session, user, version_id, CONTRACT_REVIEW)
        services.approve_version(db_session, user, version, values.get("override_reason"))
        return _review(version)


@blp.route("/<int:version_id>/review/return")
class VersionReviewReturn(MethodView):
    @blp.arguments(ReturnToDraftSchema)
    @blp.response(200, ReviewSchema)
    @blp.alt_response(409, description="Versionen är inte under granskning")
    def post(self, values, version_id):
        """Skicka tillbaka versionen till utkast, med skäl"""
        user = _user()
        version = versions.get_version(db_session, user, version_id, CONTRACT_EDIT)
        services.return_to_draft(db_session, user, version, values["reason"])
        return _review(version)


@lists_blp.route("/awaiting")
class AwaitingReview(MethodView):
    @lists_blp.response(200, ReviewQueueItemSchema(many=True))
    @lists_blp.paginate()
    def get(self, pagination_parameters):
        """Versioner som väntar på juridisk granskning, äldst inlämnad först"""
        return paginate_select(services.versions_awaiting_review(db_session, _user()), pagination_parameters)


@lists_blp.route("/stale")
class StaleApprovals(MethodView):
    @lists_blp.response(200, ReviewQueueItemSchema(many=True))
    @lists_blp.paginate()
    def get(self, pagination_parameters):
        """Gällande avtals versioner i kraft i dag som godkändes för mer än ett år sedan"""
        stmt = services.stale_approvals(db_session, _user(), local_today())
        return paginate_select(stmt, pagination_parameters)
