"""registry.roles: shared roles (gemensamma tjänster) and their dated cost allocations.
See registry/__init__.py and docs/registry.md."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register this part's blueprints, menu items, start-page panels and commands."""
    from core.permissions import can
    from core.views import add_nav_item
    from registry.permissions import SHARED_ROLE_READ
    from registry.roles import cli  # noqa: F401  (adds its commands to `flask registry`)
    from registry.roles.api import blp
    from registry.roles.views import bp

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    add_nav_item(
        app,
        "registry_roles.shared_role_list",
        "Gemensamma tjänster",
        order=40,
        visible=lambda user: can(user, SHARED_ROLE_READ),
    )
