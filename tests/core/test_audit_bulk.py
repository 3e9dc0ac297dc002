"""The bulk append path of the audit log (core.audit.append_entries: COPY on PostgreSQL, multi-row INSERT
on SQLite): the chain verifies after it, entries read back as the flush events record them, and the
canonical content built around pre-serialised changes is the text canonical_content hashes."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, select

from core.audit import (
    _content_parts,
    _dumps,
    _fast_content,
    acting_as,
    append_entries,
    canonical_content,
    chain_hash,
    jsonable,
    verify_audit_chain,
)
from core.models import AuditAction, AuditChainHead, AuditEntry, AuditEntryScope, MunicipalityPopulation

TRICKY = ["tab\there", "new\nline", "back\\slash", 'quote"d', "Åsa Öberg–Ärlig ✓", "\\N", "cr\rx", ""]


def _scopes(db, entry_id: int) -> set[int]:
    return set(
        db.scalars(select(AuditEntryScope.municipality_id).where(AuditEntryScope.entry_id == entry_id))
    )


def test_fast_content_is_exactly_canonical_content():
    rng = random.Random(7)
    when = dt.datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=dt.UTC)
    for n in range(300):
        changes = {
            rng.choice(TRICKY) + str(i): [rng.choice([None, 1, True, rng.choice(TRICKY)]), rng.choice(TRICKY)]
            for i in range(rng.randrange(0, 6))
        }
        changes["nested"] = [None, {"b": [1, "x"], "a": {"z": None, "å": "ä"}}]
        user_id = rng.choice([None, 12])
        actor = rng.choice(TRICKY) or "system"
        municipality_id = rng.choice([None, 290, 0])
        action = rng.choice(list(AuditAction))
        entity, entity_id = rng.choice(TRICKY), f"{n}/{rng.choice(TRICKY)}"
        expected = canonical_content(
            when, user_id, actor, action, entity, entity_id, municipality_id, changes
        )
        fast = _fast_content(
            _content_parts(when, user_id, actor),
            str(action),
            _dumps(changes),
            entity,
            entity_id,
            municipality_id,
        )
        assert fast == expected


def test_bulk_append_verifies_and_reads_back(db, municipality):
    harryda, lerum = municipality("Härryda"), municipality("Lerum")
    before = db.scalar(select(func.max(AuditEntry.id))) or 0
    head_before = db.scalar(select(AuditChainHead.entries))
    rows = [
        {
            "action": AuditAction.INSERT if i % 3 else AuditAction.UPDATE,
            "entity": "test_rows",
            "entity_id": f"{i:05d}",
            "municipality_id": harryda.id if i % 2 else None,
            "scopes": {lerum.id} if i % 4 == 0 else set(),
            "changes": {"text": [None, TRICKY[i % len(TRICKY)]], "amount": [None, jsonable(Decimal("1.50"))]},
        }
        for i in range(120)
    ]
    with acting_as("test: bulk"):
        append_entries(db, rows)
    db.flush()
    entries = db.scalars(select(AuditEntry).where(AuditEntry.id > before).order_by(AuditEntry.id)).all()
    assert [e.entity_id for e in entries] == [f"{i:05d}" for i in range(120)]  # chain order = id order
    assert db.scalar(select(AuditChainHead.entries)) == head_before + 120
    assert db.scalar(select(AuditChainHead.last_hash)) == entries[-1].entry_hash
    for i, entry in enumerate(entries):
        assert entry.actor == "test: bulk" and entry.user_id is None
        assert entry.action == rows[i]["action"]
        assert entry.municipality_id == rows[i]["municipality_id"]
        assert entry.changes == rows[i]["changes"]
        expected_scopes = set(rows[i]["scopes"]) | ({harryda.id} if i % 2 else set())
        assert _scopes(db, entry.id) == expected_scopes
        assert entry.prev_hash == (entries[i - 1].entry_hash if i else entry.prev_hash)
    # A flushed ORM change after the bulk append continues the same chain.
    db.add(MunicipalityPopulation(municipality_id=harryda.id, year=2031, population=40000, source="Prognos"))
    db.flush()
    assert verify_audit_chain(db).ok


def test_bulk_entry_reads_back_identical_to_the_flushed_one(db, municipality):
    """The same change through the ORM (flush events) and through append_entries with the values
    written as bulk code writes them (jsonable): the stored entries differ only in id, time and hashes."""
    harryda = municipality("Härryda")
    row = MunicipalityPopulation(
        municipality_id=harryda.id, year=2032, population=41234, source="Prognos ”SCB” \\ 2032"
    )
    db.add(row)
    db.flush()
    flushed = db.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "municipality_populations", AuditEntry.entity_id == str(row.id)
        )
    ).one()
    values = {attr.key: getattr(row, attr.key) for attr in MunicipalityPopulation.__mapper__.column_attrs}
    append_entries(
        db,
        [
            {
                "action": AuditAction.INSERT,
                "entity": "municipality_populations",
                "entity_id": str(row.id),
                "municipality_id": row.audit_municipality_id(),
                "scopes": row.audit_municipality_ids(),
                "changes": {key: [None, jsonable(value)] for key, value in values.items()},
            }
        ],
    )
    db.flush()
    bulk = db.scalars(
        select(AuditEntry).where(AuditEntry.entity == "municipality_populations", AuditEntry.id > flushed.id)
    ).one()
    db.expire_all()
    columns = ("actor", "user_id", "action", "entity", "entity_id", "municipality_id", "changes")
    assert {c: getattr(bulk, c) for c in columns} == {c: getattr(flushed, c) for c in columns}
    assert _scopes(db, bulk.id) == _scopes(db, flushed.id) == {harryda.id}
    assert bulk.prev_hash == flushed.entry_hash
    assert verify_audit_chain(db).ok


def test_a_changed_bulk_entry_breaks_the_chain(db, municipality):
    from tests.core.test_audit import _allow_tampering

    before = db.scalar(select(func.max(AuditEntry.id))) or 0
    append_entries(
        db,
        [
            {
                "action": AuditAction.INSERT,
                "entity": "test_rows",
                "entity_id": str(i),
                "municipality_id": None,
                "scopes": set(),
                "changes": {"v": [None, i]},
            }
            for i in range(5)
        ],
    )
    db.flush()
    target = db.scalars(select(AuditEntry).where(AuditEntry.id > before).order_by(AuditEntry.id)).all()[2]
    _allow_tampering(db)
    db.execute(
        AuditEntry.__table__.update().where(AuditEntry.id == target.id).values(changes={"v": [None, 99]})
    )
    result = verify_audit_chain(db)
    assert not result.ok and result.broken_entry_id == target.id
    assert chain_hash(target.prev_hash, "x") != target.entry_hash
