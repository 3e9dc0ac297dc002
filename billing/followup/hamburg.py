"""The Hamburg re-check and the cost coverage of an agreement's annual follow-up, from billing data.

Hamburg (LOU 3 kap. 17 §, the Hamburg exception for cooperation between public bodies): the parties
must perform less than 20 % of the activities concerned on the open market, measured on turnover over
the three years before the follow-up year. From issued invoices: the host municipality's net invoiced
(net of VAT, credit notes deducted) on all of its agreements in the same area (Agreement.area), and
the part of it invoiced to buyers that are not parties to THIS agreement. The share is flagged at
20 % or more, compared exactly (outside x 100 >= 20 x turnover), never on the rounded share. A year
without any issued invoice of the host in the area is missing history: the share is then an estimate
on the years there are; with no year at all it cannot be computed.

Cost coverage (självkostnadsprincipen, KL 2 kap. 6 §): the agreement's net invoiced for the year (all
buyers, credit notes deducted, reconciliation documents included) against the host's reported actual
cost of the year (billing.models.ReportedCost). Invoicing more than the cost is a surplus: flagged.

Attribution of money to a year: an issued invoice counts in the year (and month) of its period start;
an issued credit note counts, negative, in the year and month of the period start of the invoice it
credits (Invoice.original_invoice_id). `net_invoiced_query` is that rule, shared with figures.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, extract, func, select
from sqlalchemy.orm import aliased

from billing.followup.figures import CostCoverage, HamburgCheck, HamburgYear
from billing.models import Invoice, InvoiceKind, InvoiceStatus, ReportedCost
from core.formatting import format_money, format_number, round_money
from registry.models import Agreement

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
HAMBURG_LIMIT_PERCENT = Decimal("20")
PERCENT_PLACES = Decimal("0.01")


def percent(part: Decimal, whole: Decimal) -> Decimal:
    """part / whole x 100, rounded half-up to two decimals (for display; decisions compare exactly)."""
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


def percent_text(value: Decimal) -> str:
    return f"{format_number(value, 2)} %"


def net_invoiced_query(*columns):
    """(select(*columns) over issued invoices and credit notes, effective_start): `effective_start` is
    the period start of the invoice, or of the invoice a credit note credits; use it in where/group_by.
    Sum Invoice.net_amount for money (credit notes carry negative amounts)."""
    original = aliased(Invoice)
    effective_start = case(
        (Invoice.kind == InvoiceKind.CREDIT_NOTE, original.period_start), else_=Invoice.period_start
    )
    query = (
        select(*columns)
        .select_from(Invoice)
        .outerjoin(original, original.id == Invoice.original_invoice_id)
        .where(Invoice.status == InvoiceStatus.ISSUED)
    )
    return query, effective_start


def _year_between(effective_start, first: int, last: int):
    return and_(effective_start >= dt.date(first, 1, 1), effective_start <= dt.date(last, 12, 31))


def money(value) -> Decimal:
    """A SQL sum as Decimal in öre (SQLite may hand back a float)."""
    return round_money(value if value is not None else 0)


def hamburg_check(session, agreement: Agreement, year: int) -> HamburgCheck:
    """The open-market share of the host's turnover in the agreement's area over the three years
    before `year` (see the module docstring)."""
    years = (year - 3, year - 2, year - 1)
    host = agreement.host
    parties = agreement.party_municipality_ids
    rows = []
    if host is not None:
        # Grouped on the effective year: credit notes count in their original's year.
        query, effective_start = net_invoiced_query()
        eff_year = extract("year", effective_start)
        query = (
            query.add_columns(
                eff_year, Invoice.buyer_municipality_id, Invoice.kind, func.sum(Invoice.net_amount)
            )
            .join(Agreement, Agreement.id == Invoice.agreement_id)
            .where(
                Invoice.seller_municipality_id == host.municipality_id,
                Agreement.area == agreement.area,
                _year_between(effective_start, years[0], years[-1]),
            )
            .group_by(eff_year, Invoice.buyer_municipality_id, Invoice.kind)
        )
        rows = session.execute(query).all()

    turnover = {y: ZERO for y in years}
    outside = {y: ZERO for y in years}
    history = {y: False for y in years}
    for row_year, buyer_id, kind, amount in rows:
        row_year = int(row_year)
        amount = money(amount)
        turnover[row_year] += amount
        if buyer_id not in parties:
            outside[row_year] += amount
        if kind == InvoiceKind.INVOICE:
            history[row_year] = True

    year_rows = tuple(
        HamburgYear(year=y, turnover=turnover[y], outside=outside[y], has_history=history[y]) for y in years
    )
    present = [r for r in year_rows if r.has_history]
    missing = tuple(r.year for r in year_rows if not r.has_history)
    total = sum((r.turnover for r in present), ZERO)
    total_outside = sum((r.outside for r in present), ZERO)
    period = f"{years[0]}–{years[-1]}"
    rule = (
        "Enligt Hamburgundantaget (LOU 3 kap. 17 §) ska parterna utföra mindre än 20 % av verksamheten "
        "på den öppna marknaden, mätt på omsättningen under de tre åren före."
    )
    if not present or total <= 0:
        text = (
            f"Kontrollen kan inte göras från faktureringsdata: värdkommunen har inga utfärdade fakturor "
            f"inom området för {period}. {rule} Andelen behöver bedömas på annat underlag."
        )
        return HamburgCheck(
            years=year_rows,
            turnover=total,
            outside=total_outside,
            share_percent=None,
            flagged=False,
            estimate=True,
            missing_years=missing,
            text=text,
        )
    share = percent(total_outside, total)
    flagged = total_outside * HUNDRED >= HAMBURG_LIMIT_PERCENT * total
    counted = ", ".join(str(r.year) for r in present)
    text = (
        f"Av värdkommunens omsättning inom området {format_money(total)} ({counted}) fakturerades "
        f"{format_money(total_outside)} till kommuner som inte är parter i avtalet: {percent_text(share)}. "
    )
    if flagged:
        text += (
            "Andelen är 20 % eller mer: villkoret för Hamburgundantaget är inte uppfyllt och avtalet kan "
            "behöva upphandlas enligt LOU. " + rule
        )
    else:
        text += "Andelen är under 20 %: villkoret för Hamburgundantaget är uppfyllt. " + rule
    estimate = bool(missing)
    if estimate:
        text += (
            " Uppskattning: fakturering saknas för "
            + ", ".join(str(y) for y in missing)
            + ", så andelen bygger bara på "
            + counted
            + "."
        )
    return HamburgCheck(
        years=year_rows,
        turnover=total,
        outside=total_outside,
        share_percent=share,
        flagged=flagged,
        estimate=estimate,
        missing_years=missing,
        text=text,
    )


def agreement_net_invoiced(session, agreement_id: int, year: int) -> Decimal:
    """The agreement's net invoiced for `year`: every buyer, credit notes in their original's year."""
    query, effective_start = net_invoiced_query()
    query = query.add_columns(func.sum(Invoice.net_amount)).where(
        Invoice.agreement_id == agreement_id, _year_between(effective_start, year, year)
    )
    return money(session.scalar(query))


def cost_coverage(session, agreement: Agreement, year: int, invoiced: Decimal | None = None) -> CostCoverage:
    """Invoiced against the reported actual cost of the year (self-cost principle, KL 2 kap. 6 §).
    `invoiced` may be passed when the caller already has the year's net invoiced."""
    if invoiced is None:
        invoiced = agreement_net_invoiced(session, agreement.id, year)
    cost = session.scalar(
        select(ReportedCost.amount).where(
            ReportedCost.agreement_id == agreement.id, ReportedCost.year == year
        )
    )
    if cost is None:
        return CostCoverage(
            reported_cost=None,
            invoiced=invoiced,
            coverage_percent=None,
            surplus=None,
            flagged=False,
            text=(
                f"Verklig kostnad för {year} är inte rapporterad: kostnadstäckningen kan inte bedömas. "
                f"Fakturerat netto {format_money(invoiced)}."
            ),
        )
    cost = round_money(cost)
    coverage = percent(invoiced, cost) if cost > 0 else None
    surplus = invoiced - cost if invoiced > cost else ZERO
    flagged = invoiced > cost
    text = f"Fakturerat netto {format_money(invoiced)} mot rapporterad verklig kostnad {format_money(cost)}"
    text += f" ({percent_text(coverage)} kostnadstäckning). " if coverage is not None else ". "
    if flagged:
        text += (
            f"Överskott {format_money(surplus)}: ersättningen får bara täcka kostnaderna "
            "(självkostnadsprincipen, kommunallagen 2 kap. 6 §). Överskottet bör regleras."
        )
    elif invoiced == cost:
        text += "Ersättningen täcker kostnaden exakt (självkostnadsprincipen, kommunallagen 2 kap. 6 §)."
    else:
        text += (
            f"Underskott {format_money(cost - invoiced)}: inget överskott, självkostnadsprincipen "
            "(kommunallagen 2 kap. 6 §) är uppfylld."
        )
    return CostCoverage(
        reported_cost=cost,
        invoiced=invoiced,
        coverage_percent=coverage,
        surplus=surplus,
        flagged=flagged,
        text=text,
    )
