"""Billing: performed services, prices from the contract terms, idempotent invoice runs, gapless
numbering, credit notes, and the outputs (PDF, Peppol BIS Billing 3.0, SIE 4I, CSV).

The rules are in docs/billing.md. Parts, each a sub-package with its services, schemas, views, API and
CLI: `services` (performed services and their CSV import, attest), `pricing` (invoice lines from the
contract terms), `invoicing` (runs, issue, credit notes, payment), `exports` (PDF, Peppol, SIE, CSV),
`accounting` (each municipality's accounts for SIE). Plugged into the shell by `init_app(app, api)`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

TEMPLATES = str(Path(__file__).parent / "templates")
PARTS: tuple[str, ...] = ("services", "invoicing", "exports", "followup", "reconciliation", "reports")


def init_app(app, api) -> None:
    from billing import guards, permissions  # noqa: F401  (permission rules; the immutability guard)
    from billing.cli import billing_cli

    for part in PARTS:
        importlib.import_module(f"billing.{part}").init_app(app, api)
    app.cli.add_command(billing_cli)  # `flask billing ...`: the parts add their commands to the group

    from billing.demo import load as load_demo
    from registry import Seeder

    app.extensions.setdefault("samverkan_seeders", []).append(
        Seeder(reference=lambda session: None, demo=load_demo)
    )
