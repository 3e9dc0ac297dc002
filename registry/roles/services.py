"""Shared roles (gemensamma tjänster): one municipality employs, the parties of an agreement pay a share.

Rules
- Who: any user of a party municipality of the role's agreement may read the role; others get 404.
  Only an administrator or finance user of the employer municipality registers and changes it (403).
- Registration: the employer and every allocated municipality must be parties of the agreement. The
  first allocation set starts on the role's period start.
- Allocations are dated sets of percentages that must sum to exactly 100.00 (Decimal, no tolerance).
  A change is a new set from a date: it never changes the rows of a set that has started.
  * A new set must start after the latest set that has already started (valid_from <= today). It may
    be backdated past today as long as it starts after that set: the earlier sets keep their rows.
  * Sets that start on or after the new set's date have not started yet (by the rule above) and are
    replaced by it: "from this date the allocation is X" overrides what was planned from then on.
  * A set must start within the role's period.
  * The first set always begins with the role: correcting the period start moves that set's start date
    with it (never its percentages). The period may not start on or after the second set, nor end
    before the latest set.
- Money: see registry.roles.costs (monthly cost and shares rounded half-up to öre; the öre remainder is
  put on the employer's share).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.db import swedish
from core.errors import ValidationFailed
from core.formatting import format_date, format_number, local_today
from core.models import Municipality
from core.permissions import can, require
from core.services import load_or_raise
from registry.errors import SharedRoleNotFound
from registry.models import Agreement, AgreementParty, SharedRole, SharedRoleAllocation
from registry.permissions import SHARED_ROLE_EDIT, SHARED_ROLE_READ
from registry.roles.costs import AllocationSet, allocation_history
from registry.roles.schemas import SharedRoleCreateSchema, SharedRoleUpdateSchema

HUNDRED = Decimal("100.00")


# --- Reading ------------------------------------------------------------------------------------


def _party_of(user, agreement_id_column=SharedRole.agreement_id):
    """SQL condition: the user's municipality is a party of the agreement (false without one)."""
    return exists().where(
        AgreementParty.agreement_id == agreement_id_column,
        AgreementParty.municipality_id == user.municipality_id,
    )


def _with_details(stmt: Select) -> Select:
    return stmt.options(
        selectinload(SharedRole.allocations).selectinload(SharedRoleAllocation.municipality),
        selectinload(SharedRole.employer),
        selectinload(SharedRole.agreement)
        .selectinload(Agreement.parties)
        .selectinload(AgreementParty.municipality),
    )


def search_shared_roles(
    session: Session, user, q: str | None = None, agreement_id: int | None = None
) -> Select:
    """A select() of the roles the user may see, in Swedish order of title."""
    require(user, SHARED_ROLE_READ)
    stmt = _with_details(select(SharedRole).where(_party_of(user)))
    if q and q.strip():
        needle = q.strip().lower()
        stmt = stmt.where(
            or_(
                func.lower(SharedRole.title).contains(needle, autoescape=True),
                func.lower(SharedRole.holder_name).contains(needle, autoescape=True),
            )
        )
    if agreement_id is not None:
        stmt = stmt.where(SharedRole.agreement_id == agreement_id)
    return stmt.order_by(swedish(SharedRole.title), SharedRole.id)


def shared_roles_of_municipality(session: Session, municipality_id: int) -> list[SharedRole]:
    """Every role under an agreement the municipality is a party of (for the command line, which has
    no signed-in user), in Swedish order of title."""
    party = exists().where(
        AgreementParty.agreement_id == SharedRole.agreement_id,
        AgreementParty.municipality_id == municipality_id,
    )
    stmt = _with_details(select(SharedRole).where(party)).order_by(swedish(SharedRole.title), SharedRole.id)
    return list(session.scalars(stmt))


def get_shared_role(session: Session, user, role_id: int) -> SharedRole:
    """The role, if the user's municipality is a party of its agreement (404 otherwise; 403 without a role)."""
    role = session.scalar(_with_details(select(SharedRole).where(SharedRole.id == role_id, _party_of(user))))
    if role is None:
        raise SharedRoleNotFound()
    require(user, SHARED_ROLE_READ, user.municipality_id)
    return role


