"""Tables of billing: performed services (and their imports), invoice series, invoice runs, invoices
and credit notes with their lines, the link that bills a performed service at most once, stored
documents (PDF and Peppol XML with sha256), and each municipality's accounting configuration for SIE.

Rules the database holds (ARCHITECTURE.md, "Billing rules that must never bend"):
- an issued invoice has a number, a draft has none; (series, number) is unique;
- one invoice per agreement + buyer + period + charge + VAT group (re-runs replace drafts, never add);
- a performed service is linked to at most one invoice line (unique key);
- issued documents are immutable (billing.guards and triggers in the migration).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.models import ContractVersion, ServiceUnit, VatCategory
from core.db import Base, UTCDateTime, utcnow
from core.models import Municipality, User, portable_enum
from registry.models import Agreement, CaseTransfer, SharedRole

# --- Performed services -----------------------------------------------------------------------------


class ServiceImport(Base):
    """One imported CSV file. The sha256 of its bytes is unique per performing municipality, so the same
    file imported twice is detected. An import is atomic: all rows or none."""

    __tablename__ = "service_imports"
    __table_args__ = (
        UniqueConstraint("municipality_id", "sha256", name="uq_service_imports_municipality_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    imported_by: Mapped[User | None] = relationship()


class PerformedService(Base):
    """A service the performing municipality did for a buyer under an agreement: hours, cases, days,
    kilometres or an outlay in kronor. Attested by finance before it can be billed."""

    __tablename__ = "performed_services"
    __table_args__ = (
        CheckConstraint("performing_municipality_id <> buying_municipality_id", name="different_parties"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("(attested_at IS NULL) = (attested_by_id IS NULL)", name="attest_complete"),
        Index("ix_performed_services_agreement_date", "agreement_id", "service_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="RESTRICT"))
    case_transfer_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_transfers.id", ondelete="RESTRICT"), index=True
    )
    shared_role_id: Mapped[int | None] = mapped_column(ForeignKey("shared_roles.id", ondelete="RESTRICT"))
    service_date: Mapped[dt.date] = mapped_column(Date)
    performing_municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT")
    )
    buying_municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    service_type_code: Mapped[str] = mapped_column(String(40))  # a service type of the terms in force
    case_type: Mapped[str] = mapped_column(String(100), default="")  # per-case price lists
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit: Mapped[ServiceUnit] = mapped_column(portable_enum(ServiceUnit, "performed_unit"))
    note: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_imports.id", ondelete="RESTRICT"), index=True
    )
    import_row: Mapped[int | None] = mapped_column(Integer)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    agreement: Mapped[Agreement] = relationship()
    case_transfer: Mapped[CaseTransfer | None] = relationship()
    shared_role: Mapped[SharedRole | None] = relationship()
    performing_municipality: Mapped[Municipality] = relationship(foreign_keys=[performing_municipality_id])
    buying_municipality: Mapped[Municipality] = relationship(foreign_keys=[buying_municipality_id])
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])
    attested_by: Mapped[User | None] = relationship(foreign_keys=[attested_by_id])
    service_import: Mapped[ServiceImport | None] = relationship()

    def audit_municipality_id(self) -> int | None:
        return self.performing_municipality_id

    def audit_municipality_ids(self) -> set[int]:
        return {m for m in (self.performing_municipality_id, self.buying_municipality_id) if m is not None}


# --- Series, runs, invoices -------------------------------------------------------------------------


class InvoiceSeries(Base):
    """A seller's numbering series. Its row is locked FOR UPDATE when a number is taken, in the same
    transaction that marks the invoice issued: gapless, never reused."""

    __tablename__ = "invoice_series"
    __table_args__ = (
        UniqueConstraint("municipality_id", "code", name="uq_invoice_series_municipality_code"),
        CheckConstraint("last_number >= 0", name="last_number_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


PERIOD_KIND_LABELS = {PeriodKind.MONTH: "Månad", PeriodKind.QUARTER: "Kvartal", PeriodKind.YEAR: "År"}


class RunStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    ISSUED = "issued"


RUN_STATUS_LABELS = {
    RunStatus.DRAFT: "Förhandsgranskning",
    RunStatus.APPROVED: "Godkänd",
    RunStatus.ISSUED: "Utfärdad",
}


class InvoiceRun(Base):
    """An invoice run for a period, optionally limited to one agreement, for one seller municipality."""

    __tablename__ = "invoice_runs"
    __table_args__ = (CheckConstraint("period_end >= period_start", name="period_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    period_kind: Mapped[PeriodKind] = mapped_column(portable_enum(PeriodKind, "period_kind"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id", ondelete="RESTRICT"))
    buyer_municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT")
    )
    status: Mapped[RunStatus] = mapped_column(portable_enum(RunStatus, "run_status"), default=RunStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    computed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What pricing could not price at the last computation (billing.pricing.PricingProblem as dicts:
    # agreement_id, buyer_municipality_id, message), shown in the preview until recomputed.
    problems: Mapped[list[dict] | None] = mapped_column(JSON)

    seller: Mapped[Municipality] = relationship(foreign_keys=[seller_municipality_id])
    agreement: Mapped[Agreement | None] = relationship()
    invoices: Mapped[list[Invoice]] = relationship(back_populates="run", order_by="Invoice.id")

    def audit_municipality_id(self) -> int | None:
        return self.seller_municipality_id


class InvoiceKind(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


INVOICE_KIND_LABELS = {InvoiceKind.INVOICE: "Faktura", InvoiceKind.CREDIT_NOTE: "Kreditfaktura"}


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    ISSUED = "issued"


INVOICE_STATUS_LABELS = {
    InvoiceStatus.DRAFT: "Utkast",
    InvoiceStatus.APPROVED: "Godkänd",
    InvoiceStatus.ISSUED: "Utfärdad",
}


class ChargeKind(enum.StrEnum):
    """What an invoice charges for; part of the key that makes a run idempotent."""

    SERVICES = "services"  # performed services, fixed fees, shares and preliminary amounts of the period
    INDEX_ADJUSTMENT = "index_adjustment"  # a revised preliminary index
    RECONCILIATION = "reconciliation"  # year-end avräkning


class VatGroup(enum.StrEnum):
    """Category O lines never share an invoice with other categories (DOMAIN.md)."""

    OUTSIDE_SCOPE = "O"
    OTHER = "other"


class Invoice(Base):
    """An invoice or credit note from a seller (the performing municipality) to a buyer.

    Drafts have no number. Issuing assigns the series' next number, the issue and due dates and the OCR
    reference, stores the PDF and the Peppol XML, and freezes the row (billing.guards)."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("series_id", "number", name="uq_invoices_series_number"),
        # Idempotent runs: one invoice per agreement, buyer, period, charge and VAT group.
        Index(
            "uq_invoices_billing_key",
            "agreement_id",
            "buyer_municipality_id",
            "period_start",
            "period_end",
            "charge_kind",
            "vat_group",
            unique=True,
            postgresql_where=text("kind = 'invoice'"),
            sqlite_where=text("kind = 'invoice'"),
        ),
        CheckConstraint("(status = 'issued') = (number IS NOT NULL)", name="number_iff_issued"),
        CheckConstraint(
            "status <> 'issued' OR (issue_date IS NOT NULL AND due_date IS NOT NULL)", name="issued_dates"
        ),
        CheckConstraint(
            "(kind = 'credit_note') = (original_invoice_id IS NOT NULL)", name="credit_note_has_original"
        ),
        CheckConstraint("seller_municipality_id <> buyer_municipality_id", name="different_parties"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("total_amount = net_amount + vat_amount", name="total_is_net_plus_vat"),
        Index("ix_invoices_seller_status", "seller_municipality_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_runs.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[InvoiceKind] = mapped_column(
        portable_enum(InvoiceKind, "invoice_kind"), default=InvoiceKind.INVOICE
    )
    charge_kind: Mapped[ChargeKind] = mapped_column(portable_enum(ChargeKind, "charge_kind"))
    vat_group: Mapped[VatGroup] = mapped_column(portable_enum(VatGroup, "vat_group"))
    status: Mapped[InvoiceStatus] = mapped_column(
        portable_enum(InvoiceStatus, "invoice_status"), default=InvoiceStatus.DRAFT
    )
    seller_municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="RESTRICT"))
    buyer_municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="RESTRICT"), index=True)
    contract_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_versions.id", ondelete="RESTRICT")
    )
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_series.id", ondelete="RESTRICT"))
    number: Mapped[int | None] = mapped_column(Integer)
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    ocr: Mapped[str | None] = mapped_column(String(25))
    buyer_reference: Mapped[str | None] = mapped_column(String(100))  # "Er referens", Peppol BT-10
    currency: Mapped[str] = mapped_column(String(3), default="SEK")
    net_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))
    vat_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))
    total_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))
    original_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    credit_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Payment is the one thing that changes after issue (billing.guards allows only these two).
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    paid_marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    run: Mapped[InvoiceRun | None] = relationship(back_populates="invoices")
    seller: Mapped[Municipality] = relationship(foreign_keys=[seller_municipality_id])
    buyer: Mapped[Municipality] = relationship(foreign_keys=[buyer_municipality_id])
    agreement: Mapped[Agreement] = relationship()
    contract_version: Mapped[ContractVersion | None] = relationship()
    series: Mapped[InvoiceSeries | None] = relationship()
    original: Mapped[Invoice | None] = relationship(remote_side="Invoice.id")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice",
        cascade="all, delete-orphan",
        order_by="(InvoiceLine.position, InvoiceLine.id)",
    )
    documents: Mapped[list[InvoiceDocument]] = relationship(
        back_populates="invoice", order_by="InvoiceDocument.id"
    )

    def audit_municipality_id(self) -> int | None:
        return self.seller_municipality_id

    def audit_municipality_ids(self) -> set[int]:
        return {m for m in (self.seller_municipality_id, self.buyer_municipality_id) if m is not None}

    @property
    def is_issued(self) -> bool:
        return self.status == InvoiceStatus.ISSUED

    @property
    def display_number(self) -> str | None:
        if self.number is None or self.series is None:
            return None
        return f"{self.series.code}{self.number}"


