"""A national-scale dataset for the billing benchmarks: the 290 municipalities (with organisation
numbers, Bankgiro and population), N agreements each with a host and 1–4 buyers and an approved
contract version (hourly rate per started 15 minutes and mileage, category O), and M attested
performed services spread over a year.

Rows are written with SQLAlchemy Core (and COPY for the services on PostgreSQL), not through the ORM:
the dataset is set-up, not the thing measured, and needs no audit entries.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from stdnum import luhn

from billing.models import PerformedService
from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractBuyerTerms,
    ContractPrice,
    ContractServiceType,
    ContractVersion,
    ServiceUnit,
    VatCategory,
    VersionStatus,
)
from core.db import utcnow
from core.models import Municipality, MunicipalityPopulation, Role, User, UserRole
from registry.models import Agreement, AgreementParty, AgreementStatus, Area, CooperationForm, PartyRole

YEAR = 2026
VATEX = ("VATEX-EU-O", "Myndighetsutövning – utanför momsens tillämpningsområde")


def _org_number(index: int) -> str:
    base = f"212000{index:03d}"
    return f"212000-{base[6:]}{luhn.calc_check_digit(base)}"


def _bankgiro(index: int) -> str:
    base = f"5{index:05d}"
    digits = base + luhn.calc_check_digit(base)
    return f"{digits[:3]}-{digits[3:]}"


def generate(engine: Engine, agreements: int, services: int, seed: int = 2026, progress=None) -> dict:
    """Fill an empty, migrated database that has the reference municipalities. Returns what it made."""
    rng = random.Random(seed)
    now = utcnow()
    with engine.begin() as conn:
        municipalities = [row[0] for row in conn.execute(select(Municipality.id).order_by(Municipality.id))]
        for index, municipality_id in enumerate(municipalities):
            conn.execute(
                update(Municipality)
                .where(Municipality.id == municipality_id)
                .values(org_number=_org_number(100 + index), bankgiro=_bankgiro(index), city="Benchstad")
            )
        conn.execute(
            insert(MunicipalityPopulation),
            [
                {"municipality_id": m, "year": YEAR - 1, "population": rng.randint(2500, 600000)}
                for m in municipalities
            ],
        )
        user_id = conn.execute(
            insert(User).returning(User.id),
            {
                "email": "bench@samverkan.bench",
                "name": "Benchmark",
                "password_hash": "!",
                "municipality_id": municipalities[0],
                "active": True,
            },
        ).scalar_one()
        conn.execute(
            insert(UserRole),
            [{"user_id": user_id, "role": Role.FINANCE}, {"user_id": user_id, "role": Role.LEGAL}],
        )

        agreement_rows, party_rows, buyers_of = [], [], {}
        for number in range(1, agreements + 1):
            agreement_rows.append(
                {
                    "number": f"BENCH-{number:05d}",
                    "title": f"Jävsärenden {number}",
                    "area": Area.JAV,
                    "cooperation_form": CooperationForm.AVTALSSAMVERKAN,
                    "legal_basis": "KL 9 kap. 37 §",
                    "start_date": dt.date(YEAR - 1, 1, 1),
                    "end_date": dt.date(YEAR + 1, 12, 31),
                    "status": AgreementStatus.ACTIVE,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        agreement_ids = list(
            conn.execute(
                insert(Agreement).returning(Agreement.id, sort_by_parameter_order=True), agreement_rows
            ).scalars()
        )
        hosts = {}
        for agreement_id in agreement_ids:
            members = rng.sample(municipalities, rng.randint(2, 5))
            hosts[agreement_id] = members[0]
            buyers_of[agreement_id] = members[1:]
            party_rows.append(
                {"agreement_id": agreement_id, "municipality_id": members[0], "role": PartyRole.HOST}
            )
            party_rows += [
                {"agreement_id": agreement_id, "municipality_id": b, "role": PartyRole.BUYER}
                for b in members[1:]
            ]
        conn.execute(insert(AgreementParty), party_rows)

        version_ids = list(
            conn.execute(
                insert(ContractVersion).returning(ContractVersion.id, sort_by_parameter_order=True),
                [
                    {
                        "agreement_id": a,
                        "number": 1,
                        "title": "Ursprungligt avtal",
                        "effective_from": dt.date(YEAR - 1, 1, 1),
                        "status": VersionStatus.DRAFT,
                        "invoice_frequency": "monthly",
                        "payment_terms_days": 30,
                        "index_rounding": "ore",
                        "personal_data_role": "none",
                        "claims_cost_coverage": False,
                        "changes_term": False,
                        "created_at": now,
                    }
                    for a in agreement_ids
                ],
            ).scalars()
        )
        version_of = dict(zip(agreement_ids, version_ids, strict=True))
        type_rows = []
        for v in version_ids:
            type_rows.append(
                {
                    "version_id": v,
                    "code": "utredning",
                    "name": "Utredning",
                    "unit": ServiceUnit.HOUR,
                    "vat_category": VatCategory.O,
                    "vat_rate": Decimal("0"),
                    "vat_exemption_reason_code": VATEX[0],
                    "vat_exemption_reason": VATEX[1],
                }
            )
            type_rows.append(
                {
                    "version_id": v,
                    "code": "resa",
                    "name": "Resor",
                    "unit": ServiceUnit.KM,
                    "vat_category": VatCategory.O,
                    "vat_rate": Decimal("0"),
                    "vat_exemption_reason_code": VATEX[0],
                    "vat_exemption_reason": VATEX[1],
                }
            )
        type_ids = list(
            conn.execute(
                insert(ContractServiceType).returning(ContractServiceType.id, sort_by_parameter_order=True),
                type_rows,
            ).scalars()
        )
        component_rows = []
        for i, v in enumerate(version_ids):
            component_rows.append(
                {
                    "version_id": v,
                    "position": 1,
                    "model": CompensationModel.HOURLY,
                    "service_type_id": type_ids[2 * i],
                    "time_rounding_minutes": 15,
                    "include_host": True,
                }
            )
            component_rows.append(
                {
                    "version_id": v,
                    "position": 2,
                    "model": CompensationModel.MILEAGE,
                    "service_type_id": type_ids[2 * i + 1],
                    "time_rounding_minutes": None,
                    "include_host": True,
                }
            )
        component_ids = list(
            conn.execute(
                insert(CompensationComponent).returning(
                    CompensationComponent.id, sort_by_parameter_order=True
                ),
                component_rows,
            ).scalars()
        )
        price_rows = []
        for i in range(len(version_ids)):
            rate = Decimal(rng.randrange(90000, 130000)) / 100
            for year in (YEAR - 1, YEAR):
                price_rows.append(
                    {"component_id": component_ids[2 * i], "year": year, "case_type": "", "amount": rate}
                )
                price_rows.append(
                    {
                        "component_id": component_ids[2 * i + 1],
                        "year": year,
                        "case_type": "",
                        "amount": Decimal("2.50"),
                    }
                )
        conn.execute(insert(ContractPrice), price_rows)
        conn.execute(
            insert(ContractBuyerTerms),
            [
                {"version_id": version_of[a], "municipality_id": b, "buyer_reference": f"REF-{b}"}
                for a in agreement_ids
                for b in buyers_of[a]
            ],
        )
        conn.execute(
            update(ContractVersion)
            .where(ContractVersion.id.in_(version_ids))
            .values(status=VersionStatus.APPROVED, approved_by_id=user_id, approved_at=now)
        )

    # Services: hours (90 %) and kilometres (10 %), spread over the year, all attested.
    columns = (
        "agreement_id",
        "service_date",
        "performing_municipality_id",
        "buying_municipality_id",
        "service_type_code",
        "case_type",
        "quantity",
        "unit",
        "registered_by_id",
        "registered_at",
        "attested_by_id",
        "attested_at",
    )
    start = dt.date(YEAR, 1, 1)

    def rows():
        for n in range(services):
            agreement_id = agreement_ids[rng.randrange(len(agreement_ids))]
            buyer = buyers_of[agreement_id][rng.randrange(len(buyers_of[agreement_id]))]
            day = start + dt.timedelta(days=rng.randrange(365))
            if rng.random() < 0.9:
                code, unit, quantity = "utredning", "hour", Decimal(rng.randrange(25, 800)) / 100
            else:
                code, unit, quantity = "resa", "km", Decimal(rng.randrange(50, 2000)) / 10
            if progress and n % 50000 == 0:
                progress(n)
            yield (
                agreement_id,
                day,
                hosts[agreement_id],
                buyer,
                code,
                "",
                quantity,
                unit,
                user_id,
                now,
                user_id,
                now,
            )

    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY performed_services ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows():
                        copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
    else:
        batch = []
        with engine.begin() as conn:
            for row in rows():
                batch.append(dict(zip(columns, row, strict=True)))
                if len(batch) == 20000:
                    conn.execute(insert(PerformedService), batch)
                    batch = []
            if batch:
                conn.execute(insert(PerformedService), batch)
    return {
        "agreements": len(agreement_ids),
        "services": services,
        "municipalities": len(municipalities),
        "user_id": user_id,
    }
