"""`flask billing ...`: each part of billing adds its commands to this group."""

from __future__ import annotations

from flask.cli import AppGroup

billing_cli = AppGroup("billing", help="Fakturering: prestationer, fakturakörningar, fakturor och exporter.")