class InvoiceLine(Base):
    """One line: quantity x unit price = amount (rounded half-up to öre), with the words that explain
    how it was computed so the buyer can check it, and the VAT category, rate and exemption reason
    taken from the contract's service type (billing never guesses VAT)."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("vat_rate >= 0 AND vat_rate <= 100", name="vat_rate_range"),
        CheckConstraint("vat_category = 'S' OR vat_rate = 0", name="zero_rate_unless_standard"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    service_type_code: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(300))
    computation: Mapped[str] = mapped_column(Text)  # e.g. "12,25 h × 1 120,00 kr"
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit: Mapped[ServiceUnit] = mapped_column(portable_enum(ServiceUnit, "line_unit"))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    vat_category: Mapped[VatCategory] = mapped_column(portable_enum(VatCategory, "line_vat_category"))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    vat_exemption_reason_code: Mapped[str | None] = mapped_column(String(40))
    vat_exemption_reason: Mapped[str | None] = mapped_column(String(300))
    credited_line_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_lines.id", ondelete="RESTRICT"))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    services: Mapped[list[BilledService]] = relationship(back_populates="line", cascade="all, delete-orphan")
    charges: Mapped[list[BilledCharge]] = relationship(back_populates="line", cascade="all, delete-orphan")

    def audit_municipality_id(self) -> int | None:
        invoice = self.__dict__.get("invoice")
        return invoice.audit_municipality_id() if invoice is not None else None

    def audit_municipality_ids(self) -> set[int]:
        invoice = self.__dict__.get("invoice")
        return invoice.audit_municipality_ids() if invoice is not None else set()


class BilledService(Base):
    """A performed service billed on a line. The primary key on the service makes "billed at most once"
    a database rule: a re-run deletes its drafts (and these rows) before billing again."""

    __tablename__ = "billed_services"
    __audit__ = False  # derivable from the lines, and there can be a million of them per year

    performed_service_id: Mapped[int] = mapped_column(
        ForeignKey("performed_services.id", ondelete="RESTRICT"), primary_key=True
    )
    invoice_line_id: Mapped[int] = mapped_column(
        ForeignKey("invoice_lines.id", ondelete="CASCADE"), index=True
    )

    line: Mapped[InvoiceLine] = relationship(back_populates="services")


class BilledCharge(Base):
    """A periodic charge (a fixed fee period, a share of a cost for an invoicing period, a shared role's
    months, a preliminary amount) billed on a line. The unique key makes "billed at most once" a database
    rule for periodic charges too, whichever run (monthly, quarterly, yearly) bills it first."""

    __tablename__ = "billed_charges"
    __table_args__ = (
        UniqueConstraint(
            "agreement_id",
            "buyer_municipality_id",
            "charge_key",
            "charge_period_start",
            name="uq_billed_charges_agreement_buyer_key_start",
        ),
        CheckConstraint("charge_period_end >= charge_period_start", name="period_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_line_id: Mapped[int] = mapped_column(
        ForeignKey("invoice_lines.id", ondelete="CASCADE"), index=True
    )
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="RESTRICT"))
    buyer_municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="RESTRICT"))
    charge_key: Mapped[str] = mapped_column(String(120))  # e.g. "fixed_fee:avgift"
    charge_period_start: Mapped[dt.date] = mapped_column(Date)
    charge_period_end: Mapped[dt.date] = mapped_column(Date)

    line: Mapped[InvoiceLine] = relationship(back_populates="charges")

    def audit_municipality_id(self) -> int | None:
        return self.buyer_municipality_id


class DocumentFormat(enum.StrEnum):
    PDF = "pdf"
    PEPPOL = "peppol"


class InvoiceDocument(Base):
    """The PDF or Peppol XML of an issued invoice, rendered once at issue; downloads serve these bytes."""

    __tablename__ = "invoice_documents"
    __audit_redact__ = frozenset({"content"})
    __table_args__ = (UniqueConstraint("invoice_id", "format", name="uq_invoice_documents_invoice_format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"))
    format: Mapped[DocumentFormat] = mapped_column(portable_enum(DocumentFormat, "invoice_document_format"))
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="documents")

    def audit_municipality_id(self) -> int | None:
        invoice = self.__dict__.get("invoice")
        return invoice.audit_municipality_id() if invoice is not None else None


# --- Accounting configuration (SIE) ------------------------------------------------------------------


class AccountingSettings(Base):
    """A municipality's chart-of-accounts choices for the SIE export (Kommun-Bas differs per
    municipality: nothing here is a constant in code)."""

    __tablename__ = "accounting_settings"

    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True
    )
    receivable_account: Mapped[str] = mapped_column(String(10))  # kundfordringar, e.g. 1510
    revenue_account: Mapped[str] = mapped_column(String(10))  # default intäktskonto
    output_vat_account: Mapped[str] = mapped_column(String(10))  # utgående moms 25 %, e.g. 2611
    voucher_series: Mapped[str] = mapped_column(String(10), default="F")
    counterparty_dimension: Mapped[int | None] = mapped_column(Integer)  # e.g. 6 = motpart
    counterparty_dimension_name: Mapped[str | None] = mapped_column(String(60))
    responsibility_dimension: Mapped[int | None] = mapped_column(Integer)  # e.g. 1 = ansvar
    responsibility_dimension_name: Mapped[str | None] = mapped_column(String(60))
    responsibility_code: Mapped[str | None] = mapped_column(String(20))


class RevenueAccount(Base):
    """The revenue account for a service type code, per municipality (else the default)."""

    __tablename__ = "revenue_accounts"
    __table_args__ = (
        UniqueConstraint(
            "municipality_id", "service_type_code", name="uq_revenue_accounts_municipality_code"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="CASCADE"))
    service_type_code: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(10))


class CounterpartyCode(Base):
    """The counterparty (motpart) code a municipality's accounts use for another municipality."""

    __tablename__ = "counterparty_codes"
    __table_args__ = (
        UniqueConstraint(
            "municipality_id",
            "counterparty_municipality_id",
            name="uq_counterparty_codes_municipality_counterparty",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="CASCADE"))
    counterparty_municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# --- Annual follow-up, reported cost, year-end reconciliation (issue #6) -----------------------------


