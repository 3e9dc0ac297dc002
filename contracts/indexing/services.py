"""Indexing: next year's prices of a contract version as a reviewable change, applied as a draft
amendment (tilläggsavtal), and the adjustments billing owes when a preliminary index value is revised.

- `preview_indexation(session, user, version, year)`: every indexed price of the version for year-1,
  the index value of the version's rule for `year`, the exact and the rounded new price. Nothing is saved.
- `apply_indexation(session, user, version, year)`: a new draft amendment (through
  contracts.versions.create_version) with the new prices and one ContractPriceIndexation per price.
  Nothing changes silently: the amendment goes through the legal review like any other version.
- `index_adjustments(session, user, ...)` and, for billing without a user,
  `index_adjustments_for_agreement(session, agreement_id, ...)`: prices of approved versions whose
  index value has been revised (or made final) since the price was computed.

The arithmetic is contracts.indexation (Decimal, half-up); the index values are contracts.services'
register. Functions add and flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from babel.dates import format_date as babel_format_date
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from contracts.errors import IndexValueMissing, OpenVersionExists
from contracts.indexation import ROUNDING_LABELS, IndexedPrice, Rounding, apply_index
from contracts.indexing.permissions import INDEX_ADJUSTMENT_READ
from contracts.models import (
    COMPENSATION_MODEL_LABELS,
    INDEX_KIND_SHORT,
    INDEX_STATUS_LABELS,
    VERSION_STATUS_LABELS,
    CompensationComponent,
    CompensationModel,
    ContractPrice,
    ContractPriceIndexation,
    ContractVersion,
    IndexStatus,
    IndexValue,
    VersionStatus,
)
from contracts.permissions import CONTRACT_EDIT
from contracts.services import find_index_value
from contracts.versions import create_version, version_in_force, versions_of, visible_to
from core.errors import Conflict, DomainError, ValidationFailed
from core.formatting import LOCALE, format_date, format_money
from core.permissions import can_any, require, require_any
from registry.models import Agreement, AgreementParty

# Prices that follow the index: hourly rates, per-case fees, fixed fees, the yearly cost or budget
# that share models distribute, and mileage. Outlays are at cost; a shared role's cost base lives in
# the registry (its allocation), so neither has prices to index.
INDEXED_MODELS = frozenset(
    {
        CompensationModel.HOURLY,
        CompensationModel.PER_CASE,
        CompensationModel.FIXED_FEE,
        CompensationModel.POPULATION_SHARE,
        CompensationModel.USAGE_SHARE,
        CompensationModel.PRELIMINARY,
        CompensationModel.MILEAGE,
    }
)

MIN_YEAR = 1901  # the previous year's price must fit the register's 1900..2200
MAX_YEAR = 2200


def component_label(component: CompensationComponent) -> str:
    """ "Timpris, Utredning och handläggning" (+ " – Härryda" for a buyer's own model, + description)."""
    label = f"{COMPENSATION_MODEL_LABELS[component.model]}, {component.service_type.name}"
    if component.buyer is not None:
        label += f" – {component.buyer.name}"
    if component.description:
        label += f" ({component.description})"
    return label


def rule_in_words(version: ContractVersion) -> str:
    """The version's indexation rule as a sentence, for pages and the change summary."""
    if version.index_kind is None:
        return "Avtalet har ingen indexklausul: priserna räknas inte upp med något index."
    start = version.index_effective_from
    return (
        f"Priserna räknas upp varje år med {INDEX_KIND_SHORT[version.index_kind]} "
        f"({version.index_edition}) från och med {format_date(start)}, med nya priser den "
        f"{babel_format_date(start, 'd MMMM', locale=LOCALE)} varje år, "
        f"{ROUNDING_LABELS[version.index_rounding].lower()} (avrundning uppåt från hälften)."
    )


def indexation_date(version: ContractVersion, year: int) -> dt.date:
    """The day the prices of `year` take effect: the rule's day and month in that year (29 February
    becomes 28 February in a common year)."""
    start = version.index_effective_from
    try:
        return dt.date(year, start.month, start.day)
    except ValueError:
        return dt.date(year, start.month, 28)


@dataclass(frozen=True)
class IndexationRow:
    """One price of the version and what the index makes of it."""

    component: CompensationComponent
    old_price: ContractPrice
    result: IndexedPrice

    @property
    def component_label(self) -> str:
        return component_label(self.component)

    @property
    def case_type(self) -> str:
        return self.old_price.case_type


@dataclass(frozen=True)
class IndexationPreview:
    """The reviewable change: next year's prices of a version, with the index and the rounding used."""

    version: ContractVersion
    year: int
    index_value: IndexValue
    effective_from: dt.date
    rows: list[IndexationRow]
    # Why the amendment cannot be created from this version now (None: it can), as the error to raise.
    refusal: DomainError | None = field(default=None, repr=False)

    @property
    def rounding(self) -> Rounding:
        return self.version.index_rounding

    @property
    def edition(self) -> str:
        return self.version.index_edition or ""

    @property
    def percent(self) -> Decimal:
        return self.index_value.percent

    @property
    def is_final(self) -> bool:
        return self.index_value.is_final

    @property
    def refusals(self) -> list[str]:
        return [self.refusal.message] if self.refusal is not None else []

    @property
    def may_apply(self) -> bool:
        return self.refusal is None


def _refuse(message: str, field_name: str = "year", error=ValidationFailed):
    return error(message, errors={field_name: [message]})


def _indexed_prices(version: ContractVersion, year: int) -> list[tuple[CompensationComponent, ContractPrice]]:
    return [
        (component, price)
        for component in version.components
        if component.model in INDEXED_MODELS
        for price in component.prices
        if price.year == year
    ]


def _price_text(component: CompensationComponent, price: ContractPrice) -> str:
    case_type = f", {price.case_type}" if price.case_type else ""
    return f"{component_label(component)}{case_type} ({format_money(price.amount)})"


def _check_year(version: ContractVersion, year: int) -> None:
    """The errors that make an indexation of `year` meaningless, in the order a user fixes them."""
    if version.index_kind is None:
        raise _refuse(
            "Versionen har ingen indexklausul. Ange index, utgåva, från vilket datum och avrundning i "
            "avtalsvillkoren innan priserna kan räknas upp (för en godkänd version: i ett tilläggsavtal).",
            "index",
        )
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _refuse(f"Ange ett år mellan {MIN_YEAR} och {MAX_YEAR}.")
    first = version.index_effective_from
    if year < first.year:
        raise _refuse(
            f"Indexklausulen gäller från {format_date(first)}: första året priserna räknas upp är "
            f"{first.year}, inte {year}."
        )
    already = _indexed_prices(version, year)
    if already:
        listed = "; ".join(_price_text(c, p) for c, p in already)
        raise _refuse(
            f"Versionen har redan priser för {year}: {listed}. Välj ett senare år, eller ändra priserna "
            "i ett tilläggsavtal."
        )
    if not _indexed_prices(version, year - 1):
        raise _refuse(
            f"Versionen har inga priser för {year - 1} att räkna upp (utlägg räknas aldrig upp). "
            f"Lägg in priserna för {year - 1} först."
        )


def _index_value_for(session: Session, version: ContractVersion, year: int) -> IndexValue:
    value = find_index_value(session, version.index_kind, year)
    if value is None:
        short = INDEX_KIND_SHORT[version.index_kind]
        message = (
            f"Det finns inget värde för {short} {year} i indexregistret. Ekonomi eller jurist registrerar "
            f"värdet under Indexvärden; räkna sedan upp priserna."
        )
        raise IndexValueMissing(message, errors={"year": [message]})
    return value


def _apply_refusal(
    session: Session, user, version: ContractVersion, effective_from: dt.date
) -> DomainError | None:
    """Why the amendment cannot be created now, as the exception to raise (None: it can)."""
    agreement = version.agreement
    if user is not None and not can_any(user, CONTRACT_EDIT, agreement.party_municipality_ids):
        return _refuse(
            "Du har inte behörighet att skapa tilläggsavtal (administratör, ekonomi eller jurist i en "
            "kommun som är part).",
            "version",
            Conflict,
        )
    if version.status != VersionStatus.APPROVED:
        return _refuse(
            f"Bara en godkänd version kan räknas upp; den här är {VERSION_STATUS_LABELS[version.status].lower()}.",
            "version",
            Conflict,
        )
    in_force = version_in_force(session, version.agreement_id, effective_from, load=False)
    if in_force is None or in_force.id != version.id:
        other = f"version {in_force.number}" if in_force is not None else "ingen godkänd version"
        return _refuse(
            f"Version {version.number} är inte den som gäller {format_date(effective_from)} ({other} gäller "
            "då). Räkna upp priserna från den version som gäller på indexdagen.",
            "version",
            Conflict,
        )
    open_versions = [v for v in versions_of(session, agreement.id) if v.status != VersionStatus.APPROVED]
    if open_versions:
        v = open_versions[0]
        return OpenVersionExists(
            f"Avtalet har redan en öppen version (version {v.number}, "
            f"{VERSION_STATUS_LABELS[v.status].lower()}: {v.title}). Gör klart den först; "
            "det kan bara finnas ett tilläggsavtal under arbete åt gången."
        )
    if effective_from < agreement.start_date:
        return _refuse(
            f"De nya priserna skulle gälla från {format_date(effective_from)}, före avtalets startdatum "
            f"{format_date(agreement.start_date)}."
        )
    if agreement.end_date is not None and effective_from > agreement.end_date:
        return _refuse(
            f"De nya priserna skulle gälla från {format_date(effective_from)}, efter avtalets slutdatum "
            f"{format_date(agreement.end_date)} i avtalsregistret. Förläng avtalet först."
        )
    return None


def preview_indexation(session: Session, user, version: ContractVersion, year: int) -> IndexationPreview:
    """Next year's prices of `version` with its indexation rule: one row per price of year-1 (hourly
    rates, per-case fees per case type, fixed fees, cost bases and budgets of share models, mileage).
    Raises ValidationFailed (Swedish, `errors["year"]` or `errors["index"]`) or IndexValueMissing.

    `version` comes from contracts.versions.get_version, which checked that the user is a party."""
    _check_year(version, year)
    value = _index_value_for(session, version, year)
    rows = [
        IndexationRow(
            component=component,
            old_price=price,
            result=apply_index(price.amount, value.percent, version.index_rounding, year=year),
        )
        for component, price in _indexed_prices(version, year - 1)
    ]
    effective_from = indexation_date(version, year)
    return IndexationPreview(
        version=version,
        year=year,
        index_value=value,
        effective_from=effective_from,
        rows=rows,
        refusal=_apply_refusal(session, user, version, effective_from),
    )


def change_summary(preview: IndexationPreview) -> str:
    value = preview.index_value
    status = INDEX_STATUS_LABELS[value.status].lower()
    percent = f"{value.percent.normalize():f}".replace(".", ",")
    return (
        f"Priserna för {preview.year} räknas upp enligt avtalets indexklausul med "
        f"{INDEX_KIND_SHORT[value.kind]} {value.year} ({preview.edition}; registrets värde {value.edition}): "
        f"{percent} % ({status}), {ROUNDING_LABELS[preview.rounding].lower()} med avrundning uppåt från "
        f"hälften. Gäller från {format_date(preview.effective_from)}. {len(preview.rows)} "
        f"{'pris' if len(preview.rows) == 1 else 'priser'} räknade från {preview.year - 1} års priser."
        + (
            " Indexvärdet är preliminärt: revideras det blir skillnaden en justering i faktureringen."
            if not value.is_final
            else ""
        )
    )


def apply_indexation(session: Session, user, version: ContractVersion, year: int) -> ContractVersion:
    """Create the amendment "Indexuppräkning <year>" as a draft (a copy of `version`) with the new
    prices for `year` and one ContractPriceIndexation per price. `version` must be the approved
    version in force on the indexation day; the user needs CONTRACT_EDIT of a party. The draft goes
    through the legal review before any price in it is used."""
    require_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids)
    if version.status != VersionStatus.APPROVED:
        # The state of the version first (409), whatever the year: only an approved version is indexed.
        raise _apply_refusal(session, user, version, version.effective_from)
    preview = preview_indexation(session, user, version, year)
    if preview.refusal is not None:
        raise preview.refusal
    amendment = create_version(
        session,
        user,
        version.agreement,
        title=f"Indexuppräkning {year}",
        effective_from=preview.effective_from,
        change_summary=change_summary(preview),
        based_on=version,
    )
    # create_version copies the components in the order of `version.components`.
    copies = dict(zip((c.id for c in version.components), amendment.components, strict=True))
    for row in preview.rows:
        target = copies[row.component.id]
        price = ContractPrice(year=year, case_type=row.old_price.case_type, amount=row.result.new_price)
        target.prices.append(price)
        amendment.price_indexations.append(
            ContractPriceIndexation(
                price=price,
                index_value=preview.index_value,
                old_amount=row.result.old_price,
                percent=preview.index_value.percent,
                index_status=preview.index_value.status,
                rounding=row.result.rounding,
                new_amount=row.result.new_price,
            )
        )
    session.flush()
    return amendment


