"""The figures of an annual follow-up (årlig uppföljning), computed from the data for one agreement and
calendar year. Every figure here is checked in tests against an independent SQL computation.

`compute_figures(session, agreement, year, today)` returns a `FollowupFigures`; `figures_to_json` /
`figures_from_json` turn it into the JSON-safe dict stored as the snapshot of a sent follow-up (Decimal
as string, dates as ISO text) and back, so a sent follow-up shows exactly what was sent.

Definitions (docs/followup.md repeats them for readers):
- Volumes: attested performed services of the agreement with a service date in the year, per buying
  municipality, service type and unit: number of entries and sum of quantity. The service type's name
  is the one of the latest approved terms in force in the year (else of any version, else the code).
- Invoiced: issued invoices of the agreement whose period starts in the year, net of VAT, per buyer and
  per month of the period start; an issued credit note counts, negative, in the year and month of the
  period start of the invoice it credits (original_invoice_id), whatever its own period. Reconciliation
  invoices (period = the year) count in the year they reconcile. One row per buyer party, zero rows
  included (plus a row, and a warning, for any other municipality invoiced). Drafts and approved but
  not issued invoices do not count (a warning says how many there are).
- Budget: the annual amounts the terms in force on 1 July of the year put on the buyers: fixed fee x
  the buyers it applies to; the annual cost of population/usage shares and preliminary billing (less
  the host's own population share when the host carries one; x the buyers' agreed percentages for
  fixed shares); the buyers' part of a shared role's cost in the year (as in Shared roles). None when
  the terms give none (only services priced per unit), or when a price or a population figure it needs
  is missing (warned). Compared with the invoiced total: difference and percent of budget.
- Index: the indexations recorded in the approved versions in force some day of the year for prices of
  the year (edition, percent and status at indexation, old and new price), with a note when the index
  value was revised or made final at another percent afterwards (billed as an adjustment, never by
  rewriting issued invoices).
- Case transfers: transfers of the agreement requested in the year, by current status; declines
  (status declined); median whole days from request to the decision (the first event to status
  "decided"; transfers decided or executed without such an event are counted and warned about);
  decisions of the agreement (directly or through its transfers) dated in the year up to the as-of
  date (`today` or the end of the year, whichever is earlier), executed in time (on or before
  registry.dates.three_months_after), late, closed without execution, not executed past the deadline,
  or pending, all as of that date.
- Shared roles: the year's cost of each shared role of the agreement split per municipality as billing
  does: each month the role's monthly cost split with the allocation in force on the month's first day
  (registry.roles.costs), employer first.
- Notice: the agreement's current end date as of the end of the year and its last notice date; when
  that notice date is on or before the end of the year and the agreement renews, the next period's end
  and notice date too (registry.dates).
- Hamburg re-check and cost coverage: billing.followup.hamburg.
- Reconciliation: the year's Reconciliation rows of the agreement (all components), with the document
  that settles each ("Faktura F123", "Kreditfaktura F124", "(utkast)" before issue).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import extract, func, or_, select
from sqlalchemy.orm import selectinload

from billing.models import (
    INVOICE_KIND_LABELS,
    RECONCILIATION_STATUS_LABELS,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Reconciliation,
    ReconciliationRow,
    ReconciliationStatus,
)
from billing.models import PerformedService as PS
from contracts.models import (
    INDEX_STATUS_LABELS,
    SERVICE_UNIT_LABELS,
    CompensationComponent,
    CompensationModel,
    ContractPrice,
    ContractPriceIndexation,
    ContractVersion,
    IndexStatus,
    ServiceUnit,
    ShareBasis,
    VersionStatus,
)
from contracts.terms.services import PriceMissing, component_title, price_for
from core.db import swedish_sort_key
from core.formatting import format_money, format_number, local_today, round_money
from core.models import Municipality, MunicipalityPopulation
from registry.dates import add_months, current_end_date, last_notice_date, three_months_after
from registry.models import (
    TRANSFER_STATUS_LABELS,
    AgreementStatus,
    CaseTransfer,
    CaseTransferEvent,
    Decision,
    SharedRole,
    SharedRoleAllocation,
    TransferStatus,
)
from registry.roles.costs import allocations_on


@dataclass(frozen=True)
class VolumeRow:
    municipality_id: int
    municipality_name: str
    service_type_code: str
    service_type_name: str  # from the terms in force; the code when the terms no longer name it
    unit: str  # contracts.models.ServiceUnit value
    unit_label: str  # Swedish, e.g. "timmar", "ärenden", "km"
    entries: int  # attested performed services
    quantity: Decimal  # sum of their quantity


@dataclass(frozen=True)
class InvoicedRow:
    municipality_id: int  # the buyer
    municipality_name: str
    invoiced: Decimal  # net of VAT: issued invoices minus issued credit notes
    invoice_count: int
    credit_note_count: int
    by_month: tuple[Decimal, ...]  # 12 amounts, January..December (month of the period start)


@dataclass(frozen=True)
class BudgetFigures:
    budget: Decimal | None  # None: the terms give no annual budget
    basis: str  # how the budget was read from the terms, in Swedish
    invoiced: Decimal  # sum of InvoicedRow.invoiced
    difference: Decimal | None  # invoiced - budget
    percent_of_budget: Decimal | None  # invoiced / budget x 100, two decimals


@dataclass(frozen=True)
class IndexRow:
    version_number: int
    version_title: str
    effective_from: dt.date
    index_edition: str  # e.g. "PKV oktober 2025"
    percent: Decimal  # 3.1000 = 3.1 %
    status: str  # contracts IndexStatus value (preliminär/definitiv)
    status_label: str
    description: str  # which price (component and service type)
    old_amount: Decimal
    new_amount: Decimal
    revision_text: str = ""  # Swedish: the index value was revised or made final after this indexation


@dataclass(frozen=True)
class TransferFigures:
    requests: int  # transfers of the agreement requested in the year
    declines: int
    by_status: dict[str, int]  # TransferStatus value -> count (current status of those transfers)
    status_labels: dict[str, str]  # TransferStatus value -> Swedish label
    median_days_to_decision: Decimal | None  # whole days, .5 when the middle falls between two
    decided: int  # transfers of the year that reached "decided"
    decisions: int  # decisions of the agreement dated in the year
    executed_in_time: int
    executed_late: int
    not_executed: int  # neither executed nor closed by the as-of date, and past the deadline
    pending: int  # not executed yet, still within three months
    as_of: dt.date
    closed_without_execution: int = 0  # closed by the as-of date without being executed
    without_decision_date: int = 0  # decided/executed transfers of the year with no "decided" event


@dataclass(frozen=True)
class SharedRoleCostRow:
    shared_role_id: int
    title: str
    municipality_id: int
    municipality_name: str
    amount: Decimal  # the year's cost carried by the municipality


@dataclass(frozen=True)
class NoticeFigures:
    current_end_date: dt.date | None
    last_notice_date: dt.date | None  # the last day to give notice for current_end_date
    text: str  # Swedish sentence, e.g. "Avtalet löper till 2027-12-31; uppsägning senast 2027-06-30."
    # When last_notice_date fell before the end of the year and the agreement renews: the next period.
    next_end_date: dt.date | None = None
    next_notice_date: dt.date | None = None


@dataclass(frozen=True)
class HamburgYear:
    year: int
    turnover: Decimal  # the host's net invoiced in the agreement's area, all buyers
    outside: Decimal  # of which to buyers that are not parties to this agreement
    has_history: bool  # any issued invoice of the host in the area that year


@dataclass(frozen=True)
class HamburgCheck:
    years: tuple[HamburgYear, ...]  # the three years before the follow-up year, oldest first
    turnover: Decimal
    outside: Decimal
    share_percent: Decimal | None  # outside / turnover x 100, two decimals (display); None: no data
    flagged: bool  # outside >= 20 % of turnover, compared exactly (not on the rounded share)
    estimate: bool  # history missing for at least one of the three years
    missing_years: tuple[int, ...]
    text: str  # Swedish conclusion for the report


@dataclass(frozen=True)
class CostCoverage:
    reported_cost: Decimal | None  # billing.models.ReportedCost of the year; None when not reported
    invoiced: Decimal  # the agreement's net invoiced for the year (all buyers)
    coverage_percent: Decimal | None  # invoiced / reported cost x 100, two decimals
    surplus: Decimal | None  # invoiced - reported cost when positive, else 0
    flagged: bool  # a surplus: the self-cost principle
    text: str


@dataclass(frozen=True)
class ReconciliationSummaryRow:
    municipality_id: int
    municipality_name: str
    final_amount: Decimal
    invoiced_amount: Decimal
    difference: Decimal
    within_threshold: bool
    document: str | None  # e.g. "Faktura F1042" or "Kreditfaktura F1043"; None within the threshold


@dataclass(frozen=True)
class ReconciliationSummary:
    status: str  # ReconciliationStatus value, or "none" when the year has none
    status_label: str
    actual_cost: Decimal | None
    rows: tuple[ReconciliationSummaryRow, ...]


@dataclass(frozen=True)
class FollowupFigures:
    agreement_id: int
    agreement_number: str
    agreement_title: str
    year: int
    host_name: str | None
    party_names: tuple[str, ...]  # host first, then buyers by name
    computed_on: dt.date
    volumes: tuple[VolumeRow, ...]
    invoiced: tuple[InvoicedRow, ...]  # one row per buyer party, zero rows included
    budget: BudgetFigures
    index: tuple[IndexRow, ...]
    transfers: TransferFigures
    shared_roles: tuple[SharedRoleCostRow, ...]
    notice: NoticeFigures
    hamburg: HamburgCheck
    cost_coverage: CostCoverage
    reconciliation: ReconciliationSummary
    warnings: tuple[str, ...] = field(default=())  # Swedish: what the reader should know (missing data)


# --- Computation --------------------------------------------------------------------------------------

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
BUDGET_DAY = (7, 1)  # the terms in force on 1 July give the year's budget


def _names(session, ids) -> dict[int, str]:

    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(
        session.execute(select(Municipality.id, Municipality.name).where(Municipality.id.in_(ids))).all()
    )


def _name_key(name: str):

    return (swedish_sort_key(name), name)


def _approved_versions(session, agreement_id: int) -> list:

    return list(
        session.scalars(
            select(ContractVersion)
            .where(
                ContractVersion.agreement_id == agreement_id, ContractVersion.status == VersionStatus.APPROVED
            )
            .order_by(ContractVersion.effective_from)
            .options(
                selectinload(ContractVersion.service_types),
                selectinload(ContractVersion.components).selectinload(CompensationComponent.prices),
                selectinload(ContractVersion.components).selectinload(CompensationComponent.fixed_shares),
                selectinload(ContractVersion.components).selectinload(CompensationComponent.service_type),
            )
        )
    )


def _in_force(versions: list, day: dt.date):
    candidates = [v for v in versions if v.effective_from <= day]
    return candidates[-1] if candidates else None


def _volumes(session, agreement, year: int, versions: list, names: dict[int, str]) -> tuple[VolumeRow, ...]:

    rows = session.execute(
        select(
            PS.buying_municipality_id,
            PS.service_type_code,
            PS.unit,
            func.count(PS.id),
            func.sum(PS.quantity),
        )
        .where(
            PS.agreement_id == agreement.id,
            PS.attested_at.is_not(None),
            PS.service_date >= dt.date(year, 1, 1),
            PS.service_date <= dt.date(year, 12, 31),
        )
        .group_by(PS.buying_municipality_id, PS.service_type_code, PS.unit)
    ).all()
    # The service type's name from the terms in force in the year (the latest of them), else any version.
    type_names: dict[str, str] = {}
    for version in versions:
        for service_type in version.service_types:
            type_names.setdefault(service_type.code, service_type.name)
    for version in versions:
        if version.effective_from <= dt.date(year, 12, 31):
            for service_type in version.service_types:
                type_names[service_type.code] = service_type.name
    missing = {r[0] for r in rows} - names.keys()
    names.update(_names(session, missing))
    result = []
    for buyer_id, code, unit, entries, quantity in rows:
        unit = ServiceUnit(unit)
        result.append(
            VolumeRow(
                municipality_id=buyer_id,
                municipality_name=names[buyer_id],
                service_type_code=code,
                service_type_name=type_names.get(code, code),
                unit=unit.value,
                unit_label=SERVICE_UNIT_LABELS[unit],
                entries=int(entries),
                quantity=Decimal(str(quantity)).quantize(Decimal("0.01")),
            )
        )
    result.sort(key=lambda r: (_name_key(r.municipality_name), r.service_type_name, r.unit))
    return tuple(result)


def _invoiced(session, agreement, year: int, names: dict[int, str]) -> tuple[InvoicedRow, ...]:

    from billing.followup.hamburg import money, net_invoiced_query

    query, effective_start = net_invoiced_query()
    month = extract("month", effective_start)
    query = (
        query.add_columns(
            Invoice.buyer_municipality_id,
            month,
            Invoice.kind,
            func.sum(Invoice.net_amount),
            func.count(Invoice.id),
        )
        .where(
            Invoice.agreement_id == agreement.id,
            effective_start >= dt.date(year, 1, 1),
            effective_start <= dt.date(year, 12, 31),
        )
        .group_by(Invoice.buyer_municipality_id, month, Invoice.kind)
    )
    buyers = [p.municipality_id for p in agreement.buyers]
    months: dict[int, list[Decimal]] = {b: [ZERO] * 12 for b in buyers}
    counts: dict[int, list[int]] = {b: [0, 0] for b in buyers}
    for buyer_id, month_number, kind, amount, count in session.execute(query).all():
        months.setdefault(buyer_id, [ZERO] * 12)
        counts.setdefault(buyer_id, [0, 0])
        months[buyer_id][int(month_number) - 1] += money(amount)
        counts[buyer_id][0 if kind == InvoiceKind.INVOICE else 1] += int(count)
    missing = months.keys() - names.keys()
    names.update(_names(session, missing))
    rows = [
        InvoicedRow(
            municipality_id=buyer_id,
            municipality_name=names[buyer_id],
            invoiced=sum(amounts, ZERO),
            invoice_count=counts[buyer_id][0],
            credit_note_count=counts[buyer_id][1],
            by_month=tuple(amounts),
        )
        for buyer_id, amounts in months.items()
    ]
    rows.sort(key=lambda r: _name_key(r.municipality_name))
    return tuple(rows)


def _budget(session, agreement, year: int, versions: list, invoiced: Decimal, shared_roles, warnings):

    day = dt.date(year, *BUDGET_DAY)
    version = _in_force(versions, day)

    def result(budget: Decimal | None, basis: str) -> BudgetFigures:
        difference = invoiced - budget if budget is not None else None
        pct = None
        if budget:
            from billing.followup.hamburg import percent

            pct = percent(invoiced, budget)
        return BudgetFigures(
            budget=budget, basis=basis, invoiced=invoiced, difference=difference, percent_of_budget=pct
        )

    if version is None:
        warnings.append(f"Inga godkända avtalsvillkor gällde {day.isoformat()}: ingen budget kan anges.")
        return result(None, f"Inga godkända avtalsvillkor gällde {day.isoformat()}.")
    buyer_ids = [p.municipality_id for p in agreement.buyers]
    host_id = agreement.host.municipality_id if agreement.host else None
    parts: list[tuple[Decimal, str]] = []
    for component in version.components:
        model = component.model
        what = component.service_type.name if component.service_type else model.value
        if model == CompensationModel.SHARED_ROLE:
            if component.shared_role_id is None:
                continue
            amount = sum(
                (
                    r.amount
                    for r in shared_roles
                    if r.shared_role_id == component.shared_role_id and r.municipality_id in buyer_ids
                ),
                ZERO,
            )
            parts.append((amount, f"gemensam tjänst {format_money(amount)} (köparnas andelar)"))
            continue
        if model not in (
            CompensationModel.FIXED_FEE,
            CompensationModel.POPULATION_SHARE,
            CompensationModel.USAGE_SHARE,
            CompensationModel.PRELIMINARY,
        ):
            continue
        try:
            annual = Decimal(price_for(version, component, year).amount)
        except PriceMissing as exc:
            warnings.append(f"Budget: {exc.message if hasattr(exc, 'message') else exc}")
            return result(None, "Budgeten kan inte räknas fram: ett årsbelopp saknas i avtalsvillkoren.")
        targets = [component.buyer_municipality_id] if component.buyer_municipality_id else buyer_ids
        if model == CompensationModel.FIXED_FEE:
            amount = annual * len(targets)
            parts.append((amount, f"fast årsavgift {format_money(annual)} × {len(targets)} köpare"))
            continue
        basis = component.share_basis if model == CompensationModel.PRELIMINARY else None
        by_population = model == CompensationModel.POPULATION_SHARE or basis == ShareBasis.POPULATION
        if basis == ShareBasis.FIXED:
            percent_sum = sum(
                (Decimal(s.percent) for s in component.fixed_shares if s.municipality_id in targets),
                Decimal(0),
            )
            amount = round_money(annual * percent_sum / HUNDRED)
            parts.append((amount, f"{what}: {format_money(annual)} × avtalade andelar {percent_sum} %"))
        elif by_population and component.include_host and host_id is not None:
            share = _host_population_share(session, agreement, component, year, warnings)
            if share is None:
                return result(None, "Budgeten kan inte räknas fram: invånarantal saknas.")
            amount = round_money(annual * (1 - share))
            parts.append((amount, f"{what}: {format_money(annual)} utom värdkommunens egen andel"))
        else:
            amount = round_money(annual)
            parts.append((amount, f"{what}: {format_money(annual)} per år"))
    if not parts:
        return result(None, "Avtalsvillkoren anger ingen årsbudget (ersättning efter utförda tjänster).")
    budget = round_money(sum((amount for amount, _ in parts), ZERO))
    basis = (
        f"Avtalsvillkoren i {version.title} (gäller {day.isoformat()}): "
        + "; ".join(t for _, t in parts)
        + "."
    )
    return result(budget, basis)


def _host_population_share(session, agreement, component, year: int, warnings) -> Decimal | None:
    """The host's own share of a population-share cost (equal part + the rest by population)."""

    ref_year = year + (component.population_ref_year_offset or 0)
    ids = [p.municipality_id for p in agreement.buyers] + [agreement.host.municipality_id]
    figures = dict(
        session.execute(
            select(MunicipalityPopulation.municipality_id, MunicipalityPopulation.population).where(
                MunicipalityPopulation.municipality_id.in_(ids), MunicipalityPopulation.year == ref_year
            )
        ).all()
    )
    missing = [m for m in ids if m not in figures]
    if missing or not sum(figures.values()):
        names = ", ".join(sorted(_names(session, missing).values(), key=_name_key)) or "alla parter"
        warnings.append(f"Invånarantal för {ref_year} saknas för {names}: budgeten kan inte räknas fram.")
        return None
    equal = Decimal(component.equal_split_percent or 0) / HUNDRED
    host = agreement.host.municipality_id
    return equal / len(ids) + (1 - equal) * Decimal(figures[host]) / Decimal(sum(figures.values()))


