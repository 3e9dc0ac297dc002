"""`flask billing export --format peppol|sie|csv|pdf --run N --out DIR`: an issued run's documents as
files, with a progress bar. PDF and Peppol are the bytes stored at issue (one file per invoice); SIE
and CSV are one file for the run."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from billing.cli import billing_cli
from billing.exports import services
from billing.exports.schemas import EXPORT_FORMATS
from billing.models import InvoiceRun
from core.audit import acting_as
from core.db import unit_of_work
from core.errors import DomainError

HELP = """Exportera en utfärdad fakturakörnings fakturor till en mapp.

\b
Format:
  pdf     en PDF per faktura (exakt de filer som lagrades vid utfärdandet)
  peppol  en e-faktura (Peppol BIS Billing 3.0, XML) per faktura
  sie     en SIE 4I-fil (.SI) för ekonomisystemet
  csv     en CSV-fil för Excel (semikolon, decimalkomma, UTF-8 med BOM)

En körning som inte är utfärdad exporteras inte (slutkod 1).
"""


@billing_cli.command("export", help=HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    required=True,
    help="pdf, peppol, sie eller csv.",
)
@click.option(
    "--run", "run_id", type=click.IntRange(1, 2**31 - 1), required=True, help="Fakturakörningens id."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    required=True,
    help="Mappen att skriva filerna i (skapas om den saknas).",
)
def export_cmd(fmt: str, run_id: int, out: Path) -> None:
    try:
        with acting_as("cli: billing export"), unit_of_work() as session:
            run = session.get(InvoiceRun, run_id)
            if run is None:
                click.echo(f"Fel: fakturakörning {run_id} finns inte.", err=True)
                sys.exit(1)
            count = len([i for i in services.run_invoices(session, run) if i.is_issued])
            with click.progressbar(length=max(count, 1), label=f"Exporterar {fmt}", file=sys.stderr) as bar:
                written = services.write_run_files(session, run, fmt, out, progress=bar.update)
    except DomainError as exc:
        click.echo(f"Fel: {exc.message}", err=True)
        sys.exit(1)
    click.echo(
        f"Klart: {len(written)} fil{'er' if len(written) != 1 else ''} från fakturakörning {run_id} i {out}."
    )
