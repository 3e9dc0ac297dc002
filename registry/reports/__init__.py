"""registry.reports (issue #6): the quarter's IVO report as PDF and the de-identified statistics of
not-executed decisions for fullmäktige (page, PDF, CSV). Built on registry.decisions' services."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the pages and the menu item "Statistik" (for those who may read decisions)."""
    from core.permissions import can
    from core.views import add_nav_item
    from registry.permissions import DECISION_READ
    from registry.reports.views import bp

    app.register_blueprint(bp)
    add_nav_item(
        app,
        "registry_reports.statistics",
        "Statistik",
        order=31,
        visible=lambda u: can(u, DECISION_READ),
    )
