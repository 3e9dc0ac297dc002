"""`flask registry ivo-export`: the quarter's IVO report of one municipality as a CSV file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.audit import acting_as
from core.db import unit_of_work
from core.errors import DomainError
from core.services import get_municipality_by_code
from registry.cli import registry_cli
from registry.decisions import services


@registry_cli.command("ivo-export")
@click.option(
    "--municipality", "kommunkod", required=True, help="Den ansvariga kommunens kommunkod, t.ex. 1480."
)
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="Kvartalets år.")
@click.option("--quarter", type=click.IntRange(1, 4), required=True, help="Kvartal 1-4.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="CSV-filen att skriva (UTF-8 med BOM, semikolonseparerad).",
)
def ivo_export_cmd(kommunkod: str, year: int, quarter: int, out: Path) -> None:
    """Skriv kvartalets rapporteringspliktiga beslut (ej verkställda, avbrutna) till en CSV-fil för IVO."""
    try:
        with acting_as("cli: ivo-export"), unit_of_work() as session:
            municipality = get_municipality_by_code(session, kommunkod)
            rows = services.reportable_in_quarter(session, municipality, year, quarter)
            data = services.ivo_csv_bytes(rows)
            name = municipality.name
    except DomainError as exc:
        click.echo(f"Fel: {exc.message}", err=True)
        sys.exit(1)
    out.write_bytes(data)
    click.echo(f"{len(rows)} beslut för {name}, kvartal {quarter} {year}, skrivna till {out}.")
