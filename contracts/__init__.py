"""Contracts: contract terms per agreement version, indexation, the legal review checklist.

The first piece is the index values register (PKV, OPI, KPI, AKI per year, with revisions) and the
indexation arithmetic (contracts.indexation). Plugged into the shell by `init_app(app, api)`.
Pages under /indexvarden, the API under /api/v1/index-values.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATES = str(Path(__file__).parent / "templates")


def init_app(app, api) -> None:
    from contracts import permissions  # noqa: F401  (registers the contracts' permission rules)
    from contracts.api import blp
    from contracts.views import bp, format_exact_amount, format_percent, nav_visible
    from core.views import add_nav_item

    app.jinja_env.filters.setdefault("percent", format_percent)
    app.jinja_env.filters.setdefault("exact_amount", format_exact_amount)
    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(app, "contracts_index_values.index_value_list", "Indexvärden", order=50, visible=nav_visible)

    from contracts.demo import load as load_demo
    from registry import Seeder

    app.extensions.setdefault("samverkan_seeders", []).append(
        Seeder(reference=lambda session: None, demo=load_demo)
    )
