"""Import every package's models so that Base.metadata is complete (Alembic, drift tests)."""

from __future__ import annotations

import importlib

MODEL_MODULES = ["core.models", "registry.models", "contracts.models", "billing.models"]


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
