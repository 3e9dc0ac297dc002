"""Fixtures and helpers shared by the legal review's tests (tests/contracts/test_review_*.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts.models import (
    ContractVersion,
    ContractVersionDocument,
    DocumentKind,
    ReviewSection,
    ReviewStatus,
    VersionStatus,
)
from contracts.review import services
from registry.models import AgreementAttachment

# Organisation numbers as in the demo data (municipalities: prefix 212000).
ORG_NUMBERS = {
    "Göteborg": "212000-1355",
    "Härryda": "212000-1371",
    "Lerum": "212000-1447",
    "Partille": "212000-1488",
}


@pytest.fixture
def public_parties(db, municipality):
    """Gives Göteborg, Härryda, Lerum and Partille their organisation numbers (the reference data has
    none); returns a function to change one: set_org_number("Lerum", None)."""

    def _set(name: str, org_number: str | None) -> None:
        municipality(name).org_number = org_number
        db.commit()

    for name, org_number in ORG_NUMBERS.items():
        municipality(name).org_number = org_number
    db.commit()
    return _set


@pytest.fixture
def complete_version(make_agreement, make_version, public_parties):
    """complete_version(**agreement_overrides) -> a draft whose every pre-check passes: public parties,
    the complete hourly model of `make_version`, term 2024-2026 with 12 months' renewal and 6 months'
    notice, no personal data, no cost-coverage claim."""

    def _make(agreement=None, **version_overrides) -> ContractVersion:
        agreement = agreement or make_agreement()
        return make_version(agreement, **version_overrides)

    return _make


@pytest.fixture
def submitted(db, complete_version, make_user):
    """submitted(version=None) -> the version submitted for review by an administrator of its host."""

    def _submit(version: ContractVersion | None = None) -> ContractVersion:
        version = version or complete_version()
        admin = make_user(roles=("admin",), kommun=version.agreement.host.municipality.name)
        services.submit_for_review(db, admin, version)
        db.commit()
        return version

    return _submit


def attach(db, version: ContractVersion, kind: DocumentKind, filename: str = "bilaga.pdf") -> None:
    attachment = AgreementAttachment(
        agreement=version.agreement,
        filename=filename,
        media_type="application/pdf",
        size_bytes=4,
        sha256="0" * 64,
        content=b"%PDF",
    )
    db.add(attachment)
    version.documents.append(ContractVersionDocument(attachment=attachment, kind=kind))
    db.commit()


def mark_all_ok(db, user, version: ContractVersion) -> None:
    """A lawyer's OK on every row (a yes with a justification on each Hamburg criterion)."""
    for row in version.review_rows:
        if row.section == ReviewSection.HAMBURG:
            services.mark_row(db, user, row, ReviewStatus.OK, "Uppfyllt enligt avtalet.", True)
        else:
            services.mark_row(db, user, row, ReviewStatus.OK)
    db.commit()


def row(version: ContractVersion, key: str):
    return services.find_row(version, key)


def approve_directly(db, version: ContractVersion, approver, approved_at: dt.datetime) -> None:
    """Approve without the service, at a chosen time (for the stale-approval list)."""
    version.status = VersionStatus.APPROVED
    version.approved_by_id = approver.id
    version.approved_at = approved_at
    db.commit()
