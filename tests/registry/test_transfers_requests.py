"""Requesting a case transfer (reference, agreement checks, who may request, secrecy), reading it
(scope, insight log) and searching the list."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from core.errors import PermissionDenied, ValidationFailed
from registry.errors import TransferNotFound
from registry.models import (
    AgreementStatus,
    CaseTransfer,
    CaseTransferEvent,
    InsightLogEntry,
    ReferenceCounter,
)
from registry.models import TransferStatus as S
from registry.transfers import services
from tests.registry.test_transfers_helpers import PERSONNUMMER, THIRD_KOMMUN, request_payload, transfer_in


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _insight(db, transfer) -> list[InsightLogEntry]:
    db.expire_all()
    return db.scalars(
        select(InsightLogEntry).where(InsightLogEntry.transfer_id == transfer.id).order_by(InsightLogEntry.id)
    ).all()


# --- Requesting -----------------------------------------------------------------------------------


def test_request_creates_a_transfer_with_a_pseudonymous_reference_and_a_first_event(
    db, make_user, municipality
):
    user = make_user(roles=("caseworker",), kommun="Härryda")
    transfer = services.request_transfer(db, user, request_payload(municipality, requested_on="2026-03-02"))
    db.commit()
    assert re.fullmatch(r"JAV-1401-2026-\d{4}", transfer.reference)
    assert transfer.reference == "JAV-1401-2026-0001"
    assert transfer.requesting_municipality_id == municipality("Härryda").id
    assert transfer.performing_municipality_id == municipality("Lerum").id
    assert transfer.status == S.REQUESTED
    assert transfer.requested_on == dt.date(2026, 3, 2)
    assert transfer.created_by_id == user.id
    assert transfer.delegation_decision == "SN 2026-02-10 § 14"
    [event] = db.scalars(select(CaseTransferEvent).where(CaseTransferEvent.transfer_id == transfer.id)).all()
    assert (event.from_status, event.to_status, event.user_id) == (None, S.REQUESTED, user.id)
    assert event.effective_on == dt.date(2026, 3, 2)


def test_references_run_in_sequence_per_municipality_and_year(db, make_user, municipality):
    harryda = make_user(roles=("caseworker",), kommun="Härryda")
    lerum = make_user(roles=("admin",), kommun="Lerum")
    to_lerum = request_payload(municipality, requested_on="2026-05-01")
    to_harryda = request_payload(
        municipality, performing_municipality_id=municipality("Härryda").id, requested_on="2026-05-01"
    )
    refs = [services.request_transfer(db, harryda, to_lerum).reference for _ in range(3)]
    refs.append(services.request_transfer(db, lerum, to_harryda).reference)
    refs.append(services.request_transfer(db, harryda, {**to_lerum, "requested_on": "2025-12-30"}).reference)
    refs.append(services.request_transfer(db, harryda, to_lerum).reference)
    assert refs == [
        "JAV-1401-2026-0001",
        "JAV-1401-2026-0002",
        "JAV-1401-2026-0003",
        "JAV-1441-2026-0001",
        "JAV-1401-2025-0001",
        "JAV-1401-2026-0004",
    ]
    assert len(set(refs)) == len(refs)
    counter = db.scalar(
        select(ReferenceCounter).where(ReferenceCounter.kommunkod == "1401", ReferenceCounter.year == 2026)
    )
    assert counter.prefix == "JAV" and counter.last_value == 4


def test_request_date_defaults_to_today(db, make_user, municipality):
    user = make_user(roles=("admin",), kommun="Härryda")
    transfer = services.request_transfer(db, user, request_payload(municipality))
    today = services.local_today()
    assert transfer.requested_on == today
    assert transfer.reference.startswith(f"JAV-1401-{today.year}-")
    assert services.days_waiting(transfer, today + dt.timedelta(days=5)) == 5


@pytest.mark.parametrize("roles", [("finance",), ("legal",), ("auditor",)])
def test_only_administrators_and_caseworkers_request(db, make_user, municipality, roles):
    user = make_user(roles=roles, kommun="Härryda")
    with pytest.raises(PermissionDenied):
        services.request_transfer(db, user, request_payload(municipality))
    assert _count(db, CaseTransfer) == 0


def test_a_system_administrator_cannot_request(db, make_user, municipality):
    sysadmin = make_user(roles=("sysadmin",), kommun=None)
    with pytest.raises(PermissionDenied):
        services.request_transfer(db, sysadmin, request_payload(municipality))


def test_the_performing_municipality_must_be_another(db, make_user, municipality):
    user = make_user(roles=("caseworker",), kommun="Härryda")
    with pytest.raises(ValidationFailed) as info:
        services.request_transfer(
            db, user, request_payload(municipality, performing_municipality_id=municipality("Härryda").id)
        )
    assert "annan kommun än er egen" in info.value.errors["performing_municipality_id"][0]
    with pytest.raises(ValidationFailed) as info:
        services.request_transfer(db, user, request_payload(municipality, performing_municipality_id=999999))
    assert info.value.errors["performing_municipality_id"] == ["Kommunen finns inte."]


def test_missing_and_unknown_values_are_refused(db, make_user, municipality):
    user = make_user(roles=("caseworker",), kommun="Härryda")
    data = request_payload(municipality, jav_ground="granne", requested_on="i morgon")
    del data["case_area"]
    with pytest.raises(ValidationFailed) as info:
        services.request_transfer(db, user, data)
    assert set(info.value.errors) == {"jav_ground", "case_area", "requested_on"}
    assert info.value.errors["jav_ground"][0].startswith("Välj ett av: narstaende")


def test_request_date_in_the_future_is_refused(db, make_user, municipality):
    user = make_user(roles=("caseworker",), kommun="Härryda")
    tomorrow = (services.local_today() + dt.timedelta(days=1)).isoformat()
    with pytest.raises(ValidationFailed) as info:
        services.request_transfer(db, user, request_payload(municipality, requested_on=tomorrow))
    assert "framtiden" in info.value.errors["requested_on"][0]


@pytest.mark.parametrize("field", ["note", "delegation_decision"])
def test_personal_numbers_are_refused_and_nothing_is_saved(db, make_user, municipality, field):
    user = make_user(roles=("caseworker",), kommun="Härryda")
    with pytest.raises(ValidationFailed) as info:
        services.request_transfer(
            db, user, request_payload(municipality, **{field: f"Klient {PERSONNUMMER}"})
        )
    message = info.value.errors[field][0]
    assert "personnummer eller samordningsnummer" in message
    assert "19850101-****" in message and PERSONNUMMER not in message
    assert _count(db, CaseTransfer) == 0
    assert _count(db, ReferenceCounter) == 0  # no number was used up


# --- Agreement checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [AgreementStatus.ACTIVE, AgreementStatus.RENEGOTIATION])
def test_agreement_in_force_with_both_parties_is_accepted(
    db, make_user, make_agreement, municipality, status
):
    agreement = make_agreement(host="Lerum", buyers=("Härryda",), status=status)
    user = make_user(roles=("caseworker",), kommun="Härryda")
    transfer = services.request_transfer(
        db,
        user,
        request_payload(municipality, agreement_id=agreement.id, resolution_type="extern_delegering"),
    )
    assert transfer.agreement_id == agreement.id


def test_agreement_must_include_the_performing_municipality(db, make_user, make_agreement, municipality):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda",))
    user = make_user(roles=("caseworker",), kommun="Härryda")
    with pytest.raises(ValidationFailed) as info:
        services.request_transfer(db, user, request_payload(municipality, agreement_id=agreement.id))
    assert info.value.errors["agreement_id"][0].startswith(
        f"Lerum är inte part i avtalet {agreement.number}."
    )
    assert _count(db, CaseTransfer) == 0


def test_agreement_must_include_the_own_municipality(db, make_user, make_agreement, municipality):
    agreement = make_agreement(host="Lerum", buyers=("Partille",))
    user = make_user(roles=("caseworker",), kommun="Härryda")
    with pytest.raises(ValidationFailed) as info:
        services.request_transfer(db, user, request_payload(municipality, agreement_id=agreement.id))
    assert info.value.errors["agreement_id"] == ["Avtalet finns inte, eller så är er kommun inte part i det."]


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (AgreementStatus.DRAFT, "utkast"),
        (AgreementStatus.TERMINATED, "uppsagt"),
        (AgreementStatus.EXPIRED, "upphört"),
    ],
)
def test_agreement_not_in_force_is_refused(db, make_user, make_agreement, municipality, status, label):
    agreement = make_agreement(host="Lerum", buyers=("Härryda",), status=status)
    user = make_user(roles=("caseworker",), kommun="Härryda")
    with pytest.raises(ValidationFailed) as info:
        services.request_transfer(db, user, request_payload(municipality, agreement_id=agreement.id))
    assert f"har status ”{label}”" in info.value.errors["agreement_id"][0]


def test_external_delegation_needs_an_agreement(db, make_user, municipality):
    user = make_user(roles=("caseworker",), kommun="Härryda")
    with pytest.raises(ValidationFailed) as info:
        services.request_transfer(
            db, user, request_payload(municipality, resolution_type="extern_delegering")
        )
    assert "kräver ett samverkansavtal" in info.value.errors["agreement_id"][0]


def test_agreement_choices_are_those_in_force_where_the_own_municipality_is_party(
    db, make_user, make_agreement
):
    active = make_agreement(host="Lerum", buyers=("Härryda",))
    renegotiating = make_agreement(
        host="Göteborg", buyers=("Härryda", "Partille"), status=AgreementStatus.RENEGOTIATION
    )
    make_agreement(host="Lerum", buyers=("Härryda",), status=AgreementStatus.TERMINATED)
    make_agreement(host="Lerum", buyers=("Partille",))
    user = make_user(roles=("caseworker",), kommun="Härryda")
    assert [a.id for a in services.agreement_choices(db, user)] == [active.id, renegotiating.id]
    partners, others = services.performing_choices(db, user)
    assert [m.name for m in partners] == ["Göteborg", "Lerum", "Partille"]
    assert "Härryda" not in {m.name for m in partners + others}
    assert len(partners) + len(others) == 289


# --- Reading: scope and insight -------------------------------------------------------------------


def test_a_third_municipality_gets_not_found(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    for user in (
        make_user(roles=("admin",), kommun=THIRD_KOMMUN),
        make_user(roles=("sysadmin",), kommun=None),
    ):
        with pytest.raises(TransferNotFound) as info:
            services.get_transfer_for(db, user, transfer.id)
        assert info.value.status_code == 404
        with pytest.raises(TransferNotFound):
            services.lookup_transfer(db, user, transfer.id)
    with pytest.raises(TransferNotFound):
        services.get_transfer_for(db, make_user(roles=("admin",), kommun="Härryda"), 999999)
    assert _insight(db, transfer) == []


def test_a_view_by_the_performing_side_is_logged(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    viewer = make_user(roles=("auditor",), kommun="Lerum", name="Lena Läsare")
    services.get_transfer_for(db, viewer, transfer.id, channel="sida")
    services.get_transfer_for(db, viewer, transfer.id, channel="api")
    db.commit()
    entries = _insight(db, transfer)
    assert [(e.user_id, e.municipality_id, e.channel) for e in entries] == [
        (viewer.id, viewer.municipality_id, "sida"),
        (viewer.id, viewer.municipality_id, "api"),
    ]
    assert entries[0].user_label == f"Lena Läsare ({viewer.email})"
    assert entries[0].viewed_at.tzinfo is not None


def test_a_view_by_the_requesting_side_is_not_logged(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    services.get_transfer_for(db, make_user(roles=("caseworker",), kommun="Härryda"), transfer.id)
    db.commit()
    assert _insight(db, transfer) == []


def test_both_parties_read_the_insight_log(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    services.get_transfer_for(db, make_user(roles=("caseworker",), kommun="Lerum"), transfer.id)
    db.commit()
    for kommun in ("Härryda", "Lerum"):
        reader = make_user(roles=("finance",), kommun=kommun)
        scoped = services.lookup_transfer(db, reader, transfer.id)
        assert len(db.scalars(services.list_insight(scoped)).all()) == 1


def test_moves_and_lookups_do_not_count_as_views(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    performing = make_user(roles=("caseworker",), kommun="Lerum")
    scoped = services.lookup_transfer(db, performing, transfer.id)
    services.transition_transfer(db, performing, scoped, S.ACCEPTED)
    db.scalars(services.search_transfers(db, performing)).all()
    db.commit()
    assert _insight(db, transfer) == []


def test_unknown_channel_is_a_programming_error(db, make_transfer, make_user):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    with pytest.raises(ValueError):
        services.get_transfer_for(
            db, make_user(roles=("admin",), kommun="Lerum"), transfer.id, channel="epost"
        )


# --- Searching ------------------------------------------------------------------------------------


@pytest.fixture
def some_transfers(make_transfer):
    return {
        "sent_waiting": make_transfer("Härryda", "Lerum", status=S.REQUESTED, reference="JAV-1401-2026-0001"),
        "sent_open": make_transfer(
            "Härryda", "Göteborg", status=S.INVESTIGATING, reference="JAV-1401-2026-0002"
        ),
        "received_waiting": make_transfer(
            "Lerum", "Härryda", status=S.REQUESTED, reference="JAV-1441-2026-0001"
        ),
        "received_closed": make_transfer(
            "Partille", "Härryda", status=S.CLOSED, reference="JAV-1402-2025-0009"
        ),
        "others": make_transfer("Lerum", "Göteborg", status=S.REQUESTED, reference="JAV-1441-2026-0002"),
    }


def _found(db, user, **filters) -> set[str]:
    return {t.reference for t in db.scalars(services.search_transfers(db, user, **filters))}


def test_search_is_scoped_to_the_own_municipality_as_either_party(db, make_user, some_transfers):
    harryda = make_user(roles=("legal",), kommun="Härryda")
    assert _found(db, harryda) == {
        "JAV-1401-2026-0001",
        "JAV-1401-2026-0002",
        "JAV-1441-2026-0001",
        "JAV-1402-2025-0009",
    }
    assert _found(db, make_user(roles=("admin",), kommun=THIRD_KOMMUN)) == set()
    with pytest.raises(PermissionDenied):
        services.search_transfers(db, make_user(roles=("sysadmin",), kommun=None))


def test_search_filters(db, make_user, some_transfers):
    user = make_user(roles=("caseworker",), kommun="Härryda")
    assert _found(db, user, side="requesting") == {"JAV-1401-2026-0001", "JAV-1401-2026-0002"}
    assert _found(db, user, side="performing") == {"JAV-1441-2026-0001", "JAV-1402-2025-0009"}
    assert _found(db, user, waiting_for_answer=True) == {"JAV-1401-2026-0001", "JAV-1441-2026-0001"}
    assert _found(db, user, side="performing", waiting_for_answer=True) == {"JAV-1441-2026-0001"}
    assert _found(db, user, status=S.CLOSED) == {"JAV-1402-2025-0009"}
    assert _found(db, user, q="jav-1401") == {"JAV-1401-2026-0001", "JAV-1401-2026-0002"}
    assert _found(db, user, q="2025-0009") == {"JAV-1402-2025-0009"}
    assert _found(db, user, q="%") == set()
    assert services.count_awaiting_our_answer(db, user) == 1
