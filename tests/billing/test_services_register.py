"""Registering, changing and deleting performed services (billing.services.services): every rule,
passing and failing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.errors import ServiceLocked
from billing.services import services
from contracts.models import ServiceUnit
from core.errors import PermissionDenied, ValidationFailed
from tests.billing import services_support as support
from tests.billing.services_support import CASE_TYPES, DAY, PERSONAL_NUMBER, D, bill, form

agreement = support.agreement
approve = support.approve
fixed_today = support.fixed_today
make_transfer = support.make_transfer
shared_role = support.shared_role


@pytest.fixture
def caseworker(make_user):
    return make_user(roles=("caseworker",), kommun="Göteborg")


@pytest.fixture
def register(db, caseworker, municipality, agreement):
    """register(**overrides) -> PerformedService, as a Göteborg caseworker."""

    def _register(user=None, **overrides):
        service = services.register_service(
            db, user or caseworker, form(agreement, municipality, **overrides)
        )
        db.commit()
        return service

    return _register


def errors_of(call) -> dict:
    with pytest.raises(ValidationFailed) as exc:
        call()
    return exc.value.errors


def test_register_hours_defaults_the_unit_and_records_who(register, caseworker, agreement, municipality):
    service = register()
    assert service.id is not None
    assert service.performing_municipality_id == municipality("Göteborg").id == agreement.host.municipality_id
    assert service.buying_municipality_id == municipality("Härryda").id
    assert (service.service_type_code, service.quantity, service.unit) == (
        "utredning",
        Decimal("2.50"),
        ServiceUnit.HOUR,
    )
    assert service.case_type == ""
    assert service.registered_by_id == caseworker.id
    assert service.attested_at is None and service.attested_by_id is None


@pytest.mark.parametrize("quantity", ["1.25", "1,25", " 1,25 "])
def test_decimal_comma_or_point(register, quantity):
    assert register(quantity=quantity).quantity == Decimal("1.25")


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "större än 0"),
        ("-1", "större än 0"),
        ("1,255", "Högst två decimaler"),
        ("abc", "är inget tal"),
        ("", "får inte vara tomt"),
    ],
)
def test_quantity_must_be_positive_with_two_decimals(register, quantity, message):
    errors = errors_of(lambda: register(quantity=quantity))
    assert message in " ".join(errors["quantity"])


def test_no_version_in_force_on_the_date(db, make_agreement, make_version, caseworker, municipality):
    agreement = make_agreement()
    make_version(agreement, status="approved", effective_from=D(2025, 1, 1))
    data = form(agreement, municipality, service_date="2024-06-30")
    errors = errors_of(lambda: services.register_service(db, caseworker, data))
    assert errors["service_date"] == [
        f"Ingen godkänd avtalsversion gäller 2024-06-30 för avtal {agreement.number}. "
        "Prestationer kan bara registreras för datum då godkända villkor gäller."
    ]
    # The same row on a date the version is in force passes.
    data["service_date"] = "2025-01-01"
    assert services.register_service(db, caseworker, data).id


def test_a_draft_version_is_never_in_force(db, make_agreement, make_version, caseworker, municipality):
    agreement = make_agreement()
    make_version(agreement, status="draft")
    errors = errors_of(lambda: services.register_service(db, caseworker, form(agreement, municipality)))
    assert "Ingen godkänd avtalsversion gäller" in errors["service_date"][0]


def test_the_service_type_must_be_in_the_version_in_force_on_the_date(
    db, make_agreement, make_version, caseworker, municipality, approve
):
    agreement = make_agreement()
    make_version(agreement, status="approved")
    amendment = make_version(agreement, status="draft", number=2, effective_from=D(2026, 1, 1))
    support.add_terms(amendment)
    db.commit()
    approve(amendment)
    data = form(agreement, municipality, service_type_code="arende", case_type=CASE_TYPES[0], quantity="1")
    for day in ("2025-12-31", "2026-01-01"):
        data["service_date"] = day
        if day == "2025-12-31":
            errors = errors_of(lambda: services.register_service(db, caseworker, data))
            assert errors["service_type_code"] == [
                "Tjänstetypen ”arende” finns inte i avtalsversionen som gäller 2025-12-31 (Ursprungligt avtal). "
                "Välj en av: utredning, resa, utlagg."
            ]
        else:
            assert services.register_service(db, caseworker, data).service_type_code == "arende"


def test_unknown_service_type_code(register):
    errors = errors_of(lambda: register(service_type_code="terapi"))
    assert errors == {
        "service_type_code": [
            f"Tjänstetypen ”terapi” finns inte i avtalsversionen som gäller {DAY.isoformat()} (Ursprungligt avtal). "
            "Välj en av: utredning, resa, utlagg, arende."
        ]
    }


def test_service_type_code_ignores_case_and_is_stored_as_in_the_terms(register):
    assert register(service_type_code="UTREDNING").service_type_code == "utredning"


def test_a_fixed_fee_is_not_a_performed_service(register):
    errors = errors_of(lambda: register(service_type_code="grundavgift", quantity="1"))
    assert "faktureras per period" in errors["service_type_code"][0]


def test_unit_must_be_the_service_types(register):
    errors = errors_of(lambda: register(unit="km"))
    assert errors == {"unit": ["Tjänstetypen ”utredning” räknas i timmar, inte i kilometer."]}
    assert register(unit="hour").unit == ServiceUnit.HOUR
    assert register(service_type_code="resa", quantity="42").unit == ServiceUnit.KM


def test_unknown_unit_is_refused_by_the_schema(register):
    assert "Välj en av" in errors_of(lambda: register(unit="liter"))["unit"][0]


def test_case_type_required_when_priced_per_case(register):
    errors = errors_of(lambda: register(service_type_code="arende", quantity="1"))
    assert errors == {
        "case_type": [
            "Ange ärendetyp: tjänstetypen ”arende” har styckpris per ärendetyp "
            "(Faderskapsutredning, Vårdnadsutredning)."
        ]
    }


def test_case_type_must_be_in_the_price_list(register):
    errors = errors_of(
        lambda: register(service_type_code="arende", case_type="Adoptionsutredning", quantity="1")
    )
    assert errors["case_type"] == [
        "Ärendetypen ”Adoptionsutredning” finns inte i prislistan för ”arende”. "
        "Välj en av: Faderskapsutredning, Vårdnadsutredning."
    ]
    service = register(service_type_code="arende", case_type="vårdnadsutredning", quantity="1")
    assert (service.case_type, service.unit) == ("Vårdnadsutredning", ServiceUnit.CASE)


def test_case_type_refused_where_there_is_no_per_case_price(register):
    errors = errors_of(lambda: register(case_type="Faderskapsutredning"))
    assert "har inget styckpris per ärendetyp" in errors["case_type"][0]


def test_buyer_must_be_a_buyer_of_the_agreement(register, municipality, agreement):
    errors = errors_of(lambda: register(buying_municipality_id=municipality("Partille").id))
    assert errors["buying_municipality_id"] == [
        f"Kommunen är inte köpare i avtal {agreement.number}. Köpare: Härryda, Lerum."
    ]
    # The host does not buy from itself.
    errors = errors_of(lambda: register(buying_municipality_id=municipality("Göteborg").id))
    assert "är inte köpare" in errors["buying_municipality_id"][0]


def test_only_the_host_registers(db, make_user, agreement, municipality):
    buyer = make_user(roles=("caseworker",), kommun="Härryda")
    errors = errors_of(lambda: services.register_service(db, buyer, form(agreement, municipality)))
    assert errors == {
        "agreement_id": [
            f"Er kommun är inte utförare i avtal {agreement.number}. Prestationer registreras av den kommun "
            "som utför tjänsterna (värdkommunen)."
        ]
    }
    outsider = make_user(roles=("caseworker",), kommun="Partille")
    errors = errors_of(lambda: services.register_service(db, outsider, form(agreement, municipality)))
    assert errors["agreement_id"] == ["Avtalet finns inte, eller så är er kommun inte part i det."]


def test_a_date_after_the_agreement_ended(db, make_agreement, make_version, caseworker, municipality):
    agreement = make_agreement(end_date=D(2025, 6, 30), renewal_months=None)
    make_version(agreement, status="approved")
    errors = errors_of(lambda: services.register_service(db, caseworker, form(agreement, municipality)))
    assert errors["service_date"] == [
        f"Avtal {agreement.number} upphörde 2025-06-30; {DAY.isoformat()} ligger efter avtalstiden."
    ]
    data = form(agreement, municipality, service_date="2025-06-30")
    assert services.register_service(db, caseworker, data).service_date == D(2025, 6, 30)


def test_a_draft_agreement_takes_no_services(db, make_agreement, make_version, caseworker, municipality):
    from registry.models import AgreementStatus

    agreement = make_agreement(status=AgreementStatus.DRAFT)
    make_version(agreement, status="approved")
    errors = errors_of(lambda: services.register_service(db, caseworker, form(agreement, municipality)))
    assert errors == {
        "agreement_id": [
            f"Avtal {agreement.number} är ett utkast. Prestationer registreras på gällande avtal."
        ]
    }


def test_a_future_date_is_refused(register):
    errors = errors_of(lambda: register(service_date="2026-11-24"))
    assert "har inte varit än" in errors["service_date"][0]
    assert register(service_date="2026-11-23").service_date == D(2026, 11, 23)


@pytest.mark.parametrize("day", ["20261015", "2026-10-15"])
def test_date_as_iso_or_compact(register, day):
    assert register(service_date=day).service_date == DAY


def test_personal_number_in_the_note_is_refused(register):
    errors = errors_of(lambda: register(note=PERSONAL_NUMBER))
    assert "personnummer" in errors["note"][0] and "19850101-****" in errors["note"][0]
    assert register(note="Utredning, del 2. Ring 070-123 45 67.").note.startswith("Utredning")


def test_case_transfer_must_be_the_agreements_and_the_buyers(
    register, make_transfer, agreement, make_agreement
):
    own = make_transfer(requesting="Härryda", performing="Göteborg", agreement=agreement)
    assert register(case_transfer_id=own.id).case_transfer_id == own.id
    lerum = make_transfer(requesting="Lerum", performing="Göteborg", agreement=agreement)
    errors = errors_of(lambda: register(case_transfer_id=lerum.id))
    assert "är inte begärt av köparen" in errors["case_transfer_id"][0]
    other = make_transfer(requesting="Härryda", performing="Göteborg", agreement=make_agreement())
    errors = errors_of(lambda: register(case_transfer_id=other.id))
    assert errors["case_transfer_id"] == [f"Ärendet finns inte i avtal {agreement.number}."]
    errors = errors_of(lambda: register(case_transfer_id=999999))
    assert errors["case_transfer_id"] == [f"Ärendet finns inte i avtal {agreement.number}."]


def test_shared_role_must_be_the_agreements(register, shared_role, agreement, make_agreement, make_transfer):
    role = shared_role(agreement)
    assert register(shared_role_id=role.id).shared_role_id == role.id
    other = shared_role(make_agreement())
    errors = errors_of(lambda: register(shared_role_id=other.id))
    assert errors["shared_role_id"] == [f"Den gemensamma tjänsten finns inte i avtal {agreement.number}."]
    transfer = make_transfer(requesting="Härryda", performing="Göteborg", agreement=agreement)
    errors = errors_of(lambda: register(shared_role_id=role.id, case_transfer_id=transfer.id))
    assert errors["shared_role_id"] == ["Ange antingen ett ärende eller en gemensam tjänst, inte båda."]


def test_all_problems_are_reported_at_once(register):
    errors = errors_of(lambda: register(quantity="0", note=PERSONAL_NUMBER, service_type_code="x", unit="km"))
    assert set(errors) == {"quantity", "note", "service_type_code"}
    # Without a readable date the rules that need it cannot run; the schema's errors are still all there.
    errors = errors_of(lambda: register(quantity="0", service_date="15/10/2026"))
    assert set(errors) == {"quantity", "service_date"}


def test_roles_that_may_register(db, make_user, agreement, municipality):
    for role in ("caseworker", "finance", "admin"):
        user = make_user(roles=(role,), kommun="Göteborg")
        assert services.register_service(db, user, form(agreement, municipality)).registered_by_id == user.id
    for role in ("auditor", "legal"):
        user = make_user(roles=(role,), kommun="Göteborg")
        with pytest.raises(PermissionDenied):
            services.register_service(db, user, form(agreement, municipality))


# --- Change and delete -----------------------------------------------------------------------------


def test_editing_an_attested_service_removes_the_attest(
    db, register, make_user, caseworker, agreement, municipality
):
    finance = make_user(roles=("finance",), kommun="Göteborg")
    service = register()
    services.attest_services(db, finance, [service.id])
    db.commit()
    assert service.attested_by_id == finance.id
    # Saving the same values changes nothing and keeps the attest.
    services.update_service(db, caseworker, service, form(agreement, municipality))
    assert service.attested_at is not None
    services.update_service(db, caseworker, service, form(agreement, municipality, quantity="3"))
    db.commit()
    assert service.quantity == Decimal("3.00")
    assert service.attested_at is None and service.attested_by_id is None


def test_partial_update_keeps_other_fields_and_takes_the_new_types_unit(db, register, caseworker):
    service = register(note="Första")
    services.update_service(
        db, caseworker, service, {"service_type_code": "resa", "quantity": "12"}, partial=True
    )
    assert (service.service_type_code, service.unit, service.quantity, service.note) == (
        "resa",
        ServiceUnit.KM,
        Decimal("12.00"),
        "Första",
    )


def test_a_billed_service_is_locked(db, register, caseworker, make_invoice, agreement, municipality):
    service = register()
    support.bill(db, make_invoice, service)
    with pytest.raises(ServiceLocked) as exc:
        services.update_service(db, caseworker, service, form(agreement, municipality, quantity="3"))
    assert exc.value.status_code == 409
    with pytest.raises(ServiceLocked):
        services.delete_service(db, caseworker, service)
    db.expire_all()
    assert service.quantity == Decimal("2.50")


def test_only_the_performing_side_changes_or_deletes(db, register, make_user, agreement, municipality):
    service = register()
    buyer = make_user(roles=("caseworker",), kommun="Härryda")
    assert services.get_service(db, buyer, service.id) is service  # the buyer sees it ...
    with pytest.raises(PermissionDenied):  # ... but cannot change it
        services.update_service(db, buyer, service, form(agreement, municipality, quantity="1"))
    with pytest.raises(PermissionDenied):
        services.delete_service(db, buyer, service)


def test_delete_an_unbilled_service(db, register, caseworker):
    service = register()
    services.delete_service(db, caseworker, service)
    db.commit()
    assert support.count_services(db) == 0


def test_bill_helper_links_the_service(db, register, make_invoice):
    service = register()
    invoice = bill(db, make_invoice, service)
    info = services.billing_info(services.get_service(db, service.registered_by, service.id))
    assert info is not None and info.invoice_id == invoice.id
    assert info.invoice_status_label == "Utkast"