# --- What a version's panel shows --------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedIndexation:
    """A price indexation stored on a version, with what has happened to its index value since."""

    indexation: ContractPriceIndexation
    component_label: str
    case_type: str
    year: int
    price_changed_by_hand: bool  # the draft's price was edited after the index was applied

    @property
    def value_changed(self) -> bool:
        value = self.indexation.index_value
        return value.percent != self.indexation.percent or value.status != self.indexation.index_status


def recorded_indexations(version: ContractVersion) -> list[RecordedIndexation]:
    out = []
    for item in version.price_indexations:
        price = item.price
        out.append(
            RecordedIndexation(
                indexation=item,
                component_label=component_label(price.component),
                case_type=price.case_type,
                year=price.year,
                price_changed_by_hand=price.amount != item.new_amount,
            )
        )
    return out


# --- Adjustments for billing -------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexAdjustment:
    """A price computed with an index value that has since been revised or made final. Billing raises
    an adjustment invoice or a credit note for `difference` per unit billed at `price_used`; issued
    invoices and approved versions are never rewritten."""

    indexation: ContractPriceIndexation
    recomputed: IndexedPrice  # the same old price and rounding with the current percent

    @property
    def version(self) -> ContractVersion:
        return self.indexation.version

    @property
    def agreement(self) -> Agreement:
        return self.indexation.version.agreement

    @property
    def index_value(self) -> IndexValue:
        return self.indexation.index_value

    @property
    def component_label(self) -> str:
        return component_label(self.indexation.price.component)

    @property
    def case_type(self) -> str:
        return self.indexation.price.case_type

    @property
    def year(self) -> int:
        return self.indexation.price.year

    @property
    def percent_used(self) -> Decimal:
        return self.indexation.percent

    @property
    def current_percent(self) -> Decimal:
        return self.index_value.percent

    @property
    def status_used(self) -> IndexStatus:
        return self.indexation.index_status

    @property
    def current_status(self) -> IndexStatus:
        return self.index_value.status

    @property
    def price_used(self) -> Decimal:
        return self.indexation.new_amount

    @property
    def recomputed_price(self) -> Decimal:
        return self.recomputed.new_price

    @property
    def difference(self) -> Decimal:
        """Per unit: positive means the buyer owes more (adjustment invoice), negative a credit."""
        return self.recomputed.new_price - self.indexation.new_amount

    @property
    def is_final(self) -> bool:
        return self.index_value.is_final

    @property
    def percent_changed(self) -> bool:
        return self.current_percent != self.percent_used

    @property
    def last_revised_at(self) -> dt.datetime | None:
        revisions = self.index_value.revisions
        return revisions[-1].revised_at if revisions else None


