"""Deadlines computed from the tables: each kind with its date and severity at the edges of the horizon."""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import PermissionDenied
from registry.deadlines import services
from registry.deadlines.services import DeadlineGroup, DeadlineKind, Severity
from registry.models import AgreementStatus, Decision, DecisionInterruption, TransferStatus

D = dt.date
AGREEMENT_KINDS = {DeadlineKind.NOTICE, DeadlineKind.AGREEMENT_END}


def found(db, municipality, today, kinds=None, horizon=90):
    deadlines = services.deadlines_for(db, municipality.id, today, horizon)
    return [(d.kind, d.date, d.severity) for d in deadlines if kinds is None or d.kind in kinds]


@pytest.fixture
def harryda(municipality):
    return municipality("Härryda")


# --- Agreements ---------------------------------------------------------------------------------
# The factory's agreement: ends 2026-12-31, renewed by 12 months, 6 months' notice -> last notice
# date 2026-06-30.


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 3, 31), []),  # 91 days before: outside the horizon
        (D(2026, 4, 1), [(DeadlineKind.NOTICE, D(2026, 6, 30), Severity.INFO)]),  # exactly 90 days
        (D(2026, 5, 30), [(DeadlineKind.NOTICE, D(2026, 6, 30), Severity.INFO)]),  # 31 days
        (D(2026, 5, 31), [(DeadlineKind.NOTICE, D(2026, 6, 30), Severity.SOON)]),  # 30 days
        (D(2026, 6, 30), [(DeadlineKind.NOTICE, D(2026, 6, 30), Severity.SOON)]),  # the day itself
        (D(2026, 7, 1), [(DeadlineKind.NOTICE, D(2026, 6, 30), Severity.OVERDUE)]),  # passed yesterday
        (D(2026, 7, 30), [(DeadlineKind.NOTICE, D(2026, 6, 30), Severity.OVERDUE)]),  # passed 30 days ago
        (D(2026, 7, 31), []),  # passed 31 days ago: dropped
    ],
)
def test_last_notice_date_at_the_edges(db, make_agreement, harryda, today, expected):
    make_agreement()
    assert found(db, harryda, today, AGREEMENT_KINDS) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 10, 1), []),  # 91 days before the end
        (D(2026, 10, 2), [(DeadlineKind.AGREEMENT_END, D(2026, 12, 31), Severity.INFO)]),
        (D(2026, 12, 1), [(DeadlineKind.AGREEMENT_END, D(2026, 12, 31), Severity.SOON)]),
        (D(2026, 12, 31), [(DeadlineKind.AGREEMENT_END, D(2026, 12, 31), Severity.SOON)]),
        # Renewed automatically: the next period ends 2027-12-31, its notice date 2027-06-30 is far off.
        (D(2027, 1, 1), []),
        (D(2027, 4, 1), [(DeadlineKind.NOTICE, D(2027, 6, 30), Severity.INFO)]),
    ],
)
def test_end_of_a_renewing_agreement(db, make_agreement, harryda, today, expected):
    make_agreement()
    assert found(db, harryda, today, AGREEMENT_KINDS) == expected


def test_agreement_without_renewal_that_has_ended_but_still_runs(db, make_agreement, harryda):
    make_agreement(end_date=D(2026, 3, 31), renewal_months=None, notice_months=3)
    # The notice date 2025-12-31 passed more than 30 days ago; the end is 30 days away.
    assert found(db, harryda, D(2026, 3, 1), AGREEMENT_KINDS) == [
        (DeadlineKind.AGREEMENT_END, D(2026, 3, 31), Severity.SOON)
    ]
    # After the end: overdue for 30 days (still marked active), never a notice date.
    assert found(db, harryda, D(2026, 4, 30), AGREEMENT_KINDS) == [
        (DeadlineKind.AGREEMENT_END, D(2026, 3, 31), Severity.OVERDUE)
    ]
    assert found(db, harryda, D(2026, 5, 1), AGREEMENT_KINDS) == []
    deadline = services.deadlines_for(db, harryda.id, D(2026, 4, 10))[0]
    assert deadline.title == "Avtalet upphör: TEST-001 Testavtal 1"
    assert "fortfarande registrerat som gällande" in deadline.detail


