"""Helpers shared by the decisions tests (no tests here): rows made directly, not through the services
under test, so a state or report test does not depend on the recording rules."""

from __future__ import annotations

import datetime as dt

from registry.models import CaseTransfer, Decision, DecisionInterruption, DecisionOffer, LegalBasis

D = dt.date


def add_decision(
    db,
    basis: LegalBasis,
    decision_date: dt.date,
    transfer: CaseTransfer | None = None,
    execution_date: dt.date | None = None,
    interruptions: tuple[tuple[dt.date, dt.date | None], ...] = (),
    offers: tuple[tuple[dt.date, bool], ...] = (),
    **values,
) -> Decision:
    """A decision under `transfer` (or, with `agreement=` and `responsible_municipality=`, an agreement)."""
    if transfer is not None:
        values.setdefault("responsible_municipality", transfer.requesting_municipality)
        values.setdefault("agreement", transfer.agreement)
    values.setdefault("insats_type", "Kontaktfamilj varannan helg")
    decision = Decision(
        transfer=transfer,
        legal_basis=basis,
        decision_date=decision_date,
        execution_date=execution_date,
        **values,
    )
    decision.interruptions = [DecisionInterruption(interrupted_on=a, resumed_on=b) for a, b in interruptions]
    decision.offers = [DecisionOffer(offered_on=day, declined=declined) for day, declined in offers]
    db.add(decision)
    db.commit()
    return decision
