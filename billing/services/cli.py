"""`flask billing import-services --file F --user EMAIL`: a CSV file of performed services, all or nothing,
imported as that user (the user's municipality is the performing one)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select

from billing.cli import billing_cli
from billing.errors import ImportRejected
from billing.services import importing
from core.audit import acting_as
from core.db import unit_of_work
from core.errors import DomainError
from core.models import User

HELP = f"""Importera prestationer från en CSV-fil (semikolon eller komma; UTF-8 eller
Windows-1252; decimalkomma eller punkt; datum ÅÅÅÅ-MM-DD eller ÅÅÅÅMMDD).

\b
Rubrikrad, t.ex.:
  {importing.EXAMPLE_HEADER}
Obligatoriska kolumner: avtal, datum, kopare, tjanst, antal.

Importen görs som användaren (--user): dennes kommun ska vara utförare i avtalen.
Alla rader kontrolleras först: är någon rad fel importeras ingenting och varje fel
skrivs ut med rad och kolumn (rubrikraden är rad 1). Samma fil två gånger vägras.
Importerade prestationer är inte attesterade.
"""


@billing_cli.command("import-services", help=HELP)
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV-filen.",
)
@click.option("--user", "email", required=True, metavar="E-POST", help="Användaren som importerar.")
def import_services_cmd(path: Path, email: str) -> None:
    data = path.read_bytes()
    try:
        with unit_of_work() as session:
            user = session.scalar(select(User).where(User.email == email.strip().lower()))
            if user is None or not user.active:
                click.echo(f"Fel: det finns ingen aktiv användare med e-postadressen {email}.", err=True)
                sys.exit(1)
            with acting_as(f"cli: import-services ({user.email})", user.id):
                service_import = importing.import_services_csv(session, user, path.name, data)
            rows, import_id = service_import.row_count, service_import.id
    except ImportRejected as exc:
        click.echo(exc.message, err=True)
        for message in exc.errors.get("file", []):
            click.echo(f"  {message}", err=True)
        for error in exc.errors.get("rows", []):
            where = f"Rad {error['row']}" + (f", {error['column']}" if error["column"] else "")
            click.echo(f"  {where}: {error['message']}", err=True)
        sys.exit(1)
    except DomainError as exc:
        click.echo(f"Fel: {exc.message}", err=True)
        sys.exit(1)
    click.echo(
        f"{rows} rader importerade (import {import_id}, {path.name}). Prestationerna väntar på attest."
    )