def test_short_renewal_periods_show_the_next_notice_date_too(db, make_agreement, harryda):
    # Ends 2026-03-31, renewed by 3 months, 1 month's notice: notice 2026-02-28 (passed), then the
    # period ends 2026-03-31 and the next one's notice date 2026-05-30 is within 90 days.
    make_agreement(end_date=D(2026, 3, 31), renewal_months=3, notice_months=1)
    assert found(db, harryda, D(2026, 3, 5), AGREEMENT_KINDS) == [
        (DeadlineKind.NOTICE, D(2026, 2, 28), Severity.OVERDUE),
        (DeadlineKind.AGREEMENT_END, D(2026, 3, 31), Severity.SOON),
        (DeadlineKind.NOTICE, D(2026, 5, 30), Severity.INFO),
    ]


def test_notice_date_at_a_month_end_is_not_missed(db, make_agreement, harryda):
    # 2026-08-31 with 6 months' notice -> 2026-02-28; on 2025-11-30 that is exactly 90 days away.
    make_agreement(end_date=D(2026, 8, 31), renewal_months=12, notice_months=6)
    assert found(db, harryda, D(2025, 11, 30), AGREEMENT_KINDS) == [
        (DeadlineKind.NOTICE, D(2026, 2, 28), Severity.INFO)
    ]


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (AgreementStatus.ACTIVE, True),
        (AgreementStatus.RENEGOTIATION, True),
        (AgreementStatus.DRAFT, False),
        (AgreementStatus.TERMINATED, False),
        (AgreementStatus.EXPIRED, False),
    ],
)
def test_only_running_agreements_count(db, make_agreement, harryda, status, shown):
    make_agreement(status=status)
    assert bool(found(db, harryda, D(2026, 6, 1), AGREEMENT_KINDS)) is shown


def test_agreements_of_others_and_open_ended_ones_do_not_count(db, make_agreement, harryda, municipality):
    make_agreement(host="Göteborg", buyers=("Lerum",))
    make_agreement(end_date=None, renewal_months=None)
    assert found(db, harryda, D(2026, 6, 1), AGREEMENT_KINDS) == []
    assert len(found(db, municipality("Göteborg"), D(2026, 6, 1), AGREEMENT_KINDS)) == 1


def test_notice_deadline_links_to_the_agreement_and_explains_itself(db, make_agreement, harryda):
    agreement = make_agreement()
    deadline = services.deadlines_for(db, harryda.id, D(2026, 6, 1))[0]
    assert deadline.title == "Sista dag för uppsägning av TEST-001 Testavtal 1"
    assert deadline.detail == (
        "Uppsägningstid 6 månader. Avtalsperioden slutar 2026-12-31; "
        "utan uppsägning förlängs avtalet med 12 månader."
    )
    assert (deadline.endpoint, dict(deadline.args)) == (
        services.AGREEMENT_ENDPOINT,
        {"agreement_id": agreement.id},
    )
    assert deadline.uid == f"notice-{agreement.id}-2026-12-31@samverkan"


# --- Case transfers -----------------------------------------------------------------------------


def test_transfers_waiting_for_an_answer_on_both_sides(db, make_transfer, municipality):
    waiting = make_transfer(requesting="Härryda", performing="Lerum", requested_on=D(2026, 1, 10))
    make_transfer(requesting="Härryda", performing="Lerum", status=TransferStatus.ACCEPTED)
    make_transfer(requesting="Göteborg", performing="Mölndal")
    today = D(2026, 2, 1)
    transfer_kinds = {DeadlineKind.TRANSFER_TO_ANSWER, DeadlineKind.TRANSFER_AWAITING}

    lerum = services.deadlines_for(db, municipality("Lerum").id, today)
    assert [(d.kind, d.date, d.severity) for d in lerum if d.kind in transfer_kinds] == [
        (DeadlineKind.TRANSFER_TO_ANSWER, D(2026, 1, 10), Severity.SOON)
    ]
    assert lerum[0].title == f"Svara på begäran {waiting.reference} från Härryda"
    assert lerum[0].detail == "Begärd 2026-01-10, väntat 22 dagar."
    assert dict(lerum[0].args) == {"transfer_id": waiting.id}

    harryda = services.deadlines_for(db, municipality("Härryda").id, today)
    assert [(d.kind, d.severity, d.title) for d in harryda if d.kind in transfer_kinds] == [
        (DeadlineKind.TRANSFER_AWAITING, Severity.INFO, f"{waiting.reference} väntar på svar från Lerum")
    ]
    assert found(db, municipality("Ale"), today, transfer_kinds) == []


