"""The lifecycle of a case transfer: every legal and illegal move, who may make it, decline reasons,
interruption and resumption, and the event each move leaves behind."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.errors import PermissionDenied, ValidationFailed
from registry.errors import IllegalTransition
from registry.models import CaseTransfer, CaseTransferEvent, Executor
from registry.models import TransferStatus as S
from registry.transfers import services
from registry.transfers.services import TRANSFER_TRANSITIONS, Side, transition_transfer
from tests.registry.test_transfers_helpers import (
    ALL_PAIRS,
    BOTH,
    INTERRUPTIBLE,
    LEGAL_MOVES,
    PERF,
    PERSONNUMMER,
    REQ,
    THIRD_KOMMUN,
    kommun_for,
    other_side,
    transfer_in,
)


def _events(db, transfer) -> list[CaseTransferEvent]:
    return db.scalars(
        select(CaseTransferEvent)
        .where(CaseTransferEvent.transfer_id == transfer.id)
        .order_by(CaseTransferEvent.id)
    ).all()


def _fresh(db, transfer) -> CaseTransfer:
    db.expire_all()
    return db.get(CaseTransfer, transfer.id)


def test_transition_table_matches_the_documented_lifecycle():
    expected: dict = {s: set() for s in S}
    for (source, target), _who in LEGAL_MOVES.items():
        expected[source].add(target)
    # From "interrupted" the table lists every status one can resume to; the one actually allowed is
    # the status the transfer was interrupted in (tested below).
    expected[S.INTERRUPTED] |= set(INTERRUPTIBLE)
    assert {s: set(t) for s, t in TRANSFER_TRANSITIONS.items()} == expected
    assert TRANSFER_TRANSITIONS[S.DECLINED] == frozenset()
    assert TRANSFER_TRANSITIONS[S.CLOSED] == frozenset()


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_status_pair(db, make_transfer, make_user, source, target):
    transfer = transfer_in(make_transfer, source)
    who = LEGAL_MOVES.get((source, target))
    side = REQ if who in (REQ, BOTH) else PERF
    user = make_user(roles=("caseworker",), kommun=kommun_for(side))
    comment = "Skäl: saknar kapacitet" if target == S.DECLINED else None

    if who is None:
        with pytest.raises(IllegalTransition) as info:
            transition_transfer(db, user, transfer, target, comment=comment)
        assert info.value.status_code == 409
        assert "kan inte gå från" in info.value.message
        assert _fresh(db, transfer).status == source
        assert _events(db, transfer) == []
    else:
        event = transition_transfer(db, user, transfer, target, comment=comment)
        db.commit()
        assert _fresh(db, transfer).status == target
        [stored] = _events(db, transfer)
        assert stored.id == event.id
        assert (stored.from_status, stored.to_status) == (source, target)
        assert stored.user_id == user.id


@pytest.mark.parametrize(
    ("source", "target"),
    [move for move, who in LEGAL_MOVES.items() if who != BOTH],
    ids=[f"{a}->{b}" for (a, b), who in LEGAL_MOVES.items() if who != BOTH],
)
def test_the_other_party_may_not_make_a_move_that_is_not_theirs(db, make_transfer, make_user, source, target):
    transfer = transfer_in(make_transfer, source)
    wrong = other_side(LEGAL_MOVES[(source, target)])
    user = make_user(roles=("admin",), kommun=kommun_for(wrong))
    with pytest.raises(PermissionDenied) as info:
        transition_transfer(db, user, transfer, target, comment="Ett skäl")
    assert info.value.status_code == 403
    assert "görs av den" in info.value.message
    assert _fresh(db, transfer).status == source
    assert _events(db, transfer) == []


@pytest.mark.parametrize("side", [REQ, PERF])
@pytest.mark.parametrize(("source", "target"), [move for move, who in LEGAL_MOVES.items() if who == BOTH])
def test_either_party_may_interrupt_and_resume(db, make_transfer, make_user, side, source, target):
    transfer = transfer_in(make_transfer, source)
    user = make_user(roles=("caseworker",), kommun=kommun_for(side))
    transition_transfer(db, user, transfer, target)
    assert _fresh(db, transfer).status == target


@pytest.mark.parametrize("executor", [Executor.REQUESTING, Executor.PERFORMING])
def test_execution_is_registered_by_the_municipality_that_executes(db, make_transfer, make_user, executor):
    transfer = transfer_in(make_transfer, S.DECIDED, executor=executor)
    executing = REQ if executor == Executor.REQUESTING else PERF
    with pytest.raises(PermissionDenied):
        transition_transfer(
            db, make_user(roles=("admin",), kommun=kommun_for(other_side(executing))), transfer, S.EXECUTED
        )
    transition_transfer(
        db, make_user(roles=("caseworker",), kommun=kommun_for(executing)), transfer, S.EXECUTED
    )
    assert _fresh(db, transfer).status == S.EXECUTED


@pytest.mark.parametrize("role", ["finance", "legal", "auditor"])
@pytest.mark.parametrize("side", [REQ, PERF])
def test_reading_roles_of_a_party_can_read_but_not_move(db, make_transfer, make_user, role, side):
    transfer = transfer_in(make_transfer, S.DECIDED)
    user = make_user(roles=(role,), kommun=kommun_for(side))
    assert services.get_transfer_for(db, user, transfer.id).id == transfer.id
    assert services.steps_for(user, transfer) == []
    for target in (S.INTERRUPTED, S.CLOSED, S.EXECUTED):
        with pytest.raises(PermissionDenied):
            transition_transfer(db, user, transfer, target)
    assert _fresh(db, transfer).status == S.DECIDED


def test_a_third_municipality_cannot_move_a_transfer(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    with pytest.raises(PermissionDenied):
        transition_transfer(db, make_user(roles=("admin",), kommun=THIRD_KOMMUN), transfer, S.ACCEPTED)
    assert _fresh(db, transfer).status == S.REQUESTED


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_decline_needs_a_reason(db, make_transfer, make_user, reason):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    user = make_user(roles=("caseworker",), kommun="Lerum")
    with pytest.raises(ValidationFailed) as info:
        transition_transfer(db, user, transfer, S.DECLINED, comment=reason)
    assert "skälet" in info.value.errors["comment"][0]
    fresh = _fresh(db, transfer)
    assert fresh.status == S.REQUESTED and fresh.decline_reason is None and fresh.answered_on is None
    assert _events(db, transfer) == []


def test_decline_stores_the_reason_and_the_answer_date(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.REQUESTED, requested_on=dt.date(2026, 3, 2))
    user = make_user(roles=("caseworker",), kommun="Lerum")
    transition_transfer(
        db, user, transfer, S.DECLINED, on=dt.date(2026, 3, 5), comment="  Ingen ledig handläggare.  "
    )
    fresh = _fresh(db, transfer)
    assert fresh.status == S.DECLINED
    assert fresh.decline_reason == "Ingen ledig handläggare."
    assert fresh.answered_on == dt.date(2026, 3, 5)
    assert services.answer_days(fresh) == 3
    assert _events(db, transfer)[-1].comment == "Ingen ledig handläggare."
    assert services.next_steps(fresh) == []


@pytest.mark.parametrize("before", INTERRUPTIBLE)
def test_interrupted_transfer_resumes_to_the_status_it_was_interrupted_in(
    db, make_transfer, make_user, before
):
    transfer = transfer_in(make_transfer, before)
    requesting = make_user(roles=("caseworker",), kommun="Härryda")
    performing = make_user(roles=("caseworker",), kommun="Lerum")

    transition_transfer(db, performing, transfer, S.INTERRUPTED, comment="Klienten vistas utomlands")
    fresh = _fresh(db, transfer)
    assert fresh.status == S.INTERRUPTED
    assert fresh.status_before_interruption == before
    assert [s.target for s in services.next_steps(fresh)] == [before, S.CLOSED]

    for wrong in set(INTERRUPTIBLE) - {before}:
        with pytest.raises(IllegalTransition):
            transition_transfer(db, requesting, fresh, wrong)
    transition_transfer(db, requesting, fresh, before, comment="Klienten är tillbaka")
    fresh = _fresh(db, transfer)
    assert fresh.status == before
    assert fresh.status_before_interruption is None
    assert [(e.from_status, e.to_status, e.user_id) for e in _events(db, transfer)] == [
        (before, S.INTERRUPTED, performing.id),
        (S.INTERRUPTED, before, requesting.id),
    ]


def test_a_transfer_that_is_never_resumed_is_closed_by_the_requesting_municipality(
    db, make_transfer, make_user
):
    transfer = transfer_in(make_transfer, S.INTERRUPTED, before=S.EXECUTED)
    with pytest.raises(PermissionDenied):
        transition_transfer(db, make_user(roles=("admin",), kommun="Lerum"), transfer, S.CLOSED)
    transition_transfer(
        db, make_user(roles=("admin",), kommun="Härryda"), transfer, S.CLOSED, comment="Flyttat"
    )
    fresh = _fresh(db, transfer)
    assert fresh.status == S.CLOSED and fresh.closed_on == services.local_today()
    assert fresh.status_before_interruption is None


def test_a_whole_lifecycle_is_timestamped_and_attributed(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.REQUESTED, requested_on=dt.date(2026, 2, 2))
    requesting = make_user(roles=("caseworker",), kommun="Härryda", name="Rut Begär")
    performing = make_user(roles=("caseworker",), kommun="Lerum", name="Per Utför")
    steps = [
        (performing, S.ACCEPTED, dt.date(2026, 2, 4), "Vi tar ärendet"),
        (performing, S.INVESTIGATING, dt.date(2026, 2, 9), None),
        (performing, S.DECIDED, dt.date(2026, 4, 1), "Beslut om insats"),
        (performing, S.EXECUTED, dt.date(2026, 4, 20), None),
        (requesting, S.CLOSED, dt.date(2026, 9, 30), "Insatsen avslutad"),
    ]
    before = dt.datetime.now(dt.UTC)
    for user, target, on, comment in steps:
        transition_transfer(db, user, transfer, target, on=on, comment=comment)
    db.commit()
    after = dt.datetime.now(dt.UTC)

    events = _events(db, transfer)
    assert [(e.from_status, e.to_status) for e in events] == [
        (S.REQUESTED, S.ACCEPTED),
        (S.ACCEPTED, S.INVESTIGATING),
        (S.INVESTIGATING, S.DECIDED),
        (S.DECIDED, S.EXECUTED),
        (S.EXECUTED, S.CLOSED),
    ]
    assert [e.user_id for e in events] == [performing.id] * 4 + [requesting.id]
    assert [e.effective_on for e in events] == [on for _, _, on, _ in steps]
    assert [e.comment for e in events] == [c for *_, c in steps]
    for e in events:
        assert e.occurred_at.tzinfo is not None
        assert before - dt.timedelta(seconds=1) <= e.occurred_at <= after + dt.timedelta(seconds=1)
    fresh = _fresh(db, transfer)
    assert fresh.answered_on == dt.date(2026, 2, 4)
    assert fresh.closed_on == dt.date(2026, 9, 30)
    assert services.next_steps(fresh) == []


def test_step_date_cannot_be_in_the_future_or_before_the_previous_step(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.REQUESTED, requested_on=dt.date(2026, 2, 2))
    user = make_user(roles=("caseworker",), kommun="Lerum")
    tomorrow = services.local_today() + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as info:
        transition_transfer(db, user, transfer, S.ACCEPTED, on=tomorrow)
    assert info.value.errors["on"] == ["Datumet kan inte ligga i framtiden."]
    with pytest.raises(ValidationFailed) as info:
        transition_transfer(db, user, transfer, S.ACCEPTED, on=dt.date(2026, 2, 1))
    assert "före föregående steg (2026-02-02)" in info.value.errors["on"][0]
    transition_transfer(db, user, transfer, S.ACCEPTED, on=dt.date(2026, 2, 3))
    with pytest.raises(ValidationFailed):
        transition_transfer(db, user, transfer, S.INVESTIGATING, on=dt.date(2026, 2, 2))
    transition_transfer(db, user, transfer, S.INVESTIGATING)  # default: today
    assert _events(db, transfer)[-1].effective_on == services.local_today()


def test_personal_number_in_a_comment_is_refused_and_nothing_changes(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    user = make_user(roles=("caseworker",), kommun="Lerum")
    with pytest.raises(ValidationFailed) as info:
        transition_transfer(db, user, transfer, S.ACCEPTED, comment=f"Gäller {PERSONNUMMER}")
    assert "personnummer" in info.value.errors["comment"][0]
    assert "pseudonyma referens" in info.value.errors["comment"][0]
    assert _fresh(db, transfer).status == S.REQUESTED
    assert _events(db, transfer) == []


def test_input_errors_are_reported_together_after_the_permission_checks(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    tomorrow = services.local_today() + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as info:
        transition_transfer(
            db,
            make_user(roles=("caseworker",), kommun="Lerum"),
            transfer,
            S.DECLINED,
            on=tomorrow,
            comment=PERSONNUMMER,
        )
    assert set(info.value.errors) == {"on", "comment"}
    with pytest.raises(PermissionDenied):  # the other party's move: refused before the input is looked at
        transition_transfer(
            db, make_user(roles=("caseworker",), kommun="Härryda"), transfer, S.DECLINED, on="i går"
        )
    with pytest.raises(IllegalTransition):
        transition_transfer(
            db, make_user(roles=("caseworker",), kommun="Lerum"), transfer, S.CLOSED, on="i går"
        )


def test_unknown_target_is_a_validation_error(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    user = make_user(roles=("caseworker",), kommun="Lerum")
    with pytest.raises(ValidationFailed) as info:
        transition_transfer(db, user, transfer, "resumed")
    assert "target" in info.value.errors


def test_illegal_move_message_names_the_allowed_steps(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    user = make_user(roles=("caseworker",), kommun="Lerum")
    with pytest.raises(IllegalTransition) as info:
        transition_transfer(db, user, transfer, S.EXECUTED)
    assert info.value.message == (
        "Överlämningen kan inte gå från ”Begärd” till ”Verkställd”. Tillåtna steg: Accepterad, Avböjd."
    )


def test_next_steps_name_the_party_and_steps_for_filter_by_user(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.DECIDED)
    steps = {s.target: s for s in services.next_steps(transfer)}
    assert set(steps) == {S.EXECUTED, S.CLOSED, S.INTERRUPTED}
    assert steps[S.EXECUTED].sides == {Side.PERFORMING}
    assert steps[S.CLOSED].sides == {Side.REQUESTING}
    assert steps[S.CLOSED].confirm and not steps[S.EXECUTED].confirm
    requesting = make_user(roles=("caseworker",), kommun="Härryda")
    performing = make_user(roles=("caseworker",), kommun="Lerum")
    assert [s.target for s in services.steps_for(requesting, transfer)] == [S.CLOSED, S.INTERRUPTED]
    assert [s.target for s in services.steps_for(performing, transfer)] == [S.EXECUTED, S.INTERRUPTED]


def test_no_event_is_written_for_a_refused_move(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.CLOSED)
    user = make_user(roles=("admin",), kommun="Härryda")
    for target in S:
        with pytest.raises(IllegalTransition):
            transition_transfer(db, user, transfer, target)
    count = db.scalar(
        select(func.count())
        .select_from(CaseTransferEvent)
        .where(CaseTransferEvent.transfer_id == transfer.id)
    )
    assert count == 0
