"""billing.services: performed services (prestationer), their attest and the CSV import.
See the docstrings of billing/services/services.py and billing/services/importing.py."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the pages, the API, the menu item and the `flask billing import-services` command."""
    from billing.permissions import SERVICE_READ
    from billing.services import cli  # noqa: F401  (adds its command to the `flask billing` group)
    from billing.services.api import blp
    from billing.services.views import bp
    from core.permissions import can
    from core.views import add_nav_item

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(
        app, "billing_services.service_list", "Prestationer", order=60, visible=lambda u: can(u, SERVICE_READ)
    )
