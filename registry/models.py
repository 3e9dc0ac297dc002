"""Tables of the registry: agreements and their parties and attachments, shared roles with cost
allocations, case transfers with their events and insight log, decisions and the IVO watch."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
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

from core.db import Base, UTCDateTime, utcnow
from core.models import Municipality, User, portable_enum


class AgreementStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RENEGOTIATION = "under_renegotiation"
    TERMINATED = "terminated"
    EXPIRED = "expired"


AGREEMENT_STATUS_LABELS = {
    AgreementStatus.DRAFT: "Utkast",
    AgreementStatus.ACTIVE: "Gällande",
    AgreementStatus.RENEGOTIATION: "Under omförhandling",
    AgreementStatus.TERMINATED: "Uppsagt",
    AgreementStatus.EXPIRED: "Upphört",
}

# The only legal moves; everything else is refused with IllegalTransition.
AGREEMENT_TRANSITIONS: dict[AgreementStatus, frozenset[AgreementStatus]] = {
    AgreementStatus.DRAFT: frozenset({AgreementStatus.ACTIVE}),
    AgreementStatus.ACTIVE: frozenset(
        {AgreementStatus.RENEGOTIATION, AgreementStatus.TERMINATED, AgreementStatus.EXPIRED}
    ),
    AgreementStatus.RENEGOTIATION: frozenset(
        {AgreementStatus.ACTIVE, AgreementStatus.TERMINATED, AgreementStatus.EXPIRED}
    ),
    AgreementStatus.TERMINATED: frozenset(),
    AgreementStatus.EXPIRED: frozenset(),
}


class Area(enum.StrEnum):
    FAMILJERATT = "familjeratt"
    JAV = "javsarenden"
    FAMILJEHEM = "familjehemsrekrytering"
    SOCIALJOUR = "socialjour"
    SOCIALCHEF = "gemensam_socialchef"
    BARN_UNGA = "barn_och_unga"
    VUXEN = "vuxen"
    EKONOMISKT_BISTAND = "ekonomiskt_bistand"
    LSS = "lss"
    OTHER = "annat"


AREA_LABELS = {
    Area.FAMILJERATT: "Familjerätt",
    Area.JAV: "Jävsärenden",
    Area.FAMILJEHEM: "Familjehemsrekrytering",
    Area.SOCIALJOUR: "Socialjour",
    Area.SOCIALCHEF: "Gemensam socialchef",
    Area.BARN_UNGA: "Barn och unga",
    Area.VUXEN: "Vuxen",
    Area.EKONOMISKT_BISTAND: "Ekonomiskt bistånd",
    Area.LSS: "LSS",
    Area.OTHER: "Annat",
}


class CooperationForm(enum.StrEnum):
    AVTALSSAMVERKAN = "avtalssamverkan"
    GEMENSAM_NAMND = "gemensam_namnd"
    KOMMUNALFORBUND = "kommunalforbund"
    TIMANSTALLD = "timanstalld_handlaggare"
    KONSULT = "konsult"


COOPERATION_FORM_LABELS = {
    CooperationForm.AVTALSSAMVERKAN: "Avtalssamverkan",
    CooperationForm.GEMENSAM_NAMND: "Gemensam nämnd",
    CooperationForm.KOMMUNALFORBUND: "Kommunalförbund",
    CooperationForm.TIMANSTALLD: "Timanställd handläggare",
    CooperationForm.KONSULT: "Konsult",
}


class PartyRole(enum.StrEnum):
    HOST = "host"  # utförare
    BUYER = "buyer"  # köpare


PARTY_ROLE_LABELS = {PartyRole.HOST: "Utförare (värdkommun)", PartyRole.BUYER: "Köpare"}


class Agreement(Base):
    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint("renewal_months IS NULL OR renewal_months > 0", name="renewal_positive"),
        CheckConstraint("notice_months IS NULL OR notice_months >= 0", name="notice_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    area: Mapped[Area] = mapped_column(portable_enum(Area, "area"))
    cooperation_form: Mapped[CooperationForm] = mapped_column(
        portable_enum(CooperationForm, "cooperation_form")
    )
    legal_basis: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    renewal_months: Mapped[int | None] = mapped_column(Integer)
    notice_months: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status: Mapped[AgreementStatus] = mapped_column(
        portable_enum(AgreementStatus, "agreement_status"), default=AgreementStatus.DRAFT
    )
    termination_reason: Mapped[str | None] = mapped_column(Text)
    termination_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[User | None] = relationship()
    parties: Mapped[list[AgreementParty]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", order_by="AgreementParty.id"
    )
    attachments: Mapped[list[AgreementAttachment]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", order_by="AgreementAttachment.id"
    )

    def audit_municipality_id(self) -> int | None:
        # The host's auditors read agreement-level entries; each party row is also logged under its
        # own municipality. Only already-loaded parties are read: no lazy load inside a flush.
        parties = self.__dict__.get("parties") or []
        host = next((p for p in parties if p.role == PartyRole.HOST), None)
        return host.municipality_id if host else None

    def audit_municipality_ids(self) -> set[int]:
        return {
            p.municipality_id for p in self.__dict__.get("parties") or [] if p.municipality_id is not None
        }

    @property
    def host(self) -> AgreementParty | None:
        return next((p for p in self.parties if p.role == PartyRole.HOST), None)

    @property
    def buyers(self) -> list[AgreementParty]:
        return [p for p in self.parties if p.role == PartyRole.BUYER]

    @property
    def party_municipality_ids(self) -> set[int]:
        return {p.municipality_id for p in self.parties}


class AgreementParty(Base):
    __tablename__ = "agreement_parties"
    __table_args__ = (
        UniqueConstraint(
            "agreement_id", "municipality_id", name="uq_agreement_parties_agreement_municipality"
        ),
        # One host (performing municipality) per agreement.
        Index(
            "uq_agreement_parties_one_host",
            "agreement_id",
            unique=True,
            postgresql_where=text("role = 'host'"),
            sqlite_where=text("role = 'host'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    role: Mapped[PartyRole] = mapped_column(portable_enum(PartyRole, "party_role"))
    board: Mapped[str | None] = mapped_column(String(200))  # ansvarig nämnd
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    decision_reference: Mapped[str | None] = mapped_column(String(100))  # protokoll §
    decision_date: Mapped[dt.date | None] = mapped_column(Date)

    agreement: Mapped[Agreement] = relationship(back_populates="parties")
    municipality: Mapped[Municipality] = relationship()

    def audit_municipality_id(self) -> int | None:
        return self.municipality_id


class AgreementAttachment(Base):
    """A signed agreement, protocol extract or appendix; bytes kept in the database with their sha256."""

    __tablename__ = "agreement_attachments"
    __audit_redact__ = frozenset({"content"})
    __table_args__ = (CheckConstraint("size_bytes > 0", name="not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    description: Mapped[str | None] = mapped_column(String(200))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    agreement: Mapped[Agreement] = relationship(back_populates="attachments")

    def audit_municipality_id(self) -> int | None:
        agreement = self.__dict__.get("agreement")
        return agreement.audit_municipality_id() if agreement is not None else None

    def audit_municipality_ids(self) -> set[int]:
        agreement = self.__dict__.get("agreement")
        return agreement.audit_municipality_ids() if agreement is not None else set()


class SharedRole(Base):
    """A position employed by one municipality and paid for by several (e.g. a shared social director)."""

    __tablename__ = "shared_roles"
    __table_args__ = (
        CheckConstraint("period_end IS NULL OR period_end >= period_start", name="period_order"),
        CheckConstraint("salary_per_month >= 0", name="salary_not_negative"),
        CheckConstraint("po_percent >= 0 AND po_percent <= 100", name="po_percent_range"),
        CheckConstraint("overhead_per_month >= 0", name="overhead_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    employer_municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT")
    )
    holder_name: Mapped[str | None] = mapped_column(String(200))  # an employee, never a client
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    salary_per_month: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    po_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))  # personalomkostnadspålägg
    overhead_per_month: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))
    delegations: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    employer: Mapped[Municipality] = relationship()
    allocations: Mapped[list[SharedRoleAllocation]] = relationship(
        back_populates="shared_role",
        cascade="all, delete-orphan",
        order_by="(SharedRoleAllocation.valid_from, SharedRoleAllocation.municipality_id)",
    )

    def audit_municipality_id(self) -> int | None:
        return self.employer_municipality_id

    def audit_municipality_ids(self) -> set[int]:
        agreement = self.__dict__.get("agreement")
        ids = agreement.audit_municipality_ids() if agreement is not None else set()
        return ids | ({self.employer_municipality_id} if self.employer_municipality_id else set())


class SharedRoleAllocation(Base):
    """Share of a shared role's cost per municipality, valid from a date until the next set begins.

    A change is a new set with a later `valid_from`; earlier sets stay as they were.
    """

    __tablename__ = "shared_role_allocations"
    __table_args__ = (
        UniqueConstraint(
            "shared_role_id",
            "valid_from",
            "municipality_id",
            name="uq_shared_role_allocations_role_from_municipality",
        ),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shared_role_id: Mapped[int] = mapped_column(ForeignKey("shared_roles.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="RESTRICT"))
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))

    shared_role: Mapped[SharedRole] = relationship(back_populates="allocations")
    municipality: Mapped[Municipality] = relationship()

    def audit_municipality_id(self) -> int | None:
        return self.municipality_id


class JavGround(enum.StrEnum):
    NARSTAENDE = "narstaende"
    ANSTALLD = "anstalld"
    FORTROENDEVALD = "fortroendevald"
    KAND_PERSON = "kand_person"
    KLIENTENS_ONSKEMAL = "klientens_onskemal"
    ANNAT = "annat"


JAV_GROUND_LABELS = {
    JavGround.NARSTAENDE: "Närstående till anställd",
    JavGround.ANSTALLD: "Anställd i kommunen",
    JavGround.FORTROENDEVALD: "Förtroendevald",
    JavGround.KAND_PERSON: "Känd person",
    JavGround.KLIENTENS_ONSKEMAL: "Klientens önskemål",
    JavGround.ANNAT: "Annat",
}


class ResolutionType(enum.StrEnum):
    """Göteborgsregionen's four ways out of a jäv situation."""

    OWN_OTHER_UNIT = "annan_enhet"
    HOURLY_CASEWORKER = "timanstalld_handlaggare"
    CONSULTANT = "konsult"
    EXTERNAL_DELEGATION = "extern_delegering"