# --- Decisions ----------------------------------------------------------------------------------


@pytest.fixture
def make_decision(db, legal_bases, make_transfer, municipality):
    transfer = make_transfer(requesting="Härryda", performing="Lerum", status=TransferStatus.DECIDED)

    def _make(decision_date, execution_date=None, interruptions=(), responsible="Härryda", **overrides):
        decision = Decision(
            transfer=transfer,
            responsible_municipality=municipality(responsible),
            legal_basis=legal_bases["SOL-KONTAKTPERSON"],
            insats_type="Kontaktfamilj",
            decision_date=decision_date,
            execution_date=execution_date,
            **overrides,
        )
        decision.interruptions = [
            DecisionInterruption(interrupted_on=start, resumed_on=resumed) for start, resumed in interruptions
        ]
        db.add(decision)
        db.commit()
        return decision

    _make.transfer = transfer
    return _make


DECISION_KINDS = {DeadlineKind.DECISION, DeadlineKind.DECISION_INTERRUPTED}


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 3, 15), []),  # 31 days before the three months run out
        (D(2026, 3, 16), [(DeadlineKind.DECISION, D(2026, 4, 15), Severity.SOON)]),  # 30 days
        (D(2026, 4, 15), [(DeadlineKind.DECISION, D(2026, 4, 15), Severity.SOON)]),  # last day in time
        (D(2026, 4, 16), [(DeadlineKind.DECISION, D(2026, 4, 15), Severity.OVERDUE)]),  # reportable
        (D(2026, 12, 1), [(DeadlineKind.DECISION, D(2026, 4, 15), Severity.OVERDUE)]),  # until executed
    ],
)
def test_decision_not_executed_at_the_edges(db, make_decision, harryda, today, expected):
    make_decision(D(2026, 1, 15))
    assert found(db, harryda, today, DECISION_KINDS) == expected


def test_decision_titles_hold_no_client_data(db, make_decision, harryda):
    decision = make_decision(D(2026, 1, 15), ivo_person_ref="19850101-K123")
    soon, late = (
        services.deadlines_for(db, harryda.id, D(2026, 4, 1))[0],
        services.deadlines_for(db, harryda.id, D(2026, 5, 1))[0],
    )
    reference = make_decision.transfer.reference
    assert soon.title == f"Verkställ senast: beslut 2026-01-15 (SoL, ärende {reference})"
    assert (
        late.title
        == f"Ej verkställt inom tre månader, rapporteras till IVO: beslut 2026-01-15 (SoL, ärende {reference})"
    )
    for deadline in (soon, late):
        assert "19850101" not in deadline.title + deadline.detail
        assert "Kontaktfamilj" not in deadline.title + deadline.detail
    assert soon.uid == late.uid == f"decision-{decision.id}-2026-01-15@samverkan"


def test_executed_closed_and_others_decisions_do_not_count(db, make_decision, harryda):
    make_decision(D(2026, 1, 15), execution_date=D(2026, 3, 1))
    make_decision(D(2026, 1, 15), closed_on=D(2026, 2, 1), closing_reason="Avböjt")
    make_decision(D(2026, 1, 15), responsible="Lerum")
    make_decision(
        D(2026, 1, 15), execution_date=D(2026, 1, 20), interruptions=[(D(2026, 2, 1), D(2026, 2, 10))]
    )
    assert found(db, harryda, D(2026, 5, 1), DECISION_KINDS) == []


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 3, 31), []),
        (D(2026, 4, 1), [(DeadlineKind.DECISION_INTERRUPTED, D(2026, 5, 1), Severity.SOON)]),
        (D(2026, 5, 2), [(DeadlineKind.DECISION_INTERRUPTED, D(2026, 5, 1), Severity.OVERDUE)]),
    ],
)
def test_interrupted_decision_at_the_edges(db, make_decision, harryda, today, expected):
    make_decision(D(2026, 1, 15), execution_date=D(2026, 1, 20), interruptions=[(D(2026, 2, 1), None)])
    assert found(db, harryda, today, DECISION_KINDS) == expected


