"""The registry: agreements and their parties, shared roles, case transfers, decisions and the
IVO watch, deadlines. Plugged into the shell by `init_app(app, api)` (see core.app)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Seeder:
    reference: Callable
    demo: Callable | None = None


def init_app(app, api) -> None:
    from registry import permissions  # noqa: F401  (registers the registry's permission rules)
    from registry.seed import load_legal_bases

    demo = None
    try:
        from registry.demo import load_registry_demo as demo
    except ImportError:  # the demo stories arrive with their module
        demo = None
    app.extensions.setdefault("samverkan_seeders", []).append(Seeder(reference=load_legal_bases, demo=demo))
