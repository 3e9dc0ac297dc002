"""`flask registry shared-roles`: a municipality's shared roles and its monthly share of each."""

from __future__ import annotations

import datetime as dt
import sys

import click

from core import services as core_services
from core.db import unit_of_work
from core.errors import DomainError
from core.formatting import format_date, format_money, format_number
from registry.cli import registry_cli
from registry.roles import services
from registry.roles.costs import allocations_on, monthly_cost


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)]


@registry_cli.command("shared-roles")
@click.option("--municipality", "kommunkod", required=True, help="Kommunkod, t.ex. 1460.")
@click.option(
    "--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Datum (ÅÅÅÅ-MM-DD); standard i dag."
)
def shared_roles_cmd(kommunkod: str, day: dt.datetime | None) -> None:
    """Visa kommunens gemensamma tjänster, månadskostnad och kommunens andel ett visst datum."""
    on = day.date() if day else services.local_today()
    with unit_of_work() as session:
        try:
            municipality = core_services.get_municipality_by_code(session, kommunkod)
        except DomainError as exc:
            click.echo(f"Fel: {exc.message}", err=True)
            sys.exit(1)
        roles = services.shared_roles_of_municipality(session, municipality.id)
        rows = []
        for role in roles:
            in_force = allocations_on(role, on)
            share = in_force.share_of(municipality.id) if in_force else None
            rows.append(
                (
                    role.title,
                    role.agreement.number,
                    role.employer.name,
                    format_money(monthly_cost(role)).replace("\u00a0", " "),
                    f"{format_number(share.percent, 2)} %" if share else "–",
                    format_money(share.amount).replace("\u00a0", " ") if share else "–",
                )
            )
    click.echo(
        f"Gemensamma tjänster för {municipality.name} ({municipality.kommunkod}) per {format_date(on)}"
    )
    if not rows:
        click.echo("Inga gemensamma tjänster.")
        return
    headers = ("Titel", "Avtal", "Arbetsgivare", "Månadskostnad", "Andel", "Per månad")
    for text in _table(headers, rows, right={3, 4, 5}):
        click.echo(text)
