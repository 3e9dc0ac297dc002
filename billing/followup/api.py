"""JSON API of the annual follow-up (flask-smorest) under /api/v1: the list of the user's follow-ups,
the follow-up of an agreement and year with all its figures (GET), its texts and recommendation (PATCH),
sending it (POST .../send: freezes the figures and the PDF), and the PDF (the frozen one when sent, else
a draft marked UTKAST). The same services and rules as the pages: non-parties get 404, party users who
may not edit 403, a sent follow-up 409, a year outside the agreement's life 422."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from billing.followup import figures as figures_module
from billing.followup import services
from billing.followup.schemas import (
    STATUS_LABELS,
    FollowupListItemSchema,
    FollowupQuerySchema,
    FollowupSchema,
    FollowupSendSchema,
    FollowupUpdateSchema,
)
from billing.followup.views import download_response
from billing.models import RECOMMENDATION_LABELS
from core.auth import acting_user, require_login
from core.db import db_session
from core.formatting import local_today

blp = Blueprint(
    "billing_followup_api",
    __name__,
    url_prefix="/api/v1",
    description=(
        "Årlig uppföljning per avtal och kalenderår: volymer, fakturerat mot budget, index, "
        "ärendeöverlämningar, gemensamma tjänster, uppsägning, Hamburgundantaget, kostnadstäckning och "
        "avräkning, med texter och rekommendation. Avtalets ägare eller en administratör i utförarkommunen "
        "skriver och skickar; alla parter läser; andra får 404. En skickad uppföljning är låst (409)."
    ),
)
blp.before_request(require_login)


def _representation(user, agreement, year: int, followup) -> dict:
    figures = services.followup_figures(db_session, agreement, year, followup)
    status = followup.status.value if followup else "not_started"
    values = {
        "agreement_id": agreement.id,
        "agreement_number": agreement.number,
        "year": year,
        "id": followup.id if followup else None,
        "status": status,
        "status_label": STATUS_LABELS[status],
        "may_edit": services.may_edit(user, agreement) and not (followup and followup.is_sent),
        "figures": figures_module.figures_to_json(figures),
    }
    if followup is not None:
        for key in services.TEXT_FIELDS + ("sent_at", "sent_to", "snapshot_sha256", "snapshot_size"):
            values[key] = getattr(followup, key)
        rec = followup.recommendation
        values["recommendation"] = rec.value if rec else None
        values["recommendation_label"] = RECOMMENDATION_LABELS[rec] if rec else None
        values["sent_by"] = services.user_name(db_session, followup.sent_by_id)
    return values


@blp.route("/followups")
class FollowupCollection(MethodView):
    @blp.arguments(FollowupQuerySchema, location="query")
    @blp.response(200, FollowupListItemSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista uppföljningar (avtal × år) för avtal där den egna kommunen är part, nyaste året först"""
        rows = services.followups_for(db_session, acting_user(), year=args.get("year"))
        pagination_parameters.item_count = len(rows)
        first = pagination_parameters.first_item
        page = rows[first : first + pagination_parameters.page_size]
        return [
            {
                "agreement_id": r.agreement.id,
                "agreement_number": r.agreement.number,
                "agreement_title": r.agreement.title,
                "year": r.year,
                "status": r.followup.status.value if r.followup else "not_started",
                "status_label": r.status_label,
            }
            for r in page
        ]


@blp.route("/agreements/<int:agreement_id>/followups/<int:year>")
class FollowupItem(MethodView):
    @blp.response(200, FollowupSchema)
    @blp.alt_response(422, description="Året ligger utanför avtalets löptid eller i framtiden")
    def get(self, agreement_id, year):
        """Hämta uppföljningen av ett avtal och år med alla siffror (som skickade, eller beräknade nu)"""
        user = acting_user()
        agreement = services.get_agreement(db_session, user, agreement_id)
        services.check_year(agreement, year, local_today())
        return _representation(user, agreement, year, services.find_followup(db_session, agreement, year))

    @blp.arguments(FollowupUpdateSchema)
    @blp.response(200, FollowupSchema)
    @blp.alt_response(409, description="Uppföljningen är skickad och låst")
    def patch(self, values, agreement_id, year):
        """Spara texter och rekommendation (avtalets ägare eller administratör i utförarkommunen)"""
        user = acting_user()
        agreement = services.get_agreement(db_session, user, agreement_id)
        followup = services.get_or_create_followup(db_session, user, agreement, year)
        if followup is None:
            services.require_edit(user, agreement)
        services.update_followup(db_session, user, followup, values, loaded=True)
        return _representation(user, agreement, year, followup)


@blp.route("/agreements/<int:agreement_id>/followups/<int:year>/send")
class FollowupSend(MethodView):
    @blp.arguments(FollowupSendSchema)
    @blp.response(200, FollowupSchema)
    @blp.alt_response(409, description="Uppföljningen är redan skickad")
    @blp.alt_response(422, description="Rekommendation eller mottagare saknas")
    def post(self, values, agreement_id, year):
        """Skicka uppföljningen: siffrorna och PDF-filen (med SHA-256) låses och ändras aldrig mer"""
        user = acting_user()
        agreement = services.get_agreement(db_session, user, agreement_id)
        followup = services.get_or_create_followup(db_session, user, agreement, year)
        if followup is None:
            services.require_edit(user, agreement)
        services.send_followup(db_session, user, followup, values["sent_to"])
        return _representation(user, agreement, year, followup)


_PDF = {"schema": {"type": "string", "format": "binary"}}


@blp.route("/agreements/<int:agreement_id>/followups/<int:year>/pdf")
class FollowupPdf(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "Den skickade PDF-filen (exakt de lagrade byten), annars ett utkast märkt UTKAST",
                "content": {"application/pdf": _PDF},
            }
        }
    )
    def get(self, agreement_id, year):
        """Hämta uppföljningen som PDF"""
        agreement = services.get_agreement(db_session, acting_user(), agreement_id)
        services.check_year(agreement, year, local_today())
        followup = services.find_followup(db_session, agreement, year)
        return download_response(services.followup_pdf(db_session, agreement, year, followup))


@blp.route("/agreements/<int:agreement_id>/followups/<int:year>/csv")
class FollowupCsv(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "Siffrorna som CSV för Excel (semikolon, decimalkomma, UTF-8 med BOM)",
                "content": {"text/csv": _PDF},
            }
        }
    )
    def get(self, agreement_id, year):
        """Hämta uppföljningens siffror som CSV"""
        agreement = services.get_agreement(db_session, acting_user(), agreement_id)
        services.check_year(agreement, year, local_today())
        followup = services.find_followup(db_session, agreement, year)
        return download_response(services.followup_csv(db_session, agreement, year, followup))
