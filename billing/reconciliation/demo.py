"""Demo data of billing.reconciliation (issue #6), loaded by billing.demo after the invoices and before
the follow-ups, through the real services.

- VN-FHEM-2025 (Sundsvall, preliminary quarterly amounts on a budget of 4 200 000 kr, shared by
  population, threshold 5 000 kr): Timrå's fourth quarter of 2025 was credited during the year; the
  actual cost 2025 is 4 128 000 kr. The issued reconciliation gives Timrå an invoice (its credited
  quarter comes back at the final share), the larger buyers credit notes (they paid 72 000 kr x their
  share too much) and Ånge a difference of about 4 200 kr, within the threshold: recorded, not invoiced.
- The other demo agreements get a reported cost for 2025 (the follow-up's cost coverage): Göteborg's
  GR-JAV-2024 invoiced 3 % more than its cost (a small surplus to flag), Mölndal's FAM-MHP-2022 covers
  its own share, and Bengtsfors' shared director costs twice what Mellerud's 50 % share was invoiced.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.invoicing import services as invoicing
from billing.models import ChargeKind, Invoice, InvoiceKind, InvoiceStatus
from billing.reconciliation import services
from core.formatting import round_money
from core.models import Municipality, User
from registry.models import Agreement

YEAR = 2025
FHEM = ("VN-FHEM-2025", "ekonomi@sundsvall.demo", Decimal("4128000.00"))
CREDITED_BUYER = "2262"  # Timrå
OTHER_COSTS = {  # agreement: (host's finance user, actual cost as a factor of what was invoiced, note)
    "GR-JAV-2024": (
        "ekonomi@goteborg.demo",
        Decimal("0.97"),
        "Bokslut 2025: lön och sociala avgifter för jävshandläggarna, resor och lokalkostnad.",
    ),
    "FAM-MHP-2022": (
        "ekonomi@molndal.demo",
        Decimal("1.12"),
        "Bokslut 2025: familjerättens personal, lokaler och overhead; Mölndal bär sin egen andel.",
    ),
    "BM-SOC-2023": (
        "admin@bengtsfors.demo",
        Decimal("2.00"),
        "Bokslut 2025: socialchefens lön, PO-pålägg och overhead; Bengtsfors bär 50 %.",
    ),
}


def load(session: Session) -> None:
    users = {u.email: u for u in session.scalars(select(User))}
    agreements = {a.number: a for a in session.scalars(select(Agreement))}
    number, email, cost = FHEM
    if number in agreements and email in users:
        _fhem(session, agreements[number], users[email], cost)
    for number, (email, factor, note) in OTHER_COSTS.items():
        if number in agreements and email in users:
            invoiced = _invoiced(session, agreements[number])
            if invoiced > 0:
                services.report_cost(
                    session, users[email], agreements[number], YEAR, round_money(invoiced * factor), note
                )
    session.flush()


def _fhem(session: Session, agreement: Agreement, user: User, cost: Decimal) -> None:
    timra = session.scalar(select(Municipality).where(Municipality.kommunkod == CREDITED_BUYER))
    invoice = session.scalar(
        select(Invoice).where(
            Invoice.agreement_id == agreement.id,
            Invoice.buyer_municipality_id == timra.id,
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.status == InvoiceStatus.ISSUED,
            Invoice.period_start == dt.date(YEAR, 1, 1),
        )
    )
    if invoice is None:
        return
    q4 = max(invoice.lines, key=lambda line: line.position)
    credit = invoicing.credit_invoice(
        session,
        user,
        invoice,
        line_ids=[q4.id],
        reason="Kvartal 4 krediteras i avvaktan på Timrås invånarunderlag; regleras i avräkningen för 2025.",
    )
    invoicing.approve_invoice(session, user, credit)
    invoicing.issue_credit_note(session, user, credit)
    services.report_cost(
        session,
        user,
        agreement,
        YEAR,
        cost,
        "Bokslut 2025: rekryteringsteamets lön, utbildning och annonsering.",
    )
    recs = services.compute_reconciliation(session, user, agreement, YEAR)
    services.approve_reconciliation(session, user, recs[0])


def _invoiced(session: Session, agreement: Agreement) -> Decimal:
    """Net invoiced for the year by the host (issued invoices minus issued credit notes)."""
    value = session.scalar(
        select(func.coalesce(func.sum(Invoice.net_amount), 0)).where(
            Invoice.agreement_id == agreement.id,
            Invoice.status == InvoiceStatus.ISSUED,
            Invoice.charge_kind != ChargeKind.RECONCILIATION,
            Invoice.period_start >= dt.date(YEAR, 1, 1),
            Invoice.period_end <= dt.date(YEAR, 12, 31),
        )
    )
    return Decimal(value or 0)
