"""Contracts part: documents. The contract as a PDF (contracts.documents.render) and the documents
linked to a version: signed scans, PUB-avtal, cost calculation, other appendices (services).

Pages /avtalsversioner/<id>/avtal.pdf and /avtalsversioner/<id>/dokument, the API under
/api/v1/contract-versions/<id>/pdf and .../documents, and the panel on the version page
(contracts/documents/_version_panel.html, fed by the Jinja global `contract_documents_panel`).
"""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register this part's pages, API and the Jinja global its panel reads."""
    from contracts.documents.api import blp
    from contracts.documents.views import bp, documents_panel

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    app.jinja_env.globals["contract_documents_panel"] = documents_panel
