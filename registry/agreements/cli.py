"""`flask registry import-agreements FILE.csv`: agreements from a spreadsheet, all or nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.audit import acting_as
from core.db import unit_of_work
from core.errors import DomainError
from registry.agreements import services
from registry.cli import registry_cli

HELP = f"""Läs in avtal från en CSV-fil (semikolon eller komma; UTF-8 eller Windows-1252).

\b
Rubrikrad, t.ex.:
  {services.IMPORT_EXAMPLE_HEADER}
Valfria kolumner: beskrivning, status (Utkast, Gällande, Under omförhandling,
Upphört), avtalsansvarig (e-postadress), utförarens nämnd.
Köpare anges med kommunkoder åtskilda med |, t.ex. 1401|1441. Datum som ÅÅÅÅ-MM-DD.

Alla rader kontrolleras först: är någon rad fel läses ingenting in och varje fel
rapporteras med radnummer. Ett avtalsnummer som redan finns är ett fel för raden.
"""


@registry_cli.command("import-agreements", help=HELP)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--owner",
    "owner_email",
    metavar="E-POST",
    help="Avtalsansvarig för rader utan kolumnen avtalsansvarig (en användare i en av parterna).",
)
def import_agreements_cmd(path: Path, owner_email: str | None) -> None:
    try:
        with acting_as("cli: import-agreements"), unit_of_work() as session:
            result = services.import_agreements_csv(session, path.read_bytes(), owner_email)
            if not result.ok:
                session.rollback()
                for line, message in result.errors:
                    click.echo(f"Rad {line}: {message}" if line else message, err=True)
                click.echo(f"Ingenting lästes in ({len(result.errors)} fel).", err=True)
                sys.exit(1)
    except DomainError as exc:
        click.echo(f"Fel: {exc.message} Ingenting lästes in.", err=True)
        sys.exit(1)
    click.echo(f"Klart: {len(result.created)} avtal inlästa ({', '.join(result.created)}).")
