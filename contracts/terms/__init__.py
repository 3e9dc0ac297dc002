"""Contracts part: terms (see contracts/__init__.py).

An agreement's versions (`/avtal/<id>/versioner`), the version page that every part of contracts hangs
its panel on (`/avtalsversioner/<id>`), edit forms for each group of terms, and the comparison of two
versions; the API under /api/v1/agreements/<id>/contract-versions and /api/v1/contract-versions.
Billing reads prices through `contracts.terms.services.price_for`."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register this part's pages, API and the agreement page's panel."""
    from contracts.terms.api import blp
    from contracts.terms.views import bp, render_agreement_panel
    from core.views import add_detail_panel

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_detail_panel(app, "agreement", render_agreement_panel, order=20)
