"""registry.deadlines: the start page's deadlines, the iCalendar feed, the API and the command line.
See registry/__init__.py and docs/registry.md."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register this part's blueprints, menu items, start-page panels and commands."""
    from core.views import add_start_panel
    from registry.deadlines import cli  # noqa: F401  (adds its commands to `flask registry`)
    from registry.deadlines.api import blp
    from registry.deadlines.views import bp, render_panel

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_start_panel(app, render_panel, order=10)
