"""Reading the audit log, scoped to what the reader may see."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.formatting import TIMEZONE
from core.models import AuditEntry, AuditEntryScope
from core.permissions import Permission, require, scope_municipality_ids


def _local_midnight_utc(day: dt.date) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(TIMEZONE)).astimezone(dt.UTC)


def audit_query(
    user,
    entity: str | None = None,
    user_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
):
    """Audit entries, newest first. Auditors see their own municipality's rows; sysadmins all."""
    require(user, Permission.AUDIT_READ)
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    scope = scope_municipality_ids(user, Permission.AUDIT_READ)
    if scope is not None:
        visible = select(AuditEntryScope.entry_id).where(AuditEntryScope.municipality_id.in_(scope))
        stmt = stmt.where(AuditEntry.id.in_(visible))
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if user_id is not None:
        stmt = stmt.where(AuditEntry.user_id == user_id)
    if date_from:
        stmt = stmt.where(AuditEntry.occurred_at >= _local_midnight_utc(date_from))
    if date_to:
        stmt = stmt.where(AuditEntry.occurred_at < _local_midnight_utc(date_to + dt.timedelta(days=1)))
    return stmt
