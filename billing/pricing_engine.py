"""The pricing engine behind billing.pricing (the rules: docs/billing.md).

Performed services are aggregated in one SQL query for the whole run (grouped by agreement, buyer,
service type, case type, contract version, year, month and case transfer; quantities summed in
hundredths as integers, and also rounded up per entry to started quarter and half hours), so a run
over a million services never loads them one by one. Lines are then built in Python from the
aggregates and the contract terms, with Decimal arithmetic and half-up rounding to öre at the line.
Periodic charges (fixed fees, shares, shared roles, preliminary amounts) are computed per charge
period and skipped when already billed (billed_charges).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from billing.errors import PricingError
from billing.models import (
    BilledCharge,
    BilledService,
    ChargeKind,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    PerformedService,
    VatGroup,
)
from billing.pricing import (
    DEFAULT_SERIES,
    ChargeRef,
    PricedInvoice,
    PricedLine,
    PricingProblem,
    PricingRequest,
    PricingResult,
    ServiceSelector,
)
from contracts.models import (
    CEILING_PER_LABELS,
    CeilingPer,
    CompensationComponent,
    CompensationModel,
    ContractVersion,
    FeePeriod,
    InvoiceFrequency,
    ServiceUnit,
    ShareBasis,
    UsageMeasure,
    VatCategory,
    VersionStatus,
)
from contracts.terms.services import PriceMissing, price_for
from core.db import utcnow
from core.formatting import format_date, format_money, format_number, round_money
from core.models import Municipality, MunicipalityPopulation
from registry.dates import add_months
from registry.models import Agreement, AgreementParty, AgreementStatus, PartyRole
from registry.roles.costs import allocations_on, monthly_cost

ZERO = Decimal("0.00")
# What pricing reads of a version (not the review rows, documents or indexation records). The fixed
# shares and shared roles are loaded afterwards for the components whose model reads them (few).
PRICING_LOAD = (
    selectinload(ContractVersion.service_types),
    selectinload(ContractVersion.components).selectinload(CompensationComponent.prices),
    selectinload(ContractVersion.buyer_terms),
)
COMPONENT_EXTRAS = {
    CompensationModel.PRELIMINARY: selectinload(CompensationComponent.fixed_shares),
    CompensationModel.SHARED_ROLE: selectinload(CompensationComponent.shared_role),
}
HUNDRED = Decimal("100")
SERVICE_MODELS = frozenset(
    {
        CompensationModel.HOURLY,
        CompensationModel.PER_CASE,
        CompensationModel.MILEAGE,
        CompensationModel.OUTLAYS,
    }
)
PERIODIC_MODELS = frozenset(
    {
        CompensationModel.FIXED_FEE,
        CompensationModel.POPULATION_SHARE,
        CompensationModel.USAGE_SHARE,
        CompensationModel.SHARED_ROLE,
        CompensationModel.PRELIMINARY,
    }
)
FREQUENCY_MONTHS = {
    InvoiceFrequency.MONTHLY: 1,
    InvoiceFrequency.QUARTERLY: 3,
    InvoiceFrequency.HALF_YEARLY: 6,
    InvoiceFrequency.YEARLY: 12,
}
UNIT_SHORT = {
    ServiceUnit.HOUR: "h",
    ServiceUnit.CASE: "st",
    ServiceUnit.DAY: "dygn",
    ServiceUnit.KM: "km",
    ServiceUnit.SEK: "kr",
    ServiceUnit.PERIOD: "st",
}
MONTHS_SV = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]


# --- Periods ---------------------------------------------------------------------------------------


def month_end(day: dt.date) -> dt.date:
    return add_months(day.replace(day=1), 1) - dt.timedelta(days=1)


def calendar_periods(year: int, months: int) -> list[tuple[dt.date, dt.date]]:
    """The calendar-aligned periods of `months` months in `year` (1: months, 3: quarters, ...)."""
    periods = []
    for first in range(1, 13, months):
        start = dt.date(year, first, 1)
        periods.append((start, month_end(add_months(start, months - 1))))
    return periods


def part_of_annual(amount: Decimal, start: dt.date, end: dt.date) -> Decimal:
    """The part of an annual amount for whole months [start, end] within one calendar year. Computed as
    the difference of cumulative rounded amounts, so the periods of a year sum to the annual amount
    exactly (the last period takes the öre remainder)."""
    before = Decimal(start.month - 1)
    through = Decimal(end.month)
    return round_money(amount * through / 12) - round_money(amount * before / 12)


def _period_text(start: dt.date, end: dt.date) -> str:
    if start.month == end.month:
        return f"{MONTHS_SV[start.month - 1]} {start.year}"
    return f"{MONTHS_SV[start.month - 1]}–{MONTHS_SV[end.month - 1]} {end.year}"


def _grouped(integer: int) -> str:
    return f"{integer:,}".replace(",", "\u00a0")


def _number_text(value) -> str:
    """format_number(value) without Babel's cost (about 0.1 ms a call; a run formats two numbers per
    line, tens of thousands of lines): a non-negative Decimal or int with at most two decimals is
    formatted here, identically (`1 234,5`); anything else goes to format_number."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        cents = Decimal(value) * 100
        if cents.is_finite() and not cents.is_signed() and cents == cents.to_integral_value():
            integer, fraction = divmod(int(cents), 100)
            text = _grouped(integer)
            return f"{text},{fraction:02d}".rstrip("0") if fraction else text
    return format_number(value)


