"""marshmallow schemas of a version's documents: the API representation, the multipart upload and
the link of an existing attachment. The status rules live in services.py."""

from __future__ import annotations

from flask import url_for
from marshmallow import fields, validate

from contracts.models import DOCUMENT_KIND_LABELS, DocumentKind
from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, BlankToNoneMixin, FileUpload, Id

_KIND_CHOICES = ", ".join(f"{k.value} ({DOCUMENT_KIND_LABELS[k]})" for k in DocumentKind)


def _kind(**kwargs) -> fields.Enum:
    return fields.Enum(
        DocumentKind,
        by_value=True,
        error_messages={"unknown": f"Välj ett av: {_KIND_CHOICES}."},
        metadata={"description": "; ".join(f"`{k.value}`: {DOCUMENT_KIND_LABELS[k]}" for k in DocumentKind)},
        **kwargs,
    )


class DocumentUploadSchema(BlankToNoneMixin, BaseSchema):
    """The API's multipart upload: the file, its kind and an optional description."""

    file = FileUpload(
        required=True, metadata={"description": "PDF, DOCX eller ODT (typen kontrolleras på innehållet)"}
    )
    kind = _kind(required=True)
    description = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=200), NoPersonalNumber()],  # AgreementAttachment.description
        metadata={"description": "Vad filen är; utelämnad blir det dokumentets slag och versionens nummer"},
    )


class DocumentLinkSchema(BaseSchema):
    attachment_id = Id(
        required=True, metadata={"description": "En bilaga till samma avtal (se avtalets bilagor)"}
    )
    kind = _kind(required=True)


class ContractVersionDocumentSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    version_id = fields.Integer(dump_only=True)
    kind = fields.Enum(DocumentKind, by_value=True, dump_only=True)
    kind_label = fields.String(dump_only=True)
    attachment_id = fields.Integer(dump_only=True)
    filename = fields.String(attribute="attachment.filename", dump_only=True)
    media_type = fields.String(attribute="attachment.media_type", dump_only=True)
    size_bytes = fields.Integer(attribute="attachment.size_bytes", dump_only=True)
    sha256 = fields.String(attribute="attachment.sha256", dump_only=True)
    description = fields.String(attribute="attachment.description", dump_only=True, allow_none=True)
    uploaded_by_id = fields.Integer(attribute="attachment.uploaded_by_id", dump_only=True, allow_none=True)
    uploaded_at = fields.DateTime(attribute="attachment.uploaded_at", dump_only=True)
    added_by_id = fields.Integer(dump_only=True, allow_none=True)
    added_at = fields.DateTime(dump_only=True)
    download_url = fields.Function(
        lambda d: url_for(
            "agreements.AgreementAttachmentContent",
            agreement_id=d.attachment.agreement_id,
            attachment_id=d.attachment_id,
        ),
        dump_only=True,
        metadata={"description": "Filen laddas ner genom avtalets bilagor (samma behörighet)"},
    )
