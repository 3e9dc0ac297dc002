"""Contracts: contract terms per agreement version, indexation, the legal review checklist, documents.

- the index values register (PKV, OPI, KPI, AKI per year, with revisions) and the indexation
  arithmetic: contracts.services / contracts.indexation, pages /indexvarden, API /api/v1/index-values;
- contract versions (contracts.versions: scope, version in force, amendments, status machine;
  contracts.guards: approved versions are immutable) and their parts, each a sub-package with its
  services, schemas, views and API: `terms` (structured terms, comparison), `review` (the legal
  review with the Hamburg test and pre-checks), `documents` (the contract PDF, signed scans),
  `indexing` (applying an index to prices as a reviewable amendment, adjustments for billing).
Plugged into the shell by `init_app(app, api)`.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATES = str(Path(__file__).parent / "templates")
PARTS = ("terms", "review", "documents", "indexing")


def init_app(app, api) -> None:
    import importlib

    from contracts import guards, permissions  # noqa: F401  (permission rules; the immutability guard)
    from contracts.api import blp
    from contracts.views import bp, format_exact_amount, format_percent, nav_visible
    from core.views import add_nav_item

    app.jinja_env.filters.setdefault("percent", format_percent)
    app.jinja_env.filters.setdefault("exact_amount", format_exact_amount)
    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(app, "contracts_index_values.index_value_list", "Indexvärden", order=50, visible=nav_visible)
    for part in PARTS:
        importlib.import_module(f"contracts.{part}").init_app(app, api)
    # Non-parties get 404 on every URL naming a version or an agreement, before anything else.
    from contracts.versions import refuse_non_parties

    for name, blueprint in app.blueprints.items():
        if blueprint.import_name.startswith("contracts."):
            app.before_request_funcs.setdefault(name, []).append(refuse_non_parties)

    from contracts.demo import load as load_demo
    from registry import Seeder

    app.extensions.setdefault("samverkan_seeders", []).append(
        Seeder(reference=lambda session: None, demo=load_demo)
    )
