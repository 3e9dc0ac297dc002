"""The follow-up workflow's rules (billing.followup.services): who may read, edit and send; the year
check; sending freezes the figures and the PDF (sha256), and nothing changes afterwards, neither through
the service nor through the flush guard; the snapshot stays when the data changes."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing.errors import FollowupImmutable
from billing.followup import figures as figures_module
from billing.followup import services
from billing.models import AnnualFollowup, FollowupStatus, Recommendation
from core.errors import PermissionDenied, ValidationFailed
from registry.errors import AgreementNotFound
from tests.billing.followup.conftest import FOLLOWUP_YEAR
from tests.billing.followup.conftest import followup_pdf_text as pdf_text
from tests.billing.followup.conftest import need_wkhtmltopdf as need_pdf_tools

TODAY = dt.date(2026, 11, 23)


def _draft(db, agreement, user):
    return services.get_or_create_followup(db, user, agreement, FOLLOWUP_YEAR, TODAY)


def test_host_admin_and_owner_may_edit_readers_may_not(db, followup_agreement, make_user):
    host_admin = make_user(roles=("admin",), kommun="Göteborg")
    host_finance = make_user(roles=("finance",), kommun="Göteborg")
    buyer_admin = make_user(roles=("admin",), kommun="Lerum")
    owner = followup_agreement.owner_user
    assert services.may_edit(host_admin, followup_agreement)
    assert services.may_edit(owner, followup_agreement)  # a legal officer of a buyer, but the owner
    assert not services.may_edit(host_finance, followup_agreement)
    assert not services.may_edit(buyer_admin, followup_agreement)  # admin, but not of the host


def test_reader_sees_figures_without_creating_a_row(db, followup_agreement, make_user):
    reader = make_user(roles=("auditor",), kommun="Lerum")
    agreement = services.get_agreement(db, reader, followup_agreement.id)
    assert _draft(db, agreement, reader) is None
    assert services.find_followup(db, agreement, FOLLOWUP_YEAR) is None
    figures = services.followup_figures(db, agreement, FOLLOWUP_YEAR, None, TODAY)
    assert figures.budget.invoiced == Decimal("8137.50")
    with pytest.raises(PermissionDenied):
        services.require_edit(reader, agreement)


def test_editor_creates_the_draft_on_first_open(db, followup_agreement, make_user):
    admin = make_user(roles=("admin",), kommun="Göteborg")
    followup = _draft(db, followup_agreement, admin)
    assert followup.id is not None and followup.status == FollowupStatus.DRAFT
    assert followup.created_by_id == admin.id
    assert _draft(db, followup_agreement, admin).id == followup.id  # opened again: the same row


def test_non_party_gets_404(db, followup_agreement, make_user):
    outsider = make_user(roles=("admin",), kommun="Ale")
    with pytest.raises(AgreementNotFound) as exc:
        services.get_agreement(db, outsider, followup_agreement.id)
    assert exc.value.status_code == 404
    sysadmin = make_user(roles=("sysadmin",), kommun=None)
    with pytest.raises(AgreementNotFound):
        services.get_agreement(db, sysadmin, followup_agreement.id)
    assert services.followups_for(db, outsider) == []


@pytest.mark.parametrize(
    ("year", "phrase"),
    [(2023, "utanför avtalets löptid"), (2027, "har inte börjat"), (1999, "utanför avtalets löptid")],
)
def test_year_outside_the_agreement_or_in_the_future_is_422(db, followup_agreement, make_user, year, phrase):
    admin = make_user(roles=("admin",), kommun="Göteborg")
    with pytest.raises(ValidationFailed) as exc:
        services.get_or_create_followup(db, admin, followup_agreement, year, TODAY)
    assert exc.value.status_code == 422
    assert phrase in exc.value.message and "2024–2026" in exc.value.message
    assert db.scalar(select(AnnualFollowup)) is None


def test_list_covers_every_year_of_the_users_agreements(db, followup_agreement, make_user):
    reader = make_user(roles=("caseworker",), kommun="Härryda")
    rows = services.followups_for(db, reader, today=TODAY)
    assert [(r.agreement.id, r.year) for r in rows] == [
        (followup_agreement.id, y) for y in (2026, 2025, 2024)
    ]
    assert all(r.status_label == "Inte påbörjad" for r in rows)
    assert [r.year for r in services.followups_for(db, reader, year=2025, today=TODAY)] == [2025]


def test_update_validates_texts(db, followup_agreement, make_user):
    admin = make_user(roles=("admin",), kommun="Göteborg")
    followup = _draft(db, followup_agreement, admin)
    services.update_followup(
        db,
        admin,
        followup,
        {"quality_text": "  Bra år.  ", "recommendation": "continue", "deviations_text": ""},
    )
    assert followup.quality_text == "Bra år."
    assert followup.recommendation == Recommendation.CONTINUE
    assert followup.deviations_text is None
    with pytest.raises(ValidationFailed) as exc:
        services.update_followup(db, admin, followup, {"complaints_text": "Klagomål från 19121212-1212."})
    assert "personnummer" in " ".join(exc.value.errors["complaints_text"]).lower()
    with pytest.raises(ValidationFailed) as exc:
        services.update_followup(db, admin, followup, {"quality_text": "x" * 10_001})
    assert "quality_text" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        services.update_followup(db, admin, followup, {"recommendation": "maybe"})
    assert "Välj ett av" in " ".join(exc.value.errors["recommendation"])
    with pytest.raises(ValidationFailed) as exc:
        services.update_followup(db, admin, followup, {"status": "sent"})  # unknown fields are refused
    assert "status" in exc.value.errors


def test_update_by_a_reader_is_403(db, followup_agreement, make_user):
    admin = make_user(roles=("admin",), kommun="Göteborg")
    followup = _draft(db, followup_agreement, admin)
    host_finance = make_user(roles=("finance",), kommun="Göteborg")
    with pytest.raises(PermissionDenied):
        services.update_followup(db, host_finance, followup, {"quality_text": "Nej"})
    with pytest.raises(PermissionDenied):
        services.send_followup(db, host_finance, followup, "Nämnden", TODAY)


def test_send_requires_a_recommendation_and_a_recipient(db, followup_agreement, make_user):
    admin = make_user(roles=("admin",), kommun="Göteborg")
    followup = _draft(db, followup_agreement, admin)
    with pytest.raises(ValidationFailed) as exc:
        services.send_followup(db, admin, followup, "Socialnämnden", TODAY)
    assert "rekommendation" in exc.value.message
    services.update_followup(db, admin, followup, {"recommendation": "renegotiate"})
    for sent_to in ("", "   ", None):
        with pytest.raises(ValidationFailed) as exc:
            services.send_followup(db, admin, followup, sent_to, TODAY)
        assert "sent_to" in exc.value.errors
    with pytest.raises(ValidationFailed):
        services.send_followup(db, admin, followup, "Nämnden, 19121212-1212", TODAY)
    assert followup.status == FollowupStatus.DRAFT and followup.snapshot_pdf is None


@pytest.fixture
def sent(app, db, followup_agreement, make_user):
    need_pdf_tools()
    owner = followup_agreement.owner_user
    followup = _draft(db, followup_agreement, owner)
    services.update_followup(
        db, owner, followup, {"recommendation": "continue", "quality_text": "Samverkan fungerar."}
    )
    with app.app_context():  # the PDF is rendered from a template
        services.send_followup(db, owner, followup, "Socialnämnden i Härryda", TODAY)
    db.commit()
    return followup


def test_send_freezes_figures_and_pdf(db, sent, followup_agreement):
    owner = followup_agreement.owner_user
    assert sent.status == FollowupStatus.SENT
    assert sent.sent_by_id == owner.id and sent.sent_to == "Socialnämnden i Härryda" and sent.sent_at
    assert sent.snapshot_sha256 == hashlib.sha256(sent.snapshot_pdf).hexdigest()
    assert sent.snapshot_size == len(sent.snapshot_pdf)
    live = figures_module.compute_figures(db, followup_agreement, FOLLOWUP_YEAR, TODAY)
    assert sent.snapshot_figures == figures_module.figures_to_json(live)
    text = pdf_text(sent.snapshot_pdf)
    assert "UTKAST" not in text
    assert "Socialnämnden i Härryda" in text and "Fortsätta samverkan" in text


def test_snapshot_does_not_change_when_the_data_changes(app, db, sent, followup_agreement, make_invoice):
    before = dict(sent.snapshot_figures)
    make_invoice(
        followup_agreement,
        buyer="Härryda",
        status="issued",
        number=90,
        lines=(("Utredning", "10", "1085.00", "O"),),
        period=(dt.date(2025, 11, 1), dt.date(2025, 11, 30)),
    )
    db.expire_all()
    followup = db.get(AnnualFollowup, sent.id)
    live = services.followup_figures(db, followup_agreement, FOLLOWUP_YEAR, None, TODAY)
    assert live.budget.invoiced == Decimal("8137.50") + Decimal("10850.00")
    shown = services.followup_figures(db, followup_agreement, FOLLOWUP_YEAR, followup, TODAY)
    assert shown.budget.invoiced == Decimal("8137.50")
    assert followup.snapshot_figures == before
    with app.app_context():
        download = services.followup_pdf(db, followup_agreement, FOLLOWUP_YEAR, followup, TODAY)
    assert hashlib.sha256(download.content).hexdigest() == followup.snapshot_sha256
    assert download.filename == f"uppfoljning-{followup_agreement.number}-2025.pdf"


def test_sent_is_immutable_by_the_service(db, sent, followup_agreement):
    owner = followup_agreement.owner_user
    with pytest.raises(FollowupImmutable) as exc:
        services.update_followup(db, owner, sent, {"quality_text": "Ändrat"})
    assert exc.value.status_code == 409
    with pytest.raises(FollowupImmutable):
        services.send_followup(db, owner, sent, "Någon annan", TODAY)


def test_sent_is_immutable_by_the_flush_guard(db, sent):
    sent.quality_text = "Ändrat i smyg"
    with pytest.raises(FollowupImmutable):
        db.flush()
    db.rollback()
    followup = db.get(AnnualFollowup, sent.id)
    db.delete(followup)
    with pytest.raises(FollowupImmutable):
        db.flush()
    db.rollback()


def test_draft_pdf_is_marked_utkast(app, db, followup_agreement, make_user):
    need_pdf_tools()
    with app.app_context():
        download = services.followup_pdf(db, followup_agreement, FOLLOWUP_YEAR, None, TODAY)
    assert download.filename.endswith("-2025-utkast.pdf")
    assert "UTKAST" in pdf_text(download.content)
