"""Decisions: recording, the performer's feedback, the three-month watch and its edges, validation,
scope and roles, at the service level (today is always passed explicitly)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.audit import acting_as
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import AuditEntry
from registry.dates import DecisionState
from registry.decisions import services
from registry.decisions.watch import parse_ivo_person_ref, watch_of
from registry.errors import AgreementNotFound, DecisionNotFound, TransferNotFound
from registry.models import Decision, DecisionInterruption, DecisionOffer, TransferStatus
from tests.registry.test_decisions_support import D, add_decision


@pytest.fixture
def transfer(make_transfer, legal_bases):
    """Härryda (responsible) asks Lerum (performer); Lerum has accepted."""
    return make_transfer(requesting="Härryda", performing="Lerum", status=TransferStatus.ACCEPTED)


@pytest.fixture
def harryda(make_user):
    return make_user(roles=("caseworker",), kommun="Härryda")


@pytest.fixture
def lerum(make_user):
    return make_user(roles=("caseworker",), kommun="Lerum")


def _record(db, user, transfer, today, **overrides):
    data = {
        "transfer_id": transfer.id,
        "legal_basis": "SOL-KONTAKTPERSON",
        "insats_type": "Kontaktfamilj varannan helg",
        "decision_date": "2025-11-30",
    }
    data.update(overrides)
    decision = services.record_decision(db, user, data, today=today)
    db.commit()
    return decision


def _count(db, model=Decision) -> int:
    return db.scalar(select(func.count()).select_from(model))


# --- The three-month edges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decided", "deadline"),
    [
        (D(2025, 11, 30), D(2026, 2, 28)),  # 28 February: 2026 is a common year
        (D(2027, 11, 30), D(2028, 2, 29)),  # 29 February: 2028 is a leap year
        (D(2026, 1, 31), D(2026, 4, 30)),
        (D(2026, 1, 15), D(2026, 4, 15)),
    ],
)
def test_deadline_is_same_day_three_months_later_or_month_end(db, harryda, transfer, decided, deadline):
    day_after = D.fromordinal(deadline.toordinal() + 1)
    decision = _record(db, harryda, transfer, today=day_after, decision_date=decided.isoformat())
    on_deadline = watch_of(decision, deadline)
    assert on_deadline.deadline == deadline
    assert on_deadline.state_key == DecisionState.PENDING
    assert not on_deadline.reportable
    after = watch_of(decision, day_after)
    assert after.state_key == DecisionState.NOT_EXECUTED
    assert after.reportable
    assert after.label == "Ej verkställt efter tre månader"


def test_executed_on_the_deadline_is_in_time(db, harryda, lerum, transfer):
    decision = _record(db, harryda, transfer, today=D(2026, 3, 1))
    services.record_execution(db, lerum, decision, {"execution_date": "2026-02-28"}, today=D(2026, 3, 1))
    watch = watch_of(decision, D(2026, 3, 1))
    assert watch.state_key == DecisionState.EXECUTED_IN_TIME
    assert watch.label == "Verkställt i tid"
    assert not watch.reportable


def test_executed_the_day_after_the_deadline_is_late(db, harryda, lerum, transfer):
    decision = _record(db, harryda, transfer, today=D(2026, 3, 1))
    services.record_execution(db, lerum, decision, {"execution_date": "2026-03-01"}, today=D(2026, 3, 1))
    watch = watch_of(decision, D(2026, 3, 1))
    assert watch.state_key == DecisionState.EXECUTED_LATE
    assert not watch.reportable


def test_leap_year_execution_on_29_february_is_in_time(db, harryda, transfer):
    decision = _record(db, harryda, transfer, today=D(2028, 3, 1), decision_date="2027-11-30")
    services.record_execution(db, harryda, decision, {"execution_date": "2028-02-29"}, today=D(2028, 3, 1))
    assert watch_of(decision, D(2028, 3, 1)).state_key == DecisionState.EXECUTED_IN_TIME
    services.record_execution(db, harryda, decision, {"execution_date": "2028-03-01"}, today=D(2028, 3, 1))
    assert watch_of(decision, D(2028, 3, 1)).state_key == DecisionState.EXECUTED_LATE


def test_days_since_decision(db, harryda, transfer):
    decision = _record(db, harryda, transfer, today=D(2026, 3, 1))
    assert watch_of(decision, D(2026, 3, 1)).days_since_decision == 91
    assert watch_of(decision, D(2025, 11, 30)).days_since_decision == 0


def test_interruption_over_three_months_then_resumed(db, harryda, lerum, transfer):
    decision = _record(db, harryda, transfer, today=D(2026, 1, 10), execution_date="2026-01-10")
    interruption = services.add_interruption(
        db,
        lerum,
        decision,
        {"interrupted_on": "2026-02-01", "reason": "Kontaktfamiljen sade upp sig"},
        D(2026, 2, 1),
    )
    db.commit()
    during = watch_of(decision, D(2026, 5, 1))
    assert during.state_key == DecisionState.INTERRUPTED
    assert during.deadline == D(2026, 5, 1)
    assert not during.reportable
    over = watch_of(decision, D(2026, 5, 2))
    assert over.state_key == DecisionState.INTERRUPTED_OVER_THREE_MONTHS
    assert over.reportable
    services.resume_interruption(
        db, lerum, decision, interruption.id, {"resumed_on": "2026-05-10"}, D(2026, 5, 10)
    )
    resumed = watch_of(decision, D(2026, 5, 10))
    assert resumed.state_key == DecisionState.RESUMED
    assert resumed.status.resumed_late
    assert not resumed.reportable


def test_closed_decision_is_neither_reportable_nor_changeable(db, harryda, transfer):
    decision = _record(db, harryda, transfer, today=D(2026, 4, 1))
    assert watch_of(decision, D(2026, 4, 1)).reportable
    services.close_decision(
        db,
        harryda,
        decision,
        {"closed_on": "2026-04-01", "closing_reason": "Tackade nej till insatsen"},
        D(2026, 4, 1),
    )
    watch = watch_of(decision, D(2026, 4, 2))
    assert watch.state_key == "closed"
    assert watch.label == "Avslutat"
    assert not watch.reportable
    with pytest.raises(Conflict):
        services.add_offer(db, harryda, decision, {"offered_on": "2026-04-01"}, D(2026, 4, 2))
    with pytest.raises(Conflict):
        services.record_execution(db, harryda, decision, {"execution_date": "2026-04-01"}, D(2026, 4, 2))
    with pytest.raises(Conflict):
        services.close_decision(
            db, harryda, decision, {"closed_on": "2026-04-02", "closing_reason": "x"}, D(2026, 4, 2)
        )


def test_non_reportable_legal_basis_is_never_reportable(db, harryda, transfer, legal_bases):
    basis = legal_bases["SOL-HVB"]
    basis.reportable = False
    db.commit()
    decision = add_decision(db, basis, D(2025, 11, 30), transfer=transfer)
    watch = watch_of(decision, D(2026, 6, 1))
    assert watch.state_key == DecisionState.NOT_EXECUTED
    assert not watch.reportable


# --- The watch list -----------------------------------------------------------------------------


def test_watch_list_reportable_first_with_filters(db, harryda, transfer, make_transfer, legal_bases):
    basis = legal_bases["LSS-9-4"]
    today = D(2026, 4, 15)
    in_time = add_decision(db, basis, D(2026, 1, 5), transfer=transfer, execution_date=D(2026, 2, 1))
    pending_far = add_decision(db, basis, D(2026, 4, 1), transfer=transfer)
    pending_near = add_decision(db, basis, D(2026, 1, 20), transfer=transfer)
    late_old = add_decision(db, basis, D(2025, 10, 1), transfer=transfer)
    late_new = add_decision(db, basis, D(2026, 1, 1), transfer=transfer)
    other = make_transfer(requesting="Mölndal", performing="Lerum", status=TransferStatus.ACCEPTED)
    add_decision(db, basis, D(2025, 10, 1), transfer=other)  # Mölndal's, never in Härryda's list

    rows = services.decisions_for_watch(db, harryda, today)
    assert [w.decision.id for w in rows] == [
        late_old.id,
        late_new.id,
        pending_near.id,
        pending_far.id,
        in_time.id,
    ]
    assert [w.reportable for w in rows] == [True, True, False, False, False]
    assert rows[0].days_since_decision == 196

    only = services.decisions_for_watch(db, harryda, today, reportable_only=True)
    assert [w.decision.id for w in only] == [late_old.id, late_new.id]
    pending = services.decisions_for_watch(db, harryda, today, state="pending")
    assert {w.decision.id for w in pending} == {pending_near.id, pending_far.id}


def test_performer_sees_only_what_it_performs(db, lerum, transfer, make_transfer, legal_bases):
    basis = legal_bases["LSS-9-4"]
    ours = add_decision(db, basis, D(2026, 1, 5), transfer=transfer)
    elsewhere = make_transfer(requesting="Härryda", performing="Mölndal", status=TransferStatus.ACCEPTED)
    theirs = add_decision(db, basis, D(2026, 1, 5), transfer=elsewhere)

    assert services.decisions_for_watch(db, lerum, D(2026, 4, 15)) == []  # Lerum answers for none
    performing = services.decisions_for_watch(db, lerum, D(2026, 4, 15), role="performing")
    assert [w.decision.id for w in performing] == [ours.id]
    assert services.get_decision_for(db, lerum, ours.id).id == ours.id
    with pytest.raises(DecisionNotFound):
        services.get_decision_for(db, lerum, theirs.id)


def test_third_municipality_gets_not_found(db, make_user, transfer, legal_bases):
    decision = add_decision(db, legal_bases["LSS-9-4"], D(2026, 1, 5), transfer=transfer)
    molndal = make_user(roles=("admin",), kommun="Mölndal")
    with pytest.raises(DecisionNotFound):
        services.get_decision_for(db, molndal, decision.id)
    assert services.decisions_for_watch(db, molndal, D(2026, 4, 15), role="all") == []
    with pytest.raises(TransferNotFound):
        _record(db, molndal, transfer, today=D(2026, 4, 15))
    with pytest.raises(PermissionDenied):  # a service given someone else's decision still refuses
        services.record_execution(db, molndal, decision, {"execution_date": "2026-02-01"}, D(2026, 4, 15))


def test_performer_views_are_written_to_the_insight_log(db, lerum, harryda, transfer, legal_bases):
    from registry.models import InsightLogEntry

    decision = add_decision(db, legal_bases["LSS-9-4"], D(2026, 1, 5), transfer=transfer)
    services.get_decision_for(db, harryda, decision.id, channel="sida")
    services.get_decision_for(db, lerum, decision.id, channel="api")
    entries = db.scalars(select(InsightLogEntry).where(InsightLogEntry.transfer_id == transfer.id)).all()
    assert [(e.user_id, e.channel) for e in entries] == [(lerum.id, "api")]


# --- Recording and who may ----------------------------------------------------------------------


def test_record_under_transfer_makes_the_requester_responsible(db, lerum, transfer):
    decision = _record(db, lerum, transfer, today=D(2026, 1, 10), ivo_person_ref="19850101-t124")
    assert decision.responsible_municipality_id == transfer.requesting_municipality_id
    assert decision.transfer_id == transfer.id
    assert decision.legal_basis.code == "SOL-KONTAKTPERSON"
    assert decision.ivo_person_ref == "19850101-T124"
    assert watch_of(decision, D(2026, 1, 10)).sex == "kvinna"


def test_record_under_agreement_makes_the_users_municipality_responsible(
    db, harryda, make_agreement, make_user, legal_bases
):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda",))
    data = {
        "agreement_id": agreement.id,
        "legal_basis": "LSS-9-10",
        "insats_type": "Daglig verksamhet",
        "decision_date": "2026-01-10",
    }
    decision = services.record_decision(db, harryda, data, today=D(2026, 1, 10))
    assert decision.responsible_municipality.name == "Härryda"
    assert decision.transfer_id is None
    outsider = make_user(roles=("admin",), kommun="Lerum")
    with pytest.raises(AgreementNotFound):
        services.record_decision(db, outsider, data, today=D(2026, 1, 10))


@pytest.mark.parametrize("status", [TransferStatus.REQUESTED, TransferStatus.DECLINED])
def test_no_decision_under_a_transfer_not_accepted(db, harryda, make_transfer, legal_bases, status):
    transfer = make_transfer(status=status)
    with pytest.raises(Conflict) as exc:
        _record(db, harryda, transfer, today=D(2026, 1, 10))
    assert "accepterat" in exc.value.message
    assert _count(db) == 0


@pytest.mark.parametrize("role", ["finance", "auditor", "legal"])
def test_read_only_roles_cannot_write(db, make_user, harryda, transfer, legal_bases, role):
    reader = make_user(roles=(role,), kommun="Härryda")
    with pytest.raises(PermissionDenied):
        _record(db, reader, transfer, today=D(2026, 1, 10))
    decision = add_decision(db, legal_bases["LSS-9-4"], D(2026, 1, 5), transfer=transfer)
    assert services.get_decision_for(db, reader, decision.id).id == decision.id
    for action, data in (
        (services.record_execution, {"execution_date": "2026-01-06"}),
        (services.add_offer, {"offered_on": "2026-01-06"}),
        (services.update_decision, {"insats_type": "Annat"}),
        (services.close_decision, {"closed_on": "2026-01-06", "closing_reason": "Flyttat"}),
    ):
        with pytest.raises(PermissionDenied):
            action(db, reader, decision, data, D(2026, 1, 10))


# --- Validation: Swedish messages, nothing saved ------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"decision_date": "2026-01-11"}, "decision_date", "har inte inträffat än"),
        ({"execution_date": "2025-11-29"}, "execution_date", "före beslutsdatumet (2025-11-30)"),
        ({"execution_date": "2026-01-11"}, "execution_date", "har inte inträffat än"),
        ({"decision_date": "0225-11-30"}, "decision_date", "orimligt tidigt"),
        ({"legal_basis": "SOL-OKAND"}, "legal_basis", "finns inte"),
        ({"legal_basis": ""}, "legal_basis", "Välj lagrum."),
        ({"insats_type": "Kontaktperson för 19121212-1212"}, "insats_type", "personnummer"),
        ({"delay_reason": "Se 121212-1212"}, "delay_reason", "personnummer"),
        ({"insats_type": "  "}, "insats_type", "Fältet får inte vara tomt."),
        ({"decision_date": "30/11/2025"}, "decision_date", "ÅÅÅÅ-MM-DD"),
        ({"agreement_id": 1}, "transfer_id", "antingen"),
        ({"unknown_field": "x"}, "unknown_field", "okänt"),
    ],
)
def test_invalid_decisions_are_refused_in_swedish(db, harryda, transfer, overrides, field, fragment):
    with pytest.raises(ValidationFailed) as exc:
        _record(db, harryda, transfer, today=D(2026, 1, 10), **overrides)
    assert field in exc.value.errors
    assert fragment.lower() in " ".join(exc.value.errors[field]).lower()
    db.rollback()
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("19850230-T123", "finns inte"),
        ("20260111-T123", "framtiden"),
        ("19850101-1234", "ÅÅÅÅMMDD-X123"),
        ("850101-T123", "ÅÅÅÅMMDD-X123"),
        ("19850101T123", "ÅÅÅÅMMDD-X123"),
        ("19850101-TT12", "ÅÅÅÅMMDD-X123"),
        ("18990101-T123", "inte rimligt"),
        ("19850101-1236", "personnummer"),  # a real-looking personnummer (valid check digit)
        ("850101-1236", "personnummer"),
    ],
)
def test_ivo_person_ref_is_validated(db, harryda, transfer, ref, fragment):
    with pytest.raises(ValidationFailed) as exc:
        _record(db, harryda, transfer, today=D(2026, 1, 10), ivo_person_ref=ref)
    message = " ".join(exc.value.errors["ivo_person_ref"])
    assert fragment.lower() in message.lower()
    assert "1236" not in message  # the number is masked, never echoed
    db.rollback()
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("ref", "normalized", "sex"),
    [
        ("19850101-T124", "19850101-T124", "woman"),
        ("19850101-a123", "19850101-A123", "man"),
        ("20000229-X990", "20000229-X990", "woman"),
    ],
)
def test_valid_ivo_person_refs(ref, normalized, sex):
    parsed = parse_ivo_person_ref(ref)
    assert (parsed.value, parsed.sex) == (normalized, sex)


def test_feedback_dates_are_checked(db, harryda, lerum, transfer):
    decision = _record(db, harryda, transfer, today=D(2026, 1, 10), decision_date="2025-12-01")
    today = D(2026, 3, 1)
    cases = [
        (services.add_offer, {"offered_on": "2025-11-30"}, "offered_on", "före beslutsdatumet"),
        (services.add_offer, {"offered_on": "2026-03-02"}, "offered_on", "har inte inträffat än"),
        (
            services.add_offer,
            {"offered_on": "2026-01-02", "note": "Ring 19121212-1212"},
            "note",
            "personnummer",
        ),
        (
            services.record_execution,
            {"execution_date": "2025-11-30"},
            "execution_date",
            "före beslutsdatumet",
        ),
        (services.record_execution, {}, "execution_date", "måste fyllas i"),
        (services.close_decision, {"closed_on": "2026-01-02"}, "closing_reason", "måste fyllas i"),
        (services.close_decision, {"closed_on": "2025-11-01", "closing_reason": "x"}, "closed_on", "före"),
    ]
    for action, data, field, fragment in cases:
        with pytest.raises(ValidationFailed) as exc:
            action(db, lerum, decision, data, today)
        assert fragment in " ".join(exc.value.errors[field]), (data, exc.value.errors)
    with pytest.raises(Conflict, match="inte verkställt"):
        services.add_interruption(db, lerum, decision, {"interrupted_on": "2026-02-01"}, today)
    db.rollback()
    db.refresh(decision)
    assert decision.execution_date is None and decision.closed_on is None
    assert _count(db, DecisionOffer) == 0


def test_interruption_rules(db, harryda, transfer):
    decision = _record(db, harryda, transfer, today=D(2026, 1, 10), execution_date="2026-01-05")
    today = D(2026, 6, 1)
    with pytest.raises(ValidationFailed) as exc:
        services.add_interruption(db, harryda, decision, {"interrupted_on": "2026-01-04"}, today)
    assert "före verkställigheten (2026-01-05)" in exc.value.errors["interrupted_on"][0]
    first = services.add_interruption(db, harryda, decision, {"interrupted_on": "2026-02-01"}, today)
    db.commit()
    with pytest.raises(Conflict, match="pågår fortfarande"):
        services.add_interruption(db, harryda, decision, {"interrupted_on": "2026-03-01"}, today)
    with pytest.raises(ValidationFailed) as exc:
        services.resume_interruption(db, harryda, decision, first.id, {"resumed_on": "2026-01-31"}, today)
    assert "före avbrottet" in exc.value.errors["resumed_on"][0]
    with pytest.raises(ValidationFailed):
        services.record_execution(db, harryda, decision, {"execution_date": "2026-02-02"}, today)
    services.resume_interruption(db, harryda, decision, first.id, {"resumed_on": "2026-02-10"}, today)
    with pytest.raises(Conflict, match="redan"):
        services.resume_interruption(db, harryda, decision, first.id, {"resumed_on": "2026-02-11"}, today)
    with pytest.raises(ValidationFailed) as exc:
        services.add_interruption(db, harryda, decision, {"interrupted_on": "2026-02-09"}, today)
    assert "återupptagandet efter förra avbrottet (2026-02-10)" in exc.value.errors["interrupted_on"][0]
    with pytest.raises(NotFound):
        services.resume_interruption(db, harryda, decision, 999_999, {"resumed_on": "2026-02-11"}, today)
    second = services.add_interruption(db, harryda, decision, {"interrupted_on": "2026-02-10"}, today)
    db.commit()
    assert [i.id for i in watch_of(decision, today).interruptions] == [first.id, second.id]
    assert _count(db, DecisionInterruption) == 2


def test_update_decision_keeps_dates_consistent(db, harryda, transfer):
    decision = _record(db, harryda, transfer, today=D(2026, 3, 1), execution_date="2026-01-15")
    with pytest.raises(ValidationFailed) as exc:
        services.update_decision(db, harryda, decision, {"decision_date": "2026-01-16"}, D(2026, 3, 1))
    assert "efter verkställigheten (2026-01-15)" in exc.value.errors["decision_date"][0]
    with pytest.raises(ValidationFailed) as exc:
        services.update_decision(db, harryda, decision, {"insats_type": None}, D(2026, 3, 1))
    assert "insats_type" in exc.value.errors
    services.update_decision(
        db,
        harryda,
        decision,
        {"decision_date": "2025-12-01", "legal_basis": "LSS-9-4", "ivo_person_ref": "19900315-K131"},
        D(2026, 3, 1),
    )
    assert decision.decision_date == D(2025, 12, 1)
    assert decision.legal_basis.code == "LSS-9-4"
    assert watch_of(decision, D(2026, 3, 1)).sex == "man"
    services.update_decision(db, harryda, decision, {"ivo_person_ref": None}, D(2026, 3, 1))
    assert decision.ivo_person_ref is None


def test_changes_are_audited_under_the_responsible_municipality(db, harryda, lerum, transfer):
    with acting_as("test: handläggare", harryda.id):
        decision = _record(db, harryda, transfer, today=D(2026, 3, 1))
    with acting_as("test: utförare", lerum.id):
        services.record_execution(db, lerum, decision, {"execution_date": "2026-02-20"}, D(2026, 3, 1))
        services.add_offer(db, lerum, decision, {"offered_on": "2026-02-01", "declined": True}, D(2026, 3, 1))
        db.commit()
    entries = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity.in_(("decisions", "decision_offers")))
        .order_by(AuditEntry.id)
    ).all()
    created, executed, offered = entries[-3:]
    assert (created.action, created.entity, created.user_id) == ("insert", "decisions", harryda.id)
    assert created.municipality_id == transfer.requesting_municipality_id
    assert created.changes["decision_date"] == [None, "2025-11-30"]
    assert (executed.action, executed.user_id) == ("update", lerum.id)
    assert executed.changes["execution_date"] == [None, "2026-02-20"]
    assert (offered.entity, offered.municipality_id) == (
        "decision_offers",
        transfer.requesting_municipality_id,
    )
