"""registry.decisions: favourable decisions under a case transfer or an agreement, the three-month
watch (ej verkställda beslut) and the quarterly IVO report. See registry/__init__.py for the rooms."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the pages, the API, the menu item and the `flask registry ivo-export` command."""
    from core.permissions import can
    from core.views import add_nav_item
    from registry.decisions import cli  # noqa: F401  (adds its command to `flask registry`)
    from registry.decisions.api import blp
    from registry.decisions.views import bp
    from registry.permissions import DECISION_READ

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(
        app,
        "registry_decisions.watch_list",
        "Beslut och IVO",
        order=30,
        visible=lambda u: can(u, DECISION_READ),
    )