def _index_rows(session, agreement, year: int, versions: list) -> tuple[IndexRow, ...]:

    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    # Versions in force some day of the year: effective by its end, not replaced before its start.
    in_force = [
        v
        for i, v in enumerate(versions)
        if v.effective_from <= end and (i + 1 == len(versions) or versions[i + 1].effective_from > start)
    ]
    if not in_force:
        return ()
    indexations = session.scalars(
        select(ContractPriceIndexation)
        .join(ContractPrice, ContractPrice.id == ContractPriceIndexation.price_id)
        .where(ContractPriceIndexation.version_id.in_([v.id for v in in_force]), ContractPrice.year == year)
        .options(
            selectinload(ContractPriceIndexation.index_value),
            selectinload(ContractPriceIndexation.price)
            .selectinload(ContractPrice.component)
            .selectinload(CompensationComponent.service_type),
        )
        .order_by(ContractPriceIndexation.id)
    ).all()
    by_id = {v.id: v for v in in_force}
    rows = []
    for ix in indexations:
        version = by_id[ix.version_id]
        value = ix.index_value
        description = component_title(ix.price.component)
        if ix.price.case_type:
            description += f", ärendetyp {ix.price.case_type}"
        revision = ""
        if Decimal(value.percent) != Decimal(ix.percent) or value.status != ix.index_status:
            revision = (
                f"{value.edition} har därefter ändrats till {format_number(Decimal(value.percent), 4)} % "
                f"({INDEX_STATUS_LABELS[IndexStatus(value.status)].lower()}); skillnaden regleras som "
                "indexjustering, utfärdade fakturor ändras inte."
            )
        rows.append(
            IndexRow(
                version_number=version.number,
                version_title=version.title,
                effective_from=version.effective_from,
                index_edition=value.edition,
                percent=Decimal(ix.percent),
                status=IndexStatus(ix.index_status).value,
                status_label=INDEX_STATUS_LABELS[IndexStatus(ix.index_status)],
                description=description,
                old_amount=Decimal(ix.old_amount),
                new_amount=Decimal(ix.new_amount),
                revision_text=revision,
            )
        )
    return tuple(rows)


