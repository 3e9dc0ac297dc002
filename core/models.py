"""Tables of the application shell: municipalities (the tenants), users and access, the audit log."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    CASEWORKER = "caseworker"
    FINANCE = "finance"
    LEGAL = "legal"
    AUDITOR = "auditor"
    SYSADMIN = "sysadmin"


ROLE_LABELS = {
    Role.ADMIN: "Administratör",
    Role.CASEWORKER: "Handläggare",
    Role.FINANCE: "Ekonomi",
    Role.LEGAL: "Jurist",
    Role.AUDITOR: "Revisor",
    Role.SYSADMIN: "Systemadministratör",
}


def portable_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, values as stored strings."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Municipality(Base):
    __tablename__ = "municipalities"
    __table_args__ = (
        CheckConstraint("length(kommunkod) = 4", name="kommunkod_length"),
        CheckConstraint("length(county_code) = 2", name="county_code_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kommunkod: Mapped[str] = mapped_column(String(4), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    county_code: Mapped[str] = mapped_column(String(2), index=True)
    county_name: Mapped[str] = mapped_column(String(100))
    org_number: Mapped[str | None] = mapped_column(String(11), unique=True)
    peppol_id: Mapped[str | None] = mapped_column(String(64))
    bankgiro: Mapped[str | None] = mapped_column(String(9))
    street_address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(6))
    city: Mapped[str | None] = mapped_column(String(100))
    invoice_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    populations: Mapped[list[MunicipalityPopulation]] = relationship(
        back_populates="municipality", order_by="MunicipalityPopulation.year.desc()", cascade="all"
    )

    def audit_municipality_id(self) -> int | None:
        return self.id

    @property
    def effective_peppol_id(self) -> str | None:
        """The stored Peppol id, or `0007:` + the organisation number (scheme 0007 = Swedish org nr)."""
        if self.peppol_id:
            return self.peppol_id
        if self.org_number:
            return "0007:" + self.org_number.replace("-", "")
        return None

    def population_for(self, year: int) -> int | None:
        for row in self.populations:
            if row.year == year:
                return row.population
        return None


class MunicipalityPopulation(Base):
    __tablename__ = "municipality_populations"
    __table_args__ = (
        UniqueConstraint("municipality_id", "year", name="uq_municipality_populations_municipality_year"),
        CheckConstraint("population >= 0", name="population_not_negative"),
        CheckConstraint("year BETWEEN 1900 AND 2200", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    reference_date: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(200))

    municipality: Mapped[Municipality] = relationship(back_populates="populations")


class User(Base):
    __tablename__ = "users"
    __audit_redact__ = frozenset({"password_hash"})
    __table_args__ = (Index("uq_users_email_lower", "email", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    municipality: Mapped[Municipality | None] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def roles(self) -> set[Role]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    @property
    def is_sysadmin(self) -> bool:
        return Role.SYSADMIN in self.roles

    def audit_municipality_id(self) -> int | None:
        return self.municipality_id


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(portable_enum(Role, "role"), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")

    def audit_municipality_id(self) -> int | None:
        # Read the loaded relationship only: no lazy load inside a flush event.
        user = self.__dict__.get("user")
        return user.municipality_id if user is not None else None


class ApiToken(Base):
    """A personal API token. Only the sha256 of the secret is stored; the secret is shown once."""

    __tablename__ = "api_tokens"
    __audit_redact__ = frozenset({"token_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    def audit_municipality_id(self) -> int | None:
        # Read the loaded relationship only: no lazy load inside a flush event.
        user = self.__dict__.get("user")
        return user.municipality_id if user is not None else None


class LoginAttempt(Base):
    """Failed logins, per account and per client address, for throttling. Not a domain row."""

    __tablename__ = "login_attempts"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip_address: Mapped[str] = mapped_column(String(64), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditAction(enum.StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


class AuditEntry(Base):
    """Append-only, hash-chained record of every change to a domain row.

    `entry_hash` = sha256(previous entry's hash + this entry's canonical content). Database triggers
    (see the migration) refuse UPDATE and DELETE; no code path does either.
    """

    __tablename__ = "audit_entries"
    __audit__ = False

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(index=True)  # no FK: the log outlives users
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[AuditAction] = mapped_column(portable_enum(AuditAction, "audit_action"))
    entity: Mapped[str] = mapped_column(String(64), index=True)
    entity_id: Mapped[str] = mapped_column(String(64))
    municipality_id: Mapped[int | None] = mapped_column(index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditEntryScope(Base):
    """Which municipalities' auditors may read an audit entry (a shared agreement concerns them all)."""

    __tablename__ = "audit_entry_scopes"
    __audit__ = False

    entry_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("audit_entries.id", ondelete="RESTRICT"),
        primary_key=True,
    )
    municipality_id: Mapped[int] = mapped_column(primary_key=True, index=True)


class AuditChainHead(Base):
    """One row holding the hash of the newest audit entry; locked FOR UPDATE to serialise the chain."""

    __tablename__ = "audit_chain_head"
    __audit__ = False
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
