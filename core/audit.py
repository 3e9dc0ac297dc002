"""The audit log: every insert, update and delete of a domain row, recorded by session events.

Entries are hash-chained: each carries sha256(previous hash + its own canonical content), and the
chain head row is locked while appending so concurrent transactions cannot fork the chain.
`verify_audit_chain` finds the first broken link.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import enum
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.orm import Session

from core.db import AppSession, Base, utcnow
from core.models import AuditAction, AuditChainHead, AuditEntry, AuditEntryScope

GENESIS_HASH = "0" * 64
REDACTED = "***"

_actor: contextvars.ContextVar[tuple[int | None, str]] = contextvars.ContextVar(
    "audit_actor", default=(None, "system")
)


class AuditTamperError(RuntimeError):
    """Raised when code tries to change or delete an audit entry."""


@contextmanager
def acting_as(label: str, user_id: int | None = None) -> Iterator[None]:
    """Attribute changes made outside a web request (CLI, jobs) to a named actor."""
    token = _actor.set((user_id, label))
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> tuple[int | None, str]:
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context():
        user = current_user._get_current_object() if current_user else None
        if user is not None and getattr(user, "is_authenticated", False):
            return user.id, user.email
    return _actor.get()


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def canonical_content(
    occurred_at: dt.datetime,
    user_id: int | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    municipality_id: int | None,
    changes: dict,
) -> str:
    payload = {
        "occurred_at": occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "user_id": user_id,
        "actor": actor,
        "action": str(action),
        "entity": entity,
        "entity_id": entity_id,
        "municipality_id": municipality_id,
        "changes": changes,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def _changes(obj: Base, action: AuditAction) -> dict[str, list]:
    state = inspect(obj)
    redact = type(obj).__audit_redact__
    changes: dict[str, list] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if action is AuditAction.UPDATE:
            hist = state.attrs[key].history
            if not hist.has_changes():
                continue
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if before == after:
                continue
        else:
            value = state.dict.get(key)
            before, after = (None, value) if action is AuditAction.INSERT else (value, None)
        if key in redact:
            before = REDACTED if before is not None else None
            after = REDACTED if after is not None else None
        changes[key] = [_jsonable(before), _jsonable(after)]
    return changes


def _entity_id(obj: Base) -> str:
    identity = inspect(obj).identity
    if identity is None:
        identity = inspect(obj).mapper.primary_key_from_instance(obj)
    return "/".join(str(_jsonable(v)) for v in identity)


@event.listens_for(AppSession, "before_flush")
def _refuse_audit_changes(session: Session, _ctx, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry | AuditEntryScope | AuditChainHead) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise AuditTamperError("Granskningsloggen kan inte ändras eller raderas.")


@event.listens_for(AppSession, "after_flush")
def _record_changes(session: Session, _ctx) -> None:
    pending: list[tuple[AuditAction, Base]] = []
    pending += [(AuditAction.INSERT, o) for o in session.new]
    pending += [(AuditAction.UPDATE, o) for o in session.dirty if session.is_modified(o)]
    pending += [(AuditAction.DELETE, o) for o in session.deleted]
    # Rows removed from a delete-orphan collection (`parent.children.remove(child)`) are deleted by
    # this flush without ever being in session.deleted: take them from the flush's own plan.
    listed = {id(o) for o in session.deleted}
    for state, (isdelete, listonly) in getattr(_ctx, "states", {}).items():
        obj = state.obj()
        if isdelete and not listonly and obj is not None and id(obj) not in listed:
            pending.append((AuditAction.DELETE, obj))
    rows = []
    for action, obj in pending:
        if not isinstance(obj, Base) or not type(obj).__audit__:
            continue
        changes = _changes(obj, action)
        if action is AuditAction.UPDATE and not changes:
            continue
        rows.append(
            {
                "action": action,
                "entity": obj.__tablename__,
                "entity_id": _entity_id(obj),
                "municipality_id": obj.audit_municipality_id(),
                "scopes": obj.audit_municipality_ids(),
                "changes": changes,
            }
        )
    if rows:
        append_entries(session, rows)


def append_entries(session: Session, rows: list[dict]) -> None:
    """Append entries to the chain inside the current transaction (head row locked FOR UPDATE)."""
    conn = session.connection()
    head = conn.execute(
        select(AuditChainHead.last_hash, AuditChainHead.entries)
        .where(AuditChainHead.id == 1)
        .with_for_update()
    ).first()
    if head is None:
        conn.execute(insert(AuditChainHead).values(id=1, last_hash=GENESIS_HASH, entries=0))
        prev_hash, count = GENESIS_HASH, 0
    else:
        prev_hash, count = head
    user_id, actor = current_actor()
    # Microsecond precision survives every backend, so the hash can be recomputed from stored rows.
    now = utcnow()
    values, scopes = [], []
    for row in sorted(rows, key=lambda r: (r["entity"], r["entity_id"], r["action"])):
        content = canonical_content(
            now,
            user_id,
            actor,
            row["action"],
            row["entity"],
            row["entity_id"],
            row["municipality_id"],
            row["changes"],
        )
        entry_hash = chain_hash(prev_hash, content)
        scopes.append(set(row["scopes"]) | ({row["municipality_id"]} if row["municipality_id"] else set()))
        values.append(
            {k: v for k, v in row.items() if k != "scopes"}
            | dict(occurred_at=now, user_id=user_id, actor=actor, prev_hash=prev_hash, entry_hash=entry_hash)
        )
        prev_hash = entry_hash
    ids = conn.execute(
        insert(AuditEntry).returning(AuditEntry.id, sort_by_parameter_order=True), values
    ).scalars()
    scope_rows = [
        {"entry_id": entry_id, "municipality_id": m}
        for entry_id, ms in zip(ids, scopes, strict=True)
        for m in ms
    ]
    if scope_rows:
        conn.execute(insert(AuditEntryScope), scope_rows)
    conn.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(last_hash=prev_hash, entries=count + len(values))
    )


@dataclass
class AuditVerification:
    ok: bool
    checked: int
    broken_entry_id: int | None = None
    reason: str | None = None


def verify_audit_chain(session: Session) -> AuditVerification:
    """Recompute every link; report the first entry whose hash or link does not match."""
    prev_hash = GENESIS_HASH
    checked = 0
    # Plain rows, not ORM objects: the check must read what is stored, not an identity-map copy.
    columns = (
        AuditEntry.id,
        AuditEntry.occurred_at,
        AuditEntry.user_id,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.entity,
        AuditEntry.entity_id,
        AuditEntry.municipality_id,
        AuditEntry.changes,
        AuditEntry.prev_hash,
        AuditEntry.entry_hash,
    )
    rows = session.execute(select(*columns).order_by(AuditEntry.id).execution_options(yield_per=2000))
    for entry in rows:
        if entry.prev_hash != prev_hash:
            return AuditVerification(
                False,
                checked,
                entry.id,
                "länken till föregående post stämmer inte (en post saknas eller ändrats)",
            )
        content = canonical_content(
            entry.occurred_at,
            entry.user_id,
            entry.actor,
            entry.action,
            entry.entity,
            entry.entity_id,
            entry.municipality_id,
            entry.changes,
        )
        if chain_hash(prev_hash, content) != entry.entry_hash:
            return AuditVerification(False, checked, entry.id, "postens innehåll stämmer inte med dess hash")
        prev_hash = entry.entry_hash
        checked += 1
    head = session.execute(
        select(AuditChainHead.last_hash, AuditChainHead.entries).where(AuditChainHead.id == 1)
    ).first()
    if head is not None and (head.last_hash != prev_hash or head.entries != checked):
        return AuditVerification(
            False, checked, None, "kedjans sista post saknas eller antalet poster stämmer inte"
        )
    return AuditVerification(True, checked)
