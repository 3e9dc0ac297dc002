"""Pricing: the invoice lines of a period, computed from the contract version in force (docs/billing.md).

`price_run(session, request)` returns one `PricedInvoice` per agreement, buyer and VAT group with its
lines, each line saying how it was computed, and the problems that kept something from being priced
(a missing price, an unknown service type, a missing population figure). It reads, never writes: the
invoicing part turns the result into draft invoices, then calls `link_lines(session, [(line_row,
priced_line), ...])` once per run (after the InvoiceLine rows are flushed and have ids). `link_lines`
records what each line bills (BilledService rows for performed services, BilledCharge rows for periodic
charges) in a few set-based statements and raises PricingError when the services found differ from what
was priced (e.g. a service attested or un-attested meanwhile), so the transaction rolls back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from billing.models import ChargeKind, VatGroup
from contracts.models import ServiceUnit, VatCategory


@dataclass(frozen=True)
class PricingRequest:
    """What to price: the seller's agreements (or one agreement / one buyer) for a period. A seller of
    None prices every seller's agreements in one pass (the national batch; each PricedInvoice names
    its seller)."""

    seller_municipality_id: int | None
    period_start: dt.date
    period_end: dt.date
    agreement_id: int | None = None
    buyer_municipality_id: int | None = None


@dataclass
class PricedLine:
    description: str  # what was performed, e.g. "Utredning och handläggning 2026"
    computation: str  # how, e.g. "12,25 h × 1 120,00 kr" or "12,34 % av 350 000,00 kr (invånare ...)"
    quantity: Decimal
    unit: ServiceUnit
    unit_price: Decimal
    amount: Decimal  # rounded half-up to öre
    vat_category: VatCategory
    vat_rate: Decimal
    vat_exemption_reason_code: str | None
    vat_exemption_reason: str | None
    service_type_code: str | None
    # What the line bills: selections of performed services and periodic charges. Use link_lines();
    # the fields are the engine's business.
    selectors: list[ServiceSelector] = field(default_factory=list)
    charges: list[ChargeRef] = field(default_factory=list)
    expected_services: int = 0


@dataclass(frozen=True)
class ServiceSelector:
    """The performed services a line bills: attested before `attested_before`, not billed, of one
    agreement, buyer, service type and case type, dated within [date_from, date_to]; optionally one case
    transfer or one service."""

    agreement_id: int
    buyer_municipality_id: int
    service_type_code: str
    date_from: dt.date
    date_to: dt.date
    attested_before: dt.datetime
    unit: str | None = None  # None: any unit
    case_type: str | None = None  # None: any case type
    by_case_transfer: bool = False  # True: only services of `case_transfer_id` (None: without one)
    case_transfer_id: int | None = None
    service_id: int | None = None  # one service (outlays are billed one by one)


@dataclass(frozen=True)
class ChargeRef:
    """A periodic charge a line bills (unique per agreement, buyer, key and period start)."""

    agreement_id: int
    buyer_municipality_id: int
    charge_key: str
    period_start: dt.date
    period_end: dt.date


@dataclass
class PricingProblem:
    agreement_id: int
    buyer_municipality_id: int | None
    message: str  # Swedish, shown to finance in the run preview


@dataclass
class PricedInvoice:
    agreement_id: int
    seller_municipality_id: int
    buyer_municipality_id: int
    contract_version_id: int
    charge_kind: ChargeKind
    vat_group: VatGroup
    period_start: dt.date
    period_end: dt.date
    payment_terms_days: int
    buyer_reference: str | None
    series_code: str
    lines: list[PricedLine]

    @property
    def net_amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


@dataclass
class PricingResult:
    invoices: list[PricedInvoice]
    problems: list[PricingProblem]


DEFAULT_SERIES = "F"


def price_run(session, request: PricingRequest) -> PricingResult:
    """Price every agreement of the request; see the module docstring."""
    from billing.pricing_engine import price_run as _price_run

    return _price_run(session, request)


def link_lines(session, lines: list[tuple[object, PricedLine]]) -> None:
    """Record what each stored line bills; see the module docstring."""
    from billing.pricing_engine import link_lines as _link_lines

    _link_lines(session, lines)