def agreements_for_new_role(session: Session, user) -> list[Agreement]:
    """Agreements the user's municipality is a party of, to register a role under."""
    return list(
        session.scalars(
            select(Agreement)
            .where(_party_of(user, Agreement.id))
            .options(selectinload(Agreement.parties).selectinload(AgreementParty.municipality))
            .order_by(Agreement.number)
        )
    )


def find_agreement_for_role(session: Session, user, agreement_id: int | None) -> Agreement | None:
    """The agreement if the user's municipality is a party of it, else None (it may not exist)."""
    if agreement_id is None:
        return None
    return session.scalar(
        select(Agreement)
        .where(Agreement.id == agreement_id, _party_of(user, Agreement.id))
        .options(selectinload(Agreement.parties).selectinload(AgreementParty.municipality))
    )


def can_edit(user, role: SharedRole) -> bool:
    return can(user, SHARED_ROLE_EDIT, role.employer_municipality_id)


# --- Allocation checks --------------------------------------------------------------------------


def percents_from_rows(rows: list[Mapping]) -> dict[int, Decimal]:
    """[{municipality_id, percent}, ...] (as the schemas load them) -> {municipality_id: percent}."""
    percents: dict[int, Decimal] = {}
    for row in rows:
        municipality_id = row["municipality_id"]
        if municipality_id in percents:
            raise ValidationFailed(
                errors={"allocations": ["Samma kommun får bara förekomma en gång i fördelningen."]}
            )
        percents[municipality_id] = Decimal(row["percent"])
    return percents


def format_percent(value: Decimal) -> str:
    return f"{format_number(value, 2)}\u00a0%"


def allocation_errors(session: Session, agreement: Agreement, percents: Mapping[int, Decimal]) -> list[str]:
    """What is wrong with an allocation for a role under `agreement` (empty when it is right)."""
    if not percents:
        return ["Ange minst en kommuns andel."]
    messages = []
    parties = agreement.party_municipality_ids
    for municipality_id in percents:
        if municipality_id not in parties:
            municipality = session.get(Municipality, municipality_id)
            name = municipality.name if municipality else f"Kommunen med id {municipality_id}"
            messages.append(f"{name} är inte part i avtalet {agreement.number}.")
    for municipality_id, percent in percents.items():
        if not (0 < percent <= HUNDRED) or percent != percent.quantize(Decimal("0.01")):
            municipality = session.get(Municipality, municipality_id)
            name = municipality.name if municipality else f"id {municipality_id}"
            messages.append(
                f"Andelen för {name} måste vara större än 0 och högst 100 %, med högst två decimaler."
            )
    total = sum(percents.values(), Decimal("0"))
    if total != HUNDRED:
        messages.append(
            f"Fördelningen summerar till {format_number(total, 2)} %; den måste bli exakt 100,00 %."
        )
    return messages


def _check_allocations(session: Session, agreement: Agreement, percents: Mapping[int, Decimal]) -> None:
    messages = allocation_errors(session, agreement, percents)
    if messages:
        raise ValidationFailed(errors={"allocations": messages})


def _add_set(role: SharedRole, valid_from: dt.date, percents: Mapping[int, Decimal]) -> None:
    for municipality_id, percent in percents.items():
        role.allocations.append(
            SharedRoleAllocation(valid_from=valid_from, municipality_id=municipality_id, percent=percent)
        )


# --- Writing ------------------------------------------------------------------------------------


def register_shared_role(session: Session, user, data: Mapping) -> SharedRole:
    """Register a shared role with its first allocation (from the period start)."""
    require(user, SHARED_ROLE_EDIT)
    values = load_or_raise(SharedRoleCreateSchema(), dict(data))
    employer_id = values.pop("employer_municipality_id") or user.municipality_id
    require(user, SHARED_ROLE_EDIT, employer_id)
    agreement = find_agreement_for_role(session, user, values["agreement_id"])
    if agreement is None:
        raise ValidationFailed(
            errors={"agreement_id": ["Avtalet finns inte, eller så är din kommun inte part i det."]}
        )
    if employer_id not in agreement.party_municipality_ids:
        raise ValidationFailed(
            errors={"employer_municipality_id": ["Arbetsgivarkommunen måste vara part i avtalet."]}
        )
    percents = percents_from_rows(values.pop("allocations"))
    _check_allocations(session, agreement, percents)
    role = SharedRole(employer_municipality_id=employer_id, **values)
    role.agreement = agreement
    _add_set(role, role.period_start, percents)
    session.add(role)
    session.flush()
    return role