def _median(values: list[int]) -> Decimal | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[middle])
    return (Decimal(ordered[middle - 1]) + Decimal(ordered[middle])) / 2


def _transfers(session, agreement, year: int, as_of: dt.date, warnings) -> TransferFigures:

    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    of_year = (
        CaseTransfer.agreement_id == agreement.id,
        CaseTransfer.requested_on >= start,
        CaseTransfer.requested_on <= end,
    )
    by_status = {
        TransferStatus(status).value: int(count)
        for status, count in session.execute(
            select(CaseTransfer.status, func.count(CaseTransfer.id))
            .where(*of_year)
            .group_by(CaseTransfer.status)
        ).all()
    }
    requests = sum(by_status.values())
    first_decided = (
        select(CaseTransferEvent.transfer_id, func.min(CaseTransferEvent.effective_on).label("decided_on"))
        .where(CaseTransferEvent.to_status == TransferStatus.DECIDED)
        .group_by(CaseTransferEvent.transfer_id)
        .subquery()
    )
    decided_rows = session.execute(
        select(CaseTransfer.requested_on, first_decided.c.decided_on)
        .join(first_decided, first_decided.c.transfer_id == CaseTransfer.id)
        .where(*of_year)
    ).all()
    days = [(decided_on - requested_on).days for requested_on, decided_on in decided_rows]
    without_date = session.scalar(
        select(func.count(CaseTransfer.id))
        .outerjoin(first_decided, first_decided.c.transfer_id == CaseTransfer.id)
        .where(
            *of_year,
            CaseTransfer.status.in_([TransferStatus.DECIDED, TransferStatus.EXECUTED]),
            first_decided.c.decided_on.is_(None),
        )
    )
    if without_date:
        warnings.append(
            f"{without_date} överlämning(ar) från {year} är beslutade men saknar datum för beslutet i "
            "händelseloggen och ingår inte i mediantiden till beslut."
        )

    decisions = session.execute(
        select(Decision.decision_date, Decision.execution_date, Decision.closed_on)
        .outerjoin(CaseTransfer, CaseTransfer.id == Decision.transfer_id)
        .where(
            or_(Decision.agreement_id == agreement.id, CaseTransfer.agreement_id == agreement.id),
            Decision.decision_date >= start,
            Decision.decision_date <= min(end, as_of),
        )
    ).all()
    in_time = late = not_executed = pending = closed = 0
    for decision_date, execution_date, closed_on in decisions:
        deadline = three_months_after(decision_date)
        if execution_date is not None and execution_date <= as_of:
            if execution_date <= deadline:
                in_time += 1
            else:
                late += 1
        elif closed_on is not None and closed_on <= as_of:
            closed += 1
        elif as_of > deadline:
            not_executed += 1
        else:
            pending += 1
    return TransferFigures(
        requests=requests,
        declines=by_status.get(TransferStatus.DECLINED.value, 0),
        by_status=dict(sorted(by_status.items(), key=lambda item: list(TransferStatus).index(item[0]))),
        status_labels={s.value: TRANSFER_STATUS_LABELS[s] for s in TransferStatus},
        median_days_to_decision=_median(days),
        decided=len(days),
        decisions=len(decisions),
        executed_in_time=in_time,
        executed_late=late,
        not_executed=not_executed,
        pending=pending,
        as_of=as_of,
        closed_without_execution=closed,
        without_decision_date=int(without_date or 0),
    )


