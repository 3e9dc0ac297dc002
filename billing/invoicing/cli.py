"""`flask billing run` (create and compute an invoice run) and `flask billing issue` (approve and issue a
run, with a progress bar). Each command is one transaction: an error leaves nothing behind."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from billing.cli import billing_cli
from billing.invoicing import services
from billing.models import InvoiceStatus
from core.audit import acting_as
from core.db import unit_of_work
from core.errors import DomainError
from core.formatting import format_money
from core.services import get_municipality_by_code, get_user_by_email
from registry.models import Agreement


def _fail(exc: DomainError, what: str) -> None:
    click.echo(f"Fel: {exc.message}", err=True)
    for key, messages in (exc.errors or {}).items():
        text = " ".join(messages) if isinstance(messages, list) else str(messages)
        if text != exc.message:
            click.echo(f"  {key}: {text}", err=True)
    click.echo(what, err=True)
    sys.exit(1)


@billing_cli.command("run")
@click.option("--period", required=True, help="Månad 2026-10, kvartal 2026-Q4 eller år 2026.")
@click.option("--seller", "kommunkod", required=True, help="Säljarkommunens kommunkod, t.ex. 1480.")
@click.option("--agreement", "agreement_number", help="Bara ett avtal (avtalsnummer).")
@click.option("--buyer", "buyer_code", help="Bara en köpare (kommunkod).")
@click.option(
    "--user", "email", required=True, help="E-postadress till en ekonomianvändare i säljarkommunen."
)
def run_cmd(period: str, kommunkod: str, agreement_number: str | None, buyer_code: str | None, email: str):
    """Skapa och beräkna en fakturakörning (fakturautkast att granska; ingenting utfärdas)."""
    try:
        with unit_of_work() as session:
            user = get_user_by_email(session, email)
            with acting_as(f"cli: billing run ({user.email})", user.id):
                seller = get_municipality_by_code(session, kommunkod)
                if user.municipality_id != seller.id:
                    raise DomainError(f"{user.email} hör inte till {seller.name}: bara säljarkommunen kör.")
                parsed = services.parse_period(period)
                agreement_id = None
                if agreement_number:
                    agreement = session.scalar(select(Agreement).where(Agreement.number == agreement_number))
                    if agreement is None:
                        raise DomainError(f"Det finns inget avtal med nummer {agreement_number}.")
                    agreement_id = agreement.id
                buyer_id = get_municipality_by_code(session, buyer_code).id if buyer_code else None
                run = services.create_run(
                    session, user, parsed.kind, parsed.start, agreement_id=agreement_id, buyer_id=buyer_id
                )
                services.compute_run(session, user, run)
                summary = services.run_summary(session, run)
                problems = list(run.problems or [])
                run_id, label = run.id, parsed.label
    except DomainError as exc:
        _fail(exc, "Ingen körning skapades.")
    click.echo(
        f"Fakturakörning {run_id} för {label} ({seller.name}): {summary['invoices']} fakturautkast, "
        f"netto {format_money(summary['net_amount'])}, moms {format_money(summary['vat_amount'])}, "
        f"att betala {format_money(summary['total_amount'])}."
    )
    if problems:
        click.echo(f"{len(problems)} problem (det här finns inte med i utkasten):")
        for problem in problems:
            click.echo(f"  - {problem.get('message')}")
    click.echo(f"Granska utkasten och utfärda med: flask billing issue --run {run_id} --user {email}")


@billing_cli.command("issue")
@click.option("--run", "run_id", type=click.IntRange(1, 2**31 - 1), required=True, help="Körningens nummer.")
@click.option(
    "--user", "email", required=True, help="E-postadress till en ekonomianvändare i säljarkommunen."
)
@click.option(
    "--confirm-problems",
    is_flag=True,
    help="Godkänn trots problem i körningen (det som inte kunde prissättas faktureras senare).",
)
def issue_cmd(run_id: int, email: str, confirm_problems: bool):
    """Godkänn och utfärda en fakturakörning: fakturanummer, OCR, PDF och e-faktura. Kan inte ångras."""
    try:
        with unit_of_work() as session:
            user = get_user_by_email(session, email)
            with acting_as(f"cli: billing issue ({user.email})", user.id):
                run = services.get_run_for(session, user, run_id)
                pending = sum(1 for i in run.invoices if i.status != InvoiceStatus.ISSUED)
                with click.progressbar(length=pending, label="Utfärdar fakturor") as bar:
                    issued = services.issue_run(
                        session,
                        user,
                        run,
                        approve=True,
                        confirm_problems=confirm_problems,
                        progress=bar.update,
                    )
                numbers = [i.display_number for i in issued]
                total = sum((i.total_amount for i in issued), services.ZERO)
    except DomainError as exc:
        _fail(exc, "Ingenting utfärdades och inga fakturanummer förbrukades.")
    span = f" ({numbers[0]}–{numbers[-1]})" if len(numbers) > 1 else (f" ({numbers[0]})" if numbers else "")
    click.echo(
        f"Fakturakörning {run_id}: {len(issued)} fakturor utfärdade{span}, totalt {format_money(total)}."
    )
