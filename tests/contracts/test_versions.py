"""Contract versions: the version in force on a date, amendments as copies, the status machine, and
immutability after approval on every path (service, flush-time guard, database triggers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from contracts import versions
from contracts.errors import IllegalVersionTransition, OpenVersionExists, VersionImmutable, VersionNotFound
from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractPrice,
    ContractVersionDocument,
    DocumentKind,
    VersionStatus,
)
from core.errors import PermissionDenied, ValidationFailed
from registry.models import AgreementAttachment

D = dt.date


@pytest.fixture
def three_versions(make_agreement, make_version):
    """Approved versions from 2024-01-01 and 2025-03-01, and a draft from 2026-01-01."""
    agreement = make_agreement(start_date=D(2024, 1, 1), end_date=D(2027, 12, 31))
    v1 = make_version(agreement, status="approved", number=1, effective_from=D(2024, 1, 1))
    v2 = make_version(agreement, status="approved", number=2, effective_from=D(2025, 3, 1))
    v3 = make_version(agreement, status="draft", number=3, effective_from=D(2026, 1, 1))
    return agreement, v1, v2, v3


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2023, 12, 31), None),  # before the first version
        (D(2024, 1, 1), 1),  # the first day of version 1
        (D(2025, 2, 28), 1),  # the day before the amendment
        (D(2025, 3, 1), 2),  # the amendment's effective date
        (D(2025, 3, 2), 2),
        (D(2026, 6, 1), 2),  # a draft is never in force
    ],
)
def test_version_in_force_by_date(db, three_versions, day, expected):
    agreement, v1, v2, _ = three_versions
    found = versions.version_in_force(db, agreement.id, day)
    assert (found.number if found else None) == expected


def test_superseded_on_is_the_next_effective_date(db, three_versions):
    _, v1, v2, _ = three_versions
    assert versions.superseded_on(db, v1) == D(2025, 3, 1)
    assert versions.superseded_on(db, v2) is None


def test_amendment_copies_terms_of_the_latest_approved_version(db, make_agreement, make_version, make_user):
    agreement = make_agreement(start_date=D(2024, 1, 1), end_date=D(2027, 12, 31))
    v1 = make_version(agreement, status="approved")
    admin = make_user(roles=("admin",), kommun="Göteborg")
    v2 = versions.create_version(db, admin, agreement, title="Tilläggsavtal 1", effective_from=D(2025, 7, 1))
    db.commit()
    assert (v2.number, v2.status, v2.based_on_id) == (2, VersionStatus.DRAFT, v1.id)
    assert [st.code for st in v2.service_types] == ["utredning", "resa", "utlagg"]
    assert {st.id for st in v2.service_types}.isdisjoint({st.id for st in v1.service_types})
    hourly = v2.components[0]
    assert hourly.model == CompensationModel.HOURLY and hourly.time_rounding_minutes == 15
    assert hourly.service_type.code == "utredning" and hourly.service_type.version_id == v2.id
    assert [(p.year, p.amount) for p in hourly.prices] == [
        (2024, Decimal("1050.00")),
        (2025, Decimal("1085.00")),
        (2026, Decimal("1120.00")),
    ]
    assert {t.buyer_reference for t in v2.buyer_terms} == {t.buyer_reference for t in v1.buyer_terms}
    assert v2.index_kind == v1.index_kind and v2.index_edition == "OPI oktober"
    # Only one version in the works at a time.
    with pytest.raises(OpenVersionExists):
        versions.create_version(db, admin, agreement, title="Tilläggsavtal 2", effective_from=D(2026, 1, 1))


def test_create_version_checks_dates_and_permission(db, make_agreement, make_version, make_user):
    agreement = make_agreement(start_date=D(2024, 1, 1), end_date=D(2026, 12, 31))
    make_version(agreement, status="approved")
    admin = make_user(roles=("admin",), kommun="Göteborg")
    with pytest.raises(ValidationFailed) as excinfo:
        versions.create_version(db, admin, agreement, title="X", effective_from=D(2023, 12, 31))
    assert "effective_from" in excinfo.value.errors
    with pytest.raises(ValidationFailed) as excinfo:
        versions.create_version(db, admin, agreement, title="X", effective_from=D(2024, 1, 1))
    assert "godkänd version" in excinfo.value.errors["effective_from"][0]
    with pytest.raises(ValidationFailed):
        versions.create_version(db, admin, agreement, title=" ", effective_from=D(2025, 1, 1))
    caseworker = make_user(roles=("caseworker",), kommun="Göteborg")
    with pytest.raises(PermissionDenied):
        versions.create_version(db, caseworker, agreement, title="X", effective_from=D(2025, 1, 1))


def test_non_party_sees_no_version(db, make_version, make_user):
    version = make_version()
    outsider = make_user(roles=("legal",), kommun="Malmö")
    with pytest.raises(VersionNotFound):
        versions.get_version(db, outsider, version.id)
    party = make_user(roles=("auditor",), kommun="Härryda")
    assert versions.get_version(db, party, version.id).id == version.id


def test_status_machine_refuses_illegal_moves(make_version, make_user):
    version = make_version()
    with pytest.raises(IllegalVersionTransition):
        versions.transition_version(version, VersionStatus.APPROVED)
    versions.transition_version(version, VersionStatus.IN_REVIEW)
    assert version.submitted_at is not None
    with pytest.raises(VersionImmutable):
        versions.assert_editable(version)
    versions.transition_version(version, VersionStatus.DRAFT)
    versions.assert_editable(version)


def test_service_refuses_editing_an_approved_version(make_version):
    version = make_version(status="approved")
    with pytest.raises(VersionImmutable):
        versions.assert_editable(version)


def test_flush_guard_refuses_changes_under_an_approved_version(db, make_version):
    version = make_version(status="approved")
    price = version.components[0].prices[0]
    price.amount = Decimal("1.00")
    with pytest.raises(VersionImmutable):
        db.flush()
    db.rollback()
    version.scope = "Ändrad"
    with pytest.raises(VersionImmutable):
        db.flush()
    db.rollback()
    version.components[0].prices.append(ContractPrice(year=2030, amount=Decimal("1")))
    with pytest.raises(VersionImmutable):
        db.flush()
    db.rollback()
    db.delete(version.components[2])
    with pytest.raises(VersionImmutable):
        db.flush()
    db.rollback()
    db.delete(version)
    with pytest.raises(VersionImmutable):
        db.flush()
    db.rollback()


def test_a_draft_may_change_and_be_approved(db, make_version, make_user):
    version = make_version(status="in_review")
    legal = make_user(roles=("legal",), kommun="Göteborg")
    versions.transition_version(version, VersionStatus.APPROVED, legal)
    db.commit()
    assert version.approved_by_id == legal.id


def _attachment(db, agreement) -> AgreementAttachment:
    attachment = AgreementAttachment(
        agreement=agreement,
        filename="signerat.pdf",
        media_type="application/pdf",
        size_bytes=4,
        sha256="0" * 64,
        content=b"%PDF",
    )
    db.add(attachment)
    db.commit()
    return attachment


def test_signed_scan_may_be_linked_after_approval_but_nothing_else(db, make_version):
    version = make_version(status="approved")
    attachment = _attachment(db, version.agreement)
    version.documents.append(ContractVersionDocument(attachment=attachment, kind=DocumentKind.SIGNED_SCAN))
    db.commit()
    other = _attachment(db, version.agreement)
    version.documents.append(ContractVersionDocument(attachment=other, kind=DocumentKind.PUB_AGREEMENT))
    with pytest.raises(VersionImmutable):
        db.flush()
    db.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE contract_versions SET scope = 'x' WHERE id = :version",
        "DELETE FROM contract_versions WHERE id = :version",
        "UPDATE contract_prices SET amount = 1 WHERE component_id IN "
        "(SELECT id FROM contract_components WHERE version_id = :version)",
        "DELETE FROM contract_prices WHERE component_id IN "
        "(SELECT id FROM contract_components WHERE version_id = :version)",
        "INSERT INTO contract_prices (component_id, year, case_type, amount) SELECT id, 2031, '', 1 "
        "FROM contract_components WHERE version_id = :version",
        "UPDATE contract_components SET description = 'x' WHERE version_id = :version",
        "UPDATE contract_service_types SET vat_exemption_reason = 'x' WHERE version_id = :version",
        "DELETE FROM contract_buyer_terms WHERE version_id = :version",
        "INSERT INTO contract_review_rows (version_id, key, section, position, label) "
        "VALUES (:version, 'x', 'checklist', 99, 'x')",
    ],
)
def test_database_refuses_changes_under_an_approved_version(db, make_version, statement):
    version = make_version(status="approved")
    with pytest.raises(DBAPIError) as excinfo:
        with db.begin_nested():
            db.execute(text(statement), {"version": version.id})
    assert "immutable" in str(excinfo.value)


def test_database_allows_changes_to_a_draft(db, make_version):
    version = make_version(status="draft")
    with db.begin_nested():
        db.execute(
            text(
                "UPDATE contract_prices SET amount = 1 WHERE component_id IN "
                "(SELECT id FROM contract_components WHERE version_id = :version)"
            ),
            {"version": version.id},
        )
    db.delete(version)
    db.commit()


def test_component_without_service_type_is_refused_by_the_database(db, make_version):
    version = make_version()
    version.components.append(CompensationComponent(model=CompensationModel.HOURLY, position=9))
    with pytest.raises(DBAPIError):
        db.flush()
    db.rollback()