def _shared_roles(session, agreement, year: int) -> tuple[SharedRoleCostRow, ...]:

    roles = session.scalars(
        select(SharedRole)
        .where(SharedRole.agreement_id == agreement.id)
        .options(selectinload(SharedRole.allocations).selectinload(SharedRoleAllocation.municipality))
        .order_by(SharedRole.title, SharedRole.id)
    ).all()
    rows = []
    for role in roles:
        # As billing does: each month's cost split with the allocation in force on its first day.
        amounts: dict[int, Decimal] = {}
        names: dict[int, str] = {}
        order: list[int] = []
        month = dt.date(year, 1, 1)
        for _ in range(12):
            allocation = allocations_on(role, month)
            if allocation is not None:
                for share in allocation.split.shares:
                    if share.municipality_id not in amounts:
                        amounts[share.municipality_id] = ZERO
                        order.append(share.municipality_id)
                    amounts[share.municipality_id] += share.amount
                    names[share.municipality_id] = share.municipality_name
            month = add_months(month, 1)
        employer = role.employer_municipality_id
        order.sort(key=lambda m: (m != employer, _name_key(names[m])))
        rows.extend(
            SharedRoleCostRow(
                shared_role_id=role.id,
                title=role.title,
                municipality_id=m,
                municipality_name=names[m],
                amount=amounts[m],
            )
            for m in order
        )
    return tuple(rows)


