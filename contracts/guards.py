"""The flush-time guard: nothing under an approved contract version is inserted, changed or deleted,
whatever code path tries (the services refuse first with a friendlier message; database triggers
from migration 0004 are the last line). Signed scans may be linked to an approved version.

Also: an agreement attachment (the registry's) that a version links as a document is not removed; the
registry cannot know about contracts, so the refusal with its reason is given here."""

from __future__ import annotations

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from contracts.documents.errors import AttachmentLinked
from contracts.errors import VersionImmutable
from contracts.models import (
    CompensationComponent,
    ContractBuyerTerms,
    ContractFixedShare,
    ContractPrice,
    ContractPriceIndexation,
    ContractReviewRow,
    ContractServiceType,
    ContractVersion,
    ContractVersionDocument,
    DocumentKind,
    VersionStatus,
)
from core.db import AppSession, stored_value
from registry.models import Agreement, AgreementAttachment

_VERSION_CHILDREN = (
    ContractServiceType,
    CompensationComponent,
    ContractBuyerTerms,
    ContractReviewRow,
    ContractPriceIndexation,
    ContractVersionDocument,
)
_COMPONENT_CHILDREN = (ContractPrice, ContractFixedShare)


def _version_of(session: Session, obj) -> ContractVersion | None:
    if isinstance(obj, _COMPONENT_CHILDREN):
        component = obj.component
        if component is None and obj.component_id is not None:
            component = session.get(CompensationComponent, obj.component_id)
        if component is None:
            return None
        obj = component
    version = obj.version
    if version is None and obj.version_id is not None:
        version = session.get(ContractVersion, obj.version_id)
    return version


@event.listens_for(AppSession, "before_flush")
def _refuse_changes_to_approved_versions(session: Session, _ctx, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, ContractVersion):
            if stored_value(obj, "status") == VersionStatus.APPROVED and (
                obj in session.deleted or session.is_modified(obj, include_collections=False)
            ):
                raise VersionImmutable()
    changed = [o for o in session.dirty if session.is_modified(o)] + list(session.deleted) + list(session.new)
    for obj in changed:
        if not isinstance(obj, _VERSION_CHILDREN + _COMPONENT_CHILDREN):
            continue
        if (
            obj in session.new
            and isinstance(obj, ContractVersionDocument)
            and obj.kind == DocumentKind.SIGNED_SCAN
        ):
            continue
        version = _version_of(session, obj)
        if version is not None and stored_value(version, "status") == VersionStatus.APPROVED:
            raise VersionImmutable()


@event.listens_for(AppSession, "before_flush")
def _refuse_removing_linked_attachments(session: Session, _ctx, _instances) -> None:
    candidates = [o for o in session.deleted if isinstance(o, AgreementAttachment)]
    for obj in session.dirty:
        # Removed from agreement.attachments (delete-orphan): not in session.deleted before the flush.
        if isinstance(obj, Agreement) and "attachments" in obj.__dict__:
            candidates += inspect(obj).attrs.attachments.history.deleted
    removed = {o.id: o for o in candidates if o.id is not None}
    if not removed:
        return
    leaving = {o.id for o in session.deleted if isinstance(o, ContractVersionDocument)}
    with session.no_autoflush:
        links = session.execute(
            select(ContractVersionDocument.id, ContractVersionDocument.attachment_id, ContractVersion.number)
            .join(ContractVersion, ContractVersion.id == ContractVersionDocument.version_id)
            .where(ContractVersionDocument.attachment_id.in_(removed))
        ).all()
    links = [link for link in links if link.id not in leaving]
    if links:
        link = links[0]
        raise AttachmentLinked(
            f"Bilagan {removed[link.attachment_id].filename} är kopplad till avtalsversion {link.number} och "
            "kan inte tas bort. Ta först bort kopplingen under versionens dokument."
        )
