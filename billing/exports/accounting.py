"""The accounting configuration for the SIE export, per municipality (Kommun-Bas charts differ, so
nothing here is a constant in code): the receivable, default revenue and output VAT accounts, the
voucher series, the counterparty and responsibility dimensions, revenue accounts per service type
code, and the counterparty code of each other municipality. Finance of the municipality edits it
(ACCOUNTING_EDIT); services add and flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import AccountingSettings, CounterpartyCode, Invoice, RevenueAccount
from billing.permissions import ACCOUNTING_EDIT, INVOICE_READ
from core.errors import NotFound, ValidationFailed
from core.models import Municipality
from core.permissions import can, require

DEFAULT_COUNTERPARTY_DIMENSION_NAME = "Motpart"
DEFAULT_RESPONSIBILITY_DIMENSION_NAME = "Ansvar"


class AccountingNotConfigured(ValidationFailed):
    code = "accounting_not_configured"
    default_message = "SIE-filen kan inte skapas: bokföringsinställningarna är inte kompletta."


class AccountingRowNotFound(NotFound):
    default_message = "Raden finns inte i din kommuns bokföringsinställningar."


@dataclass(frozen=True)
class CounterpartyRow:
    id: int
    counterparty_municipality_id: int
    counterparty: str
    code: str
    active: bool


@dataclass
class AccountingConfig:
    """Everything the SIE export of one municipality needs, read once."""

    settings: AccountingSettings
    revenue_accounts: dict[str, str]  # service type code -> account
    counterparty_codes: dict[int, str]  # municipality id -> code (active only)

    def revenue_account_for(self, service_type_code: str | None) -> str:
        return self.revenue_accounts.get(service_type_code or "", self.settings.revenue_account)


def _own_municipality(user) -> int:
    if user.municipality_id is None:
        raise AccountingRowNotFound("Bokföringsinställningar hör till en kommun; ditt konto saknar kommun.")
    return user.municipality_id


def can_read_accounting(user) -> bool:
    return can(user, ACCOUNTING_EDIT) or can(user, INVOICE_READ)


def can_edit_accounting(user) -> bool:
    return user.municipality_id is not None and can(user, ACCOUNTING_EDIT, user.municipality_id)


def get_settings(session: Session, municipality_id: int) -> AccountingSettings | None:
    return session.get(AccountingSettings, municipality_id)


def revenue_accounts(session: Session, municipality_id: int) -> list[RevenueAccount]:
    return list(
        session.scalars(
            select(RevenueAccount)
            .where(RevenueAccount.municipality_id == municipality_id)
            .order_by(RevenueAccount.service_type_code)
        )
    )


def counterparty_rows(session: Session, municipality_id: int) -> list[CounterpartyRow]:
    rows = session.execute(
        select(CounterpartyCode, Municipality.name)
        .join(Municipality, Municipality.id == CounterpartyCode.counterparty_municipality_id)
        .where(CounterpartyCode.municipality_id == municipality_id)
        .order_by(Municipality.name)
    ).all()
    return [CounterpartyRow(c.id, c.counterparty_municipality_id, name, c.code, c.active) for c, name in rows]


def save_settings(session: Session, user, values: dict) -> AccountingSettings:
    """Create or replace the user's municipality's settings (values validated by the schema)."""
    municipality_id = _own_municipality(user)
    require(user, ACCOUNTING_EDIT, municipality_id)
    settings = get_settings(session, municipality_id)
    if settings is None:
        settings = AccountingSettings(municipality_id=municipality_id)
        session.add(settings)
    for key in (
        "receivable_account",
        "revenue_account",
        "output_vat_account",
        "voucher_series",
        "counterparty_dimension",
        "counterparty_dimension_name",
        "responsibility_dimension",
        "responsibility_dimension_name",
        "responsibility_code",
    ):
        setattr(settings, key, values.get(key))
    if settings.counterparty_dimension is not None and not settings.counterparty_dimension_name:
        settings.counterparty_dimension_name = DEFAULT_COUNTERPARTY_DIMENSION_NAME
    if settings.responsibility_dimension is not None and not settings.responsibility_dimension_name:
        settings.responsibility_dimension_name = DEFAULT_RESPONSIBILITY_DIMENSION_NAME
    session.flush()
    return settings


def set_revenue_account(session: Session, user, service_type_code: str, account: str) -> RevenueAccount:
    """The revenue account of a service type code (replaces an earlier one for the same code)."""
    municipality_id = _own_municipality(user)
    require(user, ACCOUNTING_EDIT, municipality_id)
    row = session.scalar(
        select(RevenueAccount).where(
            RevenueAccount.municipality_id == municipality_id,
            RevenueAccount.service_type_code == service_type_code,
        )
    )
    if row is None:
        row = RevenueAccount(municipality_id=municipality_id, service_type_code=service_type_code)
        session.add(row)
    row.account = account
    session.flush()
    return row


def delete_revenue_account(session: Session, user, row_id: int) -> None:
    municipality_id = _own_municipality(user)
    require(user, ACCOUNTING_EDIT, municipality_id)
    row = session.get(RevenueAccount, row_id)
    if row is None or row.municipality_id != municipality_id:
        raise AccountingRowNotFound()
    session.delete(row)
    session.flush()


def set_counterparty_code(
    session: Session, user, counterparty_municipality_id: int, code: str, active: bool = True
) -> CounterpartyRow:
    """The code the user's municipality's accounts use for another municipality (replaces an earlier one)."""
    municipality_id = _own_municipality(user)
    require(user, ACCOUNTING_EDIT, municipality_id)
    other = session.get(Municipality, counterparty_municipality_id)
    if other is None:
        raise ValidationFailed(errors={"counterparty_municipality_id": ["Välj en kommun ur registret."]})
    if other.id == municipality_id:
        raise ValidationFailed(errors={"counterparty_municipality_id": ["Välj en annan kommun än din egen."]})
    row = session.scalar(
        select(CounterpartyCode).where(
            CounterpartyCode.municipality_id == municipality_id,
            CounterpartyCode.counterparty_municipality_id == other.id,
        )
    )
    if row is None:
        row = CounterpartyCode(municipality_id=municipality_id, counterparty_municipality_id=other.id)
        session.add(row)
    row.code = code
    row.active = active
    session.flush()
    return CounterpartyRow(row.id, other.id, other.name, row.code, row.active)


def delete_counterparty_code(session: Session, user, row_id: int) -> None:
    municipality_id = _own_municipality(user)
    require(user, ACCOUNTING_EDIT, municipality_id)
    row = session.get(CounterpartyCode, row_id)
    if row is None or row.municipality_id != municipality_id:
        raise AccountingRowNotFound()
    session.delete(row)
    session.flush()


def load_config(session: Session, municipality_id: int, invoices: list[Invoice]) -> AccountingConfig:
    """The configuration the SIE export of `invoices` needs; AccountingNotConfigured naming, in Swedish,
    everything that must be configured first (settings, counterparty codes of the buyers)."""
    settings = get_settings(session, municipality_id)
    if settings is None:
        raise AccountingNotConfigured(
            "SIE-filen kan inte skapas: bokföringsinställningarna saknas. Ange kundfordringskonto, "
            "intäktskonto, konto för utgående moms och verifikationsserie under Bokföring (SIE).",
            errors={"settings": ["Bokföringsinställningarna saknas."]},
        )
    missing: dict[str, list[str]] = {}
    for key, label in (
        ("receivable_account", "kundfordringskonto"),
        ("revenue_account", "intäktskonto"),
        ("output_vat_account", "konto för utgående moms"),
        ("voucher_series", "verifikationsserie"),
    ):
        if not getattr(settings, key):
            missing[key] = [f"Ange {label}."]
    if settings.responsibility_dimension is not None and not settings.responsibility_code:
        missing["responsibility_code"] = ["Ange ansvarskoden för ansvarsdimensionen."]
    codes = {
        c.counterparty_municipality_id: c.code
        for c in session.scalars(
            select(CounterpartyCode).where(
                CounterpartyCode.municipality_id == municipality_id, CounterpartyCode.active.is_(True)
            )
        )
    }
    if settings.counterparty_dimension is not None:
        lacking = sorted(
            {i.buyer.name for i in invoices if i.buyer_municipality_id not in codes}, key=str.casefold
        )
        if lacking:
            missing["counterparty_codes"] = [f"Ange motpartskod för {', '.join(lacking)}."]
    if missing:
        raise AccountingNotConfigured(
            "SIE-filen kan inte skapas: komplettera bokföringsinställningarna under Bokföring (SIE). "
            + " ".join(m for ms in missing.values() for m in ms),
            errors=missing,
        )
    accounts = {r.service_type_code: r.account for r in revenue_accounts(session, municipality_id)}
    return AccountingConfig(settings=settings, revenue_accounts=accounts, counterparty_codes=codes)
