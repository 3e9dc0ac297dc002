"""billing.reports (issue #6): being built."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register the pages, the API, the menu items and the CLI commands of the part."""
