"""billing.reconciliation (issue #6): the host's reported actual cost of a year and the year-end
reconciliation (avräkning) of preliminary billing. Pages under /avrakning/, the API under
/api/v1/reconciliations. The rules: billing/reconciliation/services.py."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the pages, the API and the menu item "Avräkning"."""
    from billing.reconciliation.api import blp
    from billing.reconciliation.views import bp, nav_visible
    from core.views import add_nav_item

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(
        app, "billing_reconciliation.reconciliation_list", "Avräkning", order=47, visible=nav_visible
    )
