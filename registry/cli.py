"""`flask registry ...`: each part of the registry adds its commands to this group."""

from __future__ import annotations

from flask.cli import AppGroup

registry_cli = AppGroup(
    "registry", help="Registret: avtal, gemensamma tjänster, ärendeöverlämningar, beslut."
)
