"""Demo index values for `make run`: illustrative figures, labelled as demo data, so the register
and the price preview have something to show (the GR jäv agreement is indexed with OPI)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from contracts.models import IndexKind, IndexStatus, IndexValue

DEMO_SOURCE = "Demodata (avrundade, illustrativa värden)"

DEMO_VALUES = [
    (IndexKind.PKV, "PKV oktober 2024", 2025, Decimal("3.1000"), IndexStatus.FINAL, dt.date(2024, 10, 15)),
    (
        IndexKind.PKV,
        "PKV oktober 2025",
        2026,
        Decimal("2.8000"),
        IndexStatus.PRELIMINARY,
        dt.date(2025, 10, 14),
    ),
    (IndexKind.OPI, "OPI 2025", 2025, Decimal("3.3000"), IndexStatus.FINAL, dt.date(2025, 4, 10)),
    (
        IndexKind.OPI,
        "OPI 2026 (preliminär)",
        2026,
        Decimal("2.9000"),
        IndexStatus.PRELIMINARY,
        dt.date(2025, 10, 14),
    ),
]


def load(session: Session) -> None:
    for kind, edition, year, percent, status, published_on in DEMO_VALUES:
        session.add(
            IndexValue(
                kind=kind,
                edition=edition,
                year=year,
                percent=percent,
                status=status,
                source=DEMO_SOURCE,
                published_on=published_on,
            )
        )
    session.flush()
    from contracts.demo_terms import load as load_terms

    load_terms(session)
