"""The review's services: submitting creates the checklist rows and runs the pre-checks; a lawyer marks
rows under the row rules; approval is refused while a row is missing or unmarked unless an override
reason is given (kept in the audit log), and applies the version's term changes; the lists."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from contracts.errors import ApprovalRefused, IllegalVersionTransition, VersionImmutable
from contracts.models import ReviewStatus, VersionStatus
from contracts.review import services
from contracts.review.checklist import DEFAULT_CHECKLIST_PATH, load_checklist
from core.db import utcnow
from core.errors import PermissionDenied, ValidationFailed
from core.models import AuditEntry
from registry.models import AgreementStatus
from tests.contracts import review_support
from tests.contracts.review_support import approve_directly, mark_all_ok, row

public_parties = review_support.public_parties
complete_version = review_support.complete_version
submitted = review_support.submitted

D = dt.date


@pytest.fixture
def legal(make_user):
    return make_user(roles=("legal",), kommun="Härryda")


# --- Submitting ---------------------------------------------------------------------------------------


def test_submit_creates_the_rows_and_runs_the_prechecks(db, complete_version, make_user, public_parties):
    public_parties("Lerum", None)
    version = complete_version()
    finance = make_user(roles=("finance",), kommun="Lerum")
    services.submit_for_review(db, finance, version)
    db.commit()
    assert version.status == VersionStatus.IN_REVIEW
    assert version.submitted_by_id == finance.id and version.submitted_at is not None
    checklist = load_checklist(DEFAULT_CHECKLIST_PATH)
    assert [(r.key, r.label, r.section, r.position) for r in version.review_rows] == [
        (c.key, c.label, c.section, c.position) for c in checklist
    ]
    parties = row(version, "parties")
    assert (parties.auto_ok, parties.status) == (False, ReviewStatus.MISSING)
    assert "Lerum saknar organisationsnummer" in parties.auto_detail
    assert (row(version, "compensation").auto_ok, row(version, "compensation").status) == (
        True,
        ReviewStatus.OK,
    )
    assert row(version, "hamburg_public_interest").status == ReviewStatus.OK
    assert row(version, "scope").status is None and row(version, "scope").auto_ok is None
    assert all(r.reviewed_at is None for r in version.review_rows)


def test_submit_needs_edit_rights_and_a_draft(db, complete_version, make_user):
    version = complete_version()
    with pytest.raises(PermissionDenied):
        services.submit_for_review(db, make_user(roles=("caseworker",), kommun="Göteborg"), version)
    admin = make_user(roles=("admin",), kommun="Göteborg")
    services.submit_for_review(db, admin, version)
    with pytest.raises(IllegalVersionTransition):
        services.submit_for_review(db, admin, version)


# --- Marking rows -------------------------------------------------------------------------------------


def test_mark_row_records_reviewer_and_time(db, submitted, legal):
    version = submitted()
    scope = row(version, "scope")
    before = utcnow()
    services.mark_row(db, legal, scope, "deviating", "  Lagrummen för LVU saknas.  ")
    db.commit()
    assert (scope.status, scope.comment, scope.answer) == (
        ReviewStatus.DEVIATING,
        "Lagrummen för LVU saknas.",
        None,
    )
    assert scope.reviewed_by_id == legal.id and scope.reviewed_at >= before


@pytest.mark.parametrize(
    ("key", "status", "comment", "answer", "field", "message"),
    [
        ("scope", "missing", None, None, "comment", "Skriv vad som saknas eller avviker."),
        ("scope", "deviating", " ", None, "comment", "Skriv vad som saknas eller avviker."),
        ("scope", "ok", None, True, "answer", "Bara Hamburgkriterierna besvaras med ja eller nej."),
        ("scope", "kanske", None, None, "status", "Välj ett av"),
        ("scope", None, None, None, "status", "Välj en bedömning."),
        ("hamburg_cooperation", "ok", "Alla bidrar.", None, "answer", "Svara ja eller nej"),
        ("hamburg_cooperation", "ok", None, True, "comment", "Motivera svaret."),
        ("hamburg_cooperation", "ok", "Köp av tjänst.", False, "status", "kan inte vara OK"),
        ("scope", "ok", "Klient 121212-1212 nämns", None, "comment", "personnummer"),
    ],
)
def test_mark_row_rules(db, submitted, legal, key, status, comment, answer, field, message):
    version = submitted()
    with pytest.raises(ValidationFailed) as excinfo:
        services.mark_row(db, legal, row(version, key), status, comment, answer)
    assert message in " ".join(excinfo.value.errors[field])


def test_hamburg_rows_take_an_answer_and_not_applicable_clears_it(db, submitted, legal):
    version = submitted()
    criterion = row(version, "hamburg_market_share")
    services.mark_row(db, legal, criterion, "ok", "Ingen försäljning på marknaden.", "yes")
    assert (criterion.status, criterion.answer) == (ReviewStatus.OK, True)
    services.mark_row(db, legal, criterion, "deviating", "Andelen är 25 %.", False)
    assert criterion.answer is False
    services.mark_row(db, legal, criterion, "not_applicable", None, True)
    assert (criterion.status, criterion.answer) == (ReviewStatus.NOT_APPLICABLE, None)


def test_only_legal_of_a_party_marks_and_only_in_review(db, submitted, make_user, legal):
    version = submitted()
    for roles in (("admin",), ("finance",), ("caseworker",)):
        with pytest.raises(PermissionDenied):
            services.mark_row(db, make_user(roles=roles, kommun="Göteborg"), row(version, "scope"), "ok")
    with pytest.raises(PermissionDenied):
        services.mark_row(db, make_user(roles=("legal",), kommun="Malmö"), row(version, "scope"), "ok")
    services.return_to_draft(db, legal, version, "Ändra omfattningen.")
    with pytest.raises(services.ReviewClosed):
        services.mark_row(db, legal, row(version, "scope"), "ok")


def test_refresh_keeps_a_reviewers_mark_and_updates_unmarked_rows(db, submitted, legal, public_parties):
    version = submitted()
    parties = row(version, "parties")
    notice = row(version, "notice")
    assert parties.status == notice.status == ReviewStatus.OK
    services.mark_row(db, legal, parties, "deviating", "Beslutet från Lerum saknar paragraf.")
    db.commit()
    public_parties("Lerum", None)
    version.agreement.notice_months = 48
    db.commit()
    services.refresh_prechecks(db, legal, version)
    db.commit()
    assert parties.auto_ok is False and parties.status == ReviewStatus.DEVIATING  # the lawyer's mark stays
    assert notice.auto_ok is False and notice.status == ReviewStatus.MISSING  # nobody marked it
    assert "inte kortare än avtalstiden" in notice.auto_detail


# --- Approval -----------------------------------------------------------------------------------------


def test_approval_is_refused_while_rows_are_unmarked_or_missing(db, submitted, legal):
    version = submitted()
    with pytest.raises(ApprovalRefused) as excinfo:
        services.approve_version(db, legal, version)
    rows = excinfo.value.errors["rows"]
    assert "Omfattning (inte bedömd)" in rows
    assert "Endast upphandlande myndigheter är parter (inte bedömd)" in rows
    # The pre-check set OK on criterion 3; its yes/no answer is still the lawyer's.
    assert (
        "Styrs endast av allmänintresset och betalningarna täcker bara kostnader (ja/nej-svar saknas)" in rows
    )
    assert "Parter och mandat" not in " ".join(rows)
    assert "Omfattning (inte bedömd)" in excinfo.value.message
    db.rollback()
    mark_all_ok(db, legal, version)
    services.mark_row(db, legal, row(version, "insurance"), "missing", "Försäkringsklausul saknas.")
    with pytest.raises(ApprovalRefused) as excinfo:
        services.approve_version(db, legal, version)
    assert excinfo.value.errors["rows"] == ["Försäkring (saknas)"]
    db.rollback()
    services.mark_row(db, legal, row(version, "hamburg_market_share"), "deviating", "Andelen är 30 %.", False)
    services.mark_row(db, legal, row(version, "insurance"), "ok")
    with pytest.raises(ApprovalRefused) as excinfo:
        services.approve_version(db, legal, version)
    assert excinfo.value.errors["rows"] == [
        "Mindre än 20 % av verksamheten på den öppna marknaden (kriteriet är inte uppfyllt)"
    ]
    db.rollback()


def test_approval_when_every_row_is_fine(db, submitted, legal):
    version = submitted()
    mark_all_ok(db, legal, version)
    services.mark_row(db, legal, row(version, "insurance"), "deviating", "Egen försäkring, godtagbart.")
    services.mark_row(db, legal, row(version, "hamburg_market_share"), "not_applicable")
    services.approve_version(db, legal, version, override_reason="Onödigt skäl")
    db.commit()
    assert version.status == VersionStatus.APPROVED
    assert version.approved_by_id == legal.id and version.approved_at is not None
    assert version.approval_override_reason is None  # nothing was overridden
    with pytest.raises(VersionImmutable):
        services.mark_row(db, legal, row(version, "scope"), "ok")


def test_only_legal_of_a_party_approves(db, submitted, make_user):
    version = submitted()
    for roles in (("admin",), ("finance",), ("caseworker",), ("auditor",)):
        with pytest.raises(PermissionDenied):
            services.approve_version(db, make_user(roles=roles, kommun="Göteborg"), version, "Skäl")
    with pytest.raises(PermissionDenied):
        services.approve_version(db, make_user(roles=("legal",), kommun="Malmö"), version, "Skäl")
    assert version.status == VersionStatus.IN_REVIEW


def test_override_reason_is_stored_and_lands_in_the_audit_log(db, submitted, legal):
    version = submitted()
    services.approve_version(db, legal, version, override_reason="  Beslut i KS brådskar; rader följs upp.  ")
    db.commit()
    assert version.status == VersionStatus.APPROVED
    assert version.approval_override_reason == "Beslut i KS brådskar; rader följs upp."
    entries = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "contract_versions", AuditEntry.entity_id == str(version.id))
        .order_by(AuditEntry.id)
    ).all()
    approval = [e for e in entries if (e.changes.get("approval_override_reason") or [None, None])[1]]
    assert len(approval) == 1
    assert approval[0].changes["approval_override_reason"] == [None, "Beslut i KS brådskar; rader följs upp."]
    assert approval[0].changes["status"] == ["in_review", "approved"]


def test_approval_refuses_a_version_not_in_review(db, complete_version, legal):
    with pytest.raises(IllegalVersionTransition):
        services.approve_version(db, legal, complete_version(), "Skäl")


def test_approving_applies_the_term_changes_to_the_agreement(db, complete_version, submitted, legal):
    version = submitted(
        complete_version(
            changes_term=True, term_end_date=D(2028, 12, 31), term_renewal_months=24, term_notice_months=9
        )
    )
    agreement = version.agreement
    assert (agreement.end_date, agreement.renewal_months, agreement.notice_months) == (D(2026, 12, 31), 12, 6)
    mark_all_ok(db, legal, version)
    services.approve_version(db, legal, version)
    db.commit()
    db.expire_all()
    assert (agreement.end_date, agreement.renewal_months, agreement.notice_months) == (D(2028, 12, 31), 24, 9)


# --- Sending back ---------------------------------------------------------------------------------


def test_return_to_draft_keeps_the_reason_and_the_marks(db, submitted, legal, make_user):
    version = submitted()
    services.mark_row(db, legal, row(version, "scope"), "missing", "Vem som verkställer saknas.")
    with pytest.raises(ValidationFailed) as excinfo:
        services.return_to_draft(db, legal, version, "  ")
    assert "reason" in excinfo.value.errors
    with pytest.raises(PermissionDenied):
        services.return_to_draft(db, make_user(roles=("caseworker",), kommun="Härryda"), version, "x")
    services.return_to_draft(db, legal, version, "Komplettera omfattningen.")
    db.commit()
    assert version.status == VersionStatus.DRAFT
    assert version.review_return_reason == "Komplettera omfattningen."
    admin = make_user(roles=("admin",), kommun="Göteborg")
    services.submit_for_review(db, admin, version)
    db.commit()
    assert version.review_return_reason is None
    assert len(version.review_rows) == 31
    assert row(version, "scope").status == ReviewStatus.MISSING  # the lawyer's earlier mark is kept
    with pytest.raises(ApprovalRefused):
        services.approve_version(db, legal, version)  # the other rows are still unmarked
    db.rollback()


# --- Lists ------------------------------------------------------------------------------------------


def test_versions_awaiting_review_are_scoped_to_the_users_municipality(
    db, submitted, complete_version, make_user, make_agreement
):
    mine = submitted()
    submitted(complete_version(make_agreement(host="Malmö", buyers=("Lund",))))
    complete_version(make_agreement())  # a draft: not awaiting
    harryda = make_user(roles=("legal",), kommun="Härryda")
    assert [v.id for v in db.scalars(services.versions_awaiting_review(db, harryda))] == [mine.id]
    partille = make_user(roles=("legal",), kommun="Partille")
    assert db.scalars(services.versions_awaiting_review(db, partille)).all() == []
    assert services.count(db, services.versions_awaiting_review(db, harryda)) == 1


def test_stale_approvals(db, make_agreement, make_version, make_user):
    today = D(2026, 6, 15)
    approver = make_user(roles=("legal",), kommun="Göteborg")
    at = lambda day: dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)  # noqa: E731

    old = make_version(make_agreement(), status="in_review")
    approve_directly(db, old, approver, at(D(2025, 6, 14)))  # a year and a day ago
    recent = make_version(make_agreement(), status="in_review")
    approve_directly(db, recent, approver, at(D(2025, 6, 15)))  # exactly a year ago: not yet
    ended = make_version(make_agreement(status=AgreementStatus.TERMINATED), status="in_review")
    approve_directly(db, ended, approver, at(D(2024, 1, 1)))
    renegotiating = make_version(make_agreement(status=AgreementStatus.RENEGOTIATION), status="in_review")
    approve_directly(db, renegotiating, approver, at(D(2024, 3, 1)))

    # An agreement whose old version was replaced by a newer approval: the version in force counts.
    replaced = make_agreement()
    v1 = make_version(replaced, status="in_review")
    approve_directly(db, v1, approver, at(D(2024, 1, 1)))
    v2 = make_version(replaced, status="in_review", number=2, effective_from=D(2026, 1, 1))
    approve_directly(db, v2, approver, at(D(2025, 12, 1)))
    # ... and one whose newer version only takes effect later: the old one is still in force.
    later = make_agreement()
    w1 = make_version(later, status="in_review")
    approve_directly(db, w1, approver, at(D(2024, 2, 1)))
    w2 = make_version(later, status="in_review", number=2, effective_from=D(2026, 9, 1))
    approve_directly(db, w2, approver, at(D(2026, 5, 1)))

    user = make_user(roles=("legal",), kommun="Lerum")
    found = db.scalars(services.stale_approvals(db, user, today)).all()
    assert [v.id for v in found] == [w1.id, renegotiating.id, old.id]  # oldest approval first
    outsider = make_user(roles=("legal",), kommun="Malmö")
    assert db.scalars(services.stale_approvals(db, outsider, today)).all() == []
