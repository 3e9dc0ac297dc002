"""registry.transfers: case transfers (ärendeöverlämning vid jäv), their lifecycle and the insight log.
See registry/__init__.py and the docstring of registry/transfers/services.py."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the pages, the API and the menu item."""
    from core.permissions import can
    from core.views import add_nav_item
    from registry.permissions import TRANSFER_READ
    from registry.transfers.api import blp
    from registry.transfers.views import bp

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(
        app,
        "registry_transfers.transfer_list",
        "Överlämningar",
        order=20,
        visible=lambda u: can(u, TRANSFER_READ),
    )
