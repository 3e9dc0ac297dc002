"""billing.reports (issue #6 point 4): the per-municipality overview (/oversikt) and the national
overview for sysadmins (/oversikt/nationell), as pages, PDF, CSV and JSON. Definitions in
billing/reports/services.py."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the pages, the API and the menu items of the part."""
    from billing.permissions import NATIONAL_OVERVIEW_READ, OVERVIEW_READ
    from billing.reports.api import blp
    from billing.reports.views import bp
    from core.permissions import can
    from core.views import add_nav_item

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(
        app,
        "billing_reports.overview",
        "Översikt",
        order=5,
        visible=lambda u: can(u, OVERVIEW_READ) and u.municipality_id is not None,
    )
    add_nav_item(
        app,
        "billing_reports.national",
        "Nationell översikt",
        order=6,
        visible=lambda u: can(u, NATIONAL_OVERVIEW_READ),
    )
