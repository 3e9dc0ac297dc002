"""The per-municipality overview and the national overview (issue #6 point 4): figures computed from
the registry and billing tables with SQL aggregates, never from a page's loops over invoices.

Definitions (what the pages and files say in their intro text):
- Money: issued invoices net of VAT; an issued credit note counts (negative) in the year and month of
  the period start of the invoice it credits, as in the annual follow-up. Money in: invoices where the
  municipality is the seller; money out: where it is the buyer. Drafts and approved invoices never count.
- Years: the selected year (default the current year) and the three before it.
- Deadlines: registry.deadlines.services.deadlines_for the next 90 days, the kinds the user may read.
- Follow-up year: the last completed year up to the selected one (`min(year, today.year - 1)`); status
  none / draft / sent from billing.models.AnnualFollowup.
- Reconciliations of the municipality's agreements for the shown years, open (proposed) or issued; the
  municipality's part is the sum of the differences of all rows as host, its own row's as buyer.
National overview (sysadmins, counts and sums only, never a case):
- agreements in force (active or under renegotiation) as host and as buyer; every municipality party
  to any agreement gets a row;
- invoiced out (as seller) and in (as buyer) for the year, as above;
- open case transfers (not declined or closed) where the municipality requests or performs; the totals
  row counts each transfer once;
- decisions the municipality is responsible for that are reportable to IVO today (registry watch rules);
- follow-ups sent for the follow-up year of the agreements the municipality hosts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import extract, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from billing.followup.hamburg import net_invoiced_query
from billing.models import (
    FOLLOWUP_STATUS_LABELS,
    RECONCILIATION_STATUS_LABELS,
    AnnualFollowup,
    FollowupStatus,
    Invoice,
    Reconciliation,
    ReconciliationStatus,
)
from billing.permissions import NATIONAL_OVERVIEW_READ, OVERVIEW_READ
from core.errors import PermissionDenied, ValidationFailed
from core.formatting import local_today  # noqa: F401  (the part's clock: views and tests use it)
from core.models import Municipality
from core.permissions import require
from registry.dates import current_end_date, last_notice_date
from registry.deadlines.services import Deadline, deadlines_for, readable_groups
from registry.decisions.watch import watch_of
from registry.models import (
    AGREEMENT_STATUS_LABELS,
    PARTY_ROLE_LABELS,
    Agreement,
    AgreementParty,
    AgreementStatus,
    CaseTransfer,
    Decision,
    LegalBasis,
    PartyRole,
    TransferStatus,
)

ZERO = Decimal("0.00")
YEARS_SHOWN = 4  # the selected year and the three before it
DEADLINE_HORIZON_DAYS = 90
EARLIEST_YEAR = 2000
IN_FORCE = (AgreementStatus.ACTIVE, AgreementStatus.RENEGOTIATION)
CLOSED_TRANSFER = (TransferStatus.DECLINED, TransferStatus.CLOSED)
NO_FOLLOWUP = "none"
FOLLOWUP_LABELS = {NO_FOLLOWUP: "Ingen", **{s.value: label for s, label in FOLLOWUP_STATUS_LABELS.items()}}
MONTH_NAMES = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
TOP_MUNICIPALITIES = 15


# --- Figures -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearMoney:
    year: int
    money_in: Decimal
    money_out: Decimal

    @property
    def net(self) -> Decimal:
        return self.money_in - self.money_out


@dataclass(frozen=True)
class AgreementRow:
    agreement_id: int
    number: str
    title: str
    role: str  # PartyRole value of the municipality
    role_label: str
    counterparties: tuple[str, ...]
    status: str
    status_label: str
    current_end_date: dt.date | None
    last_notice_date: dt.date | None
    years: tuple[YearMoney, ...]  # oldest first, the shown years
    followup_status: str  # "none", "draft", "sent"
    followup_label: str

    @property
    def selected(self) -> YearMoney:
        return self.years[-1]


@dataclass(frozen=True)
class CounterpartyMoney:
    municipality_id: int
    name: str
    money_in: Decimal  # we invoiced them
    money_out: Decimal  # they invoiced us


@dataclass(frozen=True)
class ReconciliationItem:
    reconciliation_id: int
    agreement_id: int
    agreement_number: str
    year: int
    status: str
    status_label: str
    role: str
    difference: Decimal  # the municipality's part: > 0 more to invoice (host) / to pay (buyer)


@dataclass(frozen=True)
class MunicipalityOverview:
    municipality_id: int
    municipality_name: str
    kommunkod: str
    year: int
    today: dt.date
    years: tuple[int, ...]  # oldest first
    agreements: tuple[AgreementRow, ...]
    totals: tuple[YearMoney, ...]  # per shown year, oldest first
    months_in: tuple[Decimal, ...]  # the selected year, January..December
    months_out: tuple[Decimal, ...]
    counterparties: tuple[CounterpartyMoney, ...]
    deadlines: tuple[Deadline, ...]
    followup_year: int
    reconciliations: tuple[ReconciliationItem, ...]

    @property
    def selected(self) -> YearMoney:
        return self.totals[-1]

    @property
    def open_reconciliations(self) -> tuple[ReconciliationItem, ...]:
        return tuple(r for r in self.reconciliations if r.status == ReconciliationStatus.PROPOSED)

    @property
    def issued_reconciliations(self) -> tuple[ReconciliationItem, ...]:
        return tuple(r for r in self.reconciliations if r.status == ReconciliationStatus.ISSUED)


@dataclass(frozen=True)
class NationalRow:
    municipality_id: int
    kommunkod: str
    name: str
    county_code: str
    county_name: str
    agreements_as_host: int
    agreements_as_buyer: int
    invoiced_out: Decimal  # as seller
    invoiced_in: Decimal  # as buyer
    open_transfers: int
    reportable_decisions: int
    followups_sent: int


@dataclass(frozen=True)
class NationalTotals:
    agreements_as_host: int
    agreements_as_buyer: int
    invoiced_out: Decimal
    invoiced_in: Decimal
    open_transfers: int  # each transfer once
    reportable_decisions: int
    followups_sent: int


@dataclass(frozen=True)
class CountyMoney:
    county_code: str
    county_name: str
    invoiced_out: Decimal


@dataclass(frozen=True)
class NationalOverview:
    year: int
    today: dt.date
    followup_year: int
    rows: tuple[NationalRow, ...]
    totals: NationalTotals
    counties: tuple[CountyMoney, ...] = field(default=())

    @property
    def top(self) -> tuple[NationalRow, ...]:
        ranked = sorted(self.rows, key=lambda r: (-r.invoiced_out, r.name))
        return tuple(r for r in ranked if r.invoiced_out != 0)[:TOP_MUNICIPALITIES]


# --- Common ------------------------------------------------------------------------------------------


def check_year(year: int | None, today: dt.date) -> int:
    """The selected year: the current one by default; earlier years back to 2000, never the future."""
    if year is None:
        return today.year
    if year < EARLIEST_YEAR or year > today.year:
        raise ValidationFailed(
            f"Välj ett år mellan {EARLIEST_YEAR} och {today.year}.",
            errors={"year": [f"Året ska vara mellan {EARLIEST_YEAR} och {today.year}."]},
        )
    return year


def selectable_years(today: dt.date, count: int = 8) -> list[int]:
    return [y for y in range(today.year, today.year - count, -1) if y >= EARLIEST_YEAR]


def followup_year_for(year: int, today: dt.date) -> int:
    return min(year, today.year - 1)


def _money_rows(session: Session, first: dt.date, last: dt.date, municipality_id: int | None = None):
    """(agreement_id, seller_id, buyer_id, year, month, net) of issued invoices and credit notes whose
    period start (the credited invoice's, for a credit note) is in first..last, summed: the follow-up's
    rule (billing.followup.hamburg.net_invoiced_query)."""
    query, start = net_invoiced_query()
    year = extract("year", start)
    month = extract("month", start)
    stmt = (
        query.add_columns(
            Invoice.agreement_id,
            Invoice.seller_municipality_id,
            Invoice.buyer_municipality_id,
            year,
            month,
            func.sum(Invoice.net_amount),
        )
        .where(start >= first, start <= last)
        .group_by(
            Invoice.agreement_id, Invoice.seller_municipality_id, Invoice.buyer_municipality_id, year, month
        )
    )
    if municipality_id is not None:
        stmt = stmt.where(
            or_(
                Invoice.seller_municipality_id == municipality_id,
                Invoice.buyer_municipality_id == municipality_id,
            )
        )
    for agreement_id, seller_id, buyer_id, y, m, amount in session.execute(stmt):
        yield agreement_id, seller_id, buyer_id, int(y), int(m), Decimal(amount or 0)


# --- Per municipality --------------------------------------------------------------------------------


def require_overview_reader(user) -> int:
    """The user's municipality (403 for users without one: sysadmins use the national overview)."""
    if user.municipality_id is None:
        raise PermissionDenied(
            "Översikten gäller en kommun och ditt konto hör inte till någon. "
            "Systemadministratörer använder den nationella översikten."
        )
    require(user, OVERVIEW_READ, user.municipality_id)
    return user.municipality_id


def overview_for_user(session: Session, user, year: int | None = None, today: dt.date | None = None):
    """The overview of the user's own municipality (never another's), with the deadlines the user's roles
    may read."""
    municipality_id = require_overview_reader(user)
    today = today or local_today()
    return municipality_overview(
        session, municipality_id, check_year(year, today), today, deadline_groups=readable_groups(user)
    )


def municipality_overview(
    session: Session,
    municipality_id: int,
    year: int,
    today: dt.date,
    deadline_groups: Iterable | None = None,
) -> MunicipalityOverview:
    municipality = session.get(Municipality, municipality_id)
    years = tuple(range(year - YEARS_SHOWN + 1, year + 1))
    followup_year = followup_year_for(year, today)

    agreements = list(
        session.scalars(
            select(Agreement)
            .join(AgreementParty, AgreementParty.agreement_id == Agreement.id)
            .where(AgreementParty.municipality_id == municipality_id)
            .options(selectinload(Agreement.parties).selectinload(AgreementParty.municipality))
            .order_by(Agreement.number)
        ).unique()
    )
    ids = [a.id for a in agreements]

    per_agreement: dict[tuple[int, int], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    per_year: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    months = [[ZERO] * 12, [ZERO] * 12]
    per_counterparty: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    rows = _money_rows(session, dt.date(years[0], 1, 1), dt.date(year, 12, 31), municipality_id)
    for agreement_id, seller_id, buyer_id, y, m, amount in rows:
        side = 0 if seller_id == municipality_id else 1  # 0: money in, 1: money out
        per_agreement[(agreement_id, y)][side] += amount
        per_year[y][side] += amount
        if y == year:
            months[side][m - 1] += amount
            per_counterparty[buyer_id if side == 0 else seller_id][side] += amount

    followups = (
        dict(
            session.execute(
                select(AnnualFollowup.agreement_id, AnnualFollowup.status).where(
                    AnnualFollowup.agreement_id.in_(ids), AnnualFollowup.year == followup_year
                )
            ).all()
        )
        if ids
        else {}
    )

    agreement_rows = []
    for agreement in agreements:
        own = next(p for p in agreement.parties if p.municipality_id == municipality_id)
        others = sorted(
            (p for p in agreement.parties if p.municipality_id != municipality_id),
            key=lambda p: (p.role != PartyRole.HOST, p.municipality.name),
        )
        end = current_end_date(agreement.end_date, agreement.renewal_months, today)
        followup = followups.get(agreement.id)
        followup_key = FollowupStatus(followup).value if followup is not None else NO_FOLLOWUP
        agreement_rows.append(
            AgreementRow(
                agreement_id=agreement.id,
                number=agreement.number,
                title=agreement.title,
                role=own.role.value,
                role_label=PARTY_ROLE_LABELS[own.role],
                counterparties=tuple(p.municipality.name for p in others),
                status=agreement.status.value,
                status_label=AGREEMENT_STATUS_LABELS[agreement.status],
                current_end_date=end,
                last_notice_date=last_notice_date(end, agreement.notice_months),
                years=tuple(YearMoney(y, *per_agreement[(agreement.id, y)]) for y in years),
                followup_status=followup_key,
                followup_label=FOLLOWUP_LABELS[followup_key],
            )
        )

    names = (
        dict(
            session.execute(
                select(Municipality.id, Municipality.name).where(Municipality.id.in_(list(per_counterparty)))
            ).all()
        )
        if per_counterparty
        else {}
    )
    counterparties = sorted(
        (CounterpartyMoney(mid, names[mid], *amounts) for mid, amounts in per_counterparty.items()),
        key=lambda c: (-(c.money_in + c.money_out), c.name),
    )

    deadlines = deadlines_for(
        session,
        municipality_id,
        today,
        DEADLINE_HORIZON_DAYS,
        set(deadline_groups) if deadline_groups is not None else None,
    )

    return MunicipalityOverview(
        municipality_id=municipality_id,
        municipality_name=municipality.name,
        kommunkod=municipality.kommunkod,
        year=year,
        today=today,
        years=years,
        agreements=tuple(agreement_rows),
        totals=tuple(YearMoney(y, *per_year[y]) for y in years),
        months_in=tuple(months[0]),
        months_out=tuple(months[1]),
        counterparties=tuple(counterparties),
        deadlines=tuple(deadlines),
        followup_year=followup_year,
        reconciliations=_reconciliations(session, municipality_id, agreement_rows, years),
    )


def _reconciliations(
    session: Session, municipality_id: int, agreements: list[AgreementRow], years: tuple[int, ...]
) -> tuple[ReconciliationItem, ...]:
    roles = {a.agreement_id: a.role for a in agreements}
    if not roles:
        return ()
    found = session.scalars(
        select(Reconciliation)
        .where(Reconciliation.agreement_id.in_(list(roles)), Reconciliation.year.in_(list(years)))
        .options(selectinload(Reconciliation.rows), selectinload(Reconciliation.agreement))
        .order_by(Reconciliation.year.desc(), Reconciliation.id)
    )
    items = []
    for rec in found:
        role = roles[rec.agreement_id]
        if role == PartyRole.HOST:
            difference = sum((r.difference for r in rec.rows), ZERO)
        else:
            difference = sum(
                (r.difference for r in rec.rows if r.buyer_municipality_id == municipality_id), ZERO
            )
        items.append(
            ReconciliationItem(
                reconciliation_id=rec.id,
                agreement_id=rec.agreement_id,
                agreement_number=rec.agreement.number,
                year=rec.year,
                status=rec.status.value,
                status_label=RECONCILIATION_STATUS_LABELS[rec.status],
                role=role,
                difference=difference,
            )
        )
    items.sort(key=lambda r: (r.status != ReconciliationStatus.PROPOSED, -r.year, r.agreement_number))
    return tuple(items)


# --- National ----------------------------------------------------------------------------------------


def national_overview_for_user(session: Session, user, year: int | None = None, today: dt.date | None = None):
    require(user, NATIONAL_OVERVIEW_READ)
    today = today or local_today()
    return national_overview(session, check_year(year, today), today)


def national_overview(session: Session, year: int, today: dt.date) -> NationalOverview:
    followup_year = followup_year_for(year, today)
    parties = session.execute(
        select(AgreementParty.municipality_id, AgreementParty.role, Agreement.status, func.count())
        .join(Agreement, Agreement.id == AgreementParty.agreement_id)
        .group_by(AgreementParty.municipality_id, AgreementParty.role, Agreement.status)
    ).all()
    hosts: dict[int, int] = defaultdict(int)
    buyers: dict[int, int] = defaultdict(int)
    municipality_ids: set[int] = set()
    for mid, role, status, count in parties:
        municipality_ids.add(mid)
        if AgreementStatus(status) in IN_FORCE:
            (hosts if PartyRole(role) == PartyRole.HOST else buyers)[mid] += count

    out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    into: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for _agreement, seller_id, buyer_id, _y, _m, amount in _money_rows(
        session, dt.date(year, 1, 1), dt.date(year, 12, 31)
    ):
        out[seller_id] += amount
        into[buyer_id] += amount

    open_transfers: dict[int, int] = defaultdict(int)
    transfer_pairs = session.execute(
        select(CaseTransfer.requesting_municipality_id, CaseTransfer.performing_municipality_id, func.count())
        .where(CaseTransfer.status.not_in(CLOSED_TRANSFER))
        .group_by(CaseTransfer.requesting_municipality_id, CaseTransfer.performing_municipality_id)
    ).all()
    open_total = 0
    for requesting, performing, count in transfer_pairs:
        open_total += count
        open_transfers[requesting] += count
        if performing != requesting:
            open_transfers[performing] += count

    reportable = reportable_decision_counts(session, today)

    host_party = aliased(AgreementParty)
    sent = dict(
        session.execute(
            select(host_party.municipality_id, func.count())
            .select_from(AnnualFollowup)
            .join(
                host_party,
                (host_party.agreement_id == AnnualFollowup.agreement_id)
                & (host_party.role == PartyRole.HOST),
            )
            .where(AnnualFollowup.year == followup_year, AnnualFollowup.status == FollowupStatus.SENT)
            .group_by(host_party.municipality_id)
        ).all()
    )

    municipalities = (
        session.scalars(select(Municipality).where(Municipality.id.in_(list(municipality_ids)))).all()
        if municipality_ids
        else []
    )
    rows = sorted(
        (
            NationalRow(
                municipality_id=m.id,
                kommunkod=m.kommunkod,
                name=m.name,
                county_code=m.county_code,
                county_name=m.county_name,
                agreements_as_host=hosts[m.id],
                agreements_as_buyer=buyers[m.id],
                invoiced_out=out[m.id],
                invoiced_in=into[m.id],
                open_transfers=open_transfers[m.id],
                reportable_decisions=reportable.get(m.id, 0),
                followups_sent=sent.get(m.id, 0),
            )
            for m in municipalities
        ),
        key=lambda r: r.kommunkod,
    )
    totals = NationalTotals(
        agreements_as_host=sum(r.agreements_as_host for r in rows),
        agreements_as_buyer=sum(r.agreements_as_buyer for r in rows),
        invoiced_out=sum((r.invoiced_out for r in rows), ZERO),
        invoiced_in=sum((r.invoiced_in for r in rows), ZERO),
        open_transfers=open_total,
        reportable_decisions=sum(r.reportable_decisions for r in rows),
        followups_sent=sum(r.followups_sent for r in rows),
    )
    by_county: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for r in rows:
        by_county[(r.county_code, r.county_name)] += r.invoiced_out
    counties = tuple(
        CountyMoney(code, name, amount) for (code, name), amount in sorted(by_county.items()) if amount != 0
    )
    return NationalOverview(year, today, followup_year, tuple(rows), totals, counties)


def reportable_decision_counts(session: Session, today: dt.date) -> dict[int, int]:
    """Per responsible municipality: decisions reportable to IVO on `today` (the registry's watch rules),
    counted without anything about the case leaving this function. One query for every candidate."""
    candidates = session.scalars(
        select(Decision)
        .join(LegalBasis, Decision.legal_basis_id == LegalBasis.id)
        .where(
            LegalBasis.reportable.is_(True),
            Decision.decision_date <= today,
            or_(Decision.closed_on.is_(None), Decision.closed_on > today),
        )
        .options(selectinload(Decision.interruptions), selectinload(Decision.legal_basis))
    )
    counts: dict[int, int] = defaultdict(int)
    for decision in candidates:
        if watch_of(decision, today).reportable:
            counts[decision.responsible_municipality_id] += 1
    return dict(counts)
