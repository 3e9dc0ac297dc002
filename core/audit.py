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

import psycopg
from sqlalchemy import event, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
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


def jsonable(value: Any) -> Any:
    """A column value as the audit log records it (JSON: enums by value, dates ISO, Decimals as text).
    Public for code that writes rows in bulk and appends their entries itself (append_entries)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
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
        changes[key] = [jsonable(before), jsonable(after)]
    return changes


def _entity_id(obj: Base) -> str:
    identity = inspect(obj).identity
    if identity is None:
        identity = inspect(obj).mapper.primary_key_from_instance(obj)
    return "/".join(str(jsonable(v)) for v in identity)


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


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _content_parts(occurred_at: dt.datetime, user_id: int | None, actor: str) -> tuple[str, str]:
    """The parts of canonical_content shared by every entry of one append: what precedes the changes
    after the action, and what follows the municipality (the payload's keys are sorted)."""
    when = occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return (
        f',"actor":{_dumps(actor)},"changes":',
        f',"occurred_at":{_dumps(when)},"user_id":{_dumps(user_id)}}}',
    )


def _fast_content(
    parts: tuple[str, str], action: str, changes_json: str, entity: str, entity_id: str, municipality_id
) -> str:
    """canonical_content, built around the changes already serialised (the same text, checked in tests:
    json.dumps with sorted keys writes the payload in exactly this order)."""
    return (
        f'{{"action":{_dumps(action)}{parts[0]}{changes_json},"entity":{_dumps(entity)}'
        f',"entity_id":{_dumps(entity_id)},"municipality_id":{_dumps(municipality_id)}{parts[1]}'
    )


def append_entries(session: Session, rows: list[dict]) -> None:
    """Append entries to the chain inside the current transaction (head row locked FOR UPDATE).

    Each row: action, entity, entity_id, municipality_id, scopes (municipality ids), changes (a dict of
    column -> [before, after], values through `jsonable`). The session's flush events use it for every
    ORM change; code that writes rows in bulk (the national invoice run) calls it with the entries of
    its rows. On PostgreSQL the ids are taken from the sequence and entries and scopes sent with COPY
    (the chain orders by id, and the locked head keeps every other append out meanwhile); on SQLite
    with multi-row INSERTs."""
    if not rows:
        return
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
    parts = _content_parts(now, user_id, actor)
    entries, scopes = [], []
    for row in sorted(rows, key=lambda r: (r["entity"], r["entity_id"], r["action"])):
        action = AuditAction(row["action"])
        municipality_id = row["municipality_id"]
        changes_json = _dumps(row["changes"])
        content = _fast_content(
            parts, str(action), changes_json, row["entity"], row["entity_id"], municipality_id
        )
        entry_hash = chain_hash(prev_hash, content)
        scopes.append(set(row["scopes"]) | ({municipality_id} if municipality_id else set()))
        entries.append((action, row, changes_json, prev_hash, entry_hash))
        prev_hash = entry_hash
    if conn.dialect.name == "postgresql":
        _copy_entries(conn, now, user_id, actor, entries, scopes)
    else:
        values = [
            dict(
                occurred_at=now,
                user_id=user_id,
                actor=actor,
                action=action,
                entity=row["entity"],
                entity_id=row["entity_id"],
                municipality_id=row["municipality_id"],
                changes=row["changes"],
                prev_hash=prev,
                entry_hash=entry_hash,
            )
            for action, row, _, prev, entry_hash in entries
        ]
        ids = conn.execute(
            insert(AuditEntry).returning(AuditEntry.id, sort_by_parameter_order=True), values
        ).scalars()
        scope_rows = [
            {"entry_id": entry_id, "municipality_id": m}
            for entry_id, ms in zip(ids, scopes, strict=True)
            for m in sorted(ms)
        ]
        if scope_rows:
            conn.execute(insert(AuditEntryScope), scope_rows)
    conn.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(last_hash=prev_hash, entries=count + len(entries))
    )


def _copy_entries(conn, now: dt.datetime, user_id, actor: str, entries: list, scopes: list[set]) -> None:
    """PostgreSQL: ids from the sequence (ascending, in chain order), then COPY of entries and scopes."""
    # One block of ids in one call (nextval per entry costs seconds for a national run): nobody else
    # takes ids from this sequence meanwhile, as every append holds the chain head's lock.
    last = conn.execute(
        text(
            "SELECT setval(CAST(seq AS regclass), nextval(CAST(seq AS regclass)) + :count - 1) "
            "FROM pg_get_serial_sequence('audit_entries', 'id') AS seq"
        ),
        {"count": len(entries)},
    ).scalar_one()
    ids = range(last - len(entries) + 1, last + 1)
    cursor = conn.connection.driver_connection.cursor()
    statement = (
        "COPY audit_entries (id, occurred_at, user_id, actor, action, entity, entity_id, municipality_id, "
        "changes, prev_hash, entry_hash) FROM STDIN"
    )
    try:
        with cursor.copy(statement) as copy:
            for entry_id, (action, row, changes_json, prev, entry_hash) in zip(ids, entries, strict=True):
                copy.write_row(
                    (
                        entry_id,
                        now,
                        user_id,
                        actor,
                        action.value,
                        row["entity"],
                        row["entity_id"],
                        row["municipality_id"],
                        changes_json,
                        prev,
                        entry_hash,
                    )
                )
        statement = "COPY audit_entry_scopes (entry_id, municipality_id) FROM STDIN"
        with cursor.copy(statement) as copy:
            for entry_id, ms in zip(ids, scopes, strict=True):
                for m in sorted(ms):
                    copy.write_row((entry_id, m))
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
    finally:
        cursor.close()


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
