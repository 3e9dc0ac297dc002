"""The three-month watch on one loaded decision, and IVO's person reference: pure functions, no
session and no clock (the caller passes the day). The date rules themselves live in registry.dates.

A decision is *reportable on a day* when, on that day, it has not been executed for more than three
months after the decision (or an execution has been interrupted for more than three months), its
legal basis is one that IVO supervises, and it has not been closed. The quarterly report takes every
decision that was reportable on some day of the quarter, or stopped being reportable during it (it
was executed, resumed or closed): IVO is told again every quarter until that happens, and then once
more with the date and, for a closing, the reason.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from marshmallow import ValidationError

from core.personal_numbers import check_no_personal_number
from registry.dates import DecisionState, DecisionStatus, days_since, decision_status
from registry.models import Decision, DecisionInterruption, DecisionOffer

CLOSED = "closed"

# What a user reads about a decision's place in the watch. The keys are DecisionState values and
# "closed" (a closing overrides the date rules: a closed decision is never reported again).
STATE_LABELS: dict[str, str] = {
    DecisionState.PENDING: "Ej verkställt, inom tre månader",
    DecisionState.EXECUTED_IN_TIME: "Verkställt i tid",
    DecisionState.EXECUTED_LATE: "Verkställt efter mer än tre månader",
    DecisionState.NOT_EXECUTED: "Ej verkställt efter tre månader",
    DecisionState.INTERRUPTED: "Avbrott, inom tre månader",
    DecisionState.INTERRUPTED_OVER_THREE_MONTHS: "Avbrott i mer än tre månader",
    DecisionState.RESUMED: "Återupptaget efter avbrott",
    CLOSED: "Avslutat",
}
STATE_KEYS: tuple[str, ...] = tuple(STATE_LABELS)


class WatchRole(enum.StrEnum):
    """Which decisions a list shows: those the user's municipality answers for, or performs."""

    RESPONSIBLE = "responsible"
    PERFORMING = "performing"
    ALL = "all"


class ReportType(enum.StrEnum):
    NOT_EXECUTED = "not_executed"
    INTERRUPTED = "interrupted"


REPORT_TYPE_LABELS = {
    ReportType.NOT_EXECUTED: "Ej verkställt beslut",
    ReportType.INTERRUPTED: "Avbrott i verkställighet",
}


def case_reference(decision: Decision) -> str:
    """The pseudonymous reference the nämnd knows the case by: the transfer's reference, or for a
    decision recorded directly under an agreement, the agreement's number and the decision's id."""
    if decision.transfer is not None:
        return decision.transfer.reference
    return f"{decision.agreement.number} beslut {decision.id}"


def interruption_pairs(decision: Decision) -> list[tuple[dt.date, dt.date | None]]:
    return [(i.interrupted_on, i.resumed_on) for i in decision.interruptions]


def open_interruption(decision: Decision) -> DecisionInterruption | None:
    """The interruption that has not been resumed (overlaps are refused, so there is at most one)."""
    return next((i for i in decision.interruptions if i.resumed_on is None), None)


def is_closed_on(decision: Decision, day: dt.date) -> bool:
    return decision.closed_on is not None and decision.closed_on <= day


@dataclass(frozen=True)
class DecisionWatch:
    """A decision and where it stands on `as_of`: what the list, the detail page and the API show."""

    decision: Decision
    status: DecisionStatus
    as_of: dt.date

    @property
    def closed(self) -> bool:
        return is_closed_on(self.decision, self.as_of)

    @property
    def state_key(self) -> str:
        return CLOSED if self.closed else self.status.state.value

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state_key]

    @property
    def reportable(self) -> bool:
        return not self.closed and self.status.reportable and self.decision.legal_basis.reportable

    @property
    def deadline(self) -> dt.date:
        """Last day of the running three-month period (from the decision, or the latest interruption)."""
        return self.status.deadline

    @property
    def days_since_decision(self) -> int:
        return days_since(self.decision.decision_date, self.as_of)

    @property
    def case_reference(self) -> str:
        return case_reference(self.decision)

    @property
    def sex(self) -> str | None:
        return ivo_sex(self.decision.ivo_person_ref)

    @property
    def offers(self) -> list[DecisionOffer]:
        return sorted(self.decision.offers, key=lambda o: (o.offered_on, o.id or 0))

    @property
    def interruptions(self) -> list[DecisionInterruption]:
        return sorted(self.decision.interruptions, key=lambda i: i.interrupted_on)

    @property
    def open_interruption(self) -> DecisionInterruption | None:
        return open_interruption(self.decision)

    @property
    def sort_key(self) -> tuple:
        """Reportable first (longest waiting first), then running clocks (nearest deadline first), then
        the settled ones (newest decision first)."""
        decision = self.decision
        if self.reportable:
            return (0, self.status.clock_start.toordinal(), decision.id)
        if not self.closed and self.status.state in (DecisionState.PENDING, DecisionState.INTERRUPTED):
            return (1, self.deadline.toordinal(), decision.id)
        return (2, -decision.decision_date.toordinal(), -decision.id)


