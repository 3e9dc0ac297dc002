"""`flask core ...`: set-up, users, population import and the audit check."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from core import services
from core.audit import acting_as, verify_audit_chain
from core.db import db_session, unit_of_work
from core.errors import DomainError
from core.models import Role, User

core_cli = AppGroup("core", help="Samverkans grundfunktioner: databas, användare, granskningslogg.")


def _fail(exc: DomainError) -> None:
    click.echo(f"Fel: {exc.message}", err=True)
    for key, messages in (exc.errors or {}).items():
        click.echo(f"  {key}: {' '.join(messages) if isinstance(messages, list) else messages}", err=True)
    sys.exit(1)


@core_cli.command("migrate")
def migrate_cmd() -> None:
    """Kör databasmigreringarna (alembic upgrade head)."""
    from core.migrate import upgrade

    upgrade(current_app.extensions["samverkan_engine"])
    click.echo("Databasen är uppdaterad.")


@core_cli.command("seed")
@click.option("--demo/--no-demo", default=True, help="Lägg in demodata om databasen saknar användare.")
def seed_cmd(demo: bool) -> None:
    """Läs in landets kommuner och (om databasen är tom) demodata."""
    from core.demo import DEMO_PASSWORD, load_demo_data

    seeders = current_app.extensions.get("samverkan_seeders", [])
    with acting_as("system: grunddata"), unit_of_work() as session:
        added = services.load_reference_municipalities(session)
        for seeder in seeders:
            seeder.reference(session)
        has_users = session.scalar(select(func.count()).select_from(User)) > 0
        demo_users = []
        if demo and not has_users:
            demo_users = load_demo_data(session)
            # Packages add their demo stories after the shell's demo users exist.
            for seeder in seeders:
                if seeder.demo is not None:
                    seeder.demo(session)
    click.echo(
        f"Kommunregistret: {added} nya kommuner inlästa." if added else "Kommunregistret är redan inläst."
    )
    if demo_users:
        click.echo(f"Demodata inlästa. Lösenord för alla demoanvändare: {DEMO_PASSWORD}")


@core_cli.command("demo-logins")
def demo_logins_cmd() -> None:
    """Skriv ut demoanvändarnas inloggningar."""
    from core.demo import DEMO_PASSWORD, DEMO_USERS
    from core.models import ROLE_LABELS

    emails = [u["email"] for u in DEMO_USERS]
    with unit_of_work() as session:
        users = session.scalars(select(User).where(User.email.in_(emails)).order_by(User.id)).all()
        rows = [
            (
                u.email,
                ", ".join(ROLE_LABELS[r] for r in sorted(u.roles)),
                u.municipality.name if u.municipality else "hela landet",
            )
            for u in users
        ]
    if not rows:
        click.echo("Inga demoanvändare finns i databasen.")
        return
    click.echo(f"Demoinloggningar (lösenord för alla: {DEMO_PASSWORD}):")
    for email, roles, where in rows:
        click.echo(f"  {email:<28} {roles:<28} {where}")


@core_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--municipality", "kommunkod", help="Kommunkod, t.ex. 1401. Utelämnas för systemadministratörer."
)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_cmd(email, name, kommunkod, roles, password) -> None:
    """Skapa en användare."""
    try:
        with acting_as("cli: create-user"), unit_of_work() as session:
            municipality_id = None
            if kommunkod:
                municipality_id = services.get_municipality_by_code(session, kommunkod).id
            user = services.create_user(
                session,
                None,
                {
                    "email": email,
                    "name": name,
                    "municipality_id": municipality_id,
                    "roles": list(roles),
                    "password": password,
                },
            )
            click.echo(f"Användaren {user.email} är skapad (id {user.id}).")
    except DomainError as exc:
        _fail(exc)


@core_cli.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def set_password_cmd(email, password) -> None:
    """Sätt ett nytt lösenord för en användare."""
    try:
        with acting_as("cli: set-password"), unit_of_work() as session:
            user = services.get_user_by_email(session, email)
            services.set_password(session, user, password)
        click.echo(f"Lösenordet för {email} är ändrat.")
    except DomainError as exc:
        _fail(exc)


@core_cli.command("import-population")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_population_cmd(path: Path) -> None:
    """Läs in folkmängd per kommun och år från en CSV-fil (som systemadministratör)."""
    with acting_as("cli: import-population"), unit_of_work() as session:
        result = services.import_population_csv(session, None, path.read_bytes())
        if not result.ok:
            session.rollback()
            for line, message in result.errors:
                click.echo(f"Rad {line}: {message}", err=True)
            click.echo("Ingenting lästes in.", err=True)
            sys.exit(1)
    click.echo(f"Klart: {result.created} nya, {result.updated} ändrade, {result.unchanged} oförändrade.")


@core_cli.command("verify-audit")
def verify_audit_cmd() -> None:
    """Kontrollera granskningsloggens hashkedja; rapportera första brutna länk."""
    session = db_session()
    try:
        result = verify_audit_chain(session)
    finally:
        db_session.remove()
    if result.ok:
        click.echo(f"Granskningsloggen är hel: {result.checked} poster kontrollerade.")
        return
    where = f"post {result.broken_entry_id}" if result.broken_entry_id else "slutet av kedjan"
    click.echo(
        f"Granskningsloggen är BRUTEN vid {where}: {result.reason}. "
        f"{result.checked} poster före den stämmer.",
        err=True,
    )
    sys.exit(1)
