"""Shared expectations and small helpers for the case-transfer tests (this module holds no tests).

The legal moves are written out here independently of registry.transfers.services, so the tests fail
if the state machine drifts from the documented rules."""

from __future__ import annotations

from registry.models import TransferStatus as S

REQ, PERF, BOTH = "requesting", "performing", "both"

# (from, to) -> who may make the move, for a transfer whose executor is the performing municipality
# and which, when interrupted, was interrupted during the investigation.
LEGAL_MOVES = {
    (S.REQUESTED, S.ACCEPTED): PERF,
    (S.REQUESTED, S.DECLINED): PERF,
    (S.ACCEPTED, S.INVESTIGATING): PERF,
    (S.ACCEPTED, S.INTERRUPTED): BOTH,
    (S.INVESTIGATING, S.DECIDED): PERF,
    (S.INVESTIGATING, S.INTERRUPTED): BOTH,
    (S.DECIDED, S.EXECUTED): PERF,
    (S.DECIDED, S.CLOSED): REQ,
    (S.DECIDED, S.INTERRUPTED): BOTH,
    (S.EXECUTED, S.CLOSED): REQ,
    (S.EXECUTED, S.INTERRUPTED): BOTH,
    (S.INTERRUPTED, S.INVESTIGATING): BOTH,  # resume, back to where it was interrupted
    (S.INTERRUPTED, S.CLOSED): REQ,
}
ALL_PAIRS = [(a, b) for a in S for b in S]
INTERRUPTIBLE = (S.ACCEPTED, S.INVESTIGATING, S.DECIDED, S.EXECUTED)

REQUESTING_KOMMUN, PERFORMING_KOMMUN, THIRD_KOMMUN = "Härryda", "Lerum", "Mölndal"
PERSONNUMMER = "19850101-1236"  # a made-up number with a valid date and check digit


def kommun_for(side: str) -> str:
    return REQUESTING_KOMMUN if side == REQ else PERFORMING_KOMMUN


def other_side(side: str) -> str:
    return PERF if side == REQ else REQ


def transfer_in(make_transfer, status: S, before: S = S.INVESTIGATING, **overrides):
    """A Härryda -> Lerum transfer in `status`; an interrupted one was interrupted in `before`."""
    if status == S.INTERRUPTED:
        overrides.setdefault("status_before_interruption", before)
    return make_transfer(REQUESTING_KOMMUN, PERFORMING_KOMMUN, status=status, **overrides)


def request_payload(municipality, **overrides) -> dict:
    """A valid request from Härryda to Lerum without an agreement (hourly-hired caseworker)."""
    data = {
        "performing_municipality_id": municipality(PERFORMING_KOMMUN).id,
        "jav_ground": "anstalld",
        "resolution_type": "timanstalld_handlaggare",
        "case_area": "barn_och_unga",
        "executor": "performing",
        "delegation_decision": "SN 2026-02-10 § 14",
        "note": "Handläggaren nås via socialjouren.",
    }
    data.update(overrides)
    return data
