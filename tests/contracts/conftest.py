"""Factories for the contracts tests: index values created directly (not through the services)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts.models import IndexKind, IndexStatus, IndexValue


@pytest.fixture
def make_index_value(db):
    """make_index_value(kind="pkv", year=2026, percent="3.1", status="preliminary", ...)."""

    def _make(kind="pkv", year=2026, percent="3.1", status="preliminary", **overrides) -> IndexValue:
        kind = IndexKind(kind)
        values = {
            "kind": kind,
            "year": year,
            "percent": Decimal(percent),
            "status": IndexStatus(status),
            "edition": f"{kind.value.upper()} oktober {year - 1}",
            "source": "SKR cirkulär",
        }
        values.update(overrides)
        value = IndexValue(**values)
        db.add(value)
        db.commit()
        return value

    return _make