_ADJUSTMENT_LOAD = (
    selectinload(ContractPriceIndexation.index_value).selectinload(IndexValue.revisions),
    selectinload(ContractPriceIndexation.price)
    .selectinload(ContractPrice.component)
    .options(
        selectinload(CompensationComponent.service_type),
        selectinload(CompensationComponent.buyer),
    ),
    selectinload(ContractPriceIndexation.version)
    .selectinload(ContractVersion.agreement)
    .selectinload(Agreement.parties)
    .selectinload(AgreementParty.municipality),
)


def _adjustments_select(agreement_id: int | None = None, year: int | None = None) -> Select:
    """Indexations of approved versions whose index value now differs (percent or status) from what
    was used, and whose price is still the indexed one (a price agreed by hand is not recomputed)."""
    stmt = (
        select(ContractPriceIndexation)
        .join(ContractPriceIndexation.index_value)
        .join(ContractPriceIndexation.price)
        .join(ContractPriceIndexation.version)
        .join(ContractVersion.agreement)
        .where(
            ContractVersion.status == VersionStatus.APPROVED,
            ContractPrice.amount == ContractPriceIndexation.new_amount,
            or_(
                IndexValue.percent != ContractPriceIndexation.percent,
                IndexValue.status != ContractPriceIndexation.index_status,
            ),
        )
        .options(*_ADJUSTMENT_LOAD)
        .order_by(Agreement.number, ContractPrice.year, ContractVersion.number, ContractPriceIndexation.id)
    )
    if agreement_id is not None:
        stmt = stmt.where(ContractVersion.agreement_id == agreement_id)
    if year is not None:
        stmt = stmt.where(ContractPrice.year == year)
    return stmt


