"""Pseudonymous case references, e.g. `JAV-1480-2026-0007`: prefix, the requesting municipality's
kommunkod, the year and a sequence per (prefix, municipality, year) from a counter row locked
FOR UPDATE, so two transfers never get the same number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from registry.models import ReferenceCounter


def next_reference(session: Session, prefix: str, kommunkod: str, year: int) -> str:
    # Create the counter row if it is missing without racing a parallel transaction that does the
    # same (ON CONFLICT DO NOTHING), then lock it: the sequence is gapless and never repeats.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(ReferenceCounter)
        .values(prefix=prefix, kommunkod=kommunkod, year=year, last_value=0)
        .on_conflict_do_nothing(index_elements=["prefix", "kommunkod", "year"])
    )
    counter = session.scalar(
        select(ReferenceCounter)
        .where(
            ReferenceCounter.prefix == prefix,
            ReferenceCounter.kommunkod == kommunkod,
            ReferenceCounter.year == year,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    counter.last_value += 1
    session.flush()
    return f"{prefix}-{kommunkod}-{year}-{counter.last_value:04d}"
