"""Tables of contracts: the index values register (PKV, OPI, KPI, AKI per year) and its revisions.

Index values are public reference data (published by SKR and SCB), not tenant data: they belong to
no municipality. A value is changed only through a revision row, so billing can find every change
of a preliminary value (the adjustment it owes) and nothing is rewritten silently.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.indexation import Rounding
from core.db import Base, UTCDateTime, utcnow
from core.models import Municipality, User, portable_enum
from registry.models import Agreement, AgreementAttachment, Executor, SharedRole


class IndexKind(enum.StrEnum):
    PKV = "pkv"
    OPI = "opi"
    KPI = "kpi"
    AKI = "aki"


INDEX_KIND_LABELS = {
    IndexKind.PKV: "PKV – prisindex för kommunal verksamhet (SKR)",
    IndexKind.OPI: "OPI – omsorgsprisindex (SKR)",
    IndexKind.KPI: "KPI – konsumentprisindex (SCB)",
    IndexKind.AKI: "AKI – arbetskostnadsindex (SCB)",
}
INDEX_KIND_SHORT = {kind: kind.value.upper() for kind in IndexKind}


class IndexStatus(enum.StrEnum):
    PRELIMINARY = "preliminary"
    FINAL = "final"


INDEX_STATUS_LABELS = {IndexStatus.PRELIMINARY: "Preliminärt", IndexStatus.FINAL: "Slutligt"}


class RevisionKind(enum.StrEnum):
    REVISION = "revision"  # a preliminary value changed, still preliminary
    FINALIZATION = "finalization"  # preliminary -> final (the percent may change at the same time)
    CORRECTION = "correction"  # a final value corrected: only with a reason


REVISION_KIND_LABELS = {
    RevisionKind.REVISION: "Reviderat preliminärt värde",
    RevisionKind.FINALIZATION: "Fastställt som slutligt",
    RevisionKind.CORRECTION: "Rättelse av slutligt värde",
}

MIN_PERCENT = Decimal("-50")
MAX_PERCENT = Decimal("100")


class IndexValue(Base):
    """The current value of one index for one year, e.g. PKV 2026 = 3.1000 % (preliminary)."""

    __tablename__ = "index_values"
    __table_args__ = (
        UniqueConstraint("kind", "year", name="uq_index_values_kind_year"),
        CheckConstraint("percent >= -50 AND percent <= 100", name="percent_range"),
        CheckConstraint("year >= 1900 AND year <= 2200", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[IndexKind] = mapped_column(portable_enum(IndexKind, "index_kind"))
    edition: Mapped[str] = mapped_column(String(100))  # e.g. "PKV oktober 2025"
    year: Mapped[int] = mapped_column(Integer)  # the year the index applies to (price year)
    percent: Mapped[Decimal] = mapped_column(Numeric(7, 4))  # 3.1000 means 3.1 %
    status: Mapped[IndexStatus] = mapped_column(portable_enum(IndexStatus, "index_status"))
    source: Mapped[str] = mapped_column(String(200))
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()
    revisions: Mapped[list[IndexValueRevision]] = relationship(
        back_populates="index_value",
        order_by="(IndexValueRevision.revised_at, IndexValueRevision.id)",
    )

    @property
    def kind_label(self) -> str:
        return INDEX_KIND_LABELS[self.kind]

    @property
    def status_label(self) -> str:
        return INDEX_STATUS_LABELS[self.status]

    @property
    def is_final(self) -> bool:
        return self.status == IndexStatus.FINAL


class IndexValueRevision(Base):
    """One change of an index value: what it was, what it became, who, when and why.

    Billing reads the revisions of preliminary values to raise an adjustment; issued invoices are
    never touched. Rows are never updated or deleted."""

    __tablename__ = "index_value_revisions"
    __table_args__ = (
        CheckConstraint("kind <> 'correction' OR reason IS NOT NULL", name="correction_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    index_value_id: Mapped[int] = mapped_column(
        ForeignKey("index_values.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[RevisionKind] = mapped_column(portable_enum(RevisionKind, "index_revision_kind"))
    old_percent: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    new_percent: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    old_status: Mapped[IndexStatus] = mapped_column(portable_enum(IndexStatus, "old_status"))
    new_status: Mapped[IndexStatus] = mapped_column(portable_enum(IndexStatus, "new_status"))
    reason: Mapped[str | None] = mapped_column(Text)
    revised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    index_value: Mapped[IndexValue] = relationship(back_populates="revisions")
    revised_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return REVISION_KIND_LABELS[self.kind]

    @property
    def difference(self) -> Decimal:
        return self.new_percent - self.old_percent


# ---------------------------------------------------------------------------------------------------
# Contract versions and their structured terms
# ---------------------------------------------------------------------------------------------------
# An agreement's terms live in versions: version 1 is the original, each amendment (tilläggsavtal) a
# new version with an effective date. Billing for a date uses the approved version with the latest
# effective date on or before it. An approved version and everything under it is immutable: the
# services refuse, a flush-time guard refuses (contracts.guards) and database triggers refuse
# (migration 0004). Signed scans may still be attached to an approved version: signing follows approval.


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"


VERSION_STATUS_LABELS = {
    VersionStatus.DRAFT: "Utkast",
    VersionStatus.IN_REVIEW: "Under juridisk granskning",
    VersionStatus.APPROVED: "Godkänd",
}

# The only legal moves; everything else is refused with contracts.errors.IllegalVersionTransition.
VERSION_TRANSITIONS: dict[VersionStatus, frozenset[VersionStatus]] = {
    VersionStatus.DRAFT: frozenset({VersionStatus.IN_REVIEW}),
    VersionStatus.IN_REVIEW: frozenset({VersionStatus.DRAFT, VersionStatus.APPROVED}),
    VersionStatus.APPROVED: frozenset(),
}


class InvoiceFrequency(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"


INVOICE_FREQUENCY_LABELS = {
    InvoiceFrequency.MONTHLY: "Månadsvis",
    InvoiceFrequency.QUARTERLY: "Kvartalsvis",
    InvoiceFrequency.HALF_YEARLY: "Halvårsvis",
    InvoiceFrequency.YEARLY: "En gång per år",
}


class PersonalDataRole(enum.StrEnum):
    NONE = "none"  # no personal data is processed under the agreement
    PROCESSOR = "processor"  # the host processes on the buyer's behalf: PUB-avtal, GDPR art. 28
    JOINT_CONTROLLERS = "joint_controllers"  # gemensamt personuppgiftsansvar, GDPR art. 26


PERSONAL_DATA_ROLE_LABELS = {
    PersonalDataRole.NONE: "Inga personuppgifter behandlas",
    PersonalDataRole.PROCESSOR: "Utföraren är personuppgiftsbiträde (PUB-avtal, GDPR art. 28)",
    PersonalDataRole.JOINT_CONTROLLERS: "Gemensamt personuppgiftsansvar (GDPR art. 26)",
}


class ContractVersion(Base):
    """One version of an agreement's terms: the original (number 1) or an amendment."""

    __tablename__ = "contract_versions"
    __table_args__ = (
        UniqueConstraint("agreement_id", "number", name="uq_contract_versions_agreement_number"),
        # Two approved versions never take effect on the same day: "in force on a date" is unambiguous.
        Index(
            "uq_contract_versions_approved_effective",
            "agreement_id",
            "effective_from",
            unique=True,
            postgresql_where=text("status = 'approved'"),
            sqlite_where=text("status = 'approved'"),
        ),
        # One amendment in the works at a time per agreement.
        Index(
            "uq_contract_versions_one_open",
            "agreement_id",
            unique=True,
            postgresql_where=text("status <> 'approved'"),
            sqlite_where=text("status <> 'approved'"),
        ),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("payment_terms_days >= 0 AND payment_terms_days <= 365", name="payment_terms_range"),
        CheckConstraint("cost_cap_amount IS NULL OR cost_cap_amount > 0", name="cost_cap_positive"),
        CheckConstraint(
            "index_kind IS NULL OR (index_edition IS NOT NULL AND index_effective_from IS NOT NULL)",
            name="index_rule_complete",
        ),
        CheckConstraint(
            "status <> 'approved' OR (approved_at IS NOT NULL AND approved_by_id IS NOT NULL)",
            name="approved_has_approver",
        ),
        CheckConstraint(
            "term_renewal_months IS NULL OR term_renewal_months > 0", name="term_renewal_positive"
        ),
        CheckConstraint(
            "term_notice_months IS NULL OR term_notice_months >= 0", name="term_notice_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))  # "Ursprungligt avtal", "Tilläggsavtal 1 – index 2027"
    effective_from: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[VersionStatus] = mapped_column(
        portable_enum(VersionStatus, "contract_version_status"), default=VersionStatus.DRAFT
    )
    change_summary: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str | None] = mapped_column(Text)  # laws, case types, what the host performs
    executor: Mapped[Executor | None] = mapped_column(portable_enum(Executor, "contract_executor"))

    # Invoicing
    invoice_frequency: Mapped[InvoiceFrequency] = mapped_column(
        portable_enum(InvoiceFrequency, "invoice_frequency"), default=InvoiceFrequency.MONTHLY
    )
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    invoice_series: Mapped[str | None] = mapped_column(String(20))
    cost_cap_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # per buyer and calendar year

    # Indexation rule
    index_kind: Mapped[IndexKind | None] = mapped_column(portable_enum(IndexKind, "version_index_kind"))
    index_edition: Mapped[str | None] = mapped_column(String(100))  # e.g. "PKV oktober"
    index_effective_from: Mapped[dt.date | None] = mapped_column(Date)  # first adjustment; yearly after
    index_rounding: Mapped[Rounding] = mapped_column(
        portable_enum(Rounding, "index_rounding"), default=Rounding.ORE
    )

    # Personal data and self-cost
    personal_data_role: Mapped[PersonalDataRole] = mapped_column(
        portable_enum(PersonalDataRole, "personal_data_role"), default=PersonalDataRole.NONE
    )
    claims_cost_coverage: Mapped[bool] = mapped_column(Boolean, default=False)

    # Term dates: the registry keeps them; a version may change them (applied on approval).
    changes_term: Mapped[bool] = mapped_column(Boolean, default=False)
    term_end_date: Mapped[dt.date | None] = mapped_column(Date)
    term_renewal_months: Mapped[int | None] = mapped_column(Integer)
    term_notice_months: Mapped[int | None] = mapped_column(Integer)

    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("contract_versions.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approval_override_reason: Mapped[str | None] = mapped_column(Text)
    review_return_reason: Mapped[str | None] = mapped_column(Text)  # why review sent it back to draft

    agreement: Mapped[Agreement] = relationship()
    based_on: Mapped[ContractVersion | None] = relationship(remote_side="ContractVersion.id")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    service_types: Mapped[list[ContractServiceType]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="ContractServiceType.id"
    )
    components: Mapped[list[CompensationComponent]] = relationship(
        back_populates="version",
        cascade="all, delete-orphan",
        order_by="(CompensationComponent.position, CompensationComponent.id)",
    )
    buyer_terms: Mapped[list[ContractBuyerTerms]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="ContractBuyerTerms.id"
    )
    review_rows: Mapped[list[ContractReviewRow]] = relationship(
        back_populates="version",
        cascade="all, delete-orphan",
        order_by="(ContractReviewRow.position, ContractReviewRow.id)",
    )
    documents: Mapped[list[ContractVersionDocument]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="ContractVersionDocument.id"
    )
    price_indexations: Mapped[list[ContractPriceIndexation]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="ContractPriceIndexation.id"
    )

    # Audit: entries are readable by every party of the agreement (only already-loaded rows are read).
    def audit_municipality_id(self) -> int | None:
        agreement = self.__dict__.get("agreement")
        return agreement.audit_municipality_id() if agreement is not None else None

    def audit_municipality_ids(self) -> set[int]:
        agreement = self.__dict__.get("agreement")
        return agreement.audit_municipality_ids() if agreement is not None else set()

    @property
    def status_label(self) -> str:
        return VERSION_STATUS_LABELS[self.status]

    @property
    def is_approved(self) -> bool:
        return self.status == VersionStatus.APPROVED

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


def _loaded_or_former(obj, name: str):
    """A loaded many-to-one, or the one it had before this flush (a row removed from its parent's
    collection has lost the reference by the time it is deleted and audited). Never loads anything."""
    value = obj.__dict__.get(name)
    if value is None:
        history = sa_inspect(obj).attrs[name].history
        value = history.deleted[0] if history.deleted else None
    return value


class _VersionChild:
    """Audit scope of rows under a version: the version's agreement parties."""

    def _audit_version(self):
        return _loaded_or_former(self, "version")

    def audit_municipality_id(self) -> int | None:
        version = self._audit_version()
        return version.audit_municipality_id() if version is not None else None

    def audit_municipality_ids(self) -> set[int]:
        version = self._audit_version()
        return version.audit_municipality_ids() if version is not None else set()


class ServiceUnit(enum.StrEnum):
    HOUR = "hour"
    CASE = "case"
    DAY = "day"
    KM = "km"
    SEK = "sek"  # an outlay in kronor, billed at cost
    PERIOD = "period"  # a fixed fee or a share for an invoicing period


SERVICE_UNIT_LABELS = {
    ServiceUnit.HOUR: "timmar",
    ServiceUnit.CASE: "ärenden",
    ServiceUnit.DAY: "dagar",
    ServiceUnit.KM: "kilometer",
    ServiceUnit.SEK: "kronor (utlägg)",
    ServiceUnit.PERIOD: "period",
}


class VatCategory(enum.StrEnum):
    """Peppol VAT category codes (UNCL5305) used between municipalities."""

    O = "O"  # noqa: E741  outside the scope of VAT: myndighetsutövning (VATEX-EU-O)
    E = "E"  # exempt (social care outside myndighetsutövning), with a reason
    S = "S"  # standard rate, 25 %


VAT_CATEGORY_LABELS = {
    VatCategory.O: "O – utanför momsens tillämpningsområde (myndighetsutövning)",
    VatCategory.E: "E – undantagen från moms",
    VatCategory.S: "S – momspliktig, 25 %",
}


class ContractServiceType(_VersionChild, Base):
    """A kind of service billed under the version, with its unit and VAT treatment.

    Finance maps each service type to category, rate and exemption reason; billing never guesses."""

    __tablename__ = "contract_service_types"
    __table_args__ = (
        UniqueConstraint("version_id", "code", name="uq_contract_service_types_version_code"),
        CheckConstraint(
            "(vat_category = 'S' AND vat_rate > 0) OR (vat_category IN ('O', 'E') AND vat_rate = 0)",
            name="vat_rate_matches_category",
        ),
        CheckConstraint(
            "vat_category = 'S' OR vat_exemption_reason IS NOT NULL", name="exemption_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("contract_versions.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(40))  # e.g. "utredning", "resa"
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[ServiceUnit] = mapped_column(portable_enum(ServiceUnit, "service_unit"))
    vat_category: Mapped[VatCategory] = mapped_column(portable_enum(VatCategory, "vat_category"))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0.00"))
    vat_exemption_reason_code: Mapped[str | None] = mapped_column(String(40))  # e.g. VATEX-EU-O
    vat_exemption_reason: Mapped[str | None] = mapped_column(String(300))

    version: Mapped[ContractVersion] = relationship(back_populates="service_types")

    @property
    def unit_label(self) -> str:
        return SERVICE_UNIT_LABELS[self.unit]

    @property
    def vat_label(self) -> str:
        return VAT_CATEGORY_LABELS[self.vat_category]


class CompensationModel(enum.StrEnum):
    HOURLY = "hourly"  # timpris
    PER_CASE = "per_case"  # styckpris per ärendetyp
    FIXED_FEE = "fixed_fee"  # fast årsavgift
    POPULATION_SHARE = "population_share"  # fördelning efter invånarantal
    USAGE_SHARE = "usage_share"  # fördelning efter nyttjande
    SHARED_ROLE = "shared_role"  # gemensam tjänst enligt registrets fördelning
    PRELIMINARY = "preliminary"  # preliminär debitering med avräkning vid årets slut
    MILEAGE = "mileage"  # milersättning per km
    OUTLAYS = "outlays"  # utlägg till självkostnad


COMPENSATION_MODEL_LABELS = {
    CompensationModel.HOURLY: "Timpris",
    CompensationModel.PER_CASE: "Styckpris per ärendetyp",
    CompensationModel.FIXED_FEE: "Fast årsavgift",
    CompensationModel.POPULATION_SHARE: "Fördelning efter invånarantal",
    CompensationModel.USAGE_SHARE: "Fördelning efter nyttjande",
    CompensationModel.SHARED_ROLE: "Gemensam tjänst (registrets kostnadsfördelning)",
    CompensationModel.PRELIMINARY: "Preliminär debitering med avräkning",
    CompensationModel.MILEAGE: "Milersättning",
    CompensationModel.OUTLAYS: "Utlägg till självkostnad",
}

# What the amount of a price row means, per model (prices are per year).
PRICE_MEANING = {
    CompensationModel.HOURLY: "Pris per timme",
    CompensationModel.PER_CASE: "Pris per ärende",
    CompensationModel.FIXED_FEE: "Årsavgift",
    CompensationModel.POPULATION_SHARE: "Kostnad att fördela per år",
    CompensationModel.USAGE_SHARE: "Kostnad att fördela per år",
    CompensationModel.SHARED_ROLE: "",
    CompensationModel.PRELIMINARY: "Budgeterad kostnad per år",
    CompensationModel.MILEAGE: "Pris per kilometer",
    CompensationModel.OUTLAYS: "",
}


class CeilingPer(enum.StrEnum):
    CASE = "case"
    MONTH = "month"
    YEAR = "year"


CEILING_PER_LABELS = {CeilingPer.CASE: "per ärende", CeilingPer.MONTH: "per månad", CeilingPer.YEAR: "per år"}


class FeePeriod(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


FEE_PERIOD_LABELS = {FeePeriod.MONTHLY: "Månadsvis (1/12)", FeePeriod.QUARTERLY: "Kvartalsvis (1/4)"}


class UsageMeasure(enum.StrEnum):
    CASES = "cases"
    HOURS = "hours"
    DAYS = "days"


USAGE_MEASURE_LABELS = {
    UsageMeasure.CASES: "Antal ärenden",
    UsageMeasure.HOURS: "Antal timmar",
    UsageMeasure.DAYS: "Antal dygn",
}


class ShareBasis(enum.StrEnum):
    POPULATION = "population"
    USAGE = "usage"
    FIXED = "fixed"  # agreed percentages per municipality


SHARE_BASIS_LABELS = {
    ShareBasis.POPULATION: "Invånarantal",
    ShareBasis.USAGE: "Nyttjande",
    ShareBasis.FIXED: "Avtalade andelar",
}


class CompensationComponent(_VersionChild, Base):
    """One compensation model of a version; a version may combine several (a fixed fee plus hourly work
    above a ceiling). Applies to every buyer, or to one buyer when `buyer_municipality_id` is set.
    Which columns matter depends on `model`; contracts.terms checks completeness per model."""

    __tablename__ = "contract_components"
    __table_args__ = (
        CheckConstraint(
            "time_rounding_minutes IS NULL OR time_rounding_minutes IN (15, 30)", name="time_rounding"
        ),
        CheckConstraint("ceiling_hours IS NULL OR ceiling_hours >= 0", name="ceiling_not_negative"),
        CheckConstraint(
            "equal_split_percent IS NULL OR (equal_split_percent >= 0 AND equal_split_percent <= 100)",
            name="equal_split_range",
        ),
        CheckConstraint(
            "population_ref_month IS NULL OR (population_ref_month BETWEEN 1 AND 12)", name="ref_month_range"
        ),
        CheckConstraint(
            "population_ref_day IS NULL OR (population_ref_day BETWEEN 1 AND 31)", name="ref_day_range"
        ),
        CheckConstraint(
            "population_ref_year_offset IS NULL OR (population_ref_year_offset BETWEEN -2 AND 0)",
            name="ref_year_offset_range",
        ),
        CheckConstraint(
            "reconciliation_deadline_month IS NULL OR (reconciliation_deadline_month BETWEEN 1 AND 12)",
            name="deadline_month_range",
        ),
        CheckConstraint(
            "reconciliation_deadline_day IS NULL OR (reconciliation_deadline_day BETWEEN 1 AND 31)",
            name="deadline_day_range",
        ),
        CheckConstraint(
            "reconciliation_threshold IS NULL OR reconciliation_threshold >= 0", name="threshold_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("contract_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[CompensationModel] = mapped_column(portable_enum(CompensationModel, "compensation_model"))
    service_type_id: Mapped[int] = mapped_column(ForeignKey("contract_service_types.id"), index=True)
    buyer_municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT")
    )
    description: Mapped[str | None] = mapped_column(String(200))

    # hourly
    time_rounding_minutes: Mapped[int | None] = mapped_column(Integer)  # per started 15 or 30 minutes
    ceiling_hours: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))  # only hours above are billed
    ceiling_per: Mapped[CeilingPer | None] = mapped_column(portable_enum(CeilingPer, "ceiling_per"))
    # fixed fee
    fee_period: Mapped[FeePeriod | None] = mapped_column(portable_enum(FeePeriod, "fee_period"))
    in_advance: Mapped[bool | None] = mapped_column(Boolean)
    # population share (also the final share of preliminary billing on population)
    population_ref_month: Mapped[int | None] = mapped_column(Integer)  # e.g. 11 = SCB 1 november
    population_ref_day: Mapped[int | None] = mapped_column(Integer)
    population_ref_year_offset: Mapped[int | None] = mapped_column(Integer)  # -1 = the year before
    equal_split_percent: Mapped[Decimal | None] = mapped_column(
        Numeric(5, 2)
    )  # x % equal, rest by population
    include_host: Mapped[bool] = mapped_column(Boolean, default=True)  # the host carries its own share
    # usage share
    usage_measure: Mapped[UsageMeasure | None] = mapped_column(portable_enum(UsageMeasure, "usage_measure"))
    # shared role
    shared_role_id: Mapped[int | None] = mapped_column(ForeignKey("shared_roles.id", ondelete="RESTRICT"))
    # preliminary billing with year-end reconciliation
    share_basis: Mapped[ShareBasis | None] = mapped_column(portable_enum(ShareBasis, "share_basis"))
    reconciliation_deadline_month: Mapped[int | None] = mapped_column(Integer)  # in the following year
    reconciliation_deadline_day: Mapped[int | None] = mapped_column(Integer)
    reconciliation_threshold: Mapped[Decimal | None] = mapped_column(
        Numeric(14, 2)
    )  # smaller differences are not invoiced

    version: Mapped[ContractVersion] = relationship(back_populates="components")
    service_type: Mapped[ContractServiceType] = relationship()
    buyer: Mapped[Municipality | None] = relationship()
    shared_role: Mapped[SharedRole | None] = relationship()
    prices: Mapped[list[ContractPrice]] = relationship(
        back_populates="component",
        cascade="all, delete-orphan",
        order_by="(ContractPrice.year, ContractPrice.case_type)",
    )
    fixed_shares: Mapped[list[ContractFixedShare]] = relationship(
        back_populates="component",
        cascade="all, delete-orphan",
        order_by="ContractFixedShare.municipality_id",
    )

    @property
    def model_label(self) -> str:
        return COMPENSATION_MODEL_LABELS[self.model]


class _ComponentChild(_VersionChild):
    def _audit_version(self):
        component = _loaded_or_former(self, "component")
        return _loaded_or_former(component, "version") if component is not None else None


class ContractPrice(_ComponentChild, Base):
    """A price of a component for one year (per case type for per-case fees). What the amount means
    depends on the model (contracts.models.PRICE_MEANING)."""

    __tablename__ = "contract_prices"
    __table_args__ = (
        UniqueConstraint(
            "component_id", "year", "case_type", name="uq_contract_prices_component_year_case_type"
        ),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("year >= 1900 AND year <= 2200", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(
        ForeignKey("contract_components.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int] = mapped_column(Integer)
    case_type: Mapped[str] = mapped_column(String(100), default="")  # "" unless per-case
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))

    component: Mapped[CompensationComponent] = relationship(back_populates="prices")


class ContractFixedShare(_ComponentChild, Base):
    """An agreed share (percent) of a municipality, for preliminary billing on agreed shares."""

    __tablename__ = "contract_fixed_shares"
    __table_args__ = (
        UniqueConstraint(
            "component_id", "municipality_id", name="uq_contract_fixed_shares_component_municipality"
        ),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(
        ForeignKey("contract_components.id", ondelete="CASCADE"), index=True
    )
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="RESTRICT"))
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))

    component: Mapped[CompensationComponent] = relationship(back_populates="fixed_shares")
    municipality: Mapped[Municipality] = relationship()


class ContractBuyerTerms(_VersionChild, Base):
    """Invoicing terms per buying municipality: the buyer reference (Peppol BT-10, "Er referens")."""

    __tablename__ = "contract_buyer_terms"
    __table_args__ = (
        UniqueConstraint(
            "version_id", "municipality_id", name="uq_contract_buyer_terms_version_municipality"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("contract_versions.id", ondelete="CASCADE"), index=True
    )
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="RESTRICT"))
    buyer_reference: Mapped[str] = mapped_column(String(100))

    version: Mapped[ContractVersion] = relationship(back_populates="buyer_terms")
    municipality: Mapped[Municipality] = relationship()


class ContractPriceIndexation(_VersionChild, Base):
    """One price produced by applying an index: the reviewable change (old price, index, new price,
    rounding). The index value's percent and status at the time are kept, so a later revision of a
    preliminary value shows as an adjustment billing can pick up (contracts.indexing)."""

    __tablename__ = "contract_price_indexations"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("contract_versions.id", ondelete="CASCADE"), index=True
    )
    price_id: Mapped[int] = mapped_column(ForeignKey("contract_prices.id", ondelete="CASCADE"), unique=True)
    index_value_id: Mapped[int] = mapped_column(
        ForeignKey("index_values.id", ondelete="RESTRICT"), index=True
    )
    old_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    percent: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    index_status: Mapped[IndexStatus] = mapped_column(portable_enum(IndexStatus, "indexation_index_status"))
    rounding: Mapped[Rounding] = mapped_column(portable_enum(Rounding, "indexation_rounding"))
    new_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[ContractVersion] = relationship(back_populates="price_indexations")
    price: Mapped[ContractPrice] = relationship()
    index_value: Mapped[IndexValue] = relationship()


