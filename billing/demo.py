"""Demo billing for `make run`: performed services and issued invoices for the demo agreements across
2025 and 2026, through the real services (runs computed from the contract terms, approved, issued with
numbers, OCR, PDF and Peppol XML validated by the official rules).

- Göteborg (GR-JAV-2024, category O): hours, mileage and outlays for four buyers every month from
  January 2025; the year 2025 and the first three quarters of 2026 are invoiced; October 2026 is
  attested and waiting for finance's run; one line of a 2026 invoice is credited.
- Mölndal (FAM-MHP-2022, O): familjerätt cases per case type, invoiced the same way, and its history:
  cases from 2022 (fewer than today) and single cases for Kungsbacka under FAM-MK-2023 in 2023–2024,
  one yearly run per year issued in January after it, so the Hamburg re-check of FAM-MHP-2022's 2025
  follow-up has three years of the host's familjerätt turnover, part of it outside the agreement.
- Bengtsfors (BM-SOC-2023, S 25 %): the shared director's quarterly share.
- Sundsvall (VN-FHEM-2025, E): preliminary quarterly amounts shared by population.
Most 2025 invoices are marked paid. Accounting settings (SIE) are filled in for the four sellers.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.invoicing import services as invoicing
from billing.models import (
    AccountingSettings,
    CounterpartyCode,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    PerformedService,
    PeriodKind,
    RevenueAccount,
)
from contracts.models import ServiceUnit
from core.db import utcnow
from core.models import User
from registry.models import Agreement

LAST_INVOICED = dt.date(2026, 9, 30)
SERVICES_UNTIL = dt.date(2026, 10, 31)
GR_BUYERS = ("1401", "1441", "1402", "1384")  # Härryda, Lerum, Partille, Kungsbacka
SELLERS = {  # agreement: (seller's finance user, revenue account of its service types)
    "GR-JAV-2024": ("ekonomi@goteborg.demo", {"utredning": "3512", "resa": "3513", "utlagg": "3514"}),
    "FAM-MHP-2022": ("ekonomi@molndal.demo", {"familjeratt": "3515"}),
    "BM-SOC-2023": ("admin@bengtsfors.demo", {"socialchef": "3690"}),
    "VN-FHEM-2025": ("ekonomi@sundsvall.demo", {"familjehem": "3516"}),
}
FAM_CASE_TYPES = ("Vårdnad, boende och umgänge", "Faderskap och föräldraskap", "Snabbupplysning")
HISTORY_YEARS = (2022, 2023, 2024)
# Monthly chance of a case per buyer before 2025 (0.55 from 2025): 8, 8 and 9 cases a year against
# 10 in 2025, the "volumes up a quarter" of the demo's follow-up.
FAM_HISTORY_RATE = 0.30
KUNGSBACKA = "FAM-MK-2023"
KUNGSBACKA_CASES = (  # (service date, case type): Kungsbacka's few cases under FAM-MK-2023
    (dt.date(2023, 3, 14), "Snabbupplysning"),
    (dt.date(2023, 9, 5), "Faderskap och föräldraskap"),
    (dt.date(2024, 2, 20), "Vårdnad, boende och umgänge"),
    (dt.date(2024, 10, 8), "Snabbupplysning"),
)


def _months(start: dt.date, end: dt.date):
    month = start.replace(day=1)
    while month <= end:
        yield month
        month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def _day(rng: random.Random, month: dt.date) -> dt.date:
    return month.replace(day=rng.randint(1, 28))


def load(session: Session) -> None:
    users = {u.email: u for u in session.scalars(select(User))}
    agreements = {a.number: a for a in session.scalars(select(Agreement))}
    if not all(number in agreements for number in SELLERS) or not all(
        e in users for e, _ in SELLERS.values()
    ):
        return
    rng = random.Random(2026)
    _accounting(session, agreements)
    _services(session, rng, agreements, users)
    session.flush()
    _history(session, agreements, users)
    for number, (email, _) in SELLERS.items():
        user = users[email]
        agreement = agreements[number]
        # 2025 in one yearly run; 2026 per quarter (agreements on monthly invoicing are billed for the
        # quarter's months in the quarter's run: fewer runs keep `flask core seed` quick).
        runs = [(PeriodKind.YEAR, dt.date(2025, 1, 1), dt.date(2026, 1, 12))]
        runs += [(PeriodKind.QUARTER, dt.date(2026, m, 1), dt.date(2026, m + 3, 8)) for m in (1, 4, 7)]
        for kind, start, issued_on in runs:
            run = invoicing.create_run(session, user, kind, start, agreement_id=agreement.id)
            invoicing.compute_run(session, user, run)
            if not run.invoices:
                continue
            invoicing.issue_run(session, user, run, approve=True, confirm_problems=True, issue_date=issued_on)
            if start.year == 2025:
                for invoice in run.invoices:
                    invoicing.mark_invoice_paid(session, user, invoice, issued_on + dt.timedelta(days=27))
    _credit_note(session, agreements["GR-JAV-2024"], users["ekonomi@goteborg.demo"])
    session.flush()
    # Year-end 2025: reported costs and the reconciliation of preliminary billing, then a follow-up of
    # 2025 for every demo agreement (its figures include the reconciliation).
    from billing.followup import demo as followup_demo
    from billing.reconciliation import demo as reconciliation_demo

    reconciliation_demo.load(session)
    followup_demo.load(session)
    session.flush()


def _accounting(session: Session, agreements: dict[str, Agreement]) -> None:
    for number, (_, revenue) in SELLERS.items():
        agreement = agreements[number]
        seller = agreement.host.municipality_id
        session.add(
            AccountingSettings(
                municipality_id=seller,
                receivable_account="1510",
                revenue_account="3510",
                output_vat_account="2611",
                voucher_series="K",
                counterparty_dimension=6,
                counterparty_dimension_name="Motpart",
                responsibility_dimension=1,
                responsibility_dimension_name="Ansvar",
                responsibility_code="7100",
            )
        )
        for code, account in revenue.items():
            session.add(RevenueAccount(municipality_id=seller, service_type_code=code, account=account))
        for party in agreement.buyers:
            session.add(
                CounterpartyCode(
                    municipality_id=seller,
                    counterparty_municipality_id=party.municipality_id,
                    code=f"K{party.municipality.kommunkod}",
                )
            )


def _service(agreement, buyer_id, day, code, unit, quantity, attester, note=None, case_type=""):
    return PerformedService(
        agreement=agreement,
        service_date=day,
        performing_municipality_id=agreement.host.municipality_id,
        buying_municipality_id=buyer_id,
        service_type_code=code,
        case_type=case_type,
        quantity=Decimal(quantity),
        unit=unit,
        note=note,
        registered_by_id=attester.id,
        attested_by_id=attester.id,
        attested_at=utcnow(),
    )


def _services(session: Session, rng: random.Random, agreements, users) -> None:
    gr = agreements["GR-JAV-2024"]
    gr_finance = users["ekonomi@goteborg.demo"]
    buyers = {p.municipality.kommunkod: p.municipality_id for p in gr.buyers}
    for month in _months(dt.date(2025, 1, 1), SERVICES_UNTIL):
        for code in GR_BUYERS:
            if code not in buyers:
                continue
            for _ in range(rng.randint(1, 3)):
                hours = Decimal(rng.randrange(150, 1400)) / 100
                session.add(
                    _service(
                        gr, buyers[code], _day(rng, month), "utredning", ServiceUnit.HOUR, hours, gr_finance
                    )
                )
            if rng.random() < 0.6:
                km = Decimal(rng.randrange(120, 1200)) / 10
                session.add(
                    _service(gr, buyers[code], _day(rng, month), "resa", ServiceUnit.KM, km, gr_finance)
                )
            if rng.random() < 0.15:
                session.add(
                    _service(
                        gr,
                        buyers[code],
                        _day(rng, month),
                        "utlagg",
                        ServiceUnit.SEK,
                        Decimal(rng.randrange(8000, 60000)) / 100,
                        gr_finance,
                        note="Tågbiljett till hembesök",
                    )
                )
    fam = agreements["FAM-MHP-2022"]
    fam_finance = users["ekonomi@molndal.demo"]
    for month in _months(dt.date(2025, 1, 1), SERVICES_UNTIL):
        for party in fam.buyers:
            if rng.random() < 0.55:
                case_type = FAM_CASE_TYPES[rng.randrange(len(FAM_CASE_TYPES))]
                session.add(
                    _service(
                        fam,
                        party.municipality_id,
                        _day(rng, month),
                        "familjeratt",
                        ServiceUnit.CASE,
                        "1",
                        fam_finance,
                        case_type=case_type,
                    )
                )


def _history(session: Session, agreements, users) -> None:
    """Mölndal's familjerätt billing 2022–2024: FAM-MHP-2022's cases (own random stream, so the 2025–2026
    story stays as it was) and Kungsbacka's under FAM-MK-2023, one yearly run per year for all of
    Mölndal's agreements, issued in January of the next year and paid."""
    fam = agreements["FAM-MHP-2022"]
    finance = users["ekonomi@molndal.demo"]
    rng = random.Random(2022)
    for month in _months(dt.date(HISTORY_YEARS[0], 1, 1), dt.date(HISTORY_YEARS[-1], 12, 31)):
        for party in fam.buyers:
            if rng.random() < FAM_HISTORY_RATE:
                case_type = FAM_CASE_TYPES[rng.randrange(len(FAM_CASE_TYPES))]
                session.add(
                    _service(
                        fam,
                        party.municipality_id,
                        _day(rng, month),
                        "familjeratt",
                        ServiceUnit.CASE,
                        "1",
                        finance,
                        case_type=case_type,
                    )
                )
    kungsbacka = agreements.get(KUNGSBACKA)
    if kungsbacka is not None:
        for party in kungsbacka.buyers:
            session.add(
                CounterpartyCode(
                    municipality_id=kungsbacka.host.municipality_id,
                    counterparty_municipality_id=party.municipality_id,
                    code=f"K{party.municipality.kommunkod}",
                )
            )
            for day, case_type in KUNGSBACKA_CASES:
                session.add(
                    _service(
                        kungsbacka,
                        party.municipality_id,
                        day,
                        "familjeratt",
                        ServiceUnit.CASE,
                        "1",
                        finance,
                        case_type=case_type,
                    )
                )
    session.flush()
    for year in HISTORY_YEARS:
        issued_on = dt.date(year + 1, 1, 12)
        run = invoicing.create_run(session, finance, PeriodKind.YEAR, dt.date(year, 1, 1))
        invoicing.compute_run(session, finance, run)
        if not run.invoices:
            continue
        invoicing.issue_run(session, finance, run, approve=True, confirm_problems=True, issue_date=issued_on)
        for invoice in run.invoices:
            invoicing.mark_invoice_paid(session, finance, invoice, issued_on + dt.timedelta(days=27))


def _credit_note(session: Session, agreement: Agreement, user: User) -> None:
    """Credit one line of a 2026 invoice: time registered on the wrong buyer."""
    invoice = session.scalar(
        select(Invoice)
        .where(
            Invoice.agreement_id == agreement.id,
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.status == InvoiceStatus.ISSUED,
            Invoice.period_start == dt.date(2026, 4, 1),
        )
        .order_by(Invoice.number)
        .limit(1)
    )
    if invoice is None:
        return
    line = next((line for line in invoice.lines if line.service_type_code == "resa"), invoice.lines[0])
    credit = invoicing.credit_invoice(
        session,
        user,
        invoice,
        line_ids=[line.id],
        reason="Resorna registrerades på fel köpare och krediteras.",
    )
    invoicing.approve_invoice(session, user, credit)
    invoicing.issue_credit_note(session, user, credit)
