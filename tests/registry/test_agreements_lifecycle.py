"""The agreement lifecycle: draft -> active -> under renegotiation -> terminated or expired, through
the one transition function, with a named error (409) for every move the table does not allow."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from html import unescape

import pytest
from sqlalchemy import select

from core.errors import ValidationFailed
from registry.agreements import services
from registry.errors import IllegalTransition
from registry.models import AGREEMENT_TRANSITIONS, Agreement, AgreementStatus

ALL_PAIRS = list(itertools.product(AgreementStatus, AgreementStatus))
LEGAL = [(a, b) for a, b in ALL_PAIRS if b in AGREEMENT_TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in ALL_PAIRS if b not in AGREEMENT_TRANSITIONS[a]]
TERMINATION = {"reason": "Verksamheten tas över av en gemensam nämnd.", "on": dt.date(2026, 3, 2)}


def test_the_matrix_covers_every_pair_of_statuses():
    assert len(LEGAL) == 7
    assert len(LEGAL) + len(ILLEGAL) == len(AgreementStatus) ** 2


@pytest.fixture
def admin(make_user):
    return make_user(roles=("admin",), kommun="Härryda")


def _status(db, agreement_id) -> AgreementStatus:
    db.expire_all()
    return db.get(Agreement, agreement_id).status


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_every_legal_transition_is_made(db, make_agreement, admin, current, target):
    agreement = make_agreement(status=current)
    extra = TERMINATION if target == AgreementStatus.TERMINATED else {}
    services.transition_agreement(db, admin, agreement, target, **extra)
    db.commit()
    assert _status(db, agreement.id) == target


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_is_refused_with_a_named_error(db, make_agreement, admin, current, target):
    agreement = make_agreement(status=current)
    # Even with a reason and a date, an illegal move stays illegal (409, not a validation error).
    extra = TERMINATION if target == AgreementStatus.TERMINATED else {}
    with pytest.raises(IllegalTransition) as caught:
        services.transition_agreement(db, admin, agreement, target, **extra)
    assert caught.value.status_code == 409
    assert "Tillåtna steg" in caught.value.message
    assert _status(db, agreement.id) == current


def test_illegal_transition_in_the_api_is_409_with_a_structured_error(login_as, make_agreement, db):
    agreement = make_agreement(status=AgreementStatus.DRAFT)
    c = login_as("admin", kommun="Lerum")
    response = c.api(
        "post",
        f"/api/v1/agreements/{agreement.id}/transition",
        json={"status": "terminated", "reason": "Fel", "date": "2026-01-10"},
    )
    assert response.status_code == 409
    body = response.json
    assert body["code"] == 409
    assert body["message"] == ("Avtalet kan inte gå från ”Utkast” till ”Uppsagt”. Tillåtna steg: Gällande.")
    assert body["errors"]["status"] == ["Otillåten statusändring: Utkast → Uppsagt."]
    assert _status(db, agreement.id) == AgreementStatus.DRAFT


def test_final_states_say_there_is_no_way_out(login_as, make_agreement):
    agreement = make_agreement(status=AgreementStatus.EXPIRED)
    c = login_as("admin", kommun="Göteborg")
    response = c.api("post", f"/api/v1/agreements/{agreement.id}/transition", json={"status": "active"})
    assert response.status_code == 409
    assert "Tillåtna steg: inga (slutläge)." in response.json["message"]
    page = c.get(f"/avtal/{agreement.id}").get_data(as_text=True)
    assert "Det är ett slutläge" in page


def test_api_moves_an_agreement_through_its_whole_life(login_as, make_agreement, db):
    agreement = make_agreement(status=AgreementStatus.DRAFT)
    c = login_as("admin", kommun="Härryda")
    url = f"/api/v1/agreements/{agreement.id}/transition"
    response = c.api("post", url, json={"status": "active"})
    assert response.status_code == 200
    assert response.json["status"] == "active"
    assert response.json["allowed_transitions"] == ["under_renegotiation", "terminated", "expired"]
    assert (
        c.api("post", url, json={"status": "under_renegotiation"}).json["status_label"]
        == "Under omförhandling"
    )
    assert c.api("post", url, json={"status": "active"}).status_code == 200
    response = c.api(
        "post",
        url,
        json={"status": "terminated", "reason": "Köparen bygger egen verksamhet.", "date": "2026-05-15"},
    )
    assert response.status_code == 200
    assert response.json["termination_reason"] == "Köparen bygger egen verksamhet."
    assert response.json["termination_date"] == "2026-05-15"
    assert response.json["allowed_transitions"] == []
    assert _status(db, agreement.id) == AgreementStatus.TERMINATED


def test_termination_needs_a_reason_and_a_date(login_as, make_agreement, db):
    agreement = make_agreement(status=AgreementStatus.ACTIVE)
    c = login_as("admin", kommun="Härryda")
    response = c.api("post", f"/api/v1/agreements/{agreement.id}/transition", json={"status": "terminated"})
    assert response.status_code == 422
    assert response.json["errors"] == {
        "reason": ["Ange skälet till uppsägningen."],
        "date": ["Ange dagen då uppsägningen gjordes."],
    }
    response = c.api(
        "post",
        f"/api/v1/agreements/{agreement.id}/transition",
        json={"status": "terminated", "reason": "   ", "date": "2026-02-01"},
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"reason"}
    db.expire_all()
    stored = db.get(Agreement, agreement.id)
    assert (stored.status, stored.termination_reason, stored.termination_date) == (
        AgreementStatus.ACTIVE,
        None,
        None,
    )


def test_termination_form_shows_its_messages_next_to_the_fields(login_as, make_agreement, db):
    agreement = make_agreement(status=AgreementStatus.RENEGOTIATION)
    c = login_as("admin", kommun="Göteborg")
    response = c.post_form(
        f"/avtal/{agreement.id}/status", {"status": "terminated", "reason": "", "date": ""}
    )
    assert response.status_code == 422
    html = unescape(response.get_data(as_text=True))
    assert '<p class="error" id="e-reason">Ange skälet till uppsägningen.</p>' in html
    assert '<p class="error" id="e-t-date">Ange dagen då uppsägningen gjordes.</p>' in html
    assert _status(db, agreement.id) == AgreementStatus.RENEGOTIATION


def test_termination_reason_refuses_a_personal_number(make_agreement, admin, db):
    agreement = make_agreement(status=AgreementStatus.ACTIVE)
    with pytest.raises(ValidationFailed) as caught:
        services.transition_agreement(
            db, admin, agreement, "terminated", reason="Klagomål från 19811218-9876.", on=dt.date(2026, 2, 1)
        )
    assert "personnummer" in caught.value.errors["reason"][0]


def test_termination_date_before_the_start_is_refused(db, make_agreement, admin):
    agreement = make_agreement(status=AgreementStatus.ACTIVE, start_date=dt.date(2024, 1, 1))
    with pytest.raises(ValidationFailed) as caught:
        services.transition_agreement(
            db, admin, agreement, "terminated", reason="Fel", on=dt.date(2023, 12, 31)
        )
    assert caught.value.errors == {
        "date": ["Uppsägningen kan inte vara gjord före avtalets startdatum 2024-01-01."]
    }


def test_reason_and_date_belong_to_termination_only(db, make_agreement, admin):
    agreement = make_agreement(status=AgreementStatus.ACTIVE)
    with pytest.raises(ValidationFailed) as caught:
        services.transition_agreement(db, admin, agreement, "expired", reason="Slut", on=dt.date(2026, 1, 1))
    assert caught.value.errors == {
        "reason": ["Skäl anges bara när avtalet sägs upp."],
        "date": ["Datum anges bara när avtalet sägs upp."],
    }
    assert agreement.status == AgreementStatus.ACTIVE


def test_unknown_status_is_a_validation_error(db, make_agreement, admin):
    agreement = make_agreement(status=AgreementStatus.ACTIVE)
    with pytest.raises(ValidationFailed) as caught:
        services.transition_agreement(db, admin, agreement, "paused")
    assert caught.value.errors["status"][0].startswith("Välj ett av: draft (Utkast)")


def test_a_draft_without_buyers_cannot_become_active(login_as, make_agreement, db):
    agreement = make_agreement(status=AgreementStatus.DRAFT, host="Härryda", buyers=())
    c = login_as("admin", kommun="Härryda")
    response = c.api("post", f"/api/v1/agreements/{agreement.id}/transition", json={"status": "active"})
    assert response.status_code == 422
    assert response.json["errors"]["parties"] == [
        "Avtalet kan bli gällande först när det har en utförande kommun och minst en köpare."
    ]
    assert _status(db, agreement.id) == AgreementStatus.DRAFT


def test_status_buttons_follow_the_table_and_ask_before_irreversible_steps(login_as, make_agreement):
    agreement = make_agreement(status=AgreementStatus.ACTIVE)
    html = login_as("admin", kommun="Lerum").get(f"/avtal/{agreement.id}").get_data(as_text=True)
    values = re.findall(r'name="status" value="([a-z_]+)"', html)
    assert sorted(values) == ["expired", "terminated", "under_renegotiation"]
    assert 'data-confirm="Markera avtalet som upphört? Det kan inte ångras."' in html
    assert 'data-confirm="Säga upp avtalet? Uppsägningen kan inte ångras i systemet."' in html
    assert 'name="reason"' in html and 'name="date" type="date"' in html


def test_page_transition_redirects_with_a_message(login_as, make_agreement, db):
    agreement = make_agreement(status=AgreementStatus.DRAFT)
    c = login_as("admin", kommun="Härryda")
    response = c.post_form(f"/avtal/{agreement.id}/status", {"status": "active"}, follow_redirects=True)
    assert response.status_code == 200
    assert f"Avtal {agreement.number} har nu status Gällande." in response.get_data(as_text=True)
    assert _status(db, agreement.id) == AgreementStatus.ACTIVE


def test_page_illegal_transition_shows_the_reason_with_409(login_as, make_agreement, db):
    agreement = make_agreement(status=AgreementStatus.DRAFT)
    c = login_as("admin", kommun="Härryda")
    response = c.post_form(f"/avtal/{agreement.id}/status", {"status": "expired"})
    assert response.status_code == 409
    assert "Avtalet kan inte gå från ”Utkast” till ”Upphört”" in response.get_data(as_text=True)
    assert _status(db, agreement.id) == AgreementStatus.DRAFT


def test_termination_is_shown_with_reason_date_and_the_end_it_leads_to(login_as, make_agreement, monkeypatch):
    monkeypatch.setattr(services, "local_today", lambda: dt.date(2026, 8, 20))
    agreement = make_agreement(
        status=AgreementStatus.ACTIVE, end_date=dt.date(2026, 12, 31), renewal_months=12, notice_months=6
    )
    c = login_as("admin", kommun="Härryda")
    response = c.post_form(
        f"/avtal/{agreement.id}/status",
        {"status": "terminated", "reason": "Egen familjerätt från 2027.", "date": "2026-06-15"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Egen familjerätt från 2027." in html
    assert "<dt>Uppsagt</dt><dd>2026-06-15</dd>" in html
    # Notice on 15 June is in time for the period ending 31 December (last notice day 30 June).
    assert "<dt>Avtalet upphör (beräknat)</dt><dd>2026-12-31</dd>" in html


def test_the_lifecycle_is_in_the_audit_log(login_as, make_agreement, db):
    from core.models import AuditEntry

    agreement = make_agreement(status=AgreementStatus.ACTIVE)
    c = login_as("admin", kommun="Härryda")
    c.api("post", f"/api/v1/agreements/{agreement.id}/transition", json={"status": "expired"})
    db.expire_all()
    entries = db.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "agreements",
            AuditEntry.entity_id == str(agreement.id),
            AuditEntry.action == "update",
        )
    ).all()
    assert any(e.changes.get("status") == ["active", "expired"] and e.user_id == c.user.id for e in entries)