class ReportedCost(Base):
    """The host's reported actual cost (verklig kostnad) of an agreement's activity for a calendar year:
    the basis of the year-end reconciliation of preliminary billing and of the cost-coverage check
    (self-cost principle) in the annual follow-up. Locked once a reconciliation on it is issued or a
    follow-up quoting it is sent (billing.guards)."""

    __tablename__ = "reported_costs"
    __table_args__ = (
        UniqueConstraint("agreement_id", "year", name="uq_reported_costs_agreement_year"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="RESTRICT"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    note: Mapped[str | None] = mapped_column(Text)  # what the cost includes, the source (bokslut)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    agreement: Mapped[Agreement] = relationship()
    reported_by: Mapped[User | None] = relationship()

    def audit_municipality_id(self) -> int | None:
        agreement = self.agreement
        return agreement.audit_municipality_id() if agreement is not None else None

    def audit_municipality_ids(self) -> set[int]:
        agreement = self.agreement
        return agreement.audit_municipality_ids() if agreement is not None else set()


class ReconciliationStatus(enum.StrEnum):
    PROPOSED = "proposed"  # computed; its invoices and credit notes are drafts
    ISSUED = "issued"  # finance approved: the documents went through billing's issue path


RECONCILIATION_STATUS_LABELS = {
    ReconciliationStatus.PROPOSED: "Förslag",
    ReconciliationStatus.ISSUED: "Utfärdad",
}


class Reconciliation(Base):
    """The year-end reconciliation (avräkning) of one preliminary-billing component of an agreement:
    actual cost x final share per buyer against what was invoiced preliminarily for the year. The
    differences become draft invoices (positive) or credit notes (negative) of charge kind
    `reconciliation`; differences within the terms' threshold are recorded but not invoiced."""

    __tablename__ = "reconciliations"
    __table_args__ = (
        UniqueConstraint("agreement_id", "year", "component_id", name="uq_reconciliations_key"),
        CheckConstraint("actual_cost >= 0", name="actual_cost_not_negative"),
        CheckConstraint("status = 'proposed' OR (approved_at IS NOT NULL)", name="issued_has_approval"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="RESTRICT"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    component_id: Mapped[int] = mapped_column(ForeignKey("contract_components.id", ondelete="RESTRICT"))
    contract_version_id: Mapped[int] = mapped_column(ForeignKey("contract_versions.id", ondelete="RESTRICT"))
    actual_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    threshold: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    basis_text: Mapped[str] = mapped_column(Text)  # how the final shares were computed
    status: Mapped[ReconciliationStatus] = mapped_column(
        portable_enum(ReconciliationStatus, "reconciliation_status"), default=ReconciliationStatus.PROPOSED
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    agreement: Mapped[Agreement] = relationship()
    contract_version: Mapped[ContractVersion] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    rows: Mapped[list[ReconciliationRow]] = relationship(
        back_populates="reconciliation",
        cascade="all, delete-orphan",
        order_by="ReconciliationRow.id",
    )

    def audit_municipality_id(self) -> int | None:
        agreement = self.agreement
        return agreement.audit_municipality_id() if agreement is not None else None

    def audit_municipality_ids(self) -> set[int]:
        agreement = self.agreement
        return agreement.audit_municipality_ids() if agreement is not None else set()


class ReconciliationRow(Base):
    """One buyer's result: final share and amount, invoiced preliminarily, the difference, and the
    draft (later issued) invoice or credit note that settles it (none within the threshold)."""

    __tablename__ = "reconciliation_rows"
    __table_args__ = (
        UniqueConstraint("reconciliation_id", "buyer_municipality_id", name="uq_reconciliation_rows_buyer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reconciliation_id: Mapped[int] = mapped_column(
        ForeignKey("reconciliations.id", ondelete="CASCADE"), index=True
    )
    buyer_municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="RESTRICT"))
    share: Mapped[Decimal] = mapped_column(Numeric(14, 10))  # 0.2500000000 = 25 %
    share_text: Mapped[str] = mapped_column(String(300))  # e.g. "invånare 12 345 av 98 765 (2025)"
    final_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    invoiced_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    difference: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # final - invoiced; > 0: invoice
    within_threshold: Mapped[bool] = mapped_column(Boolean, default=False)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))

    reconciliation: Mapped[Reconciliation] = relationship(back_populates="rows")
    buyer: Mapped[Municipality] = relationship()
    invoice: Mapped[Invoice | None] = relationship()

    def audit_municipality_id(self) -> int | None:
        reconciliation = self.reconciliation
        return reconciliation.audit_municipality_id() if reconciliation is not None else None

    def audit_municipality_ids(self) -> set[int]:
        reconciliation = self.reconciliation
        return reconciliation.audit_municipality_ids() if reconciliation is not None else set()


class FollowupStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"  # frozen: the snapshot (figures + PDF with sha256) never changes


FOLLOWUP_STATUS_LABELS = {FollowupStatus.DRAFT: "Utkast", FollowupStatus.SENT: "Skickad"}


class Recommendation(enum.StrEnum):
    CONTINUE = "continue"
    RENEGOTIATE = "renegotiate"
    TERMINATE = "terminate"


RECOMMENDATION_LABELS = {
    Recommendation.CONTINUE: "Fortsätta samverkan",
    Recommendation.RENEGOTIATE: "Omförhandla avtalet",
    Recommendation.TERMINATE: "Säga upp avtalet",
}


class AnnualFollowup(Base):
    """The annual follow-up (årlig uppföljning) of one agreement and calendar year. The figures are
    computed from the data while it is a draft; sending it freezes them with the PDF (sha256) in the
    row, after which nothing in it changes (billing.guards, triggers in migration 0006)."""

    __tablename__ = "annual_followups"
    __table_args__ = (
        UniqueConstraint("agreement_id", "year", name="uq_annual_followups_agreement_year"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        CheckConstraint(
            "status = 'draft' OR (sent_at IS NOT NULL AND snapshot_sha256 IS NOT NULL "
            "AND snapshot_pdf IS NOT NULL AND snapshot_figures IS NOT NULL AND recommendation IS NOT NULL)",
            name="sent_has_snapshot",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="RESTRICT"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[FollowupStatus] = mapped_column(
        portable_enum(FollowupStatus, "followup_status"), default=FollowupStatus.DRAFT
    )
    quality_text: Mapped[str | None] = mapped_column(Text)  # kvalitet
    complaints_text: Mapped[str | None] = mapped_column(Text)  # klagomål
    deviations_text: Mapped[str | None] = mapped_column(Text)  # avvikelser
    lex_sarah_text: Mapped[str | None] = mapped_column(Text)  # lex Sarah-rapporter
    recommendation: Mapped[Recommendation | None] = mapped_column(
        portable_enum(Recommendation, "followup_recommendation")
    )
    recommendation_text: Mapped[str | None] = mapped_column(Text)  # motivering
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_to: Mapped[str | None] = mapped_column(String(300))  # e.g. "Socialnämnden i Ale, Göteborgs ..."
    snapshot_figures: Mapped[dict | None] = mapped_column(JSON)  # the figures as sent (JSON-safe)
    snapshot_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    snapshot_size: Mapped[int | None] = mapped_column(Integer)

    agreement: Mapped[Agreement] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    sent_by: Mapped[User | None] = relationship(foreign_keys=[sent_by_id])

    __audit_redact__ = frozenset({"snapshot_pdf"})

    @property
    def is_sent(self) -> bool:
        return self.status == FollowupStatus.SENT

    def audit_municipality_id(self) -> int | None:
        agreement = self.agreement
        return agreement.audit_municipality_id() if agreement is not None else None

    def audit_municipality_ids(self) -> set[int]:
        agreement = self.agreement
        return agreement.audit_municipality_ids() if agreement is not None else set()