def update_shared_role(session: Session, user, role: SharedRole, data: Mapping) -> SharedRole:
    """Change title, holder, period, cost base or delegations (employer's administrator or finance)."""
    require(user, SHARED_ROLE_EDIT, role.employer_municipality_id)
    values = load_or_raise(SharedRoleUpdateSchema(), dict(data))
    start = values.get("period_start", role.period_start)
    end = values["period_end"] if "period_end" in values else role.period_end
    errors: dict[str, list[str]] = {}
    if end is not None and end < start:
        errors["period_end"] = ["Slutdatum får inte vara före startdatum."]
    history = allocation_history(role)
    if len(history) > 1 and start >= history[1].valid_from:
        errors["period_start"] = [
            f"Perioden kan inte börja {format_date(start)}: fördelningen från "
            f"{format_date(history[1].valid_from)} skulle då aldrig få gälla."
        ]
    if end is not None and history and history[-1].valid_from > end:
        errors.setdefault("period_end", []).append(
            f"Det finns en fördelning som börjar {format_date(history[-1].valid_from)}, efter det nya slutdatumet."
        )
    if errors:
        raise ValidationFailed(errors=errors)
    for key, value in values.items():
        setattr(role, key, value)
    if history and history[0].valid_from != start:
        for row in history[0].rows:
            row.valid_from = start
    session.flush()
    return role


@dataclass(frozen=True)
class AllocationChange:
    allocation_set: AllocationSet
    replaced: tuple[dt.date, ...]  # start dates of planned sets that the new set replaced


def set_allocations(
    session: Session,
    user,
    role: SharedRole,
    valid_from: dt.date,
    percents: Mapping[int, Decimal],
    today: dt.date | None = None,
) -> AllocationChange:
    """A new allocation set from `valid_from` (see the module's rules). Earlier sets are kept as they
    were; planned sets from `valid_from` on are replaced."""
    require(user, SHARED_ROLE_EDIT, role.employer_municipality_id)
    today = today if today is not None else local_today()
    # Serialise changes of one role: two sets from the same day would otherwise both pass the checks.
    session.execute(select(SharedRole.id).where(SharedRole.id == role.id).with_for_update())
    session.refresh(role, ["allocations"])
    history = allocation_history(role)

    errors: dict[str, list[str]] = {}
    if valid_from < role.period_start:
        errors["valid_from"] = [
            f"Fördelningen kan inte börja före tjänstens period, som börjar {format_date(role.period_start)}."
        ]
    elif role.period_end is not None and valid_from > role.period_end:
        errors["valid_from"] = [
            f"Fördelningen kan inte börja efter tjänstens period, som slutar {format_date(role.period_end)}."
        ]
    started = [s for s in history if s.valid_from <= today]
    if started and valid_from <= started[-1].valid_from:
        errors.setdefault("valid_from", []).append(
            f"Fördelningen från {format_date(started[-1].valid_from)} har redan börjat gälla och ändras inte. "
            f"En ny fördelning måste börja efter {format_date(started[-1].valid_from)}."
        )
    messages = allocation_errors(session, role.agreement, percents)
    if messages:
        errors["allocations"] = messages
    if errors:
        raise ValidationFailed(errors=errors)

    replaced = [s for s in history if s.valid_from >= valid_from]
    for old in replaced:
        for row in old.rows:
            role.allocations.remove(row)
    # Deletes are flushed first: the unit of work would otherwise insert before it deletes, and a
    # replacement from the same day would collide with the unique (role, valid_from, municipality) key.
    session.flush()
    _add_set(role, valid_from, {mid: Decimal(p) for mid, p in percents.items()})
    session.flush()
    session.refresh(role, ["allocations"])
    new_set = next(s for s in allocation_history(role) if s.valid_from == valid_from)
    return AllocationChange(allocation_set=new_set, replaced=tuple(s.valid_from for s in replaced))
