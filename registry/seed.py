"""Reference data of the registry (legal bases for decisions), loaded by `flask core seed`."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import LegalBasis

LEGAL_BASES_CSV = Path(__file__).parent / "data" / "legal_bases.csv"


def load_legal_bases(session: Session, path: Path = LEGAL_BASES_CSV) -> int:
    """Insert missing legal bases and update the references of existing ones (a lawyer edits the file)."""
    existing = {lb.code: lb for lb in session.scalars(select(LegalBasis))}
    added = 0
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            values = {
                "law": row["law"],
                "title": row["title"],
                "old_reference": row["old_reference"] or None,
                "new_reference": row["new_reference"] or None,
                "reportable": row["reportable"].strip().lower() == "true",
                "note": row["note"] or None,
            }
            current = existing.get(row["code"])
            if current is None:
                session.add(LegalBasis(code=row["code"], **values))
                added += 1
            else:
                for key, value in values.items():
                    if getattr(current, key) != value:
                        setattr(current, key, value)
    session.flush()
    return added


def load_registry_demo(session: Session) -> None:
    """The registry's demo stories (see registry/demo.py), loaded once into an empty database."""
    from registry import demo

    demo.load(session)
