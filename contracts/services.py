"""The index values register: record a value, revise it (every change leaves a revision row), list
and search, and preview an indexation with a stored value. Functions add and flush, never commit.

Index values are public reference data: reading needs `index.read`, changing needs `index.edit`
(finance or legal; sysadmins too). Nothing here touches invoices: billing reads the revisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from contracts.errors import IndexRevisionRefused, IndexValueMissing, IndexValueNotFound
from contracts.indexation import IndexedPrice, Rounding, apply_index
from contracts.models import (
    INDEX_KIND_SHORT,
    IndexKind,
    IndexStatus,
    IndexValue,
    IndexValueRevision,
    RevisionKind,
)
from contracts.permissions import INDEX_EDIT, INDEX_READ
from contracts.schemas import IndexRevisionCreateSchema, IndexValueCreateSchema
from core.errors import ValidationFailed
from core.permissions import require
from core.services import load_or_raise


@dataclass(frozen=True)
class IndexPreview:
    value: IndexValue
    result: IndexedPrice


def _acting_user(user):
    return user if getattr(user, "is_authenticated", False) else None


def find_index_value(session: Session, kind: IndexKind | str, year: int) -> IndexValue | None:
    return session.scalar(
        select(IndexValue).where(IndexValue.kind == IndexKind(kind), IndexValue.year == year)
    )


def get_index_value(session: Session, user, value_id: int) -> IndexValue:
    require(user, INDEX_READ)
    value = session.get(IndexValue, value_id)
    if value is None:
        raise IndexValueNotFound()
    return value


def search_index_values(
    session: Session,
    user,
    kind: IndexKind | str | None = None,
    year: int | None = None,
    status: IndexStatus | str | None = None,
) -> Select:
    """Newest year first, then by index."""
    require(user, INDEX_READ)
    stmt = select(IndexValue).options(selectinload(IndexValue.revisions))
    if kind:
        stmt = stmt.where(IndexValue.kind == IndexKind(kind))
    if year is not None:
        stmt = stmt.where(IndexValue.year == year)
    if status:
        stmt = stmt.where(IndexValue.status == IndexStatus(status))
    return stmt.order_by(IndexValue.year.desc(), IndexValue.kind, IndexValue.id)


def record_index_value(session: Session, user, data: dict) -> IndexValue:
    """Record the value of an index for a year; one value per index and year (revise it after that)."""
    require(user, INDEX_EDIT)
    values = load_or_raise(IndexValueCreateSchema(), data)
    existing = find_index_value(session, values["kind"], values["year"])
    if existing is not None:
        raise ValidationFailed(
            f"Det finns redan ett värde för {INDEX_KIND_SHORT[existing.kind]} {existing.year}.",
            errors={
                "year": [
                    f"Det finns redan ett värde för {INDEX_KIND_SHORT[existing.kind]} {existing.year} "
                    f"({existing.edition}). Revidera det värdet i stället."
                ]
            },
        )
    value = IndexValue(**values, created_by=_acting_user(user))
    session.add(value)
    session.flush()
    return value


def revise_index_value(
    session: Session,
    user,
    value: IndexValue,
    new_percent: Decimal | str,
    new_status: IndexStatus | str,
    reason: str | None = None,
) -> IndexValueRevision:
    """Change an index value and record the change as a revision (the adjustment billing picks up).

    A preliminary value may be revised or made final. A final value stays final and is changed only
    by an explicit correction with a reason. Issued invoices are never touched here."""
    require(user, INDEX_EDIT)
    values = load_or_raise(
        IndexRevisionCreateSchema(),
        {
            "percent": str(new_percent),
            "status": str(new_status) if new_status is not None else None,
            "reason": reason,
        },
    )
    percent, status, reason = values["percent"], values["status"], values.get("reason")
    if value.is_final and status == IndexStatus.PRELIMINARY:
        raise IndexRevisionRefused(
            "Ett slutligt indexvärde kan inte bli preliminärt igen. Rätta det som slutligt värde med ett skäl.",
            errors={"status": ["Ett slutligt värde förblir slutligt."]},
        )
    if percent == value.percent and status == value.status:
        raise ValidationFailed(
            "Ingenting ändrades.",
            errors={"percent": ["Ange ett nytt värde eller fastställ värdet som slutligt."]},
        )
    if value.is_final:
        if not reason:
            raise ValidationFailed(
                "Ett slutligt värde kan bara rättas med ett skäl.",
                errors={"reason": ["Skriv varför det slutliga värdet rättas."]},
            )
        kind = RevisionKind.CORRECTION
    elif status == IndexStatus.FINAL:
        kind = RevisionKind.FINALIZATION
    else:
        kind = RevisionKind.REVISION
    revision = IndexValueRevision(
        index_value=value,
        kind=kind,
        old_percent=value.percent,
        new_percent=percent,
        old_status=value.status,
        new_status=status,
        reason=reason,
        revised_by=_acting_user(user),
    )
    value.percent = percent
    value.status = status
    session.add(revision)
    session.flush()
    return revision


def preview_indexation(
    session: Session,
    user,
    price: Decimal,
    kind: IndexKind | str,
    year: int,
    rounding: Rounding | str = Rounding.ORE,
) -> IndexPreview:
    """Next year's price with the stored index value: a reviewable result, nothing is saved."""
    require(user, INDEX_READ)
    value = find_index_value(session, kind, year)
    if value is None:
        short = INDEX_KIND_SHORT[IndexKind(kind)]
        message = f"Det finns inget värde för {short} {year} i registret. Registrera indexvärdet först."
        raise IndexValueMissing(message, errors={"year": [message]})
    return IndexPreview(value=value, result=apply_index(price, value.percent, rounding, year=year))
