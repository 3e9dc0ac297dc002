"""Tables of contracts: the index values register (PKV, OPI, KPI, AKI per year) and its revisions.

Index values are public reference data (published by SKR and SCB), not tenant data: they belong to
no municipality. A value is changed only through a revision row, so billing can find every change
of a preliminary value (the adjustment it owes) and nothing is rewritten silently.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from core.models import User, portable_enum


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
