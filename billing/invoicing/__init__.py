"""Billing part: invoicing (see billing/__init__.py and docs/billing.md).

Invoice runs (create for a month, quarter or year; compute drafts from billing.pricing; recompute
replaces the drafts; approve; issue), issuing with gapless numbers from the seller's series and OCR
references (`numbering`), credit notes through the same path, payment marking. Pages under /fakturering/
and /fakturor/, the API under /api/v1/invoice-runs and /api/v1/invoices, `flask billing run` and
`flask billing issue`.
"""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the pages, the API, the menu item "Fakturering", the `has_endpoint` Jinja global and the
    `flask billing run` / `issue` commands."""
    from flask import current_app

    from billing.invoicing import cli  # noqa: F401  (adds its commands to `flask billing`)
    from billing.invoicing.api import invoices_blp, runs_blp
    from billing.invoicing.views import bp, nav_visible
    from core.views import add_nav_item

    app.register_blueprint(bp)
    api.register_blueprint(runs_blp)
    api.register_blueprint(invoices_blp)
    add_nav_item(app, "billing_invoicing.run_list", "Fakturering", order=45, visible=nav_visible)
    # Templates link to pages other parts provide (e.g. the exports' PDF download) only when they exist.
    app.jinja_env.globals.setdefault("has_endpoint", lambda name: name in current_app.view_functions)