def watch_of(decision: Decision, today: dt.date) -> DecisionWatch:
    """The decision's state on `today` (a decision dated after `today` is treated as made today)."""
    as_of = max(today, decision.decision_date)
    status = decision_status(
        decision.decision_date, decision.execution_date, interruption_pairs(decision), as_of
    )
    return DecisionWatch(decision, status, as_of)


def reportable_status_on(decision: Decision, day: dt.date) -> DecisionStatus | None:
    """The decision's status on `day` if it was reportable to IVO that day, else None."""
    if day < decision.decision_date or is_closed_on(decision, day) or not decision.legal_basis.reportable:
        return None
    status = decision_status(
        decision.decision_date, decision.execution_date, interruption_pairs(decision), day
    )
    return status if status.reportable else None


def ending_events(decision: Decision) -> list[dt.date]:
    """The days something happened that can end a reportable period: execution, resumption, closing."""
    days = [decision.execution_date, decision.closed_on, *(i.resumed_on for i in decision.interruptions)]
    return [d for d in days if d is not None]


def last_reportable_status(
    decision: Decision, first_day: dt.date, last_day: dt.date
) -> tuple[dt.date, DecisionStatus] | None:
    """The latest day in `first_day`..`last_day` on which the decision was reportable, or on which a
    reportable period ended (it was reportable the day before), with the status of that reportable day.

    A reportable period ends only with an execution, a resumption or a closing, so it is enough to look
    at `last_day` and at the day before each such event inside the period.
    """
    candidates = {last_day}
    candidates.update(
        day - dt.timedelta(days=1) for day in ending_events(decision) if first_day <= day <= last_day
    )
    for day in sorted(candidates, reverse=True):
        status = reportable_status_on(decision, day)
        if status is not None:
            return day, status
    return None


# --- IVO's person reference -------------------------------------------------------------------------

IVO_REF_FORMAT = "ÅÅÅÅMMDD-X123"
_IVO_REF = re.compile(r"^(?P<date>\d{8})-(?P<letter>[A-Za-z])(?P<digits>\d{3})$")
EARLIEST_BIRTH_YEAR = 1900
SEX_LABELS = {"woman": "kvinna", "man": "man"}


@dataclass(frozen=True)
class IvoPersonRef:
    """IVO's pseudonymous person id: birth date, a letter and three digits (the last digit even for a
    woman, odd for a man). It is not a personal identity number and must never be one."""

    value: str
    birth_date: dt.date
    sex: str  # "woman" or "man"


def parse_ivo_person_ref(text: str) -> IvoPersonRef:
    """Validate and normalise (upper-case letter) an IVO person reference; ValidationError in Swedish.

    A real personal identity or coordination number is refused with the shell's message first, so a
    caseworker who types one learns why, not just that the format is wrong.
    """
    value = text.strip()
    check_no_personal_number(value)
    match = _IVO_REF.match(value)
    if match is None:
        raise ValidationError(
            f"Ange IVO:s personreferens som {IVO_REF_FORMAT}: födelsedatum (åtta siffror), bindestreck, "
            "en bokstav och tre siffror, t.ex. 19850101-T124."
        )
    digits = match["date"]
    try:
        birth_date = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise ValidationError(f"Födelsedatumet {digits[:4]}-{digits[4:6]}-{digits[6:]} finns inte.") from None
    if birth_date.year < EARLIEST_BIRTH_YEAR:
        raise ValidationError(f"Födelseåret {birth_date.year} är inte rimligt. Kontrollera datumet.")
    normalized = f"{digits}-{match['letter'].upper()}{match['digits']}"
    sex = "woman" if int(match["digits"][-1]) % 2 == 0 else "man"
    return IvoPersonRef(normalized, birth_date, sex)


def ivo_sex(ref: str | None) -> str | None:
    """'kvinna' or 'man' from a stored (already validated) reference; None without one."""
    if not ref:
        return None
    return SEX_LABELS["woman" if int(ref[-1]) % 2 == 0 else "man"]
