"""Attest of performed services: finance of the performing municipality only, one or many at once, who
and when recorded; an attest can be taken back while the service is not billed."""

from __future__ import annotations

import pytest

from billing.errors import ServiceLocked, ServiceNotFound
from billing.services import services
from core.errors import PermissionDenied
from tests.billing import services_support as support

agreement = support.agreement
approve = support.approve
fixed_today = support.fixed_today


@pytest.fixture
def three(make_service, agreement):
    return [make_service(agreement, attested=False, quantity=q) for q in ("1", "2", "3.5")]


def test_finance_attests_many_at_once(db, make_user, three):
    finance = make_user(roles=("finance",), kommun="Göteborg")
    attested = services.attest_services(db, finance, [s.id for s in three])
    db.commit()
    assert attested == three
    for service in three:
        assert service.attested_by_id == finance.id
        assert service.attested_at is not None


def test_an_existing_attest_is_kept(db, make_user, three):
    first, second = (
        make_user(roles=("finance",), kommun="Göteborg"),
        make_user(roles=("finance",), kommun="Göteborg"),
    )
    services.attest_services(db, first, [three[0].id])
    attested_at = three[0].attested_at
    assert services.attest_services(db, second, [three[0].id, three[1].id]) == [three[1]]
    assert (three[0].attested_by_id, three[0].attested_at) == (first.id, attested_at)


@pytest.mark.parametrize(
    ("role", "kommun"), [("caseworker", "Göteborg"), ("admin", "Göteborg"), ("finance", "Härryda")]
)
def test_only_finance_of_the_performing_municipality_attests(db, make_user, three, role, kommun):
    user = make_user(roles=(role,), kommun=kommun)
    with pytest.raises(PermissionDenied):
        services.attest_services(db, user, [three[0].id])
    db.expire_all()
    assert three[0].attested_at is None


def test_attesting_a_service_of_another_municipality_is_not_found(db, make_user, three):
    outsider = make_user(roles=("finance",), kommun="Partille")
    with pytest.raises(ServiceNotFound):
        services.attest_services(db, outsider, [three[0].id])


def test_one_unknown_id_attests_nothing(db, make_user, three):
    finance = make_user(roles=("finance",), kommun="Göteborg")
    with pytest.raises(ServiceNotFound):
        services.attest_services(db, finance, [three[0].id, 2_000_000_000])
    assert three[0].attested_at is None


def test_unattest_while_not_billed(db, make_user, make_service, make_invoice, agreement):
    finance = make_user(roles=("finance",), kommun="Göteborg")
    free, billed = make_service(agreement), make_service(agreement)
    support.bill(db, make_invoice, billed)
    assert services.unattest_services(db, finance, [free.id]) == [free]
    assert free.attested_at is None and free.attested_by_id is None
    db.commit()
    with pytest.raises(ServiceLocked) as exc:
        services.unattest_services(db, finance, [billed.id])
    assert exc.value.status_code == 409
    assert "fakturerad" in exc.value.message
    db.expire_all()
    assert billed.attested_at is not None


def test_caseworker_cannot_unattest(db, make_user, make_service, agreement):
    service = make_service(agreement)
    with pytest.raises(PermissionDenied):
        services.unattest_services(db, make_user(roles=("caseworker",), kommun="Göteborg"), [service.id])
