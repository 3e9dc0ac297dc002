"""The Swedish pages of case transfers: list and filters, the request form, the detail page with its
timeline, next steps and insight log, and the step forms."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from core.models import AuditEntry
from registry.models import AgreementStatus, CaseTransfer, CaseTransferEvent, InsightLogEntry
from registry.models import TransferStatus as S
from registry.transfers.services import local_today
from tests.registry.test_transfers_helpers import PERSONNUMMER, THIRD_KOMMUN, request_payload, transfer_in


def _text(response) -> str:
    """The page as text, with entities decoded and runs of white space as one space."""
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def _insight(db, transfer) -> list[InsightLogEntry]:
    db.expire_all()
    return db.scalars(
        select(InsightLogEntry).where(InsightLogEntry.transfer_id == transfer.id).order_by(InsightLogEntry.id)
    ).all()


def _status(db, transfer) -> S:
    db.expire_all()
    return db.get(CaseTransfer, transfer.id).status


# --- Menu and list --------------------------------------------------------------------------------


def test_menu_item_for_every_municipal_role(login_as):
    for role in ("caseworker", "finance", "auditor"):
        page = _text(login_as(role).get("/"))
        assert 'href="/overlamningar/">Överlämningar</a>' in page
    assert "Överlämningar" not in _text(login_as("sysadmin", kommun=None).get("/"))


def test_list_shows_the_columns_and_only_the_own_municipalitys_transfers(login_as, make_transfer):
    make_transfer(
        "Härryda",
        "Lerum",
        status=S.REQUESTED,
        reference="JAV-1401-2026-0001",
        requested_on=dt.date(2026, 11, 1),
    )
    make_transfer("Lerum", "Göteborg", reference="JAV-1441-2026-0005")
    page = _text(login_as("finance", kommun="Härryda").get("/overlamningar/"))
    assert "JAV-1401-2026-0001" in page and "JAV-1441-2026-0005" not in page
    for heading in (
        "Referens",
        "Begärande kommun",
        "Utförande kommun",
        "Ärendeområde",
        "Jävsgrund",
        "Status",
        "Begärd",
        "Dagar utan svar",
    ):
        assert re.search(rf'<th scope="col"[^>]*>{heading}</th>', page), heading
    row = re.search(r"<tr>\s*<td><a [^>]*>JAV-1401-2026-0001</a>.*?</tr>", page, re.S).group(0)
    assert "Härryda" in row and "Lerum" in row and "Barn och unga" in row and "Anställd i kommunen" in row
    assert "Begärd" in row and "2026-11-01" in row
    waited = (local_today() - dt.date(2026, 11, 1)).days
    assert f'<td class="num"><strong>{waited}</strong></td>' in row
    assert "identifieras bara med sin pseudonyma referens" in page

    third = _text(login_as("admin", kommun=THIRD_KOMMUN).get("/overlamningar/"))
    assert "JAV-1401-2026-0001" not in third and "Inga överlämningar" in third


def test_list_filters(login_as, make_transfer):
    make_transfer("Härryda", "Lerum", status=S.REQUESTED, reference="JAV-1401-2026-0001")
    make_transfer("Härryda", "Göteborg", status=S.DECIDED, reference="JAV-1401-2026-0002")
    make_transfer("Lerum", "Härryda", status=S.REQUESTED, reference="JAV-1441-2026-0001")
    c = login_as("caseworker", kommun="Härryda")

    def refs(query: str) -> set[str]:
        return set(re.findall(r">(JAV-\d{4}-\d{4}-\d{4})</a>", _text(c.get("/overlamningar/" + query))))

    assert refs("") == {"JAV-1401-2026-0001", "JAV-1401-2026-0002", "JAV-1441-2026-0001"}
    assert refs("?roll=begarda") == {"JAV-1401-2026-0001", "JAV-1401-2026-0002"}
    assert refs("?roll=utforda") == {"JAV-1441-2026-0001"}
    assert refs("?vantar=1") == {"JAV-1401-2026-0001", "JAV-1441-2026-0001"}
    assert refs("?status=decided") == {"JAV-1401-2026-0002"}
    assert refs("?q=1441") == {"JAV-1441-2026-0001"}
    page = _text(c.get("/overlamningar/"))
    assert "En begäran väntar på svar från din kommun." in page
    assert c.get("/overlamningar/?status=okand").status_code == 422


# --- Request form ---------------------------------------------------------------------------------


def test_request_form_explains_the_four_resolution_types_and_lists_agreements_in_force(
    login_as, make_agreement
):
    active = make_agreement(host="Lerum", buyers=("Härryda",), title="Jäv i Göteborgsregionen")
    other = make_agreement(host="Lerum", buyers=("Partille",), title="Lerum och Partille")
    ended = make_agreement(
        host="Lerum", buyers=("Härryda",), status=AgreementStatus.EXPIRED, title="Gammalt avtal"
    )
    page = _text(login_as("caseworker", kommun="Härryda").get("/overlamningar/ny"))
    for label in (
        "Annan enhet inom den egna nämnden",
        "Timanställd handläggare från annan kommun",
        "Konsult",
        "Avtalssamverkan med extern delegering",
    ):
        assert label in page
    assert "extern delegering" in page and "Kräver ett avtal" in page
    assert f"{active.number} Jäv i Göteborgsregionen (parter: Lerum, Härryda)" in page
    assert other.title not in page and ended.title not in page
    assert 'optgroup label="Parter i era gällande avtal"' in page
    assert "Närstående till anställd" in page and "Klientens önskemål" in page
    assert "Den utförande kommunen" in page
    assert "identifieras bara med referensen" in page


@pytest.mark.parametrize("role", ["finance", "legal", "auditor"])
def test_reading_roles_cannot_open_the_request_form(login_as, role):
    c = login_as(role)
    assert c.get("/overlamningar/ny").status_code == 403
    assert "Begär en överlämning" not in _text(c.get("/overlamningar/"))


def test_request_through_the_form(login_as, municipality, db):
    c = login_as("caseworker", kommun="Härryda")
    response = c.post_form("/overlamningar/ny", request_payload(municipality, requested_on="2026-06-01"))
    assert response.status_code == 302
    transfer = db.scalar(select(CaseTransfer))
    assert response.headers["Location"].endswith(f"/overlamningar/{transfer.id}")
    assert transfer.reference == "JAV-1401-2026-0001"
    page = _text(c.get(response.headers["Location"]))
    assert "Överlämningen är begärd med referensen JAV-1401-2026-0001" in page


def test_personal_number_in_the_note_is_refused_with_a_swedish_message_and_nothing_saved(
    login_as, municipality, db
):
    c = login_as("caseworker", kommun="Härryda")
    response = c.post_form("/overlamningar/ny", request_payload(municipality, note=f"Gäller {PERSONNUMMER}"))
    assert response.status_code == 422
    page = _text(response)
    assert "Uppgifterna sparades inte" in page
    assert "Texten innehåller ett personnummer eller samordningsnummer (19850101-****)" in page
    # The message masks the number; the text stays in the field (only in this answer) to be corrected.
    assert f">Gäller {PERSONNUMMER}</textarea>" in page
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(CaseTransfer)) == 0


def test_form_errors_are_shown_next_to_the_fields(login_as, make_agreement, municipality):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda",))
    c = login_as("caseworker", kommun="Härryda")
    data = request_payload(municipality, agreement_id=agreement.id, case_area="")
    response = c.post_form("/overlamningar/ny", data)
    assert response.status_code == 422
    page = _text(response)
    assert 'id="e-agreement_id"' in page and "Lerum är inte part i avtalet" in page
    assert 'id="e-case_area"' in page
    assert 'value="SN 2026-02-10 § 14"' in page  # what was typed is kept


# --- Detail page ----------------------------------------------------------------------------------


def test_detail_page_shows_fields_timeline_and_the_users_next_steps(login_as, make_transfer, make_user, db):
    from registry.transfers.services import transition_transfer

    transfer = transfer_in(
        make_transfer,
        S.REQUESTED,
        requested_on=dt.date(2026, 10, 1),
        note="Ring före besök",
        delegation_decision="SN § 3",
    )
    performer = make_user(roles=("caseworker",), kommun="Lerum", name="Per Utför")
    transition_transfer(db, performer, transfer, S.ACCEPTED, on=dt.date(2026, 10, 3), comment="Vi tar det")
    db.commit()

    page = _text(login_as("caseworker", kommun="Lerum").get(f"/overlamningar/{transfer.id}"))
    for text in (
        transfer.reference,
        "Härryda (behåller ansvaret)",
        "Lerum – din kommun",
        "Anställd i kommunen",
        "Avtalssamverkan med extern delegering",
        "Barn och unga",
        "Den utförande kommunen (Lerum)",
        "SN § 3",
        "Ring före besök",
        "2026-10-01",
        "2026-10-03 (efter 2 dagar)",
        "Referensen är ärendets enda identifiering",
    ):
        assert text in page, text
    timeline = page.split('id="events-h"')[1].split('id="insight-h"')[0]
    assert "Begärd → Accepterad" in timeline and "Per Utför, Lerum" in timeline and "Vi tar det" in timeline
    steps = page.split('id="steps-h"')[1].split('id="events-h"')[0]
    assert "Starta utredning" in steps and "Registrera avbrott" in steps
    assert "Vem gör vad?" in steps and "Den begärande kommunen, som behåller ansvaret" in steps


def test_decline_and_close_forms_ask_for_confirmation_and_decline_asks_for_a_reason(login_as, make_transfer):
    requested = transfer_in(make_transfer, S.REQUESTED)
    page = _text(login_as("caseworker", kommun="Lerum").get(f"/overlamningar/{requested.id}"))
    assert "Härryda har begärt att Lerum tar över handläggningen av ärendet." in page
    decline = re.search(r'<form [^>]*data-confirm="([^"]+)"[^>]*>(.*?)</form>', page, re.S)
    assert "Avböja överlämningen?" in decline.group(1)
    assert 'value="declined"' in decline.group(2) and "Skäl till avböjande" in decline.group(2)
    assert re.search(r"<textarea[^>]*required", decline.group(2))
    accept = page.split('value="accepted"')[1].split("</form>")[0]
    assert "required" not in accept.split("<textarea")[1].split(">")[0]

    decided = transfer_in(make_transfer, S.DECIDED)
    requesting_page = _text(login_as("caseworker", kommun="Härryda").get(f"/overlamningar/{decided.id}"))
    assert 'data-confirm="Avsluta ärendet? Ett avslutat ärende kan inte öppnas igen."' in requesting_page
    assert "Registrera verkställighet – görs av Lerum (utförande kommun)" in requesting_page


def test_reading_roles_see_the_page_without_step_buttons(login_as, make_transfer):
    transfer = transfer_in(make_transfer, S.DECIDED)
    response = login_as("auditor", kommun="Härryda").get(f"/overlamningar/{transfer.id}")
    assert response.status_code == 200
    page = _text(response)
    assert "step-form" not in page
    assert "Din roll kan läsa överlämningen men inte registrera steg" in page


def test_final_status_offers_no_steps(login_as, make_transfer):
    transfer = transfer_in(make_transfer, S.DECLINED, decline_reason="Ingen kapacitet")
    page = _text(login_as("admin", kommun="Härryda").get(f"/overlamningar/{transfer.id}"))
    assert "slutläge" in page and "step-form" not in page
    assert "Skäl till avböjande" in page and "Ingen kapacitet" in page


def test_a_third_municipality_gets_404_on_the_page(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    c = login_as("admin", kommun=THIRD_KOMMUN)
    response = c.get(f"/overlamningar/{transfer.id}")
    assert response.status_code == 404
    assert transfer.reference not in _text(response)
    assert c.post_form(f"/overlamningar/{transfer.id}/status", {"target": "accepted"}).status_code == 404
    assert _status(db, transfer) == S.REQUESTED
    assert _insight(db, transfer) == []


# --- Insight log on the page ----------------------------------------------------------------------


def test_a_view_by_the_performing_side_is_logged_and_both_sides_see_it(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    performer = login_as("caseworker", kommun="Lerum", name="Lena Lerum")
    assert performer.get(f"/overlamningar/{transfer.id}").status_code == 200
    [entry] = _insight(db, transfer)
    assert (entry.user_id, entry.channel) == (performer.user.id, "sida")

    owner = login_as("caseworker", kommun="Härryda")
    page = _text(owner.get(f"/overlamningar/{transfer.id}"))
    assert len(_insight(db, transfer)) == 1  # the owner's own view is not logged
    insight = page.split('id="insight-h"')[1]
    assert f"Lena Lerum ({performer.user.email})" in insight and "Webbsidan" in insight
    assert "Varje gång en användare i den utförande kommunen, Lerum, öppnar överlämningen" in insight
    assert "Den begärande kommunens egna visningar loggas inte" in insight

    performer_page = _text(performer.get(f"/overlamningar/{transfer.id}"))
    assert performer_page.split('id="insight-h"')[1].count("Lena Lerum") == 2
    assert len(_insight(db, transfer)) == 2


def test_the_list_is_not_a_view(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    login_as("caseworker", kommun="Lerum").get("/overlamningar/")
    assert _insight(db, transfer) == []


# --- Steps through the page -----------------------------------------------------------------------


def test_accepting_through_the_page(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.REQUESTED, requested_on=dt.date(2026, 11, 2))
    c = login_as("caseworker", kommun="Lerum")
    response = c.post_form(
        f"/overlamningar/{transfer.id}/status",
        {"target": "accepted", "on": "2026-11-04", "comment": "Vi tar det"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/overlamningar/{transfer.id}")
    db.expire_all()
    fresh = db.get(CaseTransfer, transfer.id)
    assert fresh.status == S.ACCEPTED and fresh.answered_on == dt.date(2026, 11, 4)
    assert "Begärd → Accepterad är registrerat" in _text(c.get(response.headers["Location"]))


def test_decline_without_a_reason_is_shown_again_with_the_message(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    c = login_as("caseworker", kommun="Lerum")
    response = c.post_form(f"/overlamningar/{transfer.id}/status", {"target": "declined", "comment": ""})
    assert response.status_code == 422
    page = _text(response)
    assert 'id="e-declined-comment"' in page and "Ange skälet till att ni avböjer" in page
    assert '<a href="#f-declined-comment">Kommentar</a>' in page  # the summary links to the field
    assert _status(db, transfer) == S.REQUESTED


def test_personal_number_in_a_step_comment_is_refused_on_the_page(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    c = login_as("caseworker", kommun="Lerum")
    response = c.post_form(
        f"/overlamningar/{transfer.id}/status", {"target": "declined", "comment": f"Avser {PERSONNUMMER}"}
    )
    assert response.status_code == 422
    assert "personnummer eller samordningsnummer (19850101-****)" in _text(response)
    assert _status(db, transfer) == S.REQUESTED
    assert db.scalar(select(func.count()).select_from(CaseTransferEvent)) == 0


def test_wrong_party_and_reading_roles_get_403_on_the_page(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    response = login_as("caseworker", kommun="Härryda").post_form(
        f"/overlamningar/{transfer.id}/status", {"target": "accepted"}
    )
    assert response.status_code == 403
    assert "görs av den utförande kommunen (Lerum)" in _text(response)
    for role in ("finance", "legal", "auditor"):
        response = login_as(role, kommun="Lerum").post_form(
            f"/overlamningar/{transfer.id}/status", {"target": "accepted"}
        )
        assert response.status_code == 403
    assert _status(db, transfer) == S.REQUESTED


def test_an_illegal_step_on_the_page_answers_409_with_the_reason(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.REQUESTED)
    response = login_as("caseworker", kommun="Lerum").post_form(
        f"/overlamningar/{transfer.id}/status", {"target": "executed"}
    )
    assert response.status_code == 409
    page = _text(response)
    assert "Steget registrerades inte" in page
    assert "kan inte gå från ”Begärd” till ”Verkställd”" in page
    assert _status(db, transfer) == S.REQUESTED


def test_a_step_leaves_audit_entries_attributed_to_the_user(login_as, make_transfer, db):
    transfer = transfer_in(make_transfer, S.ACCEPTED)
    c = login_as("caseworker", kommun="Lerum")
    assert c.post_form(f"/overlamningar/{transfer.id}/status", {"target": "investigating"}).status_code == 302
    db.expire_all()
    update = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "case_transfers", AuditEntry.entity_id == str(transfer.id))
        .where(AuditEntry.action == "update")
        .order_by(AuditEntry.id)
    ).all()[-1]
    assert update.user_id == c.user.id and update.actor == c.user.email
    assert update.changes["status"] == ["accepted", "investigating"]
    assert update.municipality_id == transfer.requesting_municipality_id
    event = db.scalar(select(CaseTransferEvent).where(CaseTransferEvent.transfer_id == transfer.id))
    inserted = db.scalar(
        select(AuditEntry).where(
            AuditEntry.entity == "case_transfer_events", AuditEntry.entity_id == str(event.id)
        )
    )
    assert inserted.action == "insert" and inserted.user_id == c.user.id
    assert inserted.changes["to_status"] == [None, "investigating"]
    assert inserted.municipality_id == transfer.requesting_municipality_id
