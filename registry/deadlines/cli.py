"""`flask registry deadlines --municipality 1480`: the same deadlines as the start page, as a table."""

from __future__ import annotations

import datetime as dt
import sys

import click

from core import services as core_services
from core.db import unit_of_work
from core.errors import DomainError
from registry.cli import registry_cli
from registry.deadlines import services

HEADERS = ("Datum", "Läge", "Typ", "Beskrivning")


def format_table(deadlines: list[services.Deadline]) -> list[str]:
    """Aligned columns: ISO date, severity, kind and title (with the detail after a dash)."""
    rows = [
        (d.date.isoformat(), d.severity_label, d.kind_label, d.title + (f" – {d.detail}" if d.detail else ""))
        for d in deadlines
    ]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(HEADERS[:-1])]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join([*(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True)), cells[-1]]).rstrip()

    rule = tuple("-" * w for w in [*widths, len(HEADERS[-1])])
    return [line(HEADERS), line(rule), *(line(r) for r in rows)]


@registry_cli.command("deadlines")
@click.option("--municipality", "kommunkod", required=True, help="Kommunkod, t.ex. 1480 för Göteborg.")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Räkna från detta datum (ÅÅÅÅ-MM-DD); standard i dag.",
)
@click.option(
    "--days",
    default=services.DEFAULT_HORIZON_DAYS,
    show_default=True,
    type=click.IntRange(0, 366),
    help="Hur många dagar framåt.",
)
def deadlines_cmd(kommunkod: str, day: dt.datetime | None, days: int) -> None:
    """Skriv ut kommunens tidsfrister: uppsägning, avtalsslut, överlämningar, beslut och IVO."""
    today = day.date() if day else services.local_today()
    with unit_of_work() as session:
        try:
            municipality = core_services.get_municipality_by_code(session, kommunkod)
        except DomainError as exc:
            click.echo(f"Fel: {exc.message}", err=True)
            sys.exit(1)
        deadlines = services.deadlines_for(session, municipality.id, today, days)
        name = municipality.name
    click.echo(f"Tidsfrister för {name} ({kommunkod}) per {today.isoformat()}, {days} dagar framåt")
    if not deadlines:
        click.echo("Inga tidsfrister.")
        return
    click.echo("")
    for text in format_table(deadlines):
        click.echo(text)
