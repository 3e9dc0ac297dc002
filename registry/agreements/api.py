"""JSON API of agreements under /api/v1/agreements (flask-smorest): list with filters, read, create,
change, status transitions, parties and attachments. The same services (and rules) as the pages."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from core.api import paginate_select
from core.auth import acting_user, require_login
from core.db import db_session
from registry.agreements import services
from registry.agreements.schemas import (
    AgreementAttachmentSchema,
    AgreementAttachmentUploadSchema,
    AgreementCreateSchema,
    AgreementPartiesSchema,
    AgreementPartySchema,
    AgreementQuerySchema,
    AgreementSchema,
    AgreementTransitionSchema,
    AgreementUpdateSchema,
)
from registry.agreements.views import attachment_response


class _MultipartParser(FlaskParser):
    """A multipart body holds files and form fields; the `files` location reads both, so one schema
    (file and description) validates the upload, refuses unknown fields and documents one body."""

    # The schema's own `unknown = RAISE` applies (webargs would otherwise ignore unknown files).
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "files": None}

    def load_files(self, req, schema):
        return MultiDictProxy(CombinedMultiDict([req.files, req.form]), schema)


class _Blueprint(Blueprint):
    ARGUMENTS_PARSER = _MultipartParser()


blp = _Blueprint(
    "agreements",
    __name__,
    url_prefix="/api/v1/agreements",
    description="Samverkansavtal: parter (utförare och köpare), avtalstid, förlängning och uppsägning, "
    "status och bilagor. Du ser bara avtal där din kommun är part; andra avtal ger 404.",
)


blp.before_request(require_login)


_user = acting_user


def _agreement(agreement_id: int):
    return services.get_agreement_for(db_session, _user(), agreement_id)


@blp.route("/")
class AgreementCollection(MethodView):
    @blp.arguments(AgreementQuerySchema, location="query")
    @blp.response(200, AgreementSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Lista avtal där din kommun är part (sök, filtrera på område, part, status och datum)"""
        stmt = services.search_agreements(db_session, _user(), **args)
        return paginate_select(stmt, pagination_parameters)

    @blp.arguments(AgreementCreateSchema)
    @blp.response(201, AgreementSchema)
    def post(self, values):
        """Registrera ett avtal (som utkast; administratör i en kommun som är part)"""
        return services.register_agreement(db_session, _user(), values)


@blp.route("/<int:agreement_id>")
class AgreementItem(MethodView):
    @blp.response(200, AgreementSchema)
    def get(self, agreement_id):
        """Hämta ett avtal med parter och beräknade datum"""
        return _agreement(agreement_id)

    @blp.arguments(AgreementUpdateSchema)
    @blp.response(200, AgreementSchema)
    def patch(self, values, agreement_id):
        """Ändra ett avtal (utelämnade fält behålls; status ändras via /transition)"""
        return services.update_agreement(db_session, _user(), _agreement(agreement_id), values)


@blp.route("/<int:agreement_id>/transition")
class AgreementTransition(MethodView):
    @blp.arguments(AgreementTransitionSchema)
    @blp.response(200, AgreementSchema)
    @blp.alt_response(409, description="Otillåten statusändring")
    def post(self, values, agreement_id):
        """Ändra avtalets status (uppsägning kräver skäl och datum)"""
        return services.transition_agreement(
            db_session,
            _user(),
            _agreement(agreement_id),
            values["status"],
            reason=values.get("reason"),
            on=values.get("date"),
        )


@blp.route("/<int:agreement_id>/parties")
class AgreementParties(MethodView):
    @blp.response(200, AgreementPartySchema(many=True))
    def get(self, agreement_id):
        """Avtalets parter: utföraren först, sedan köparna"""
        return services.ordered_parties(_agreement(agreement_id))

    @blp.arguments(AgreementPartiesSchema)
    @blp.response(200, AgreementPartySchema(many=True))
    def put(self, values, agreement_id):
        """Ersätt parterna (exakt en utförare, minst en köpare, ingen kommun två gånger)"""
        agreement = services.set_agreement_parties(
            db_session, _user(), _agreement(agreement_id), values["parties"]
        )
        return services.ordered_parties(agreement)


@blp.route("/<int:agreement_id>/attachments")
class AgreementAttachments(MethodView):
    @blp.response(200, AgreementAttachmentSchema(many=True))
    def get(self, agreement_id):
        """Avtalets bilagor (uppgifter och SHA-256, utan innehåll)"""
        return _agreement(agreement_id).attachments

    @blp.arguments(AgreementAttachmentUploadSchema, location="files")
    @blp.response(201, AgreementAttachmentSchema)
    def post(self, values, agreement_id):
        """Ladda upp en bilaga (PDF, DOCX eller ODT; typen kontrolleras på innehållet)"""
        agreement = _agreement(agreement_id)
        upload = values["file"]
        # One byte past the limit is enough to know the file is too large.
        content = upload.stream.read(services.max_attachment_bytes() + 1)
        return services.add_attachment(
            db_session, _user(), agreement, upload.filename, content, values.get("description")
        )


@blp.route("/<int:agreement_id>/attachments/<int:attachment_id>")
class AgreementAttachmentItem(MethodView):
    @blp.response(200, AgreementAttachmentSchema)
    def get(self, agreement_id, attachment_id):
        """Uppgifter om en bilaga"""
        return services.get_attachment(db_session, _user(), agreement_id, attachment_id)

    @blp.response(204)
    @blp.alt_response(409, description="Avtalet är inte längre ett utkast")
    def delete(self, agreement_id, attachment_id):
        """Ta bort en bilaga (bara medan avtalet är ett utkast)"""
        attachment = services.get_attachment(db_session, _user(), agreement_id, attachment_id)
        services.remove_attachment(db_session, _user(), attachment)


@blp.route("/<int:agreement_id>/attachments/<int:attachment_id>/content")
class AgreementAttachmentContent(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "Filen, med lagrad medietyp och SHA-256 i Repr-Digest",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    )
    def get(self, agreement_id, attachment_id):
        """Ladda ner en bilaga"""
        return attachment_response(services.get_attachment(db_session, _user(), agreement_id, attachment_id))
