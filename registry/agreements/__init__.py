"""registry.agreements: samverkansavtal with their parties, lifecycle and attachments.

Pages under /avtal, the API under /api/v1/agreements, `flask registry import-agreements`.
"""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register this part's blueprints, menu item and commands."""
    from core.views import add_nav_item
    from registry.agreements import cli  # noqa: F401  (adds `flask registry import-agreements`)
    from registry.agreements.api import blp
    from registry.agreements.views import bp, nav_visible

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(app, "registry_agreements.agreement_list", "Avtal", order=10, visible=nav_visible)
