"""Contracts part: indexing (see contracts/__init__.py). A version's next-year prices as a reviewable
change applied as a draft amendment, and the adjustments billing picks up after a revised index value."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register this part's pages, API, menu item and the Jinja global its version panel uses."""
    from contracts.indexing import permissions  # noqa: F401  (the adjustments permission rule)
    from contracts.indexing.api import blp
    from contracts.indexing.views import adjustments_visible, bp, panel_context
    from core.views import add_nav_item

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    app.jinja_env.globals["indexing_panel"] = panel_context
    add_nav_item(
        app, "contracts_indexing.adjustments", "Indexjusteringar", order=55, visible=adjustments_visible
    )