def _notice(agreement, year: int) -> NoticeFigures:

    year_end = dt.date(year, 12, 31)
    if agreement.status in (AgreementStatus.TERMINATED, AgreementStatus.EXPIRED):
        label = "sades upp" if agreement.status == AgreementStatus.TERMINATED else "har upphört"
        end = agreement.end_date
        text = f"Avtalet {label}" + (f"; avtalstiden slutar {end.isoformat()}." if end else ".")
        return NoticeFigures(current_end_date=end, last_notice_date=None, text=text)
    current_end = current_end_date(agreement.end_date, agreement.renewal_months, year_end)
    notice = last_notice_date(current_end, agreement.notice_months)
    if current_end is None:
        return NoticeFigures(
            current_end_date=None,
            last_notice_date=None,
            text="Avtalet gäller tills vidare; det har inget fast datum för uppsägning.",
        )
    text = f"Avtalet löper till {current_end.isoformat()}"
    if notice is None:
        return NoticeFigures(current_end, None, text + "; uppsägningstiden är inte angiven.")
    next_end = next_notice = None
    if notice <= year_end and agreement.renewal_months:
        next_end = current_end_date(
            agreement.end_date, agreement.renewal_months, current_end + dt.timedelta(days=1)
        )
        next_notice = last_notice_date(next_end, agreement.notice_months)
        text += (
            f"; sista dag för uppsägning till det datumet var {notice.isoformat()}. Avtalet förlängs annars "
            f"till {next_end.isoformat()}: uppsägning senast {next_notice.isoformat()}."
        )
    elif notice < year_end:
        text += f"; sista dag för uppsägning var {notice.isoformat()}."
    else:
        text += f"; uppsägning senast {notice.isoformat()}."
    return NoticeFigures(current_end, notice, text, next_end_date=next_end, next_notice_date=next_notice)