def _money_text(value) -> str:
    """format_money(value) likewise (`1 120,00 kr`); negative amounts go to format_money."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        amount = round_money(value)
        if amount.is_finite() and not amount.is_signed():
            integer, fraction = divmod(int(amount * 100), 100)
            return f"{_grouped(integer)},{fraction:02d}\u00a0kr"
    return format_money(value)


def _percent(value: Decimal) -> str:
    return f"{format_number(value.quantize(Decimal('0.0001')))} %"


# --- Loading ---------------------------------------------------------------------------------------


@dataclass
class _Agreement:
    agreement: Agreement
    versions: list[ContractVersion]  # approved, by effective date

    def in_force(self, day: dt.date) -> ContractVersion | None:
        found = None
        for version in self.versions:
            if version.effective_from <= day:
                found = version
        return found

    def range_of(self, version: ContractVersion) -> tuple[dt.date, dt.date | None]:
        index = self.versions.index(version)
        following = self.versions[index + 1] if index + 1 < len(self.versions) else None
        return version.effective_from, (
            following.effective_from - dt.timedelta(days=1)
        ) if following else None


def _agreements(session: Session, request: PricingRequest) -> list[_Agreement]:
    host = AgreementParty
    stmt = (
        select(Agreement)
        .where(
            Agreement.status != AgreementStatus.DRAFT,
            Agreement.start_date <= request.period_end,
        )
        .options(selectinload(Agreement.parties))
        .order_by(Agreement.number)
    )
    if request.seller_municipality_id is not None:
        stmt = stmt.where(
            Agreement.parties.any(
                and_(host.municipality_id == request.seller_municipality_id, host.role == PartyRole.HOST)
            )
        )
    if request.agreement_id is not None:
        stmt = stmt.where(Agreement.id == request.agreement_id)
    agreements = list(session.scalars(stmt))
    if not agreements:
        return []
    versions = defaultdict(list)
    for version in session.scalars(
        select(ContractVersion)
        .where(
            ContractVersion.agreement_id.in_([a.id for a in agreements]),
            ContractVersion.status == VersionStatus.APPROVED,
        )
        .options(*PRICING_LOAD)
        .order_by(ContractVersion.agreement_id, ContractVersion.effective_from)
    ):
        versions[version.agreement_id].append(version)
        # Each component's service type is one of the version's, loaded just above: set it directly
        # rather than through a lazy load per component (thousands in a national run).
        service_types = {st.id: st for st in version.service_types}
        for component in version.components:
            service_type = service_types.get(component.service_type_id)
            if service_type is not None and "service_type" not in component.__dict__:
                set_committed_value(component, "service_type", service_type)
    for model, option in COMPONENT_EXTRAS.items():
        ids = [c.id for vs in versions.values() for v in vs for c in v.components if c.model == model]
        if ids:
            session.scalars(
                select(CompensationComponent).where(CompensationComponent.id.in_(ids)).options(option)
            ).all()
    return [_Agreement(a, versions[a.id]) for a in agreements]


# --- The aggregate of performed services --------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    agreement_id: int
    buyer_id: int
    code: str
    case_type: str
    unit: str
    version_id: int | None
    year: int
    month: int
    case_transfer_id: int | None
    single_id: int  # the service's id for outlays (billed one by one), else 0
    count: int
    hundredths: int  # sum of quantities in hundredths
    quarters: int  # sum of quantities rounded up per entry to started quarter hours, in quarters
    halves: int  # likewise per started half hour, in halves
    first_date: dt.date
    note: str | None
    last_date: dt.date  # first and last service date: the line's selector spans no more than that


def _unbilled_services(request: PricingRequest, attested_before: dt.datetime):
    """Conditions shared by the aggregate and by link_lines: attested, not billed, performed by the
    seller, dated up to the period's last day."""
    ps = PerformedService
    # Only the agreement's host performs and bills (the national batch names no seller: the host of
    # each service's agreement is its seller).
    seller = (
        ps.performing_municipality_id == request.seller_municipality_id
        if request.seller_municipality_id is not None
        else exists().where(
            AgreementParty.agreement_id == ps.agreement_id,
            AgreementParty.municipality_id == ps.performing_municipality_id,
            AgreementParty.role == PartyRole.HOST,
        )
    )
    return and_(
        seller,
        ps.attested_at.is_not(None),
        ps.attested_at <= attested_before,
        ps.service_date <= request.period_end,
        ~exists().where(BilledService.performed_service_id == ps.id),
    )


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _service_groups(
    session: Session,
    request: PricingRequest,
    attested_before: dt.datetime,
    fine_keys: set[tuple[int, str]] | None = None,
) -> list[_Group]:
    """The aggregate of unbilled services. Coarse (per agreement, buyer, service type, case type, unit,
    version, year; outlays one by one) unless `fine_keys` names (agreement, service type) pairs that need
    hours per month and per case transfer (ceilings): then only those, at that finer grain."""
    ps = PerformedService
    cv = ContractVersion
    ranges = (
        select(
            cv.id.label("version_id"),
            cv.agreement_id.label("agreement_id"),
            cv.effective_from.label("start"),
            func.lead(cv.effective_from)
            .over(partition_by=cv.agreement_id, order_by=cv.effective_from)
            .label("next"),
        )
        .where(cv.status == VersionStatus.APPROVED)
        .subquery("ranges")
    )
    hundredths = func.cast(func.round(ps.quantity * 100), Integer)
    single_id = case((ps.unit == ServiceUnit.SEK, ps.id), else_=0)
    year = func.extract("year", ps.service_date)
    fine = fine_keys is not None
    month = func.extract("month", ps.service_date) if fine else literal(0)
    transfer = ps.case_transfer_id if fine else literal(None, Integer)
    columns = (
        ps.agreement_id,
        ps.buying_municipality_id,
        ps.service_type_code,
        ps.case_type,
        ps.unit,
        ranges.c.version_id,
        year,
        month,
        transfer,
        single_id,
    )
    grouping = [c for c in columns if fine or (c is not month and c is not transfer)]
    stmt = (
        select(
            *columns,
            func.count(),
            func.sum(hundredths),
            func.sum((hundredths * 4 + 99) // 100),
            func.sum((hundredths * 2 + 99) // 100),
            func.min(ps.service_date),
            func.max(ps.note),
            func.max(ps.service_date),
        )
        .outerjoin(
            ranges,
            and_(
                ranges.c.agreement_id == ps.agreement_id,
                ps.service_date >= ranges.c.start,
                or_(ranges.c.next.is_(None), ps.service_date < ranges.c.next),
            ),
        )
        .where(_unbilled_services(request, attested_before))
        .group_by(*grouping)
    )
    if fine:
        if not fine_keys:
            return []
        stmt = stmt.where(
            or_(*(and_(ps.agreement_id == a, ps.service_type_code == code) for a, code in sorted(fine_keys)))
        )
    if request.agreement_id is not None:
        stmt = stmt.where(ps.agreement_id == request.agreement_id)
    if request.buyer_municipality_id is not None:
        stmt = stmt.where(ps.buying_municipality_id == request.buyer_municipality_id)
    groups = []
    for row in session.execute(stmt):
        groups.append(
            _Group(
                agreement_id=row[0],
                buyer_id=row[1],
                code=row[2],
                case_type=row[3] or "",
                unit=str(row[4]),
                version_id=row[5],
                year=int(row[6]),
                month=int(row[7] or 0),
                case_transfer_id=row[8],
                single_id=int(row[9] or 0),
                count=int(row[10]),
                hundredths=int(row[11] or 0),
                quarters=int(row[12] or 0),
                halves=int(row[13] or 0),
                first_date=_date(row[14]),
                note=row[15],
                last_date=_date(row[16]),
            )
        )
    return groups


# --- Building lines ---------------------------------------------------------------------------------


@dataclass
class _Bucket:
    """Lines of one agreement and buyer, by VAT group, with the version used for the header."""

    lines: dict[VatGroup, list[PricedLine]] = field(default_factory=lambda: defaultdict(list))


def _vat_group(category: VatCategory) -> VatGroup:
    return VatGroup.OUTSIDE_SCOPE if category == VatCategory.O else VatGroup.OTHER


def _line(component: CompensationComponent, description, computation, quantity, unit, unit_price, amount):
    st = component.service_type
    return PricedLine(
        description=description[:300],
        computation=computation,
        quantity=quantity,
        unit=unit,
        unit_price=unit_price,
        amount=amount,
        vat_category=st.vat_category,
        vat_rate=Decimal(st.vat_rate),
        vat_exemption_reason_code=st.vat_exemption_reason_code,
        vat_exemption_reason=st.vat_exemption_reason,
        service_type_code=st.code,
    )


def _component_for(
    version: ContractVersion, code: str, buyer_id: int, by_code: dict | None = None
) -> CompensationComponent | None:
    """The buyer's own component for the service type, else the general one. `by_code`: a cache of the
    version's components by (version id, service type code), kept by the caller for the run."""
    if by_code is None:
        candidates = [c for c in version.components if c.service_type.code == code]
    else:
        key = (version.id, code)
        if key not in by_code:
            by_code[key] = [c for c in version.components if c.service_type.code == code]
        candidates = by_code[key]
    own = [c for c in candidates if c.buyer_municipality_id == buyer_id]
    general = [c for c in candidates if c.buyer_municipality_id is None]
    chosen = own or general
    return chosen[0] if chosen else None


class _Pricer:
    def __init__(self, session: Session, request: PricingRequest):
        self.session = session
        self.request = request
        self.attested_before = utcnow()
        self.problems: list[PricingProblem] = []
        self.invoices: list[PricedInvoice] = []
        self._populations: dict[tuple[int, int], int] = {}
        self._components: dict[tuple[int, str], list[CompensationComponent]] = {}
        self._due: dict[InvoiceFrequency, bool] = {}
        # Read once per run for the agreements that need them (billed_keys, prior_net).
        self._periodic_ids: set[int] = set()
        self._capped_ids: set[int] = set()
        self._billed: dict[int, set] | None = None
        self._billed_read: set[int] = set()
        self._prior: dict[int, dict[int, Decimal]] | None = None
        self._prior_read: set[int] = set()

    def problem(self, agreement: Agreement, buyer_id: int | None, message: str) -> None:
        self.problems.append(PricingProblem(agreement.id, buyer_id, message))

    # The whole run ---------------------------------------------------------------------------------

    def run(self) -> PricingResult:
        agreements = _agreements(self.session, self.request)
        for item in agreements:
            if any(c.model in PERIODIC_MODELS for v in item.versions for c in v.components):
                self._periodic_ids.add(item.agreement.id)
            if any(v.cost_cap_amount is not None for v in item.versions):
                self._capped_ids.add(item.agreement.id)
        groups = _service_groups(self.session, self.request, self.attested_before) if agreements else []
        fine_keys = {
            (item.agreement.id, component.service_type.code)
            for item in agreements
            for version in item.versions
            for component in version.components
            if component.model == CompensationModel.HOURLY
            and component.ceiling_hours is not None
            and component.ceiling_per in (CeilingPer.MONTH, CeilingPer.CASE)
        }
        if fine_keys:
            groups = [g for g in groups if (g.agreement_id, g.code) not in fine_keys]
            groups += _service_groups(self.session, self.request, self.attested_before, fine_keys)
        by_agreement: dict[int, list[_Group]] = defaultdict(list)
        for group in groups:
            by_agreement[group.agreement_id].append(group)
        for item in agreements:
            self.price_agreement(item, by_agreement.get(item.agreement.id, []))
        return PricingResult(self.invoices, self.problems)

    def buyers(self, agreement: Agreement) -> list[AgreementParty]:
        buyers = agreement.buyers
        if self.request.buyer_municipality_id is not None:
            buyers = [b for b in buyers if b.municipality_id == self.request.buyer_municipality_id]
        return buyers

    def price_agreement(self, item: _Agreement, groups: list[_Group]) -> None:
        agreement = item.agreement
        if not item.versions:
            if groups:
                self.problem(
                    agreement,
                    None,
                    f"{agreement.number}: inga godkända avtalsvillkor – inget kan prissättas.",
                )
            return
        header_version = item.in_force(self.request.period_end) or item.versions[-1]
        buckets: dict[int, _Bucket] = defaultdict(_Bucket)
        if self.due(header_version):
            self.price_services(item, groups, buckets)
        self.price_periodic(item, buckets)
        for buyer in self.buyers(agreement):
            bucket = buckets.get(buyer.municipality_id)
            if bucket is None:
                continue
            self.apply_cost_cap(item, header_version, buyer.municipality_id, bucket)
            terms = {t.municipality_id: t.buyer_reference for t in header_version.buyer_terms}
            for vat_group, lines in sorted(bucket.lines.items()):
                if not lines:
                    continue
                self.invoices.append(
                    PricedInvoice(
                        agreement_id=agreement.id,
                        seller_municipality_id=agreement.host.municipality_id,
                        buyer_municipality_id=buyer.municipality_id,
                        contract_version_id=header_version.id,
                        charge_kind=ChargeKind.SERVICES,
                        vat_group=vat_group,
                        period_start=self.request.period_start,
                        period_end=self.request.period_end,
                        payment_terms_days=header_version.payment_terms_days,
                        buyer_reference=terms.get(buyer.municipality_id),
                        series_code=(header_version.invoice_series or DEFAULT_SERIES).strip()
                        or DEFAULT_SERIES,
                        lines=lines,
                    )
                )

    def due(self, version: ContractVersion) -> bool:
        """Services are billed in a run whose period contains the end of one of the agreement's invoicing
        periods (monthly, quarterly, half-yearly or yearly, calendar aligned)."""
        frequency = version.invoice_frequency
        if frequency not in self._due:
            months = FREQUENCY_MONTHS[frequency]
            self._due[frequency] = any(
                self.request.period_start <= end <= self.request.period_end
                for year in range(self.request.period_start.year, self.request.period_end.year + 1)
                for _, end in calendar_periods(year, months)
            )
        return self._due[frequency]

    # Services --------------------------------------------------------------------------------------

    def price_services(self, item: _Agreement, groups: list[_Group], buckets) -> None:
        agreement = item.agreement
        versions = {v.id: v for v in item.versions}
        buyers = {b.municipality_id for b in self.buyers(agreement)}
        # line key -> (component, version, groups)
        merged: dict[tuple, list[_Group]] = defaultdict(list)
        components: dict[tuple, tuple[CompensationComponent, ContractVersion]] = {}
        for group in groups:
            if group.buyer_id not in buyers:
                continue
            version = versions.get(group.version_id) if group.version_id else None
            if version is None:
                self.problem(
                    agreement,
                    group.buyer_id,
                    f"{agreement.number}: {group.count} prestation(er) från {format_date(group.first_date)} "
                    "ligger före de första godkända avtalsvillkoren och kan inte prissättas.",
                )
                continue
            component = _component_for(version, group.code, group.buyer_id, self._components)
            if component is None:
                self.problem(
                    agreement,
                    group.buyer_id,
                    f"{agreement.number}: tjänsten ”{group.code}” finns inte i avtalsversion {version.number} "
                    f"({group.count} prestation(er) från {format_date(group.first_date)}).",
                )
                continue
            if component.model not in SERVICE_MODELS:
                continue  # measures for usage shares: billed through the periodic charge
            if group.unit != component.service_type.unit.value:
                self.problem(
                    agreement,
                    group.buyer_id,
                    f"{agreement.number}: {group.count} prestation(er) av ”{group.code}” har enheten "
                    f"{group.unit}, men avtalet anger {component.service_type.unit_label}.",
                )
                continue
            key = self.line_key(component, version, group)
            merged[key].append(group)
            components[key] = (component, version)
        for key, key_groups in merged.items():
            component, version = components[key]
            buyer_id = key_groups[0].buyer_id
            try:
                line = self.service_line(item, component, version, key_groups)
            except PriceMissing as exc:
                self.problem(agreement, buyer_id, f"{agreement.number}: {exc.message}")
                continue
            buckets[buyer_id].lines[_vat_group(line.vat_category)].append(line)

    @staticmethod
    def line_key(component, version, group: _Group) -> tuple:
        key = (group.buyer_id, version.id, component.id, group.year)
        if component.model == CompensationModel.PER_CASE:
            return (*key, group.case_type)
        if component.model == CompensationModel.OUTLAYS:
            return (*key, group.single_id)
        if component.model == CompensationModel.HOURLY and component.ceiling_hours is not None:
            if component.ceiling_per == CeilingPer.MONTH:
                return (*key, "month", group.month)
            if component.ceiling_per == CeilingPer.CASE:
                return (*key, "case", group.case_transfer_id)
        return key

    def selector(self, item: _Agreement, version, groups: list[_Group], **extra) -> ServiceSelector:
        first = groups[0]
        start, end = item.range_of(version)
        year_start, year_end = dt.date(first.year, 1, 1), dt.date(first.year, 12, 31)
        # Within the version's and the year's dates, no wider than the services priced: a monthly run
        # then joins that month's services, not the year's already billed ones.
        first_date, last_date = min(g.first_date for g in groups), max(g.last_date for g in groups)
        date_from = max(start, year_start, first_date)
        date_to = min(d for d in (end, year_end, self.request.period_end, last_date) if d is not None)
        if "month" in extra:
            month = extra.pop("month")
            date_from = max(date_from, dt.date(first.year, month, 1))
            date_to = min(date_to, month_end(dt.date(first.year, month, 1)))
        return ServiceSelector(
            agreement_id=first.agreement_id,
            buyer_municipality_id=first.buyer_id,
            service_type_code=first.code,
            unit=first.unit,
            date_from=date_from,
            date_to=date_to,
            attested_before=self.attested_before,
            **extra,
        )

    def service_line(self, item: _Agreement, component, version, groups: list[_Group]) -> PricedLine:
        first = groups[0]
        st = component.service_type
        count = sum(g.count for g in groups)
        year_text = f"{st.name} {first.year}"
        if component.model == CompensationModel.OUTLAYS:
            amount = round_money(Decimal(first.hundredths) / 100)
            line = _line(
                component,
                f"{st.name} {format_date(first.first_date)}",
                f"Utlägg till självkostnad: {_money_text(amount)}"
                + (f" – {first.note}" if first.note else ""),
                Decimal("1"),
                ServiceUnit.SEK,
                amount,
                amount,
            )
            line.selectors = [self.selector(item, version, groups, service_id=first.single_id)]
            line.expected_services = count
            return line
        case_type = first.case_type if component.model == CompensationModel.PER_CASE else ""
        price = Decimal(price_for(version, component, first.year, case_type).amount)
        unit = st.unit
        if component.model == CompensationModel.HOURLY and component.time_rounding_minutes in (15, 30):
            minutes = component.time_rounding_minutes
            quantity = (
                Decimal(sum(g.quarters for g in groups)) / 4
                if minutes == 15
                else Decimal(sum(g.halves for g in groups)) / 2
            )
            rounding_text = f", varje registrering avrundad uppåt till påbörjad {minutes}-minutersperiod"
        else:
            quantity = Decimal(sum(g.hundredths for g in groups)) / 100
            rounding_text = ""
        selector_extra: dict = {}
        description = year_text
        if component.model == CompensationModel.PER_CASE:
            description = f"{st.name}: {first.case_type} {first.year}"
            selector_extra["case_type"] = first.case_type
        ceiling_text = ""
        if component.model == CompensationModel.HOURLY and component.ceiling_hours is not None:
            ceiling = Decimal(component.ceiling_hours)
            prior = self.prior_hours(item, component, version, groups)
            billable = max(ZERO, prior + quantity - ceiling) - max(ZERO, prior - ceiling)
            per = CEILING_PER_LABELS.get(component.ceiling_per, "")
            ceiling_text = (
                f" Tak {_number_text(ceiling)} h {per}: {_number_text(quantity)} h nu, "
                f"{_number_text(prior)} h tidigare; över taket {_number_text(billable)} h."
            )
            quantity = billable
            description = f"{st.name} {first.year}, timmar över taket"
            if component.ceiling_per == CeilingPer.MONTH:
                selector_extra["month"] = first.month
                description += f" ({MONTHS_SV[first.month - 1]})"
            elif component.ceiling_per == CeilingPer.CASE:
                selector_extra.update(by_case_transfer=True, case_transfer_id=first.case_transfer_id)
        amount = round_money(quantity * price)
        computation = (
            f"{_number_text(quantity)} {UNIT_SHORT[unit]} × {_money_text(price)}"
            f" ({count} registrering{'ar' if count != 1 else ''}{rounding_text}).{ceiling_text}"
        )
        line = _line(component, description, computation, quantity, unit, price, amount)
        line.selectors = [self.selector(item, version, groups, **selector_extra)]
        line.expected_services = count
        return line

    def prior_hours(self, item: _Agreement, component, version, groups: list[_Group]) -> Decimal:
        """Hours (rounded as the terms say) already billed in the same ceiling bucket."""
        first = groups[0]
        ps = PerformedService
        hundredths = func.cast(func.round(ps.quantity * 100), Integer)
        minutes = component.time_rounding_minutes
        if minutes == 15:
            measure, divisor = func.sum((hundredths * 4 + 99) // 100), Decimal(4)
        elif minutes == 30:
            measure, divisor = func.sum((hundredths * 2 + 99) // 100), Decimal(2)
        else:
            measure, divisor = func.sum(hundredths), Decimal(100)
        year_start, year_end = dt.date(first.year, 1, 1), dt.date(first.year, 12, 31)
        stmt = (
            select(measure)
            .join(BilledService, BilledService.performed_service_id == ps.id)
            .where(
                ps.agreement_id == item.agreement.id,
                ps.buying_municipality_id == first.buyer_id,
                ps.service_type_code == first.code,
            )
        )
        if component.ceiling_per == CeilingPer.CASE:
            if first.case_transfer_id is None:
                return ZERO  # services without a case: each run's hours stand alone
            stmt = stmt.where(ps.case_transfer_id == first.case_transfer_id)
        elif component.ceiling_per == CeilingPer.MONTH:
            start = dt.date(first.year, first.month, 1)
            stmt = stmt.where(ps.service_date >= start, ps.service_date <= month_end(start))
        else:
            stmt = stmt.where(ps.service_date >= year_start, ps.service_date <= year_end)
        value = self.session.scalar(stmt)
        return Decimal(value or 0) / divisor

    # Periodic charges ------------------------------------------------------------------------------

    def charge_periods(self, item: _Agreement, months: int, *, in_advance: bool = False):
        """Charge periods of `months` months that the run bills: in arrears those ending within the run's
        period, in advance those beginning within it; only periods within the agreement's dates. (Each
        period is billed by the run that covers that point; billed_charges keeps it from being billed
        twice by runs of different lengths.)"""
        agreement = item.agreement
        last_day = agreement.termination_date or agreement.end_date
        for year in range(self.request.period_start.year, self.request.period_end.year + 1):
            for start, end in calendar_periods(year, months):
                point = start if in_advance else end
                if not (self.request.period_start <= point <= self.request.period_end):
                    continue
                if end < agreement.start_date or (last_day is not None and start > last_day):
                    continue
                yield start, end

    def billed_keys(self, agreement_id: int) -> set[tuple[int, str, dt.date]]:
        """(buyer, charge key, period start) of the agreement's charges billed already. Read once per run
        for every agreement with periodic components (one query, not one per agreement), from the
        earliest start a charge period of this run can have (a year before the run's period)."""
        if self._billed is None or agreement_id not in self._billed_read:
            ids = self._periodic_ids | {agreement_id}
            self._billed, self._billed_read = defaultdict(set), ids
            rows = self.session.execute(
                select(
                    BilledCharge.agreement_id,
                    BilledCharge.buyer_municipality_id,
                    BilledCharge.charge_key,
                    BilledCharge.charge_period_start,
                ).where(
                    BilledCharge.agreement_id.in_(sorted(ids)),
                    BilledCharge.charge_period_start >= add_months(self.request.period_start, -12),
                )
            )
            for agreement, buyer_id, key, start in rows:
                self._billed[agreement].add((buyer_id, key, start))
        return self._billed.get(agreement_id, set())

    def price_periodic(self, item: _Agreement, buckets) -> None:
        agreement = item.agreement
        billed = None
        for buyer in self.buyers(agreement):
            buyer_id = buyer.municipality_id
            for _kind, (start, end), version, component in self.periodic_items(item, buyer_id):
                if billed is None:
                    billed = self.billed_keys(agreement.id)
                key = f"{component.model.value}:{component.service_type.code}"
                if (buyer_id, key, start) in billed:
                    continue
                try:
                    line = self.periodic_line(item, version, component, buyer_id, start, end)
                except PriceMissing as exc:
                    self.problem(agreement, buyer_id, f"{agreement.number}: {exc.message}")
                    continue
                except _Skip as skip:
                    if skip.message:
                        self.problem(agreement, buyer_id, f"{agreement.number}: {skip.message}")
                    continue
                line.charges = [ChargeRef(agreement.id, buyer_id, key, start, end)]
                buckets[buyer_id].lines[_vat_group(line.vat_category)].append(line)

    def periodic_items(self, item: _Agreement, buyer_id: int):
        """(kind, (start, end), version, component) for every periodic charge the run may bill the buyer."""
        seen = set()
        frequency_version = item.in_force(self.request.period_end) or item.versions[-1]
        for months, in_advance, kind in self.period_shapes(item, buyer_id, frequency_version):
            for start, end in self.charge_periods(item, months, in_advance=in_advance):
                version = item.in_force(start) or item.in_force(end)
                if version is None:
                    continue
                for component in version.components:
                    if component.model not in PERIODIC_MODELS:
                        continue
                    if component.buyer_municipality_id not in (None, buyer_id):
                        continue
                    if self.shape_of(component, frequency_version) != (months, in_advance):
                        continue
                    marker = (component.model, component.service_type.code, start)
                    if marker in seen:
                        continue
                    seen.add(marker)
                    yield kind, (start, end), version, component

    @staticmethod
    def shape_of(component, frequency_version) -> tuple[int, bool]:
        if component.model == CompensationModel.FIXED_FEE:
            return (1 if component.fee_period == FeePeriod.MONTHLY else 3), bool(component.in_advance)
        return FREQUENCY_MONTHS[frequency_version.invoice_frequency], False

    def period_shapes(self, item: _Agreement, buyer_id: int, frequency_version):
        shapes = set()
        for version in item.versions:
            for component in version.components:
                if component.model in PERIODIC_MODELS:
                    shapes.add(self.shape_of(component, frequency_version))
        for months, in_advance in sorted(shapes):
            yield months, in_advance, "periodic"

    def periodic_line(self, item: _Agreement, version, component, buyer_id: int, start, end) -> PricedLine:
        model = component.model
        period = _period_text(start, end)
        st = component.service_type
        if model == CompensationModel.FIXED_FEE:
            fee = Decimal(price_for(version, component, start.year).amount)
            amount = part_of_annual(fee, start, end)
            timing = "i förskott" if component.in_advance else "i efterskott"
            return _line(
                component,
                f"{st.name} {period}",
                f"Fast årsavgift {format_money(fee)} × {end.month - start.month + 1}/12 ({timing}).",
                Decimal("1"),
                ServiceUnit.PERIOD,
                amount,
                amount,
            )
        if model == CompensationModel.SHARED_ROLE:
            return self.shared_role_line(item, component, buyer_id, start, end)
        annual = Decimal(price_for(version, component, start.year).amount)
        cost = part_of_annual(annual, start, end)
        if model == CompensationModel.USAGE_SHARE:
            share, basis_text, selectors, count = self.usage_share(item, component, buyer_id, start, end)
        elif model == CompensationModel.POPULATION_SHARE:
            share, basis_text = self.population_share(item, component, buyer_id, start.year)
            selectors, count = [], 0
        else:  # preliminary
            if component.share_basis == ShareBasis.FIXED:
                row = next((s for s in component.fixed_shares if s.municipality_id == buyer_id), None)
                if row is None:
                    raise _Skip("köparen saknar avtalad andel för den preliminära debiteringen.")
                share, basis_text = Decimal(row.percent) / HUNDRED, "avtalad andel"
            elif component.share_basis == ShareBasis.USAGE:
                share, basis_text = self.previous_year_usage_share(item, component, buyer_id, start.year)
            else:
                share, basis_text = self.population_share(item, component, buyer_id, start.year)
            selectors, count = [], 0
        amount = round_money(cost * share)
        what = "Preliminär debitering" if model == CompensationModel.PRELIMINARY else "Andel av kostnaden"
        line = _line(
            component,
            f"{st.name} {period}",
            f"{what}: {_percent(share * HUNDRED)} av {format_money(cost)} "
            f"({format_money(annual)} per år × {end.month - start.month + 1}/12); {basis_text}.",
            Decimal("1"),
            ServiceUnit.PERIOD,
            amount,
            amount,
        )
        line.selectors, line.expected_services = selectors, count
        return line

    def participants(self, agreement: Agreement, component) -> list[int]:
        ids = [p.municipality_id for p in agreement.buyers]
        if component.include_host and agreement.host is not None:
            ids.append(agreement.host.municipality_id)
        return ids

    def population(self, municipality_id: int, year: int) -> int | None:
        key = (municipality_id, year)
        if key not in self._populations:
            self._populations[key] = self.session.scalar(
                select(MunicipalityPopulation.population).where(
                    MunicipalityPopulation.municipality_id == municipality_id,
                    MunicipalityPopulation.year == year,
                )
            )
        return self._populations[key]

    def population_share(self, item: _Agreement, component, buyer_id: int, year: int) -> tuple[Decimal, str]:
        agreement = item.agreement
        ref_year = year + (component.population_ref_year_offset or 0)
        ids = self.participants(agreement, component)
        figures = {m: self.population(m, ref_year) for m in ids}
        missing = [m for m, value in figures.items() if value is None]
        if missing:
            names = ", ".join(
                sorted(self.session.scalars(select(Municipality.name).where(Municipality.id.in_(missing))))
            )
            raise _Skip(f"invånarantal för {ref_year} saknas för {names}; fyll i dem i kommunregistret.")
        total = sum(figures.values())
        if total == 0:
            raise _Skip(f"invånarantalet för {ref_year} är noll för alla parter.")
        equal = Decimal(component.equal_split_percent or 0) / HUNDRED
        by_population = Decimal(figures[buyer_id]) / Decimal(total)
        share = equal / len(ids) + (1 - equal) * by_population
        reference = f"invånare {format_number(figures[buyer_id])} av {format_number(total)} ({ref_year})"
        if equal:
            text = f"{_percent(equal * HUNDRED)} lika delar (1/{len(ids)}) och resten efter {reference}"
        else:
            text = f"efter {reference}"
        return share, text

    def usage_measure(self, component):
        ps = PerformedService
        if component.usage_measure == UsageMeasure.CASES:
            return func.count(ps.id)
        return func.sum(ps.quantity)

    def usage_share(self, item: _Agreement, component, buyer_id: int, start, end):
        ps = PerformedService
        code = component.service_type.code
        rows = dict(
            self.session.execute(
                select(ps.buying_municipality_id, self.usage_measure(component))
                .where(
                    ps.agreement_id == item.agreement.id,
                    ps.service_type_code == code,
                    ps.attested_at.is_not(None),
                    ps.service_date >= start,
                    ps.service_date <= end,
                )
                .group_by(ps.buying_municipality_id)
            ).all()
        )
        total = sum(Decimal(v or 0) for v in rows.values())
        if total == 0:
            raise _Skip("")  # no usage registered in the period: nothing to share
        mine = Decimal(rows.get(buyer_id) or 0)
        count = self.session.scalar(
            select(func.count(ps.id)).where(
                ps.agreement_id == item.agreement.id,
                ps.buying_municipality_id == buyer_id,
                ps.service_type_code == code,
                _unbilled_services(self.request, self.attested_before),
                ps.service_date >= start,
                ps.service_date <= end,
            )
        )
        selector = ServiceSelector(
            agreement_id=item.agreement.id,
            buyer_municipality_id=buyer_id,
            service_type_code=code,
            date_from=start,
            date_to=end,
            attested_before=self.attested_before,
        )
        measure = {
            UsageMeasure.CASES: "ärenden",
            UsageMeasure.HOURS: "timmar",
            UsageMeasure.DAYS: "dygn",
        }.get(component.usage_measure, "")
        text = f"nyttjande {format_number(mine)} av {format_number(total)} {measure}"
        return mine / total, text, [selector], int(count or 0)

    def previous_year_usage_share(self, item: _Agreement, component, buyer_id: int, year: int):
        ps = PerformedService
        rows = dict(
            self.session.execute(
                select(ps.buying_municipality_id, self.usage_measure(component))
                .where(
                    ps.agreement_id == item.agreement.id,
                    ps.service_type_code == component.service_type.code,
                    ps.attested_at.is_not(None),
                    ps.service_date >= dt.date(year - 1, 1, 1),
                    ps.service_date <= dt.date(year - 1, 12, 31),
                )
                .group_by(ps.buying_municipality_id)
            ).all()
        )
        total = sum(Decimal(v or 0) for v in rows.values())
        if total == 0:
            raise _Skip(
                f"inget nyttjande registrerat {year - 1} att fördela den preliminära debiteringen efter."
            )
        mine = Decimal(rows.get(buyer_id) or 0)
        return mine / total, f"nyttjande {year - 1}: {format_number(mine)} av {format_number(total)}"

    def shared_role_line(self, item: _Agreement, component, buyer_id: int, start, end) -> PricedLine:
        role = component.shared_role
        if role is None:
            raise _Skip("kostnadsmodellen gemensam tjänst saknar koppling till en tjänst i registret.")
        amounts = []
        month = start
        while month <= end:
            allocation = allocations_on(role, month)
            share = allocation.share_of(buyer_id) if allocation else None
            if share is not None:
                amounts.append((month, share))
            month = add_months(month, 1)
        if not amounts:
            raise _Skip("")
        total = sum((share.amount for _, share in amounts), ZERO)
        distinct = []
        for month, share in amounts:
            cost = monthly_cost(role)
            text = f"{format_money(share.amount)} ({format_number(share.percent)} % av {format_money(cost)})"
            if not distinct or distinct[-1][1] != text:
                distinct.append([[month], text])
            else:
                distinct[-1][0].append(month)
        parts = [f"{len(months)} mån × {text}" for months, text in distinct]
        return _line(
            component,
            f"{role.title} {_period_text(start, end)}",
            "Gemensam tjänst, månadskostnad (lön × (1 + PO-pålägg) + overhead) × andel: "
            + "; ".join(parts)
            + ".",
            Decimal("1"),
            ServiceUnit.PERIOD,
            total,
            total,
        )

    # Cost cap --------------------------------------------------------------------------------------

    def prior_net(self, agreement_id: int, year: int) -> dict[int, Decimal]:
        """Net amounts invoiced (approved or issued, credit notes included) per buyer in `year`. Read once
        per run for every agreement with a cost cap (one query, not one per agreement and buyer)."""
        if self._prior is None or agreement_id not in self._prior_read:
            ids = self._capped_ids | {agreement_id}
            self._prior, self._prior_read = defaultdict(dict), ids
            rows = self.session.execute(
                select(Invoice.agreement_id, Invoice.buyer_municipality_id, func.sum(Invoice.net_amount))
                .where(
                    Invoice.agreement_id.in_(sorted(ids)),
                    Invoice.status != InvoiceStatus.DRAFT,
                    Invoice.kind.in_([InvoiceKind.INVOICE, InvoiceKind.CREDIT_NOTE]),
                    Invoice.period_end >= dt.date(year, 1, 1),
                    Invoice.period_end <= dt.date(year, 12, 31),
                )
                .group_by(Invoice.agreement_id, Invoice.buyer_municipality_id)
            )
            for agreement, buyer_id, total in rows:
                self._prior[agreement][buyer_id] = Decimal(total or 0)
        return self._prior.get(agreement_id, {})

    def apply_cost_cap(self, item: _Agreement, version, buyer_id: int, bucket: _Bucket) -> None:
        if version.cost_cap_amount is None:
            return
        cap = Decimal(version.cost_cap_amount)
        year = self.request.period_end.year
        prior = self.prior_net(item.agreement.id, year).get(buyer_id, ZERO)
        new = sum((line.amount for lines in bucket.lines.values() for line in lines), ZERO)
        excess = prior + new - cap
        if excess <= 0:
            return
        for vat_group in sorted(bucket.lines, key=lambda g: -sum(line.amount for line in bucket.lines[g])):
            lines = bucket.lines[vat_group]
            group_total = sum((line.amount for line in lines), ZERO)
            reduction = min(excess, group_total)
            if reduction <= 0:
                continue
            template = max(lines, key=lambda line: line.amount)
            lines.append(
                PricedLine(
                    description=f"Avdrag enligt kostnadstak {year}",
                    computation=(
                        f"Kostnadstak {format_money(cap)} per år; fakturerat tidigare {format_money(prior)}, "
                        f"denna period {format_money(new)}: avdrag {format_money(reduction)}."
                    ),
                    quantity=Decimal("1"),
                    unit=ServiceUnit.PERIOD,
                    unit_price=-reduction,
                    amount=-reduction,
                    vat_category=template.vat_category,
                    vat_rate=template.vat_rate,
                    vat_exemption_reason_code=template.vat_exemption_reason_code,
                    vat_exemption_reason=template.vat_exemption_reason,
                    service_type_code=None,
                )
            )
            excess -= reduction
            if excess <= 0:
                break


class _Skip(Exception):
    """A periodic charge that cannot or need not be billed; `message` (Swedish) becomes a problem."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def price_run(session: Session, request: PricingRequest) -> PricingResult:
    return _Pricer(session, request).run()


# --- Linking what the lines bill ----------------------------------------------------------------------

_link_metadata = MetaData()
_selectors = Table(
    "tmp_billing_selectors",
    _link_metadata,
    Column("line_id", Integer),
    Column("agreement_id", Integer),
    Column("buyer_id", Integer),
    Column("code", String(40)),
    Column("unit", String(32)),
    Column("date_from", Date),
    Column("date_to", Date),
    Column("attested_before", DateTime(timezone=True)),
    Column("case_type", String(100)),
    Column("by_case", Integer),
    Column("case_transfer_id", Integer),
    Column("service_id", Integer),
    prefixes=["TEMPORARY"],
)


def _dialect_insert(session: Session, model):
    """INSERT with ON CONFLICT support (PostgreSQL and SQLite; the app runs on both)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(model)
    return sqlite_insert(model)


def _copy_selectors(connection, rows: list[dict]) -> None:
    """PostgreSQL: the selectors into the temporary table with COPY (a national run has 15 000)."""
    names = [column.name for column in _selectors.columns]
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {_selectors.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])
    finally:
        cursor.close()


def link_lines(session: Session, lines: list[tuple[object, PricedLine]]) -> None:
    """Record BilledService rows (one set-based INSERT ... SELECT through a temporary table of the
    lines' selectors) and BilledCharge rows, then check every line found exactly the services it priced."""
    charges = [
        {
            "invoice_line_id": row.id,
            "agreement_id": ref.agreement_id,
            "buyer_municipality_id": ref.buyer_municipality_id,
            "charge_key": ref.charge_key,
            "charge_period_start": ref.period_start,
            "charge_period_end": ref.period_end,
        }
        for row, priced in lines
        for ref in priced.charges
    ]
    if charges:
        session.execute(insert(BilledCharge), charges)
    selector_rows = [
        {
            "line_id": row.id,
            "agreement_id": s.agreement_id,
            "buyer_id": s.buyer_municipality_id,
            "code": s.service_type_code,
            "unit": s.unit,
            "date_from": s.date_from,
            "date_to": s.date_to,
            "attested_before": s.attested_before,
            "case_type": s.case_type,
            "by_case": 1 if s.by_case_transfer else 0,
            "case_transfer_id": s.case_transfer_id,
            "service_id": s.service_id,
        }
        for row, priced in lines
        for s in priced.selectors
    ]
    if not selector_rows:
        return
    connection = session.connection()
    _selectors.create(connection, checkfirst=True)
    try:
        session.execute(_selectors.delete())
        if connection.dialect.name == "postgresql":
            _copy_selectors(connection, selector_rows)
            # A temporary table has no statistics: without them the planner expects one selector and
            # joins the services by index per selector instead of hashing them once.
            session.execute(text(f"ANALYZE {_selectors.name}"))
        else:
            session.execute(insert(_selectors), selector_rows)
        ps, sel = PerformedService, _selectors.c
        matching = (
            select(ps.id, sel.line_id)
            .join(
                _selectors,
                and_(
                    ps.agreement_id == sel.agreement_id,
                    ps.buying_municipality_id == sel.buyer_id,
                    ps.service_type_code == sel.code,
                    or_(sel.unit.is_(None), ps.unit == sel.unit),
                    ps.service_date >= sel.date_from,
                    ps.service_date <= sel.date_to,
                    ps.attested_at <= sel.attested_before,
                    or_(sel.case_type.is_(None), ps.case_type == sel.case_type),
                    or_(
                        sel.by_case == 0,
                        ps.case_transfer_id == sel.case_transfer_id,
                        and_(sel.case_transfer_id.is_(None), ps.case_transfer_id.is_(None)),
                    ),
                    or_(sel.service_id.is_(None), ps.id == sel.service_id),
                ),
            )
            .where(
                ps.attested_at.is_not(None),
                # Implied by the selectors, stated for the scan: a monthly run reads the period's
                # services, not the year's already billed ones, into the join.
                ps.service_date >= min(r["date_from"] for r in selector_rows),
                ps.service_date <= max(r["date_to"] for r in selector_rows),
            )
        )
        # Services billed already (by earlier runs, or by another line) are skipped by the primary key
        # (ON CONFLICT DO NOTHING) rather than by NOT EXISTS: an anti-join against the table being
        # inserted into degrades to a scan per row when its statistics say it is empty (the first large
        # run), while the key lookup is what the insert does anyway. A service skipped that was priced
        # shows in the counts below.
        linking = (
            _dialect_insert(session, BilledService)
            .from_select(["performed_service_id", "invoice_line_id"], matching)
            .on_conflict_do_nothing()
        )
        if connection.dialect.name == "postgresql":
            # How many each line got, from the INSERT itself (not by reading the links back).
            inserted = linking.returning(BilledService.invoice_line_id).cte("inserted")
            found = dict(
                session.execute(
                    select(inserted.c.invoice_line_id, func.count()).group_by(inserted.c.invoice_line_id)
                ).all()
            )
        else:
            session.execute(linking)
            found = None
    finally:
        _selectors.drop(connection, checkfirst=True)
    expected = {row.id: priced.expected_services for row, priced in lines if priced.selectors}
    if found is None:
        found = dict(
            session.execute(
                select(BilledService.invoice_line_id, func.count())
                .where(BilledService.invoice_line_id.in_(list(expected)))
                .group_by(BilledService.invoice_line_id)
            ).all()
        )
    wrong = [line_id for line_id, count in expected.items() if found.get(line_id, 0) != count]
    if wrong:
        raise PricingError(
            "Prestationerna ändrades medan fakturorna beräknades (t.ex. attesterades eller togs bort). "
            "Beräkna körningen igen."
        )