class DocumentKind(enum.StrEnum):
    SIGNED_SCAN = "signed_scan"
    PUB_AGREEMENT = "pub_agreement"
    COST_CALCULATION = "cost_calculation"
    OTHER = "other"


DOCUMENT_KIND_LABELS = {
    DocumentKind.SIGNED_SCAN: "Underskrivet avtal (skannat)",
    DocumentKind.PUB_AGREEMENT: "Personuppgiftsbiträdesavtal / avtal om gemensamt ansvar",
    DocumentKind.COST_CALCULATION: "Kostnadskalkyl",
    DocumentKind.OTHER: "Övrig bilaga",
}


class ContractVersionDocument(_VersionChild, Base):
    """An attachment of the agreement (bytes and sha256 in registry's agreement_attachments) linked to
    a version with its role. Signed scans may be linked after approval; nothing else may."""

    __tablename__ = "contract_version_documents"
    __table_args__ = (
        UniqueConstraint(
            "version_id", "attachment_id", name="uq_contract_version_documents_version_attachment"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("contract_versions.id", ondelete="CASCADE"), index=True
    )
    attachment_id: Mapped[int] = mapped_column(ForeignKey("agreement_attachments.id", ondelete="RESTRICT"))
    kind: Mapped[DocumentKind] = mapped_column(portable_enum(DocumentKind, "document_kind"))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[ContractVersion] = relationship(back_populates="documents")
    attachment: Mapped[AgreementAttachment] = relationship()
    added_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return DOCUMENT_KIND_LABELS[self.kind]


class ReviewSection(enum.StrEnum):
    CHECKLIST = "checklist"
    HAMBURG = "hamburg"


class ReviewStatus(enum.StrEnum):
    OK = "ok"
    MISSING = "missing"
    DEVIATING = "deviating"
    NOT_APPLICABLE = "not_applicable"


REVIEW_STATUS_LABELS = {
    ReviewStatus.OK: "OK",
    ReviewStatus.MISSING: "Saknas",
    ReviewStatus.DEVIATING: "Avvikande",
    ReviewStatus.NOT_APPLICABLE: "Ej tillämplig",
}


class ContractReviewRow(_VersionChild, Base):
    """One row of a version's legal review: a checklist row or a Hamburg criterion (with a yes/no
    answer). The label is copied from the checklist data file, so a later edit of the file does not
    change what a reviewer signed. `auto_ok`/`auto_detail` hold the system's pre-check, if any."""

    __tablename__ = "contract_review_rows"
    __table_args__ = (UniqueConstraint("version_id", "key", name="uq_contract_review_rows_version_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("contract_versions.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(60))
    section: Mapped[ReviewSection] = mapped_column(portable_enum(ReviewSection, "review_section"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(300))
    status: Mapped[ReviewStatus | None] = mapped_column(portable_enum(ReviewStatus, "review_status"))
    answer: Mapped[bool | None] = mapped_column(Boolean)  # Hamburg criteria: is it fulfilled?
    comment: Mapped[str | None] = mapped_column(Text)  # the justification
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    auto_ok: Mapped[bool | None] = mapped_column(Boolean)
    auto_detail: Mapped[str | None] = mapped_column(Text)
    auto_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    version: Mapped[ContractVersion] = relationship(back_populates="review_rows")
    reviewed_by: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return REVIEW_STATUS_LABELS[self.status] if self.status else "Ej bedömd"
