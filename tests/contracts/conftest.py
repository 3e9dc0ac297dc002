"""Factories for the contracts tests. Rows are created directly (not through the services under test),
so each part's tests stand on their own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractBuyerTerms,
    ContractPrice,
    ContractServiceType,
    ContractVersion,
    IndexKind,
    IndexStatus,
    IndexValue,
    ServiceUnit,
    VatCategory,
    VersionStatus,
)
from core.db import utcnow
from tests.registry import conftest as _registry_fixtures

make_agreement = _registry_fixtures.make_agreement  # the registry's factory fixture, used by make_version

VATEX_O = "Myndighetsutövning – utanför momsens tillämpningsområde"


@pytest.fixture
def make_index_value(db):
    """make_index_value(kind="pkv", year=2026, percent="3.1", status="preliminary", ...)."""

    def _make(kind="pkv", year=2026, percent="3.1", status="preliminary", **overrides) -> IndexValue:
        kind = IndexKind(kind)
        values = {
            "kind": kind,
            "year": year,
            "percent": Decimal(percent),
            "status": IndexStatus(status),
            "edition": f"{kind.value.upper()} oktober {year - 1}",
            "source": "SKR cirkulär",
        }
        values.update(overrides)
        value = IndexValue(**values)
        db.add(value)
        db.commit()
        return value

    return _make


@pytest.fixture
def make_version(db, make_agreement, make_user):
    """make_version(agreement=None, status="draft", number=1, effective_from=2024-01-01, terms=True, ...)

    With `terms=True` the version carries a complete hourly model (Göteborg performs for the buyers):
    service types "utredning" (hours, category O), "resa" (km, O) and "utlagg" (kronor, O); an hourly
    component rounded per started 15 minutes at 1 050,00 kr (2024), 1 085,00 kr (2025) and
    1 120,00 kr (2026); mileage at 2,50 kr/km; outlays at cost; OPI October indexation from
    2025-01-01 rounded to öre; a buyer reference per buyer. Approved versions get an approver."""

    approver = {}

    def _make(
        agreement=None,
        status: str = "draft",
        number: int = 1,
        effective_from: dt.date | None = None,
        terms: bool = True,
        **overrides,
    ) -> ContractVersion:
        agreement = agreement or make_agreement()
        values = {
            "agreement": agreement,
            "number": number,
            "title": "Ursprungligt avtal" if number == 1 else f"Tilläggsavtal {number - 1}",
            "effective_from": effective_from or agreement.start_date,
            # Stored as a draft first: the database refuses rows under an approved version.
            "status": VersionStatus.DRAFT
            if VersionStatus(status) == VersionStatus.APPROVED
            else VersionStatus(status),
            "scope": "Utredning och beslut i jävsärenden enligt SoL och LVU.",
        }
        if terms:
            values.update(
                index_kind=IndexKind.OPI,
                index_edition="OPI oktober",
                index_effective_from=dt.date(2025, 1, 1),
            )
        values.update(overrides)
        version = ContractVersion(**values)
        if terms:
            hours = ContractServiceType(
                code="utredning",
                name="Utredning och handläggning",
                unit=ServiceUnit.HOUR,
                vat_category=VatCategory.O,
                vat_rate=Decimal("0"),
                vat_exemption_reason_code="VATEX-EU-O",
                vat_exemption_reason=VATEX_O,
            )
            km = ContractServiceType(
                code="resa",
                name="Resor",
                unit=ServiceUnit.KM,
                vat_category=VatCategory.O,
                vat_rate=Decimal("0"),
                vat_exemption_reason_code="VATEX-EU-O",
                vat_exemption_reason=VATEX_O,
            )
            outlay = ContractServiceType(
                code="utlagg",
                name="Utlägg",
                unit=ServiceUnit.SEK,
                vat_category=VatCategory.O,
                vat_rate=Decimal("0"),
                vat_exemption_reason_code="VATEX-EU-O",
                vat_exemption_reason=VATEX_O,
            )
            version.service_types = [hours, km, outlay]
            version.components = [
                CompensationComponent(
                    position=1,
                    model=CompensationModel.HOURLY,
                    service_type=hours,
                    time_rounding_minutes=15,
                    prices=[
                        ContractPrice(year=2024, amount=Decimal("1050.00")),
                        ContractPrice(year=2025, amount=Decimal("1085.00")),
                        ContractPrice(year=2026, amount=Decimal("1120.00")),
                    ],
                ),
                CompensationComponent(
                    position=2,
                    model=CompensationModel.MILEAGE,
                    service_type=km,
                    prices=[ContractPrice(year=2024, amount=Decimal("2.50"))],
                ),
                CompensationComponent(position=3, model=CompensationModel.OUTLAYS, service_type=outlay),
            ]
            version.buyer_terms = [
                ContractBuyerTerms(
                    municipality_id=p.municipality_id, buyer_reference=f"REF-{p.municipality.kommunkod}"
                )
                for p in agreement.buyers
            ]
        db.add(version)
        db.commit()
        if VersionStatus(status) == VersionStatus.APPROVED:
            if "user" not in approver:
                approver["user"] = make_user(roles=("legal",), kommun=agreement.host.municipality.name)
            version.status = VersionStatus.APPROVED
            version.approved_by_id = approver["user"].id
            version.approved_at = utcnow()
            db.commit()
        return version

    return _make
