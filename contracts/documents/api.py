"""JSON API of a version's documents under /api/v1/contract-versions/<id> (flask-smorest): the contract
PDF, and the linked documents (list, multipart upload, link an existing attachment, unlink). The same
services (and rules) as the pages."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from contracts.documents import render, services
from contracts.documents.schemas import (
    ContractVersionDocumentSchema,
    DocumentLinkSchema,
    DocumentUploadSchema,
)
from contracts.documents.views import pdf_response
from contracts.versions import get_version
from core.auth import acting_user, require_login
from core.db import db_session


class _MultipartParser(FlaskParser):
    """A multipart body holds the file and form fields; the `files` location reads both, so one schema
    validates the upload, refuses unknown fields and documents one body (as the registry's API does)."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "files": None}

    def load_files(self, req, schema):
        return MultiDictProxy(CombinedMultiDict([req.files, req.form]), schema)


class _Blueprint(Blueprint):
    ARGUMENTS_PARSER = _MultipartParser()


blp = _Blueprint(
    "contract_documents",
    __name__,
    url_prefix="/api/v1/contract-versions",
    description="Avtalsdokument: avtalet som PDF (utkast märks UTKAST) och versionens dokument – underskrivet "
    "avtal, PUB-avtal, kostnadskalkyl och övriga bilagor, med SHA-256. Filerna lagras bland avtalets "
    "bilagor. Bara avtalets parter ser dem; andra får 404.",
)


blp.before_request(require_login)


_user = acting_user


@blp.route("/<int:version_id>/pdf")
class VersionPdf(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "Avtalet som PDF (A4). En version som inte är godkänd är märkt UTKAST.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            },
            "503": {"description": "PDF kan inte skapas: wkhtmltopdf saknas på servern"},
        }
    )
    def get(self, version_id):
        """Hämta avtalet som PDF"""
        version = get_version(db_session, _user(), version_id)
        return pdf_response(version, render.render_contract_pdf(db_session, version))


@blp.route("/<int:version_id>/documents")
class VersionDocuments(MethodView):
    @blp.response(200, ContractVersionDocumentSchema(many=True))
    def get(self, version_id):
        """Versionens dokument (uppgifter och SHA-256, utan innehåll)"""
        return get_version(db_session, _user(), version_id).documents

    @blp.arguments(DocumentUploadSchema, location="files")
    @blp.response(201, ContractVersionDocumentSchema)
    @blp.alt_response(409, description="Versionens status tillåter inte dokumentet")
    def post(self, values, version_id):
        """Ladda upp ett dokument till versionen (PDF, DOCX eller ODT; typen kontrolleras på innehållet)"""
        version = get_version(db_session, _user(), version_id)
        upload = values["file"]
        # One byte past the limit is enough to know the file is too large.
        content = upload.stream.read(services.max_attachment_bytes() + 1)
        return services.upload_version_document(
            db_session, _user(), version, values["kind"], upload.filename, content, values.get("description")
        )


@blp.route("/<int:version_id>/documents/link")
class VersionDocumentLink(MethodView):
    @blp.arguments(DocumentLinkSchema)
    @blp.response(201, ContractVersionDocumentSchema)
    @blp.alt_response(
        409, description="Versionens status tillåter inte dokumentet, eller filen är redan kopplad"
    )
    def post(self, values, version_id):
        """Koppla en befintlig bilaga till avtalet som dokument i versionen"""
        version = get_version(db_session, _user(), version_id)
        return services.link_version_document(
            db_session, _user(), version, values["attachment_id"], values["kind"]
        )


@blp.route("/<int:version_id>/documents/<int:document_id>")
class VersionDocumentItem(MethodView):
    @blp.response(200, ContractVersionDocumentSchema)
    def get(self, version_id, document_id):
        """Uppgifter om ett dokument i versionen"""
        version = get_version(db_session, _user(), version_id)
        return services.get_version_document(version, document_id)

    @blp.response(204)
    @blp.alt_response(409, description="Versionen är inte ett utkast")
    def delete(self, version_id, document_id):
        """Ta bort kopplingen (bara från ett utkast; filen finns kvar bland avtalets bilagor)"""
        version = get_version(db_session, _user(), version_id)
        document = services.get_version_document(version, document_id)
        services.unlink_version_document(db_session, _user(), version, document)
