"""Contracts part: review (see contracts/__init__.py).

The legal review of a contract version: the checklist and the Hamburg criteria as data
(contracts/data/review_checklist.csv, read by `checklist`), automatic pre-checks (`prechecks`), the
services (submit, mark, approve, send back, lists), pages under /avtalsversioner/<id>/granskning and
/avtalsgranskning/, the API under /api/v1/contract-versions/<id>/review and /api/v1/contract-reviews.
"""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register this part's pages, API, menu item, start-page panel and the version panel's helper."""
    from contracts.review.api import blp, lists_blp
    from contracts.review.views import bp, nav_visible, render_start_panel, version_panel
    from core.views import add_nav_item, add_start_panel

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    api.register_blueprint(lists_blp)
    add_nav_item(app, "contracts_review.review_queue", "Avtalsgranskning", order=55, visible=nav_visible)
    add_start_panel(app, render_start_panel, order=30)
    app.jinja_env.globals["contracts_review_panel"] = version_panel
