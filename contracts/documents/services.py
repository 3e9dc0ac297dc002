"""Documents of a contract version: signed scans, the PUB-avtal, the cost calculation and other
appendices, and the contract itself as a PDF (contracts.documents.render).

The bytes and the sha256 live in the registry's agreement attachments (one store, one set of checks:
content type, size, file name); a ContractVersionDocument links an attachment to a version with its
role. What may change depends on the version's status:

- draft: any kind may be linked (uploaded or chosen among the agreement's attachments) and unlinked;
- in review: nothing changes, so the reviewer judges exactly the documents that will be approved;
- approved: only the signed scan may be added (signing follows approval); nothing is removed.
  contracts.guards and the database triggers of migration 0004 hold the same rule.

Functions take (session, user, ...), add and flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.documents.errors import DocumentNotFound, DocumentRefused
from contracts.models import (
    DOCUMENT_KIND_LABELS,
    ContractVersion,
    ContractVersionDocument,
    DocumentKind,
    VersionStatus,
)
from contracts.permissions import CONTRACT_EDIT
from core.errors import ValidationFailed
from core.models import User
from core.permissions import can_any, require_any
from registry.agreements.services import format_size, max_attachment_bytes, store_attachment
from registry.models import AgreementAttachment

__all__ = [
    "DocumentRow",
    "addable_kinds",
    "can_edit_documents",
    "document_rows",
    "documents_rule",
    "get_version_document",
    "link_version_document",
    "linkable_attachments",
    "max_attachment_bytes",
    "may_unlink",
    "unlink_version_document",
    "upload_version_document",
]

IN_REVIEW_REFUSAL = (
    "Versionen är under juridisk granskning. Under granskningen kan inga dokument läggas till eller tas "
    "bort, så att juristen godkänner exakt de underlag som granskats. Skicka tillbaka versionen till "
    "utkast för att ändra underlagen; det underskrivna avtalet läggs till när versionen är godkänd."
)


# --- The rule ------------------------------------------------------------------------------------


def addable_kinds(version: ContractVersion) -> list[DocumentKind]:
    """The kinds of document that may be linked to the version in its current status."""
    if version.status == VersionStatus.DRAFT:
        return list(DocumentKind)
    if version.status == VersionStatus.APPROVED:
        return [DocumentKind.SIGNED_SCAN]
    return []


def may_unlink(version: ContractVersion) -> bool:
    return version.status == VersionStatus.DRAFT


def documents_rule(version: ContractVersion) -> str:
    """The rule for the version's status, in Swedish, for the pages."""
    if version.status == VersionStatus.DRAFT:
        return (
            "Versionen är ett utkast: alla slags dokument kan läggas till och tas bort. När versionen "
            "har godkänts kan bara det underskrivna avtalet läggas till, och inget kan tas bort."
        )
    if version.status == VersionStatus.APPROVED:
        return (
            "Versionen är godkänd: bara det underskrivna avtalet (skannat) kan läggas till. Inga dokument "
            "kan tas bort. Andra underlag hör till en ny version (tilläggsavtal)."
        )
    return IN_REVIEW_REFUSAL


def can_edit_documents(user, version: ContractVersion) -> bool:
    """May the user add documents to the version now (role of a party and a status that allows it)?"""
    return bool(addable_kinds(version)) and can_any(
        user, CONTRACT_EDIT, version.agreement.party_municipality_ids
    )


def _check_may_add(version: ContractVersion, kind: DocumentKind) -> None:
    if kind in addable_kinds(version):
        return
    if version.status == VersionStatus.APPROVED:
        raise DocumentRefused(
            f"Versionen är godkänd och kan inte ändras: bara det underskrivna avtalet (skannat) kan "
            f"läggas till. {DOCUMENT_KIND_LABELS[kind]} hör till en ny version (tilläggsavtal)."
        )
    raise DocumentRefused(IN_REVIEW_REFUSAL)


def _kind(kind: DocumentKind | str | None) -> DocumentKind:
    try:
        return DocumentKind(kind)
    except ValueError:
        choices = ", ".join(DOCUMENT_KIND_LABELS[k].lower() for k in DocumentKind)
        raise ValidationFailed(errors={"kind": [f"Välj vilket slags dokument det är: {choices}."]}) from None


def _acting_id(user) -> int | None:
    return user.id if getattr(user, "is_authenticated", False) else None