def test_decision_warning_follows_a_shorter_horizon(db, make_decision, harryda):
    make_decision(D(2026, 1, 15))
    assert found(db, harryda, D(2026, 3, 20), DECISION_KINDS, horizon=14) == []
    assert found(db, harryda, D(2026, 4, 1), DECISION_KINDS, horizon=14) == [
        (DeadlineKind.DECISION, D(2026, 4, 15), Severity.SOON)
    ]


# --- IVO ----------------------------------------------------------------------------------------

IVO_KINDS = {DeadlineKind.IVO_WINDOW_OPEN, DeadlineKind.IVO_WINDOW_NEXT}


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # Q1 is reported 1-30 April; Q2 1 July - 31 August.
        (D(2026, 4, 1), [(DeadlineKind.IVO_WINDOW_OPEN, D(2026, 4, 30), Severity.SOON)]),
        (
            D(2026, 4, 2),  # Q2's window opens in exactly 90 days
            [
                (DeadlineKind.IVO_WINDOW_OPEN, D(2026, 4, 30), Severity.SOON),
                (DeadlineKind.IVO_WINDOW_NEXT, D(2026, 7, 1), Severity.INFO),
            ],
        ),
        (D(2026, 5, 15), [(DeadlineKind.IVO_WINDOW_NEXT, D(2026, 7, 1), Severity.INFO)]),
        (
            D(2026, 8, 31),
            [
                (DeadlineKind.IVO_WINDOW_OPEN, D(2026, 8, 31), Severity.SOON),
                (DeadlineKind.IVO_WINDOW_NEXT, D(2026, 10, 1), Severity.INFO),
            ],
        ),
        (D(2026, 12, 20), [(DeadlineKind.IVO_WINDOW_NEXT, D(2027, 1, 1), Severity.INFO)]),
    ],
)
def test_ivo_window_open_and_next(db, harryda, today, expected):
    assert found(db, harryda, today, IVO_KINDS) == expected


def test_ivo_titles_name_the_quarter(db, harryda):
    deadlines = services.deadlines_for(db, harryda.id, D(2027, 1, 10))
    assert [d.title for d in deadlines] == [
        "Sista dag att rapportera ej verkställda beslut för kvartal 4 2026 till IVO",
        "IVO-rapporteringen för kvartal 1 2027 öppnar",
    ]
    assert deadlines[0].detail == "Rapporteringen är öppen 2027-01-01–2027-01-31."


# --- The whole list -----------------------------------------------------------------------------


def test_everything_sorted_by_date(db, make_agreement, make_transfer, make_decision, harryda):
    make_agreement()
    make_transfer(requesting="Härryda", performing="Lerum", requested_on=D(2026, 5, 20))
    make_decision(D(2026, 3, 1))
    deadlines = services.deadlines_for(db, harryda.id, D(2026, 6, 1))
    assert [(d.date, d.kind) for d in deadlines] == [
        (D(2026, 5, 20), DeadlineKind.TRANSFER_AWAITING),
        (D(2026, 6, 1), DeadlineKind.DECISION),
        (D(2026, 6, 30), DeadlineKind.NOTICE),
        (D(2026, 7, 1), DeadlineKind.IVO_WINDOW_NEXT),
    ]
    groups = services.group_deadlines(deadlines)
    assert [g for g, _ in groups] == [
        DeadlineGroup.AGREEMENTS,
        DeadlineGroup.TRANSFERS,
        DeadlineGroup.DECISIONS,
        DeadlineGroup.IVO,
    ]


def test_deadlines_for_user_need_a_municipality(db, make_user):
    sysadmin = make_user(roles=("sysadmin",), kommun=None)
    with pytest.raises(PermissionDenied):
        services.deadlines_for_user(db, sysadmin, D(2026, 6, 1))
    auditor = make_user(roles=("auditor",), kommun="Härryda")
    assert services.deadlines_for_user(db, auditor, D(2026, 5, 15))[0].kind == DeadlineKind.IVO_WINDOW_NEXT