def _reconciliation(session, agreement, year: int) -> ReconciliationSummary:

    reconciliations = session.scalars(
        select(Reconciliation)
        .where(Reconciliation.agreement_id == agreement.id, Reconciliation.year == year)
        .options(
            selectinload(Reconciliation.rows).selectinload(ReconciliationRow.buyer),
            selectinload(Reconciliation.rows)
            .selectinload(ReconciliationRow.invoice)
            .selectinload(Invoice.series),
        )
        .order_by(Reconciliation.id)
    ).all()
    if not reconciliations:
        return ReconciliationSummary(status="none", status_label="Ingen avräkning", actual_cost=None, rows=())
    issued = all(r.status == ReconciliationStatus.ISSUED for r in reconciliations)
    status = ReconciliationStatus.ISSUED if issued else ReconciliationStatus.PROPOSED
    rows = []
    for reconciliation in reconciliations:
        for row in reconciliation.rows:
            document = None
            if row.invoice is not None:
                label = INVOICE_KIND_LABELS[row.invoice.kind]
                number = row.invoice.display_number
                document = f"{label} {number}" if number else f"{label} (utkast)"
            rows.append(
                ReconciliationSummaryRow(
                    municipality_id=row.buyer_municipality_id,
                    municipality_name=row.buyer.name,
                    final_amount=Decimal(row.final_amount),
                    invoiced_amount=Decimal(row.invoiced_amount),
                    difference=Decimal(row.difference),
                    within_threshold=bool(row.within_threshold),
                    document=document,
                )
            )
    return ReconciliationSummary(
        status=status.value,
        status_label=RECONCILIATION_STATUS_LABELS[status],
        actual_cost=Decimal(reconciliations[0].actual_cost),
        rows=tuple(rows),
    )


