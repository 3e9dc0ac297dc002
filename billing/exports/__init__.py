"""Outputs of billing: the invoice PDF (one per invoice at issue; a whole run in one wkhtmltopdf
process), Peppol BIS Billing 3.0 UBL (validated with the official rules before issue), SIE 4I for the
seller's accounting (with the accounting configuration per municipality), CSV for Excel.

Modules: `pdf`, `peppol`, `sie`, `csv_export` (the formats), `documents` (what the invoicing part
stores at issue: `store_issue_documents`), `accounting` (the SIE configuration), `services` (the
downloads), `views` (pages /fakturor/<id>/faktura.pdf, /fakturor/<id>/peppol.xml,
/fakturakorningar/<id>/export, /bokforing), `api` (/api/v1/invoices/<id>/pdf|peppol,
/api/v1/invoice-runs/<id>/export, /api/v1/invoice-exports, /api/v1/accounting), `cli`
(`flask billing export`). Plugged in by `init_app(app, api)`."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the exports' pages, API, menu item, panels on the invoicing pages and CLI command."""
    from billing.exports import cli  # noqa: F401  (adds `export` to `flask billing`)
    from billing.exports.api import blp
    from billing.exports.views import bp, invoice_panel, nav_visible, run_panel
    from core.views import add_detail_panel, add_nav_item

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(app, "billing_exports.accounting_page", "Bokföring (SIE)", order=65, visible=nav_visible)
    add_detail_panel(app, "invoice", invoice_panel)
    add_detail_panel(app, "invoice_run", run_panel)