# --- Reading ----------------------------------------------------------------------------------------


def get_version_document(version: ContractVersion, document_id: int) -> ContractVersionDocument:
    """A document of the version (already loaded with it); 404 otherwise."""
    for document in version.documents:
        if document.id == document_id:
            return document
    raise DocumentNotFound()


@dataclass(frozen=True)
class DocumentRow:
    """A linked document as the pages show it: the file, who uploaded it and who linked it."""

    document: ContractVersionDocument
    attachment: AgreementAttachment
    uploaded_by: str | None
    added_by: str | None

    @property
    def size(self) -> str:
        return format_size(self.attachment.size_bytes)


def document_rows(session: Session, version: ContractVersion) -> list[DocumentRow]:
    """The version's documents with the names of the uploaders (one query for the names)."""
    documents = list(version.documents)
    ids = {d.attachment.uploaded_by_id for d in documents} | {d.added_by_id for d in documents}
    ids.discard(None)
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
    return [
        DocumentRow(d, d.attachment, names.get(d.attachment.uploaded_by_id), names.get(d.added_by_id))
        for d in documents
    ]


def linkable_attachments(session: Session, version: ContractVersion) -> list[AgreementAttachment]:
    """The agreement's attachments that are not yet linked to the version, newest first."""
    linked = {d.attachment_id for d in version.documents}
    attachments = session.scalars(
        select(AgreementAttachment)
        .where(AgreementAttachment.agreement_id == version.agreement_id)
        .order_by(AgreementAttachment.uploaded_at.desc(), AgreementAttachment.id.desc())
    )
    return [a for a in attachments if a.id not in linked]


# --- Changing -----------------------------------------------------------------------------------


def _link(
    session: Session, user, version: ContractVersion, attachment: AgreementAttachment, kind: DocumentKind
) -> ContractVersionDocument:
    document = ContractVersionDocument(attachment=attachment, kind=kind, added_by_id=_acting_id(user))
    version.documents.append(document)
    session.flush()
    return document


def upload_version_document(
    session: Session,
    user,
    version: ContractVersion,
    kind: DocumentKind | str | None,
    filename: str | None,
    content: bytes,
    description: str | None = None,
) -> ContractVersionDocument:
    """Store a file with the agreement (the registry's checks: PDF, DOCX or ODT by content, size limit,
    sha256) and link it to the version as `kind`."""
    require_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids)
    kind = _kind(kind)
    _check_may_add(version, kind)
    description = (description or "").strip() or f"{DOCUMENT_KIND_LABELS[kind]}, version {version.number}"
    attachment = store_attachment(
        session, version.agreement, filename, content, description, uploaded_by_id=_acting_id(user)
    )
    return _link(session, user, version, attachment, kind)


def link_version_document(
    session: Session,
    user,
    version: ContractVersion,
    attachment_id: int | None,
    kind: DocumentKind | str | None,
) -> ContractVersionDocument:
    """Link an attachment already stored with the same agreement to the version as `kind`."""
    require_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids)
    kind = _kind(kind)
    _check_may_add(version, kind)
    attachment = (
        session.scalar(
            select(AgreementAttachment).where(
                AgreementAttachment.id == attachment_id,
                AgreementAttachment.agreement_id == version.agreement_id,
            )
        )
        if attachment_id is not None
        else None
    )
    if attachment is None:
        raise ValidationFailed(
            errors={"attachment_id": ["Välj en fil bland avtalets bilagor (samma avtal som versionen)."]}
        )
    existing = next((d for d in version.documents if d.attachment_id == attachment.id), None)
    if existing is not None:
        raise DocumentRefused(
            f"{attachment.filename} är redan kopplad till versionen som {existing.kind_label.lower()}."
        )
    return _link(session, user, version, attachment, kind)


def unlink_version_document(
    session: Session, user, version: ContractVersion, document: ContractVersionDocument
) -> None:
    """Remove the link (only from a draft). The file stays with the agreement's attachments."""
    require_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids)
    if not may_unlink(version):
        if version.status == VersionStatus.APPROVED:
            raise DocumentRefused(
                "Versionen är godkänd: dokument kan inte tas bort från den. Underlagen är en del av det "
                "godkända avtalet."
            )
        raise DocumentRefused(IN_REVIEW_REFUSAL)
    version.documents.remove(document)
    session.flush()