def _unissued_count(session, agreement, year: int) -> int:

    return int(
        session.scalar(
            select(func.count(Invoice.id)).where(
                Invoice.agreement_id == agreement.id,
                Invoice.status != InvoiceStatus.ISSUED,
                Invoice.period_start >= dt.date(year, 1, 1),
                Invoice.period_start <= dt.date(year, 12, 31),
            )
        )
        or 0
    )


def compute_figures(session, agreement, year: int, today: dt.date | None = None) -> FollowupFigures:
    """All figures of the agreement's follow-up for `year`, as of `today` (default: local today)."""
    from billing.followup.hamburg import cost_coverage, hamburg_check

    today = today or local_today()
    as_of = min(today, dt.date(year, 12, 31))
    warnings: list[str] = []
    host = agreement.host
    buyers = sorted(agreement.buyers, key=lambda p: _name_key(p.municipality.name))
    names = {p.municipality_id: p.municipality.name for p in agreement.parties}
    versions = _approved_versions(session, agreement.id)

    volumes = _volumes(session, agreement, year, versions, names)
    invoiced = _invoiced(session, agreement, year, names)
    invoiced_total = sum((r.invoiced for r in invoiced), ZERO)
    party_ids = agreement.party_municipality_ids
    outsiders = [r.municipality_name for r in invoiced if r.municipality_id not in party_ids]
    if outsiders:
        warnings.append(
            "Fakturor för året har gått till kommuner som inte är parter i avtalet: "
            + ", ".join(outsiders)
            + "."
        )
    unissued = _unissued_count(session, agreement, year)
    if unissued:
        warnings.append(
            f"{unissued} faktura(or) för {year} är inte utfärdade ännu och ingår inte i det fakturerade beloppet."
        )
    shared_roles = _shared_roles(session, agreement, year)
    budget = _budget(session, agreement, year, versions, invoiced_total, shared_roles, warnings)
    transfers = _transfers(session, agreement, year, as_of, warnings)
    hamburg = hamburg_check(session, agreement, year)
    if hamburg.share_percent is None:
        warnings.append(
            f"Hamburgkontrollen kan inte göras: värdkommunen saknar fakturering inom området "
            f"{hamburg.years[0].year}–{hamburg.years[-1].year}."
        )
    elif hamburg.estimate:
        warnings.append(
            "Hamburgkontrollen är en uppskattning: fakturering saknas för "
            + ", ".join(str(y) for y in hamburg.missing_years)
            + "."
        )
    coverage = cost_coverage(session, agreement, year, invoiced=invoiced_total)
    if coverage.reported_cost is None:
        warnings.append(
            f"Verklig kostnad för {year} är inte rapporterad: kostnadstäckningen kan inte bedömas."
        )
    return FollowupFigures(
        agreement_id=agreement.id,
        agreement_number=agreement.number,
        agreement_title=agreement.title,
        year=year,
        host_name=host.municipality.name if host else None,
        party_names=tuple(([host.municipality.name] if host else []) + [p.municipality.name for p in buyers]),
        computed_on=today,
        volumes=volumes,
        invoiced=invoiced,
        budget=budget,
        index=_index_rows(session, agreement, year, versions),
        transfers=transfers,
        shared_roles=shared_roles,
        notice=_notice(agreement, year),
        hamburg=hamburg,
        cost_coverage=coverage,
        reconciliation=_reconciliation(session, agreement, year),
        warnings=tuple(warnings),
    )


# --- JSON snapshot ----------------------------------------------------------------------------------


def _hints(cls) -> dict:

    cache = _HINTS.get(cls)
    if cache is None:
        cache = _HINTS[cls] = typing.get_type_hints(cls)
    return cache


_HINTS: dict = {}


def _encode(value):

    if dataclasses.is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def _decode(tp, value):

    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(inner[0], value)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return tuple(_decode(item, v) for v in value)
    if origin is dict:
        key_type, value_type = typing.get_args(tp)
        return {_decode(key_type, k): _decode(value_type, v) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(
            **{
                f.name: _decode(hints[f.name], value[f.name])
                for f in dataclasses.fields(tp)
                if f.name in value
            }
        )
    if tp is Decimal:
        return Decimal(value)
    if tp is dt.date:
        return dt.date.fromisoformat(value)
    return tp(value)


def figures_to_json(figures: FollowupFigures) -> dict:
    """JSON-safe dict (Decimal -> str, date -> ISO) of the figures: the snapshot of a sent follow-up."""
    return _encode(figures)


def figures_from_json(data: dict) -> FollowupFigures:
    """The figures back from a snapshot; figures_from_json(figures_to_json(f)) == f."""
    return _decode(FollowupFigures, data)
