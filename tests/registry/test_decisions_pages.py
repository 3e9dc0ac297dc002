"""The decision pages: the watch list, recording a decision, the decision page with the performer's
feedback forms, the IVO report page and its CSV download. Today is pinned by monkeypatching
`registry.decisions.services.today`, the one clock of the part."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core.models import AuditEntry
from registry.decisions import services
from registry.models import Decision, DecisionInterruption, DecisionOffer, TransferStatus
from tests.registry.test_decisions_support import D, add_decision

TODAY = D(2026, 4, 15)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(services, "today", lambda: TODAY)


@pytest.fixture
def transfer(make_transfer, legal_bases):
    return make_transfer(requesting="Härryda", performing="Lerum", status=TransferStatus.ACCEPTED)


@pytest.fixture
def basis(legal_bases):
    return legal_bases["SOL-KONTAKTPERSON"]


def _count(db, model=Decision) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _text(response) -> str:
    return response.get_data(as_text=True)


def _normalized(response) -> str:
    return re.sub(r"\s+", " ", _text(response))


# --- The watch list -----------------------------------------------------------------------------


def test_watch_list_shows_the_columns_with_reportable_first(login_as, db, transfer, basis, make_transfer):
    in_time = add_decision(db, basis, D(2026, 1, 5), transfer=transfer, execution_date=D(2026, 2, 1))
    late_transfer = make_transfer(requesting="Härryda", performing="Lerum", status=TransferStatus.DECIDED)
    add_decision(db, basis, D(2025, 11, 30), transfer=late_transfer, insats_type="Kontaktfamilj")
    c = login_as("caseworker", kommun="Härryda")
    response = c.get("/beslut/")
    assert response.status_code == 200
    page = _normalized(response)
    assert page.index(late_transfer.reference) < page.index(transfer.reference)
    assert "Kontaktperson eller kontaktfamilj" in page
    assert "SoL (2001:453) 4 kap. 1 § / SoL (2025:400) 10 kap. 1 § (?)" in page
    assert "2025-11-30" in page and "2026-02-28" in page  # decision date and its deadline
    assert ">136<" in page.replace(" ", "")  # days since decision on 2026-04-15
    assert "Ej verkställt efter tre månader" in page and "rapporteras till IVO" in page
    assert "decision-reportable" in page
    assert "Verkställt i tid" in page and "2026-02-01" in page
    assert "2 beslut, varav 1 ska rapporteras till IVO" in page.replace("<strong>", "").replace(
        "</strong>", ""
    )
    assert f"/beslut/{in_time.id}" in page


def test_watch_list_filters(login_as, db, transfer, basis):
    add_decision(
        db, basis, D(2026, 1, 5), transfer=transfer, execution_date=D(2026, 2, 1), insats_type="I tid"
    )
    add_decision(db, basis, D(2025, 11, 30), transfer=transfer, insats_type="Sen insats")
    c = login_as("caseworker", kommun="Härryda")
    only = _text(c.get("/beslut/?rapporteras=1"))
    assert "Sen insats" in only and "I tid" not in only
    by_state = _text(c.get("/beslut/?status=executed_in_time"))
    assert "I tid" in by_state and "Sen insats" not in by_state
    assert "Inga beslut med det urvalet" in _text(c.get("/beslut/?status=closed"))
    assert c.get("/beslut/?status=okant").status_code == 200  # an unknown filter shows everything


def test_performer_list_and_third_municipality(login_as, db, transfer, basis):
    add_decision(db, basis, D(2025, 11, 30), transfer=transfer, insats_type="Lerum verkställer")
    lerum = login_as("caseworker", kommun="Lerum")
    assert "Lerum verkställer" not in _text(lerum.get("/beslut/"))
    performing = _text(lerum.get("/beslut/?roll=utfor"))
    assert "Lerum verkställer" in performing and "Härryda" in performing
    molndal = login_as("admin", kommun="Mölndal")
    assert "Lerum verkställer" not in _text(molndal.get("/beslut/?roll=utfor"))
    assert "Lerum verkställer" not in _text(molndal.get("/beslut/"))


def test_menu_item_for_every_municipal_role(login_as):
    for role in ("finance", "auditor", "caseworker"):
        page = _text(login_as(role, kommun="Härryda").get("/"))
        assert "Beslut och IVO" in page
    assert "Beslut och IVO" not in _text(login_as("sysadmin", kommun=None).get("/"))


def test_pages_need_login(app, db):
    response = app.test_client().get("/beslut/")
    assert response.status_code == 302
    assert "/logga-in" in response.headers["Location"]


# --- Recording ----------------------------------------------------------------------------------


def _decision_form(**overrides):
    form = {
        "legal_basis": "LSS-9-4",
        "insats_type": "Kontaktperson en gång i veckan",
        "decision_date": "2026-03-02",
        "execution_date": "",
        "ivo_person_ref": "19900315-k132",
        "delay_reason": "",
    }
    form.update(overrides)
    return form


def test_record_a_decision_from_a_transfer(login_as, db, transfer):
    c = login_as("caseworker", kommun="Lerum")  # the performer records under extern delegering
    page = _text(c.get(f"/beslut/ny?overlamning={transfer.id}"))
    assert transfer.reference in page and "Härryda" in page
    assert "LSS 9 § 4" in page and "SoL (2025:400) 10 kap. 1 § (?)" in page
    response = c.post_form(f"/beslut/ny?overlamning={transfer.id}", _decision_form())
    assert response.status_code == 302
    decision = db.scalar(select(Decision).where(Decision.transfer_id == transfer.id))
    assert response.headers["Location"].endswith(f"/beslut/{decision.id}")
    assert decision.responsible_municipality.name == "Härryda"
    assert decision.ivo_person_ref == "19900315-K132"
    entry = db.scalar(
        select(AuditEntry).where(AuditEntry.entity == "decisions", AuditEntry.entity_id == str(decision.id))
    )
    assert (entry.action, entry.user_id) == ("insert", c.user.id)
    detail = _normalized(c.get(response.headers["Location"]))
    assert "Beslutet för" in detail and "är registrerat" in detail
    assert "2026-06-02" in detail  # the deadline
    assert "19900315-K132 (kvinna)" in detail


def test_record_errors_are_shown_next_to_the_fields_and_nothing_is_saved(login_as, db, transfer):
    c = login_as("caseworker", kommun="Härryda")
    response = c.post_form(
        f"/beslut/ny?overlamning={transfer.id}",
        _decision_form(
            execution_date="2026-03-01",
            insats_type="Kontaktperson för 19121212-1212",
            ivo_person_ref="19850101-1236",
            legal_basis="",
        ),
    )
    assert response.status_code == 422
    page = _text(response)
    assert "Uppgifterna sparades inte" in page
    assert 'id="e-execution_date"' in page and "före beslutsdatumet (2026-03-02)" in page
    assert 'id="e-insats_type"' in page and "personnummer" in page
    assert 'id="e-ivo_person_ref"' in page
    assert "Välj lagrum." in page
    assert "19121212-1212" in page  # the user's own input is given back to correct...
    assert "1236" not in page.replace("19850101-1236", "")  # ...but messages mask the numbers
    assert _count(db) == 0


def test_record_a_decision_under_an_agreement(login_as, db, make_agreement, legal_bases):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda",))
    c = login_as("admin", kommun="Härryda")
    assert c.get(f"/beslut/ny?avtal={agreement.id}").status_code == 200
    response = c.post_form(f"/beslut/ny?avtal={agreement.id}", _decision_form())
    assert response.status_code == 302
    decision = db.scalar(select(Decision).where(Decision.agreement_id == agreement.id))
    assert decision.transfer_id is None and decision.responsible_municipality.name == "Härryda"
    outsider = login_as("admin", kommun="Mölndal")
    assert outsider.get(f"/beslut/ny?avtal={agreement.id}").status_code == 404
    assert outsider.post_form(f"/beslut/ny?avtal={agreement.id}", _decision_form()).status_code == 404
    assert _count(db) == 1


def test_chooser_lists_where_a_decision_can_be_recorded(login_as, make_transfer, make_agreement, legal_bases):
    accepted = make_transfer(status=TransferStatus.INVESTIGATING)
    requested = make_transfer(status=TransferStatus.REQUESTED)
    agreement = make_agreement(host="Göteborg", buyers=("Härryda",))
    page = _text(login_as("caseworker", kommun="Härryda").get("/beslut/ny"))
    assert accepted.reference in page and requested.reference not in page
    assert agreement.number in page
    assert login_as("finance", kommun="Härryda").get("/beslut/ny").status_code == 403


def test_new_decision_page_scope_and_roles(login_as, transfer, make_transfer, legal_bases):
    assert login_as("admin", kommun="Mölndal").get(f"/beslut/ny?overlamning={transfer.id}").status_code == 404
    assert (
        login_as("finance", kommun="Härryda").get(f"/beslut/ny?overlamning={transfer.id}").status_code == 403
    )
    assert login_as("caseworker", kommun="Härryda").get("/beslut/ny?overlamning=abc").status_code == 404
    declined = make_transfer(status=TransferStatus.DECLINED)
    response = login_as("caseworker", kommun="Härryda").get(f"/beslut/ny?overlamning={declined.id}")
    assert response.status_code == 409
    assert "accepterat överlämningen" in _text(response)


# --- One decision -------------------------------------------------------------------------------


def test_detail_scope(login_as, db, transfer, basis, make_transfer):
    decision = add_decision(db, basis, D(2025, 11, 30), transfer=transfer)
    other = add_decision(
        db,
        basis,
        D(2025, 11, 30),
        transfer=make_transfer(requesting="Härryda", performing="Mölndal", status=TransferStatus.ACCEPTED),
    )
    assert login_as("admin", kommun="Mölndal").get(f"/beslut/{decision.id}").status_code == 404
    lerum = login_as("caseworker", kommun="Lerum")
    assert lerum.get(f"/beslut/{decision.id}").status_code == 200
    response = lerum.get(f"/beslut/{other.id}")
    assert response.status_code == 404
    assert "Beslutet finns inte" in _text(response)
    assert (
        lerum.post_form(f"/beslut/{other.id}/verkstallighet", {"execution_date": "2026-01-10"}).status_code
        == 404
    )


def test_detail_explains_the_state_and_both_references(login_as, db, transfer, basis):
    decision = add_decision(db, basis, D(2025, 11, 30), transfer=transfer, delay_reason=None)
    page = _normalized(login_as("auditor", kommun="Härryda").get(f"/beslut/{decision.id}"))
    assert "Ej verkställt efter tre månader" in page
    assert "gränsen var 2026-02-28" in page
    assert "Tidigare numrering: SoL (2001:453) 4 kap. 1 §" in page
    assert "Ny numrering: SoL (2025:400) 10 kap. 1 § (?)" in page
    assert "Saknas – IVO frågar efter skälet." in page
    assert "Du kan läsa beslutet men inte ändra det." in page
    assert "Spara verkställighet" not in page


def test_performer_feeds_back_offer_execution_interruption_and_resumption(login_as, db, transfer, basis):
    decision = add_decision(db, basis, D(2025, 12, 1), transfer=transfer)
    c = login_as("caseworker", kommun="Lerum")
    page = _text(c.get(f"/beslut/{decision.id}"))
    assert "Din kommun verkställer beslutet åt Härryda" in page
    assert 'data-confirm="Avsluta beslutet?' in page

    assert (
        c.post_form(
            f"/beslut/{decision.id}/erbjudanden",
            {"offered_on": "2026-01-10", "declined": "on", "note": "Tackade nej"},
        ).status_code
        == 302
    )
    assert (
        c.post_form(f"/beslut/{decision.id}/verkstallighet", {"execution_date": "2026-02-01"}).status_code
        == 302
    )
    assert (
        c.post_form(
            f"/beslut/{decision.id}/avbrott",
            {"interrupted_on": "2026-03-01", "reason": "Kontaktpersonen slutade"},
        ).status_code
        == 302
    )
    db.expire_all()
    interruption = db.scalar(
        select(DecisionInterruption).where(DecisionInterruption.decision_id == decision.id)
    )
    page = _normalized(c.get(f"/beslut/{decision.id}"))
    assert "Avbrott, inom tre månader" in page and "Pågår" in page
    assert "Insatsen återupptogs" in page
    response = c.post_form(
        f"/beslut/{decision.id}/avbrott/{interruption.id}/aterupptag", {"resumed_on": "2026-04-01"}
    )
    assert response.status_code == 302
    db.expire_all()
    stored = db.get(Decision, decision.id)
    assert stored.execution_date == D(2026, 2, 1)
    assert [(o.offered_on, o.declined, o.note) for o in stored.offers] == [
        (D(2026, 1, 10), True, "Tackade nej")
    ]
    assert stored.interruptions[0].resumed_on == D(2026, 4, 1)
    executed = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "decisions", AuditEntry.entity_id == str(decision.id))
        .order_by(AuditEntry.id)
    ).all()[-1]
    assert executed.user_id == c.user.id and executed.changes["execution_date"] == [None, "2026-02-01"]
    assert "Återupptaget efter avbrott" in _text(c.get(f"/beslut/{decision.id}"))


def test_feedback_errors_rerender_the_page_with_422(login_as, db, transfer, basis):
    decision = add_decision(db, basis, D(2025, 12, 1), transfer=transfer)
    c = login_as("caseworker", kommun="Lerum")
    response = c.post_form(f"/beslut/{decision.id}/verkstallighet", {"execution_date": "2026-04-16"})
    assert response.status_code == 422
    page = _text(response)
    assert 'id="e-execution_date"' in page and "har inte inträffat än" in page
    response = c.post_form(
        f"/beslut/{decision.id}/erbjudanden", {"offered_on": "", "note": "Ring 19121212-1212"}
    )
    assert response.status_code == 422
    page = _text(response)
    assert "Fältet måste fyllas i." in page or "Fältet får inte vara tomt." in page
    assert "personnummer" in page
    response = c.post_form(f"/beslut/{decision.id}/avbrott", {"interrupted_on": "2026-03-01"})
    assert response.status_code == 409
    assert "Registrera verkställigheten" in _text(response)
    db.expire_all()
    stored = db.get(Decision, decision.id)
    assert stored.execution_date is None
    assert _count(db, DecisionOffer) == 0


def test_close_a_decision(login_as, db, transfer, basis):
    decision = add_decision(db, basis, D(2025, 11, 30), transfer=transfer)
    c = login_as("caseworker", kommun="Härryda")
    response = c.post_form(
        f"/beslut/{decision.id}/avsluta", {"closed_on": "2026-04-10", "closing_reason": ""}
    )
    assert response.status_code == 422
    assert 'id="e-closing_reason"' in _text(response)
    response = c.post_form(
        f"/beslut/{decision.id}/avsluta",
        {"closed_on": "2026-04-10", "closing_reason": "Flyttat från kommunen"},
    )
    assert response.status_code == 302
    page = _normalized(c.get(f"/beslut/{decision.id}"))
    assert "Beslutet avslutades 2026-04-10" in page
    assert "2026-04-10: Flyttat från kommunen" in page
    assert "Spara verkställighet" not in page
    assert c.post_form(f"/beslut/{decision.id}/erbjudanden", {"offered_on": "2026-04-11"}).status_code == 409


@pytest.mark.parametrize("role", ["finance", "auditor", "legal"])
def test_read_only_roles_get_403_on_every_form(login_as, db, transfer, basis, role):
    decision = add_decision(db, basis, D(2025, 11, 30), transfer=transfer, execution_date=D(2026, 1, 5))
    c = login_as(role, kommun="Härryda")
    assert c.get(f"/beslut/{decision.id}").status_code == 200
    assert c.get(f"/beslut/{decision.id}/andra").status_code == 403
    posts = {
        "andra": {"insats_type": "Ändrad"},
        "erbjudanden": {"offered_on": "2026-01-02"},
        "verkstallighet": {"execution_date": "2026-01-06"},
        "avbrott": {"interrupted_on": "2026-02-01"},
        "avsluta": {"closed_on": "2026-02-01", "closing_reason": "Flyttat"},
    }
    for path, data in posts.items():
        response = c.post_form(f"/beslut/{decision.id}/{path}", data)
        assert response.status_code == 403, path
    assert c.post_form(f"/beslut/ny?overlamning={transfer.id}", _decision_form()).status_code == 403
    db.expire_all()
    stored = db.get(Decision, decision.id)
    assert (stored.insats_type, stored.execution_date, stored.closed_on) == (
        "Kontaktfamilj varannan helg",
        D(2026, 1, 5),
        None,
    )
    assert _count(db) == 1 and _count(db, DecisionOffer) == 0


def test_edit_page(login_as, db, transfer, basis):
    decision = add_decision(db, basis, D(2025, 11, 30), transfer=transfer, execution_date=D(2026, 1, 5))
    c = login_as("caseworker", kommun="Härryda")
    page = _text(c.get(f"/beslut/{decision.id}/andra"))
    assert 'value="2025-11-30"' in page and 'value="SOL-KONTAKTPERSON" selected' in page
    form = {
        "legal_basis": "LSS-9-4",
        "insats_type": "Kontaktperson",
        "decision_date": "2026-01-06",
        "delay_reason": "",
        "ivo_person_ref": "",
    }
    response = c.post_form(f"/beslut/{decision.id}/andra", form)
    assert response.status_code == 422
    assert "efter verkställigheten (2026-01-05)" in _text(response)
    response = c.post_form(f"/beslut/{decision.id}/andra", dict(form, decision_date="2025-12-01"))
    assert response.status_code == 302
    db.expire_all()
    stored = db.get(Decision, decision.id)
    assert (stored.legal_basis.code, stored.insats_type, stored.decision_date) == (
        "LSS-9-4",
        "Kontaktperson",
        D(2025, 12, 1),
    )


# --- The IVO report page ------------------------------------------------------------------------


def test_ivo_page_shows_the_quarter_and_the_open_window(login_as, db, transfer, basis):
    add_decision(db, basis, D(2025, 11, 30), transfer=transfer, ivo_person_ref="19850101-T124")
    c = login_as("auditor", kommun="Härryda")
    page = _normalized(c.get("/beslut/ivo?ar=2026&kvartal=1"))
    assert "Rapporteringsperioden är öppen för kvartal 1 2026: 2026-04-01–2026-04-30." in page.replace(
        "<strong>", ""
    ).replace("</strong>", "")
    assert "Härryda, kvartal 1 2026" in page
    assert transfer.reference in page and "19850101-T124" in page and "kvinna" in page
    assert "Ej verkställt beslut" in page
    assert "/beslut/ivo.csv?ar=2026&amp;kvartal=1" in page
    # Without parameters the page opens on the quarter whose window is open.
    assert "Härryda, kvartal 1 2026" in _normalized(c.get("/beslut/ivo"))


def test_ivo_page_between_windows_and_running_quarter(login_as, db, monkeypatch, legal_bases):
    monkeypatch.setattr(services, "today", lambda: D(2026, 6, 10))
    c = login_as("caseworker", kommun="Härryda")
    page = _normalized(c.get("/beslut/ivo"))
    assert "Ingen rapporteringsperiod är öppen i dag" in page
    assert "Nästa: kvartal 2 2026, 2026-07-01–2026-08-31" in page
    assert "Härryda, kvartal 1 2026" in page  # the last quarter that has ended
    running = _normalized(c.get("/beslut/ivo?ar=2026&kvartal=2"))
    assert "Kvartalet pågår: läget avser i dag, 2026-06-10" in running


def test_ivo_page_refuses_a_bad_quarter(login_as, legal_bases):
    response = login_as("caseworker", kommun="Härryda").get("/beslut/ivo?ar=2026&kvartal=5")
    assert response.status_code == 422
    assert "Kvartalet ska vara 1, 2, 3 eller 4." in _text(response)
    assert login_as("caseworker", kommun="Härryda").get("/beslut/ivo.csv?ar=x&kvartal=1").status_code == 422


def test_ivo_csv_download(login_as, db, transfer, basis):
    add_decision(db, basis, D(2025, 11, 30), transfer=transfer, ivo_person_ref="19850101-T123")
    response = login_as("auditor", kommun="Härryda").get("/beslut/ivo.csv?ar=2026&kvartal=1")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="ivo-ej-verkstallda-beslut-1401-2026-K1.csv"' in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Ärendereferens;IVO-personreferens;Kön;Rapporttyp;")
    assert f"{transfer.reference};19850101-T123;man;Ej verkställt beslut;SoL;" in text


def test_the_performer_reports_nothing_for_the_requester(login_as, db, transfer, basis):
    add_decision(db, basis, D(2025, 11, 30), transfer=transfer)
    page = _text(login_as("caseworker", kommun="Lerum").get("/beslut/ivo?ar=2026&kvartal=1"))
    assert transfer.reference not in page
    assert "Inga beslut att rapportera för kvartalet." in page
