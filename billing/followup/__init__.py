"""billing.followup (issue #6): the annual follow-up (årlig uppföljning) of an agreement and year.

Modules: `figures` (the figures computed from the data, and their JSON snapshot), `hamburg` (the
Hamburg re-check and cost coverage), `services` (open, write, send: the rules), `charts` (matplotlib
SVG through core.charts), `document` (the PDF and the CSV), `schemas`, `views` (pages under
/uppfoljning and a panel on the agreement page), `api` (/api/v1/followups,
/api/v1/agreements/<id>/followups/<year>[/send|/pdf|/csv]), `cli` (`flask billing followup`), `demo`.
See docs/followup.md."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the pages, the API, the menu item, the agreement-page panel and the CLI command."""
    from billing.followup import cli  # noqa: F401  (adds `followup` to `flask billing`)
    from billing.followup.api import blp
    from billing.followup.views import agreement_panel, bp, nav_visible
    from core.views import add_detail_panel, add_nav_item

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(app, "billing_followup.followup_list", "Uppföljning", order=70, visible=nav_visible)
    add_detail_panel(app, "agreement", agreement_panel, order=40)
