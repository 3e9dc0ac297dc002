"""registry.decisions: see registry/__init__.py."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register this part's blueprints, menu items, start-page panels and commands."""
    return None
