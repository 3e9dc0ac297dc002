"""Pseudonymous case references, e.g. `JAV-1480-2026-0007`: prefix, the requesting municipality's
kommunkod, the year and a sequence per (prefix, municipality, year) from a counter row locked
FOR UPDATE, so two transfers never get the same number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import ReferenceCounter


def next_reference(session: Session, prefix: str, kommunkod: str, year: int) -> str:
    counter = session.scalar(
        select(ReferenceCounter)
        .where(
            ReferenceCounter.prefix == prefix,
            ReferenceCounter.kommunkod == kommunkod,
            ReferenceCounter.year == year,
        )
        .with_for_update()
    )
    if counter is None:
        counter = ReferenceCounter(prefix=prefix, kommunkod=kommunkod, year=year, last_value=0)
        session.add(counter)
    counter.last_value += 1
    session.flush()
    return f"{prefix}-{kommunkod}-{year}-{counter.last_value:04d}"
