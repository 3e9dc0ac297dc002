"""Shared roles through the services: allocation sums, dated history, scope, roles, personal numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.errors import PermissionDenied, ValidationFailed
from registry.errors import SharedRoleNotFound
from registry.models import Area, SharedRole, SharedRoleAllocation
from registry.roles import services
from registry.roles.costs import allocation_history, allocations_on

D = Decimal
JAN = dt.date(2025, 1, 1)
JUN_15 = dt.date(2025, 6, 15)
JUL = dt.date(2025, 7, 1)


@pytest.fixture
def dalsland(make_agreement, municipality):
    """Bengtsfors (host, employer) and Mellerud share a social services director."""
    agreement = make_agreement(
        host="Bengtsfors", buyers=("Mellerud",), area=Area.SOCIALCHEF, title="Gemensam socialchef Dalsland"
    )
    return agreement, municipality("Bengtsfors"), municipality("Mellerud")


@pytest.fixture
def register(db, dalsland, make_user):
    agreement, bengtsfors, mellerud = dalsland
    admin = make_user(roles=("admin",), kommun="Bengtsfors")

    def _register(user=None, percents=None, **overrides):
        percents = percents or {bengtsfors.id: "50.00", mellerud.id: "50.00"}
        data = {
            "agreement_id": agreement.id,
            "title": "Socialchef",
            "holder_name": "Anna Andersson",
            "period_start": "2025-01-01",
            "salary_per_month": "68500.00",
            "po_percent": "31.42",
            "overhead_per_month": "2500.00",
            "delegations": "Beslut enligt SoL 4 kap. 1 § på delegation från båda nämnderna.",
            "allocations": [{"municipality_id": mid, "percent": p} for mid, p in percents.items()],
        }
        data.update(overrides)
        role = services.register_shared_role(db, user or admin, data)
        db.commit()
        return role

    _register.admin = admin
    return _register


def _errors(excinfo) -> dict:
    return excinfo.value.errors


def test_register_bengtsfors_and_mellerud_fifty_fifty(register, dalsland, db):
    _, bengtsfors, mellerud = dalsland
    role = register()
    assert role.employer_municipality_id == bengtsfors.id
    history = allocation_history(role)
    assert len(history) == 1
    assert history[0].valid_from == JAN
    assert history[0].percents == {bengtsfors.id: D("50.00"), mellerud.id: D("50.00")}
    in_force = allocations_on(role, JUN_15)
    assert in_force.split.monthly_cost == D("92522.70")
    assert [s.amount for s in in_force.split.shares] == [D("46261.35"), D("46261.35")]


@pytest.mark.parametrize(
    ("first", "second", "shown"), [("50.00", "49.99", "99,99"), ("50.01", "50.00", "100,01")]
)
def test_register_refuses_a_sum_other_than_100(register, dalsland, db, first, second, shown):
    _, bengtsfors, mellerud = dalsland
    with pytest.raises(ValidationFailed) as excinfo:
        register(percents={bengtsfors.id: first, mellerud.id: second})
    assert _errors(excinfo)["allocations"] == [
        f"Fördelningen summerar till {shown} %; den måste bli exakt 100,00 %."
    ]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(SharedRole)) == 0


def test_register_accepts_exactly_100_with_decimals(register, dalsland):
    _, bengtsfors, mellerud = dalsland
    role = register(percents={bengtsfors.id: "33,33", mellerud.id: "66.67"})
    assert allocation_history(role)[0].total_percent == D("100.00")


def test_register_refuses_more_than_two_decimals_and_zero(register, dalsland, db):
    _, bengtsfors, mellerud = dalsland
    with pytest.raises(ValidationFailed) as excinfo:
        register(percents={bengtsfors.id: "50.005", mellerud.id: "49.995"})
    assert "Ange högst två decimaler." in str(_errors(excinfo)["allocations"])
    db.rollback()
    with pytest.raises(ValidationFailed) as excinfo:
        register(percents={bengtsfors.id: "100", mellerud.id: "0"})
    assert "större än 0" in str(_errors(excinfo)["allocations"])


def test_every_allocated_municipality_must_be_a_party(register, dalsland, municipality, db):
    _, bengtsfors, _ = dalsland
    lerum = municipality("Lerum")
    with pytest.raises(ValidationFailed) as excinfo:
        register(percents={bengtsfors.id: "50", lerum.id: "50"})
    assert _errors(excinfo)["allocations"] == ["Lerum är inte part i avtalet TEST-001."]


def test_register_refuses_the_same_municipality_twice(register, dalsland, db):
    agreement, bengtsfors, _ = dalsland
    with pytest.raises(ValidationFailed) as excinfo:
        register(
            allocations=[
                {"municipality_id": bengtsfors.id, "percent": "50"},
                {"municipality_id": bengtsfors.id, "percent": "50"},
            ]
        )
    assert "bara förekomma en gång" in str(_errors(excinfo)["allocations"])


def test_employer_must_be_own_municipality_and_agreement_visible(
    register, dalsland, make_user, make_agreement, db
):
    agreement, bengtsfors, mellerud = dalsland
    # Mellerud's administrator cannot register a role that Bengtsfors employs.
    mellerud_admin = make_user(roles=("admin",), kommun="Mellerud")
    with pytest.raises(PermissionDenied):
        register(user=mellerud_admin, employer_municipality_id=bengtsfors.id)
    db.rollback()
    # An agreement Bengtsfors is not a party of is refused as if it did not exist.
    other = make_agreement(host="Göteborg", buyers=("Lerum",))
    with pytest.raises(ValidationFailed) as excinfo:
        register(agreement_id=other.id)
    assert _errors(excinfo) == {
        "agreement_id": ["Avtalet finns inte, eller så är din kommun inte part i det."]
    }


@pytest.mark.parametrize("roles", [("caseworker",), ("legal",), ("auditor",)])
def test_only_admin_and_finance_of_the_employer_change_roles(register, dalsland, make_user, db, roles):
    _, bengtsfors, mellerud = dalsland
    role = register()
    user = make_user(roles=roles, kommun="Bengtsfors")
    with pytest.raises(PermissionDenied):
        register(user=user)
    with pytest.raises(PermissionDenied):
        services.update_shared_role(db, user, role, {"title": "Ny titel"})
    with pytest.raises(PermissionDenied):
        services.set_allocations(
            db, user, role, JUL, {bengtsfors.id: D("60"), mellerud.id: D("40")}, today=JUN_15
        )


def test_finance_of_the_employer_may_change_allocations(register, dalsland, make_user, db):
    _, bengtsfors, mellerud = dalsland
    role = register()
    finance = make_user(roles=("finance",), kommun="Bengtsfors")
    change = services.set_allocations(
        db, finance, role, JUL, {bengtsfors.id: D("60"), mellerud.id: D("40")}, today=JUN_15
    )
    assert change.allocation_set.valid_from == JUL


@pytest.mark.parametrize("field", ["holder_name", "delegations", "title"])
def test_personal_numbers_are_refused_in_free_text(register, db, field):
    with pytest.raises(ValidationFailed) as excinfo:
        register(**{field: "Anna Andersson 811218-9876"})
    assert "personnummer" in " ".join(_errors(excinfo)[field])


def test_personal_number_refused_on_update(register, db):
    role = register()
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_shared_role(db, register.admin, role, {"delegations": "Klient 19811218-9876"})
    assert "personnummer" in " ".join(_errors(excinfo)["delegations"])


# --- Dated allocation sets ----------------------------------------------------------------------


def _rows(db, role) -> list[tuple]:
    db.expire_all()
    return sorted(
        (r.id, r.valid_from, r.municipality_id, r.percent)
        for r in db.scalars(
            select(SharedRoleAllocation).where(SharedRoleAllocation.shared_role_id == role.id)
        )
    )


@pytest.mark.parametrize(
    ("first", "second", "shown"), [("60.00", "39.99", "99,99"), ("60.01", "40.00", "100,01")]
)
def test_set_allocations_refuses_a_sum_other_than_100(register, dalsland, db, first, second, shown):
    _, bengtsfors, mellerud = dalsland
    role = register()
    before = _rows(db, role)
    with pytest.raises(ValidationFailed) as excinfo:
        services.set_allocations(
            db, register.admin, role, JUL, {bengtsfors.id: D(first), mellerud.id: D(second)}, today=JUN_15
        )
    assert _errors(excinfo) == {
        "allocations": [f"Fördelningen summerar till {shown} %; den måste bli exakt 100,00 %."]
    }
    db.rollback()
    assert _rows(db, role) == before


def test_a_change_from_a_date_leaves_earlier_sets_intact(register, dalsland, db):
    _, bengtsfors, mellerud = dalsland
    role = register()
    before = _rows(db, role)
    change = services.set_allocations(
        db, register.admin, role, JUL, {bengtsfors.id: D("60.00"), mellerud.id: D("40.00")}, today=JUN_15
    )
    db.commit()
    assert change.replaced == ()
    after = _rows(db, role)
    assert [r for r in after if r[1] == JAN] == before  # same rows, same ids, same percents
    history = allocation_history(db.get(SharedRole, role.id))
    assert [(s.valid_from, s.valid_to) for s in history] == [(JAN, dt.date(2025, 6, 30)), (JUL, None)]
    assert allocations_on(role, dt.date(2025, 6, 30)).percents[bengtsfors.id] == D("50.00")
    assert allocations_on(role, JUL).percents[bengtsfors.id] == D("60.00")
    assert allocations_on(role, JUL).share_of(mellerud.id).amount == D("37009.08")


@pytest.mark.parametrize("valid_from", [JAN, dt.date(2024, 12, 1)])
def test_a_set_that_has_started_is_never_changed(register, dalsland, db, valid_from):
    _, bengtsfors, mellerud = dalsland
    role = register()
    with pytest.raises(ValidationFailed) as excinfo:
        services.set_allocations(
            db, register.admin, role, valid_from, {bengtsfors.id: D("70"), mellerud.id: D("30")}, today=JUN_15
        )
    assert "har redan börjat gälla och ändras inte" in " ".join(_errors(excinfo)["valid_from"])


def test_a_backdated_change_after_the_started_set_is_allowed(register, dalsland, db):
    _, bengtsfors, mellerud = dalsland
    role = register()
    services.set_allocations(
        db,
        register.admin,
        role,
        dt.date(2025, 3, 1),
        {bengtsfors.id: D("55"), mellerud.id: D("45")},
        today=JUN_15,
    )
    db.commit()
    assert [s.valid_from for s in allocation_history(role)] == [JAN, dt.date(2025, 3, 1)]


def test_a_planned_set_can_be_replaced_until_it_starts(register, dalsland, db):
    _, bengtsfors, mellerud = dalsland
    role = register()
    services.set_allocations(
        db, register.admin, role, JUL, {bengtsfors.id: D("60"), mellerud.id: D("40")}, today=JUN_15
    )
    db.commit()
    # Same day, still planned: replaced.
    change = services.set_allocations(
        db, register.admin, role, JUL, {bengtsfors.id: D("70"), mellerud.id: D("30")}, today=JUN_15
    )
    db.commit()
    assert change.replaced == (JUL,)
    assert [(s.valid_from, s.percents[bengtsfors.id]) for s in allocation_history(role)] == [
        (JAN, D("50")),
        (JUL, D("70")),
    ]
    # An earlier date (after the started set) also replaces the planned one: from then on it is the new set.
    change = services.set_allocations(
        db,
        register.admin,
        role,
        dt.date(2025, 6, 20),
        {bengtsfors.id: D("65"), mellerud.id: D("35")},
        today=JUN_15,
    )
    db.commit()
    assert change.replaced == (JUL,)
    assert [s.valid_from for s in allocation_history(role)] == [JAN, dt.date(2025, 6, 20)]
    # Once it has started, it cannot be replaced.
    with pytest.raises(ValidationFailed):
        services.set_allocations(
            db,
            register.admin,
            role,
            dt.date(2025, 6, 20),
            {bengtsfors.id: D("50"), mellerud.id: D("50")},
            today=dt.date(2025, 6, 20),
        )


def test_a_set_must_start_within_the_role_period(register, dalsland, db):
    _, bengtsfors, mellerud = dalsland
    role = register(period_end="2025-12-31")
    with pytest.raises(ValidationFailed) as excinfo:
        services.set_allocations(
            db,
            register.admin,
            role,
            dt.date(2026, 1, 1),
            {bengtsfors.id: D("50"), mellerud.id: D("50")},
            today=JUN_15,
        )
    assert "efter tjänstens period, som slutar 2025-12-31" in " ".join(_errors(excinfo)["valid_from"])


def test_all_errors_of_a_new_set_are_reported_together(register, dalsland, municipality, db):
    _, bengtsfors, _ = dalsland
    role = register()
    lerum = municipality("Lerum")
    with pytest.raises(ValidationFailed) as excinfo:
        services.set_allocations(
            db, register.admin, role, JAN, {bengtsfors.id: D("50"), lerum.id: D("40")}, today=JUN_15
        )
    errors = _errors(excinfo)
    assert set(errors) == {"valid_from", "allocations"}
    assert errors["allocations"] == [
        "Lerum är inte part i avtalet TEST-001.",
        "Fördelningen summerar till 90,00 %; den måste bli exakt 100,00 %.",
    ]


# --- Editing ------------------------------------------------------------------------------------


def test_update_changes_cost_base_and_moves_the_first_set_with_the_period(register, dalsland, db):
    _, bengtsfors, _ = dalsland
    role = register()
    services.update_shared_role(
        db,
        register.admin,
        role,
        {"salary_per_month": "70 000,00", "period_start": "2024-10-01", "holder_name": None},
    )
    db.commit()
    role = db.get(SharedRole, role.id)
    assert role.salary_per_month == D("70000.00")
    assert role.holder_name is None
    assert allocation_history(role)[0].valid_from == dt.date(2024, 10, 1)
    assert allocation_history(role)[0].percents[bengtsfors.id] == D("50.00")


def test_update_refuses_a_period_that_would_orphan_a_set(register, dalsland, db):
    _, bengtsfors, mellerud = dalsland
    role = register()
    services.set_allocations(
        db, register.admin, role, JUL, {bengtsfors.id: D("60"), mellerud.id: D("40")}, today=JUN_15
    )
    db.commit()
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_shared_role(db, register.admin, role, {"period_start": "2025-07-01"})
    assert _errors(excinfo) == {
        "period_start": [
            "Perioden kan inte börja 2025-07-01: fördelningen från 2025-07-01 skulle då aldrig få gälla."
        ]
    }
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_shared_role(db, register.admin, role, {"period_end": "2024-12-31"})
    assert _errors(excinfo) == {
        "period_end": [
            "Slutdatum får inte vara före startdatum.",
            "Det finns en fördelning som börjar 2025-07-01, efter det nya slutdatumet.",
        ]
    }


def test_update_refuses_end_before_latest_set(register, dalsland, db):
    _, bengtsfors, mellerud = dalsland
    role = register()
    services.set_allocations(
        db, register.admin, role, JUL, {bengtsfors.id: D("60"), mellerud.id: D("40")}, today=JUN_15
    )
    db.commit()
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_shared_role(db, register.admin, role, {"period_end": "2025-06-30"})
    assert _errors(excinfo) == {
        "period_end": ["Det finns en fördelning som börjar 2025-07-01, efter det nya slutdatumet."]
    }


# --- Scope --------------------------------------------------------------------------------------


def test_parties_read_and_third_municipalities_get_not_found(register, make_user, db):
    role = register()
    mellerud_auditor = make_user(roles=("auditor",), kommun="Mellerud")
    assert services.get_shared_role(db, mellerud_auditor, role.id).id == role.id
    assert db.scalars(services.search_shared_roles(db, mellerud_auditor)).all() == [role]

    lerum_admin = make_user(roles=("admin",), kommun="Lerum")
    with pytest.raises(SharedRoleNotFound):
        services.get_shared_role(db, lerum_admin, role.id)
    assert db.scalars(services.search_shared_roles(db, lerum_admin)).all() == []
    sysadmin = make_user(roles=("sysadmin",), kommun=None)
    with pytest.raises(SharedRoleNotFound):
        services.get_shared_role(db, sysadmin, role.id)
    with pytest.raises(PermissionDenied):
        services.search_shared_roles(db, sysadmin)


def test_search_by_title_or_holder(register, db):
    role = register()
    register(title="Gemensam MAS", holder_name="Bertil Berg")
    assert db.scalars(services.search_shared_roles(db, register.admin, "socialchef")).all() == [role]
    assert [r.title for r in db.scalars(services.search_shared_roles(db, register.admin, "berg"))] == [
        "Gemensam MAS"
    ]
