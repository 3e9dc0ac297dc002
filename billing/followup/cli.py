"""`flask billing followup`: an agreement's follow-up of a year as files (the PDF, frozen when sent and
otherwise a draft marked UTKAST, and the figures as CSV), or the same for every agreement a municipality
is party to, with a progress bar."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from sqlalchemy import select

from billing.cli import billing_cli
from billing.followup import services
from core.audit import acting_as
from core.db import unit_of_work
from core.errors import DomainError
from core.formatting import local_today
from core.models import Municipality

HELP = """Skriv årlig uppföljning som filer: PDF och siffrorna som CSV.

\b
Ett avtal:   flask billing followup --agreement GR-JAV-2024 --year 2025 --out DIR
Alla avtal:  flask billing followup --municipality 1480 --year 2025 --out DIR

En skickad uppföljning skrivs som den låsta PDF-filen; annars blir det ett utkast märkt UTKAST.
Filerna heter t.ex. uppfoljning-GR-JAV-2024-2025.pdf och .csv (utkast: ...-utkast.pdf).
"""


def _fail(message: str) -> None:
    click.echo(f"Fel: {message}", err=True)
    sys.exit(1)


def _prepare_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"mappen {out} kan inte skapas ({exc.strerror or exc}).")
    if not out.is_dir() or not os.access(out, os.W_OK | os.X_OK):
        _fail(f"det går inte att skriva i mappen {out}.")


def _write(session, agreement, year: int, out: Path, today) -> list[Path]:
    followup = services.find_followup(session, agreement, year)
    written = []
    for download in (
        services.followup_pdf(session, agreement, year, followup, today),
        services.followup_csv(session, agreement, year, followup, today),
    ):
        path = out / download.filename
        path.write_bytes(download.content)
        written.append(path)
    return written


@billing_cli.command("followup", help=HELP)
@click.option("--agreement", "number", help="Avtalsnummer, t.ex. GR-JAV-2024.")
@click.option("--municipality", "kommunkod", help="Kommunkod: alla avtal där kommunen är part, t.ex. 1480.")
@click.option("--year", type=int, required=True, help="Kalenderår, t.ex. 2025.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Mappen att skriva filerna i (skapas om den saknas).",
)
def followup_cmd(number: str | None, kommunkod: str | None, year: int, out: Path) -> None:
    if bool(number) == bool(kommunkod):
        _fail("ange antingen --agreement AVTALSNUMMER eller --municipality KOMMUNKOD.")
    today = local_today()
    _prepare_dir(out)
    written: list[Path] = []
    try:
        with acting_as("cli: billing followup"), unit_of_work() as session:
            if number:
                agreement = services.find_agreement_by_number(session, number)
                services.check_year(agreement, year, today)
                written = _write(session, agreement, year, out, today)
            else:
                municipality = session.scalar(select(Municipality).where(Municipality.kommunkod == kommunkod))
                if municipality is None:
                    _fail(f"det finns ingen kommun med kommunkod {kommunkod}.")
                if year > today.year:
                    _fail(f"året {year} har inte börjat än.")
                rows = services.followups_of_municipality(session, municipality.id, year=year, today=today)
                if not rows:
                    _fail(f"{municipality.name} är inte part i något avtal som kan följas upp för {year}.")
                with click.progressbar(
                    rows, label=f"Uppföljningar {year} för {municipality.name}", file=sys.stderr
                ) as bar:
                    for row in bar:
                        written += _write(session, row.agreement, year, out, today)
    except DomainError as exc:
        _fail(exc.message)
    except OSError as exc:
        _fail(f"filen kunde inte skrivas i {out} ({exc.strerror or exc}).")
    click.echo(f"Klart: {len(written)} filer i {out}.")
