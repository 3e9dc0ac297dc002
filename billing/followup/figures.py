"""The figures of an annual follow-up (årlig uppföljning), computed from the data for one agreement and
calendar year. Every figure here is checked in tests against an independent SQL computation.

`compute_figures(session, agreement, year, today)` returns a `FollowupFigures`; `figures_to_json` /
`figures_from_json` turn it into the JSON-safe dict stored as the snapshot of a sent follow-up (Decimal
as string, dates as ISO text) and back, so a sent follow-up shows exactly what was sent.

Definitions (docs/followup.md repeats them for readers):
- Volumes: attested performed services of the agreement with a service date in the year, per buying
  municipality, service type and unit: number of entries and sum of quantity.
- Invoiced: issued invoices of the agreement whose period starts in the year, net of VAT, minus issued
  credit notes of those invoices; per buyer and per month of the period start; reconciliation
  invoices count in the year they reconcile.
- Budget: the annual amounts the terms in force on 1 July of the year put on the agreement (fixed fees
  per buyer, the annual cost of population/usage shares and preliminary billing), None when the terms
  give no budget.
- Index: the indexations recorded in the versions in force during the year (edition, percent, status,
  old and new price) and revisions of preliminary indices used.
- Case transfers: transfers of the agreement requested in the year; declines; median whole days from
  request to the decision (the first event to status "decided"); decisions of the agreement dated in
  the year executed in time (within three months, registry.dates.three_months_after), late, or not at
  all (as of `today` or the end of the year, whichever is earlier).
- Shared roles: the year's cost of each shared role of the agreement split per municipality with the
  registry's allocations month by month (registry.roles.costs).
- Notice: the agreement's current end date and last notice date as of the end of the year (and the next
  one when that has passed), registry.dates.
- Hamburg re-check and cost coverage: billing.followup.hamburg.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


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
    last_notice_date: dt.date | None  # the next notice date as of the end of the year
    text: str  # Swedish sentence, e.g. "Avtalet löper till 2027-12-31; uppsägning senast 2027-06-30."


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


def compute_figures(session, agreement, year: int, today: dt.date | None = None) -> FollowupFigures:
    """All figures of the agreement's follow-up for `year`, as of `today` (default: local today)."""
    raise NotImplementedError  # billing/followup helper: implement


def figures_to_json(figures: FollowupFigures) -> dict:
    """JSON-safe dict (Decimal -> str, date -> ISO) of the figures: the snapshot of a sent follow-up."""
    raise NotImplementedError  # billing/followup helper: implement


def figures_from_json(data: dict) -> FollowupFigures:
    """The figures back from a snapshot; figures_from_json(figures_to_json(f)) == f."""
    raise NotImplementedError  # billing/followup helper: implement
