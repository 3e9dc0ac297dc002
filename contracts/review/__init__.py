"""Contracts part: review (see contracts/__init__.py)."""

from __future__ import annotations


def init_app(app, api) -> None:
    """Register this part's pages, API, menu items and panels."""
