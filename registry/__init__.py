"""The registry: agreements and their parties, shared roles, case transfers, decisions and the
IVO watch, deadlines. Plugged into the shell by `init_app(app, api)` (see core.app).

The registry is split by aggregate; each part is a sub-package with the usual rooms
(services.py, schemas.py, views.py, api.py, cli.py) and an `init_app(app, api)` that registers its
blueprints, menu items, start-page panels and commands.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = str(Path(__file__).parent / "templates")
PARTS = (
    "registry.agreements",
    "registry.roles",
    "registry.transfers",
    "registry.decisions",
    "registry.deadlines",
    "registry.reports",
)


@dataclass(frozen=True)
class Seeder:
    reference: Callable
    demo: Callable | None = None


def init_app(app, api) -> None:
    from registry import permissions  # noqa: F401  (registers the registry's permission rules)
    from registry.cli import registry_cli
    from registry.seed import load_legal_bases, load_registry_demo

    for name in PARTS:
        importlib.import_module(name).init_app(app, api)
    app.cli.add_command(registry_cli)
    app.extensions.setdefault("samverkan_seeders", []).append(
        Seeder(reference=load_legal_bases, demo=load_registry_demo)
    )
