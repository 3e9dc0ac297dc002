"""Fixtures and helpers shared by the performed services' tests (tests/billing/test_services_*.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.models import BilledService, PerformedService, ServiceImport
from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractPrice,
    ContractServiceType,
    FeePeriod,
    ServiceUnit,
    VatCategory,
    VersionStatus,
)
from core.db import utcnow
from registry.models import SharedRole
from tests.registry import conftest as _registry_fixtures

make_transfer = _registry_fixtures.make_transfer

D = dt.date
DAY = D(2026, 10, 15)  # a service date in the test agreement's 2026, before the fixed "today"
TODAY = D(2026, 11, 23)
PERSONAL_NUMBER = "Gäller 19850101-2382"  # a valid personnummer (Luhn)
CASE_TYPES = ("Faderskapsutredning", "Vårdnadsutredning")


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    """Every rule that asks for today gets 2026-11-23, whenever the suite runs."""
    monkeypatch.setattr("billing.services.services.local_today", lambda: TODAY)


def add_terms(version) -> None:
    """A per-case price list ("arende": Faderskapsutredning 9 500 kr, Vårdnadsutredning 14 000 kr) and a
    fixed annual fee ("grundavgift", per period) to a draft version."""
    case = ContractServiceType(
        code="arende",
        name="Utredning per ärende",
        unit=ServiceUnit.CASE,
        vat_category=VatCategory.S,
        vat_rate=Decimal("25.00"),
    )
    fee = ContractServiceType(
        code="grundavgift",
        name="Grundavgift",
        unit=ServiceUnit.PERIOD,
        vat_category=VatCategory.S,
        vat_rate=Decimal("25.00"),
    )
    version.service_types += [case, fee]
    version.components += [
        CompensationComponent(
            position=4,
            model=CompensationModel.PER_CASE,
            service_type=case,
            prices=[
                ContractPrice(year=2024, case_type=CASE_TYPES[0], amount=Decimal("9500.00")),
                ContractPrice(year=2024, case_type=CASE_TYPES[1], amount=Decimal("14000.00")),
            ],
        ),
        CompensationComponent(
            position=5,
            model=CompensationModel.FIXED_FEE,
            service_type=fee,
            fee_period=FeePeriod.MONTHLY,
            in_advance=True,
            prices=[ContractPrice(year=2024, amount=Decimal("120000.00"))],
        ),
    ]


@pytest.fixture
def approve(db, make_user):
    """approve(version): a draft made approved, as make_version does (the database refuses later edits)."""
    approver = {}

    def _approve(version):
        if "user" not in approver:
            approver["user"] = make_user(roles=("legal",), kommun=version.agreement.host.municipality.name)
        version.status = VersionStatus.APPROVED
        version.approved_by_id = approver["user"].id
        version.approved_at = utcnow()
        db.commit()
        return version

    return _approve


@pytest.fixture
def agreement(db, make_agreement, make_version, approve):
    """Göteborg performs for Härryda and Lerum (2024-01-01 – 2026-12-31, renewed yearly); version 1 is
    approved from the start with make_version's terms (utredning h, resa km, utlagg kr) plus a per-case
    price list (arende) and a fixed fee (grundavgift)."""
    agreement = make_agreement()
    version = make_version(agreement, status="draft")
    add_terms(version)
    db.commit()
    approve(version)
    return agreement


@pytest.fixture
def shared_role(db, municipality):
    def _make(agreement, title="Gemensam familjerättssekreterare") -> SharedRole:
        role = SharedRole(
            agreement=agreement,
            title=title,
            employer_municipality_id=agreement.host.municipality_id,
            period_start=D(2024, 1, 1),
            salary_per_month=Decimal("45000.00"),
            po_percent=Decimal("31.42"),
        )
        db.add(role)
        db.commit()
        return role

    return _make


def csv_bytes(*lines: str, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


def bill(db, make_invoice, service: PerformedService, status: str = "draft"):
    """Link the service to a line of a new invoice of its agreement and buyer (as a run does)."""
    invoice = make_invoice(service.agreement, buyer=service.buying_municipality.name)
    db.add(BilledService(performed_service_id=service.id, invoice_line_id=invoice.lines[0].id))
    db.commit()
    return invoice


def count_services(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(PerformedService))


def count_imports(db) -> int:
    return db.scalar(select(func.count()).select_from(ServiceImport))


def form(agreement, municipality, **overrides) -> dict:
    """The register form / API body for 2,5 hours of utredning for Härryda on DAY."""
    values = {
        "agreement_id": agreement.id,
        "service_date": DAY.isoformat(),
        "buying_municipality_id": municipality("Härryda").id,
        "service_type_code": "utredning",
        "quantity": "2,5",
    }
    values.update(overrides)
    return values