RESOLUTION_TYPE_LABELS = {
    ResolutionType.OWN_OTHER_UNIT: "Annan enhet inom den egna nämnden",
    ResolutionType.HOURLY_CASEWORKER: "Timanställd handläggare från annan kommun",
    ResolutionType.CONSULTANT: "Konsult",
    ResolutionType.EXTERNAL_DELEGATION: "Avtalssamverkan med extern delegering",
}


class CaseArea(enum.StrEnum):
    BARN_UNGA = "barn_och_unga"
    VUXEN = "vuxen"
    EKONOMISKT_BISTAND = "ekonomiskt_bistand"
    LSS = "lss"
    FAMILJERATT = "familjeratt"
    AELDRE = "aldreomsorg"
    ANNAT = "annat"


CASE_AREA_LABELS = {
    CaseArea.BARN_UNGA: "Barn och unga",
    CaseArea.VUXEN: "Vuxen",
    CaseArea.EKONOMISKT_BISTAND: "Ekonomiskt bistånd",
    CaseArea.LSS: "LSS",
    CaseArea.FAMILJERATT: "Familjerätt",
    CaseArea.AELDRE: "Äldreomsorg",
    CaseArea.ANNAT: "Annat",
}


class Executor(enum.StrEnum):
    """Who executes (verkställer) the decision: a known pitfall the agreement must settle."""

    REQUESTING = "requesting"
    PERFORMING = "performing"


