"""The demo (`make run`) tells the contracts' stories: terms for every demo agreement, an indexation
whose preliminary index was revised, a stale review, and an amendment in review with a missing row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from contracts import versions
from contracts.indexing.services import index_adjustments_for_agreement
from contracts.models import ContractVersion, IndexKind, IndexStatus, IndexValue, ReviewStatus, VersionStatus
from contracts.review import services as review
from contracts.review.prechecks import run_prechecks
from core.models import User
from registry.models import Agreement


@pytest.fixture
def db(demo):
    return demo.session


@pytest.fixture
def seeded(db):
    return {a.number: a for a in db.scalars(select(Agreement))}


def test_demo_has_index_values_to_show(seeded, db):
    values = {(v.kind, v.year): v for v in db.scalars(select(IndexValue))}
    assert values[(IndexKind.PKV, 2025)].status is IndexStatus.FINAL
    assert values[(IndexKind.OPI, 2026)].status is IndexStatus.PRELIMINARY
    assert all(v.source.startswith("Demodata") for v in values.values())


def test_every_demo_agreement_has_terms_in_force(seeded, db):
    today = dt.date(2026, 11, 23)
    for number in ("GR-JAV-2024", "BM-SOC-2023", "VN-FHEM-2025", "FAM-MHP-2022"):
        version = versions.version_in_force(db, seeded[number].id, today)
        assert version is not None, number
        assert version.components and version.review_rows
        assert all(row.status for row in version.review_rows), number  # a completed checklist
    gr = versions.version_in_force(db, seeded["GR-JAV-2024"].id, today)
    hourly = gr.components[0]
    assert gr.title == "Indexuppräkning 2026" and gr.index_kind == IndexKind.OPI
    assert {p.year: p.amount for p in hourly.prices}[2026] == Decimal("1113.94")  # 1 084,65 × 1,027


def test_demo_prechecks_pass_for_approved_versions(seeded, db):
    for version in db.scalars(select(ContractVersion).where(ContractVersion.status == VersionStatus.APPROVED)):
        failed = {key: r.detail for key, r in run_prechecks(version).items() if not r.ok}
        assert failed == {}, (version.agreement.number, version.number, failed)


def test_demo_amendment_in_review_has_a_missing_row(seeded, db):
    [version] = db.scalars(select(ContractVersion).where(ContractVersion.status == VersionStatus.IN_REVIEW))
    assert version.agreement.number == "FAM-MHP-2022"
    missing = [row.key for row in version.review_rows if row.status == ReviewStatus.MISSING]
    assert missing == ["insurance"]
    assert [b.key for b in review.blocking_rows(version)] == ["insurance"]


def test_demo_revised_index_gives_an_adjustment_and_an_old_review_is_stale(seeded, db):
    adjustments = index_adjustments_for_agreement(db, seeded["GR-JAV-2024"].id)
    assert adjustments and all(a.year == 2026 for a in adjustments)
    bengtsfors_lawyer = db.scalar(select(User).where(User.email == "jurist@bengtsfors.demo"))
    stale = db.scalars(review.stale_approvals(db, bengtsfors_lawyer, dt.date(2026, 11, 23))).all()
    assert [v.agreement.number for v in stale] == ["BM-SOC-2023"]