def adjustment_of(indexation: ContractPriceIndexation) -> IndexAdjustment:
    return IndexAdjustment(
        indexation=indexation,
        recomputed=apply_index(
            indexation.old_amount,
            indexation.index_value.percent,
            indexation.rounding,
            year=indexation.price.year,
        ),
    )


def search_index_adjustments(user, agreement_id: int | None = None, year: int | None = None) -> Select:
    """The adjustments of agreements the user's municipality is party to (scoped in SQL), as a select
    of ContractPriceIndexation for paging; map the rows with `adjustment_of`. Finance and legal."""
    require(user, INDEX_ADJUSTMENT_READ)
    return _adjustments_select(agreement_id, year).where(visible_to(user))


def index_adjustments(
    session: Session, user, agreement_id: int | None = None, year: int | None = None
) -> list[IndexAdjustment]:
    """Every adjustment the user may see (see search_index_adjustments)."""
    stmt = search_index_adjustments(user, agreement_id, year)
    return [adjustment_of(item) for item in session.scalars(stmt)]


def index_adjustments_for_agreement(
    session: Session, agreement_id: int, year: int | None = None
) -> list[IndexAdjustment]:
    """For billing (no user: the caller is an invoice run that already chose the agreement).

    Every price of an approved version of the agreement (for `year`, or all years) whose index value
    has been revised or made final since the price was computed. For each: `price_used` (what the
    approved version says and invoices used), `recomputed_price` (the same old price and rounding
    with the current percent), `difference` per unit (positive: invoice the buyer, negative: credit),
    `is_final` and `percent_changed` (False: only the status changed, nothing to invoice).
    Billing records which adjustments it has raised; nothing here changes issued invoices or versions.
    """
    return [adjustment_of(item) for item in session.scalars(_adjustments_select(agreement_id, year))]