EXECUTOR_LABELS = {
    Executor.REQUESTING: "Den begärande kommunen",
    Executor.PERFORMING: "Den utförande kommunen",
}


class TransferStatus(enum.StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    INVESTIGATING = "investigating"
    DECIDED = "decided"
    EXECUTED = "executed"
    INTERRUPTED = "interrupted"
    CLOSED = "closed"


TRANSFER_STATUS_LABELS = {
    TransferStatus.REQUESTED: "Begärd",
    TransferStatus.ACCEPTED: "Accepterad",
    TransferStatus.DECLINED: "Avböjd",
    TransferStatus.INVESTIGATING: "Utredning pågår",
    TransferStatus.DECIDED: "Beslutad",
    TransferStatus.EXECUTED: "Verkställd",
    TransferStatus.INTERRUPTED: "Avbruten",
    TransferStatus.CLOSED: "Avslutad",
}


class CaseTransfer(Base):
    """A case handed from the requesting municipality (which keeps responsibility) to a performer.

    Holds no client identity: only a generated pseudonymous reference.
    """

    __tablename__ = "case_transfers"
    __table_args__ = (
        CheckConstraint("requesting_municipality_id <> performing_municipality_id", name="different_parties"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreements.id", ondelete="RESTRICT"), index=True
    )
    requesting_municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    performing_municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    jav_ground: Mapped[JavGround] = mapped_column(portable_enum(JavGround, "jav_ground"))
    resolution_type: Mapped[ResolutionType] = mapped_column(portable_enum(ResolutionType, "resolution_type"))
    case_area: Mapped[CaseArea] = mapped_column(portable_enum(CaseArea, "case_area"))
    executor: Mapped[Executor] = mapped_column(portable_enum(Executor, "executor"))
    delegation_decision: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[TransferStatus] = mapped_column(
        portable_enum(TransferStatus, "transfer_status"), default=TransferStatus.REQUESTED
    )
    status_before_interruption: Mapped[TransferStatus | None] = mapped_column(
        portable_enum(TransferStatus, "transfer_status_before_interruption")
    )
    requested_on: Mapped[dt.date] = mapped_column(Date)
    answered_on: Mapped[dt.date | None] = mapped_column(Date)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    agreement: Mapped[Agreement | None] = relationship()
    requesting_municipality: Mapped[Municipality] = relationship(foreign_keys=[requesting_municipality_id])
    performing_municipality: Mapped[Municipality] = relationship(foreign_keys=[performing_municipality_id])
    events: Mapped[list[CaseTransferEvent]] = relationship(
        back_populates="transfer", cascade="all, delete-orphan", order_by="CaseTransferEvent.id"
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="transfer", order_by="Decision.decision_date"
    )

    def audit_municipality_id(self) -> int | None:
        return self.requesting_municipality_id

    def audit_municipality_ids(self) -> set[int]:
        return {
            m for m in (self.requesting_municipality_id, self.performing_municipality_id) if m is not None
        }

    @property
    def party_municipality_ids(self) -> set[int]:
        return {self.requesting_municipality_id, self.performing_municipality_id}


class CaseTransferEvent(Base):
    """One lifecycle move of a transfer: when, by whom, from and to which state, and why."""

    __tablename__ = "case_transfer_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("case_transfers.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[TransferStatus | None] = mapped_column(
        portable_enum(TransferStatus, "event_from_status")
    )
    to_status: Mapped[TransferStatus] = mapped_column(portable_enum(TransferStatus, "event_to_status"))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    effective_on: Mapped[dt.date] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str | None] = mapped_column(Text)

    transfer: Mapped[CaseTransfer] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()

    def audit_municipality_id(self) -> int | None:
        transfer = self.__dict__.get("transfer")
        return transfer.requesting_municipality_id if transfer is not None else None

    def audit_municipality_ids(self) -> set[int]:
        transfer = self.__dict__.get("transfer")
        return transfer.audit_municipality_ids() if transfer is not None else set()


class InsightLogEntry(Base):
    """Insyn: every view of a transfer by a user of the other party. Both parties may read it."""

    __tablename__ = "insight_log"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("case_transfers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_label: Mapped[str] = mapped_column(String(300))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="RESTRICT"))
    viewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(20))  # "sida" or "api"

    municipality: Mapped[Municipality] = relationship()


class ReferenceCounter(Base):
    """Sequence per (prefix, municipality, year) for pseudonymous references; locked FOR UPDATE."""

    __tablename__ = "reference_counters"
    __audit__ = False
    __table_args__ = (UniqueConstraint("prefix", "kommunkod", "year", name="uq_reference_counters_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(10))
    kommunkod: Mapped[str] = mapped_column(String(4))
    year: Mapped[int] = mapped_column(Integer)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class LegalBasis(Base):
    """Legal bases for decisions: both the old and the new SoL references live here, as data."""

    __tablename__ = "legal_bases"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    law: Mapped[str] = mapped_column(String(20))  # SoL, LSS
    title: Mapped[str] = mapped_column(String(200))
    old_reference: Mapped[str | None] = mapped_column(String(100))
    new_reference: Mapped[str | None] = mapped_column(String(100))
    reportable: Mapped[bool] = mapped_column(default=True)  # subject to IVO reporting when not executed
    note: Mapped[str | None] = mapped_column(String(300))


class Decision(Base):
    """A favourable decision (bistånd or LSS insats) and its execution, for the three-month watch."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint("execution_date IS NULL OR execution_date >= decision_date", name="executed_after"),
        CheckConstraint("transfer_id IS NOT NULL OR agreement_id IS NOT NULL", name="has_context"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_transfers.id", ondelete="RESTRICT"), index=True
    )
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreements.id", ondelete="RESTRICT"), index=True
    )
    responsible_municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    legal_basis_id: Mapped[int] = mapped_column(ForeignKey("legal_bases.id", ondelete="RESTRICT"))
    insats_type: Mapped[str] = mapped_column(String(200))
    decision_date: Mapped[dt.date] = mapped_column(Date, index=True)
    execution_date: Mapped[dt.date | None] = mapped_column(Date)
    delay_reason: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    closing_reason: Mapped[str | None] = mapped_column(Text)
    ivo_person_ref: Mapped[str | None] = mapped_column(String(13))  # YYYYMMDD-X123, optional
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    transfer: Mapped[CaseTransfer | None] = relationship(back_populates="decisions")
    agreement: Mapped[Agreement | None] = relationship()
    responsible_municipality: Mapped[Municipality] = relationship()
    legal_basis: Mapped[LegalBasis] = relationship()
    offers: Mapped[list[DecisionOffer]] = relationship(
        back_populates="decision", cascade="all, delete-orphan", order_by="DecisionOffer.offered_on"
    )
    interruptions: Mapped[list[DecisionInterruption]] = relationship(
        back_populates="decision",
        cascade="all, delete-orphan",
        order_by="DecisionInterruption.interrupted_on",
    )

    def audit_municipality_id(self) -> int | None:
        return self.responsible_municipality_id

    def audit_municipality_ids(self) -> set[int]:
        # The performing municipality feeds back execution dates and may audit them too.
        transfer = self.__dict__.get("transfer")
        ids = transfer.audit_municipality_ids() if transfer is not None else set()
        return ids | ({self.responsible_municipality_id} if self.responsible_municipality_id else set())


class DecisionOffer(Base):
    __tablename__ = "decision_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"), index=True)
    offered_on: Mapped[dt.date] = mapped_column(Date)
    declined: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(String(500))

    decision: Mapped[Decision] = relationship(back_populates="offers")

    def audit_municipality_id(self) -> int | None:
        decision = self.__dict__.get("decision")
        return decision.responsible_municipality_id if decision is not None else None

    def audit_municipality_ids(self) -> set[int]:
        decision = self.__dict__.get("decision")
        return decision.audit_municipality_ids() if decision is not None else set()


class DecisionInterruption(Base):
    __tablename__ = "decision_interruptions"
    __table_args__ = (
        CheckConstraint("resumed_on IS NULL OR resumed_on >= interrupted_on", name="resumed_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"), index=True)
    interrupted_on: Mapped[dt.date] = mapped_column(Date)
    resumed_on: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(500))

    decision: Mapped[Decision] = relationship(back_populates="interruptions")

    def audit_municipality_id(self) -> int | None:
        decision = self.__dict__.get("decision")
        return decision.responsible_municipality_id if decision is not None else None

    def audit_municipality_ids(self) -> set[int]:
        decision = self.__dict__.get("decision")
        return decision.audit_municipality_ids() if decision is not None else set()


class CalendarFeed(Base):
    """A user's secret iCalendar URL for their municipality's deadlines (token stored hashed)."""

    __tablename__ = "calendar_feeds"
    __audit_redact__ = frozenset({"token_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()

    def audit_municipality_id(self) -> int | None:
        user = self.__dict__.get("user")
        return user.municipality_id if user is not None else None
