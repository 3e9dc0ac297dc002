"""The agreement pages: register with the form (host and buyer rows), edit, validation messages in
Swedish next to the fields with nothing saved, and the list with search, filters and pages."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from core.models import AuditEntry
from registry.agreements import services
from registry.models import Agreement, AgreementParty, AgreementStatus, Area, PartyRole


def agreement_count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Agreement))


def stored(db, number: str) -> Agreement | None:
    db.expire_all()
    return db.scalar(select(Agreement).where(Agreement.number == number))


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def admin(login_as):
    return login_as("admin", kommun="Härryda", name="Anna Administratör")


@pytest.fixture
def form(municipality):
    """A filled-in create form: Göteborg performs for Härryda and Lerum."""

    def _form(**overrides):
        data = {
            "number": "GR-JAV-2024",
            "title": "Jävsärenden i Göteborgsregionen",
            "area": "javsarenden",
            "cooperation_form": "avtalssamverkan",
            "legal_basis": "Kommunallagen 9 kap. 37 §",
            "description": "Utredning och beslut i jävsärenden.\nExtern delegering till Göteborg.",
            "start_date": "2024-01-01",
            "end_date": "2026-12-31",
            "renewal_months": "12",
            "notice_months": "6",
            "buyer_rows": "3",
            "host-municipality_id": str(municipality("Göteborg").id),
            "host-board": "Socialnämnden Centrum",
            "host-decision_reference": "SN § 12",
            "host-decision_date": "2023-11-20",
            "host-contact_name": "Gunilla Göransson",
            "host-contact_email": "gunilla@goteborg.test",
            "host-contact_phone": "031-365 00 00",
            "buyer-0-municipality_id": str(municipality("Härryda").id),
            "buyer-0-board": "Socialnämnden Härryda",
            "buyer-0-decision_reference": "SN § 45",
            "buyer-0-decision_date": "2023-12-05",
            "buyer-1-municipality_id": str(municipality("Lerum").id),
            "buyer-1-board": "Socialnämnden Lerum",
            "buyer-1-contact_name": "Lars Lerumsson",
            "action": "spara",
        }
        data.update(overrides)
        return data

    return _form


# --- Create -------------------------------------------------------------------------------------


def test_create_page_explains_itself_and_defaults_to_own_municipality_and_self(admin, municipality):
    response = admin.get("/avtal/ny")
    assert response.status_code == 200
    html = text(response)
    assert "Avtalet sparas som <strong>utkast</strong>" in html
    assert "Din kommun måste vara\n  part, som utförare eller köpare." in html
    harryda = municipality("Härryda")
    assert re.search(
        rf'<select id="f-host-municipality_id"[^>]*>.*?<option value="{harryda.id}" selected>', html, re.S
    )
    assert re.search(rf'<option value="{admin.user.id}" selected>Anna Administratör, Härryda</option>', html)
    assert html.count('name="buyer-') // 7 == 3  # three blank buyer rows, seven fields each


def test_create_with_two_buyers_saves_a_draft_with_all_party_details(admin, form, db, municipality):
    response = admin.post_form("/avtal/ny", form())
    assert response.status_code == 302
    agreement = stored(db, "GR-JAV-2024")
    assert response.headers["Location"].endswith(f"/avtal/{agreement.id}")
    assert agreement.status == AgreementStatus.DRAFT
    assert agreement.area == Area.JAV
    assert agreement.owner_id == admin.user.id
    assert agreement.description == "Utredning och beslut i jävsärenden.\nExtern delegering till Göteborg."
    host = agreement.host
    assert host.municipality.name == "Göteborg"
    assert (host.board, host.decision_reference, host.decision_date) == (
        "Socialnämnden Centrum",
        "SN § 12",
        dt.date(2023, 11, 20),
    )
    assert (host.contact_name, host.contact_email, host.contact_phone) == (
        "Gunilla Göransson",
        "gunilla@goteborg.test",
        "031-365 00 00",
    )
    buyers = {p.municipality.name: p for p in agreement.buyers}
    assert set(buyers) == {"Härryda", "Lerum"}
    assert buyers["Härryda"].decision_date == dt.date(2023, 12, 5)
    assert buyers["Lerum"].contact_name == "Lars Lerumsson"

    page = text(admin.get(f"/avtal/{agreement.id}"))
    assert "är registrerat som utkast" in page
    assert "Avtalssamverkan inom jävsärenden där Göteborg utför uppgiften åt Härryda och Lerum." in page
    assert "Socialnämnden Centrum" in page and "SN § 45 2023-12-05" in page


def test_more_buyer_rows_re_renders_without_saving(admin, form, db):
    response = admin.post_form("/avtal/ny", form(action="fler-rader"))
    assert response.status_code == 200
    html = text(response)
    assert 'name="buyer_rows" value="6"' in html
    assert 'id="f-buyer-5-municipality_id"' in html
    assert 'value="Socialnämnden Lerum"' in html  # what was typed is kept
    assert agreement_count(db) == 0


def test_a_filled_row_beyond_the_counter_is_not_lost(admin, form, db, municipality):
    data = form(**{"buyer_rows": "3", "buyer-7-municipality_id": str(municipality("Ale").id)})
    assert admin.post_form("/avtal/ny", data).status_code == 302
    assert {p.municipality.name for p in stored(db, "GR-JAV-2024").buyers} == {"Härryda", "Lerum", "Ale"}


INVALID_FORMS = {
    "end before start": (
        {"end_date": "2023-12-31"},
        "end_date",
        "Slutdatumet kan inte vara före startdatumet.",
    ),
    "personal number in description": (
        {"description": "Gäller klienten 811218-9876."},
        "description",
        "Texten innehåller ett personnummer eller samordningsnummer (811218-****).",
    ),
    "no buyer": (
        {
            "buyer-0-municipality_id": "",
            "buyer-0-board": "",
            "buyer-0-decision_reference": "",
            "buyer-0-decision_date": "",
            "buyer-1-municipality_id": "",
            "buyer-1-board": "",
            "buyer-1-contact_name": "",
        },
        "parties",
        "Ange minst en köpande kommun.",
    ),
    "same municipality twice": (
        {"buyer-2-municipality_id": "HARRYDA"},
        "parties",
        "Härryda finns med mer än en gång. Varje kommun kan bara vara part en gång.",
    ),
    "host missing": (
        {"host-municipality_id": ""},
        "host-municipality_id",
        "Välj kommun.",
    ),
    "renewal without an end": (
        {"end_date": ""},
        "renewal_months",
        "Automatisk förlängning kräver ett slutdatum.",
    ),
    "bad e-mail in a buyer row": (
        {"buyer-1-contact_email": "lars(at)lerum"},
        "buyer-1-contact_email",
        "Ogiltig e-postadress.",
    ),
    "personal number in a party's board": (
        {"buyer-0-board": "Nämnden 19811218-9876"},
        "buyer-0-board",
        "personnummer",
    ),
    "number with odd characters": ({"number": "GR#JAV"}, "number", "Ogiltigt avtalsnummer."),
    "notice period out of range": ({"notice_months": "61"}, "notice_months", "Måste vara"),
}


@pytest.mark.parametrize("case", list(INVALID_FORMS), ids=list(INVALID_FORMS))
def test_invalid_form_shows_swedish_messages_next_to_fields_and_saves_nothing(
    admin, form, db, municipality, case
):
    overrides, field, message = INVALID_FORMS[case]
    overrides = {k: (str(municipality("Härryda").id) if v == "HARRYDA" else v) for k, v in overrides.items()}
    response = admin.post_form("/avtal/ny", form(**overrides))
    assert response.status_code == 422
    html = text(response)
    assert "Uppgifterna sparades inte" in html
    if field == "parties":
        assert re.search(
            r'<fieldset id="f-parties" class="has-error">.*?<p class="error" role="alert">[^<]*'
            + re.escape(message),
            html,
            re.S,
        )
    else:
        match = re.search(rf'<p class="error" id="e-{re.escape(field)}">([^<]*)</p>', html)
        assert match and message in match.group(1), html[:0]
    assert f'href="#f-{field}"' in html  # the summary links to the field
    assert agreement_count(db) == 0


def test_duplicate_number_is_refused_whatever_the_case(admin, form, db, make_agreement):
    make_agreement(number="GR-JAV-2024", host="Göteborg", buyers=("Ale",))
    response = admin.post_form("/avtal/ny", form(number="gr-jav-2024"))
    assert response.status_code == 422
    assert "Avtalsnumret gr-jav-2024 används redan av ett annat avtal. Välj ett annat nummer." in text(
        response
    )
    assert agreement_count(db) == 1


def test_form_reports_every_problem_at_once(admin, form, db, make_agreement):
    make_agreement(number="GR-JAV-2024", buyers=("Härryda",))
    data = form(description="Klient 811218-9876", end_date="2023-01-01", **{"buyer-1-contact_email": "fel"})
    response = admin.post_form("/avtal/ny", data)
    assert response.status_code == 422
    html = text(response)
    for field in ("description", "end_date", "number", "buyer-1-contact_email"):
        assert f'id="e-{field}"' in html, field
    assert agreement_count(db) == 1


def test_own_municipality_must_be_a_party(admin, form, db, municipality):
    response = admin.post_form("/avtal/ny", form(**{"buyer-0-municipality_id": str(municipality("Ale").id)}))
    assert response.status_code == 422
    assert (
        "Härryda måste vara part i avtalet, som utförare eller köpare: du kan bara registrera avtal som din egen "
        "kommun deltar i." in text(response)
    )
    assert agreement_count(db) == 0


def test_owner_must_be_a_user_of_a_party(admin, form, db, make_user):
    outsider = make_user(roles=("admin",), kommun="Mölndal")
    response = admin.post_form("/avtal/ny", form(owner_id=str(outsider.id)))
    assert response.status_code == 422
    assert "Avtalsansvarig ska vara en aktiv användare i en av avtalets parter." in text(response)
    assert agreement_count(db) == 0


def test_owner_can_be_chosen_among_users_of_the_parties(admin, form, db, make_user):
    colleague = make_user(roles=("legal",), kommun="Lerum", name="Lena Jurist")
    response = admin.post_form("/avtal/ny", form(owner_id=str(colleague.id)))
    assert response.status_code == 302
    assert stored(db, "GR-JAV-2024").owner_id == colleague.id
    page = text(admin.get(response.headers["Location"]))
    assert "Lena Jurist, Lerum" in page


def test_finance_cannot_open_the_create_form(login_as):
    c = login_as("finance", kommun="Härryda")
    assert c.get("/avtal/ny").status_code == 403
    assert c.post_form("/avtal/ny", {"number": "X"}).status_code == 403


# --- Edit ---------------------------------------------------------------------------------------


def test_edit_form_is_prefilled_and_saves_changes(admin, make_agreement, db):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"), title="Gammal titel")
    response = admin.get(f"/avtal/{agreement.id}/redigera")
    assert response.status_code == 200
    html = text(response)
    assert 'value="Gammal titel"' in html
    form = {
        k: v for k, v in re.findall(r'<input id="f-[^"]*" name="([^"]+)" type="[a-z]+" value="([^"]*)"', html)
    }
    for name, value in re.findall(
        r'<select id="f-([^"]+)" name="[^"]+"[^>]*>.*?<option value="([^"]*)" selected>', html, re.S
    ):
        form[name] = value
    form["title"] = "Ny titel"
    form["buyer_rows"] = "4"
    response = admin.post_form(f"/avtal/{agreement.id}/redigera", form)
    assert response.status_code == 302, text(response)
    db.expire_all()
    changed = db.get(Agreement, agreement.id)
    assert changed.title == "Ny titel"
    assert {p.municipality.name for p in changed.parties} == {"Göteborg", "Härryda", "Lerum"}
    assert "Ändringarna i avtal" in text(admin.get(f"/avtal/{agreement.id}"))


def test_edit_swaps_host_and_buyer_keeping_the_party_rows(admin, make_agreement, db, municipality):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"), status=AgreementStatus.ACTIVE)
    ids_before = {p.municipality.name: p.id for p in agreement.parties}
    goteborg, harryda, lerum = municipality("Göteborg"), municipality("Härryda"), municipality("Lerum")
    response = admin.api(
        "put",
        f"/api/v1/agreements/{agreement.id}/parties",
        json={
            "parties": [
                {"municipality_id": harryda.id, "role": "host", "board": "Socialnämnden Härryda"},
                {"municipality_id": goteborg.id, "role": "buyer"},
                {"municipality_id": lerum.id, "role": "buyer"},
            ]
        },
    )
    assert response.status_code == 200, response.json
    assert [(p["municipality"]["name"], p["role"]) for p in response.json] == [
        ("Härryda", "host"),
        ("Göteborg", "buyer"),
        ("Lerum", "buyer"),
    ]
    db.expire_all()
    parties = db.scalars(select(AgreementParty).where(AgreementParty.agreement_id == agreement.id)).all()
    assert {p.municipality.name: p.id for p in parties} == ids_before
    assert {p.municipality.name: p.role for p in parties} == {
        "Härryda": PartyRole.HOST,
        "Göteborg": PartyRole.BUYER,
        "Lerum": PartyRole.BUYER,
    }


def test_edit_cannot_remove_the_editors_own_municipality(admin, make_agreement, db, municipality):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"))
    response = admin.api(
        "put",
        f"/api/v1/agreements/{agreement.id}/parties",
        json={"parties": [party_json(municipality("Göteborg"), "host"), party_json(municipality("Lerum"))]},
    )
    assert response.status_code == 422
    assert response.json["errors"]["parties"][0].startswith("Härryda måste vara kvar som part i avtalet.")
    db.expire_all()
    assert len(db.get(Agreement, agreement.id).parties) == 3


def test_removing_the_owners_municipality_asks_for_a_new_owner(
    login_as, make_user, make_agreement, municipality
):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"))
    owner = make_user(roles=("legal",), kommun="Lerum", name="Lena Jurist")
    c = login_as("admin", kommun="Härryda")
    assert (
        c.api("patch", f"/api/v1/agreements/{agreement.id}", json={"owner_id": owner.id}).status_code == 200
    )
    response = c.api(
        "put",
        f"/api/v1/agreements/{agreement.id}/parties",
        json={"parties": [party_json(municipality("Göteborg"), "host"), party_json(municipality("Härryda"))]},
    )
    assert response.status_code == 422
    assert response.json["errors"]["owner_id"] == [
        "Avtalsansvarig Lena Jurist hör till en kommun som inte längre är part. Välj en ny avtalsansvarig."
    ]


def party_json(municipality, role="buyer"):
    return {"municipality_id": municipality.id, "role": role}


def test_an_edit_is_recorded_in_the_audit_log(admin, make_agreement, db):
    agreement = make_agreement(title="Före")
    assert (
        admin.api("patch", f"/api/v1/agreements/{agreement.id}", json={"title": "Efter"}).status_code == 200
    )
    db.expire_all()
    entry = db.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.entity == "agreements",
            AuditEntry.entity_id == str(agreement.id),
            AuditEntry.action == "update",
        )
        .order_by(AuditEntry.id.desc())
    )
    assert entry.changes["title"] == ["Före", "Efter"]
    assert entry.user_id == admin.user.id and entry.actor == admin.user.email


# --- List ---------------------------------------------------------------------------------------


def test_list_shows_columns_and_only_the_users_agreements(admin, make_agreement, monkeypatch):
    monkeypatch.setattr(services, "local_today", lambda: dt.date(2026, 3, 1))
    make_agreement(number="GR-JAV-2024", title="Jäv", host="Göteborg", buyers=("Härryda", "Lerum"))
    make_agreement(number="MHP-FAM-2022", title="Familjerätt", host="Mölndal", buyers=("Partille",))
    html = text(admin.get("/avtal/"))
    assert "GR-JAV-2024" in html and "MHP-FAM-2022" not in html
    row = re.search(r"<tr>\s*<td><a [^>]*>GR-JAV-2024</a></td>(.*?)</tr>", html, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    assert cells == [
        "Jäv",
        "Jävsärenden",
        "Göteborg",
        "Härryda, Lerum",
        "Gällande",
        "2026-12-31",
        "2026-06-30",
    ]


def test_list_search_and_filters(admin, make_agreement, municipality):
    make_agreement(number="GR-JAV-2024", title="Jävsärenden", area=Area.JAV, buyers=("Härryda", "Lerum"))
    make_agreement(
        number="GR-FAM-2023",
        title="Familjerätt",
        area=Area.FAMILJERATT,
        buyers=("Härryda",),
        status=AgreementStatus.DRAFT,
    )
    make_agreement(
        number="HAR-SOC-2025", title="Socialjour", area=Area.SOCIALJOUR, host="Härryda", buyers=("Ale",)
    )

    def numbers(query: str) -> list[str]:
        html = admin.get(f"/avtal/?{query}").get_data(as_text=True)
        return re.findall(r'<td><a href="/avtal/\d+">([^<]+)</a></td>', html)

    assert numbers("") == ["GR-FAM-2023", "GR-JAV-2024", "HAR-SOC-2025"]
    assert numbers("q=fam") == ["GR-FAM-2023"]
    assert numbers("q=SOCIALJOUR") == ["HAR-SOC-2025"]
    assert numbers("omrade=javsarenden") == ["GR-JAV-2024"]
    assert numbers("status=draft") == ["GR-FAM-2023"]
    assert numbers(f"part={municipality('Lerum').id}") == ["GR-JAV-2024"]
    assert numbers(f"part={municipality('Ale').id}&q=HAR") == ["HAR-SOC-2025"]


def test_party_filter_offers_only_municipalities_in_the_users_agreements(admin, make_agreement):
    make_agreement(number="A-1", host="Göteborg", buyers=("Härryda",))
    make_agreement(number="B-1", host="Mölndal", buyers=("Partille",))
    html = text(admin.get("/avtal/"))
    options = re.search(r'<select id="part" name="part">(.*?)</select>', html, re.S).group(1)
    assert re.findall(r">([^<]+)</option>", options) == ["Alla parter", "Göteborg", "Härryda"]


def test_ends_and_notice_filters_count_days_from_today(admin, make_agreement, monkeypatch):
    monkeypatch.setattr(services, "local_today", lambda: dt.date(2026, 6, 1))
    # Ends 2026-06-30, no renewal, notice day 2026-03-31 (passed).
    make_agreement(number="ENDS-SOON", end_date=dt.date(2026, 6, 30), renewal_months=None, notice_months=3)
    # Ends 2026-12-31 with renewal; notice day 2026-06-30 in 29 days.
    make_agreement(number="NOTICE-SOON", end_date=dt.date(2026, 12, 31), renewal_months=12, notice_months=6)
    # Open-ended: no end and no notice day.
    make_agreement(number="OPEN", end_date=None, renewal_months=None, notice_months=6)

    def numbers(query: str) -> list[str]:
        html = admin.get(f"/avtal/?{query}").get_data(as_text=True)
        return re.findall(r'<td><a href="/avtal/\d+">([^<]+)</a></td>', html)

    assert numbers("slutar_inom=29") == ["ENDS-SOON"]
    assert numbers("slutar_inom=28") == []
    assert numbers("uppsagning_inom=29") == ["NOTICE-SOON"]
    assert numbers("uppsagning_inom=28") == []
    assert numbers("slutar_inom=365&uppsagning_inom=365") == ["NOTICE-SOON"]


def test_bad_filter_value_is_explained_next_to_the_field(admin):
    response = admin.get("/avtal/?slutar_inom=tio")
    assert response.status_code == 422
    assert '<p class="error" id="e-slutar_inom">Ange ett heltal.</p>' in text(response)


def test_list_pages_through_many_agreements(admin, make_agreement):
    for n in range(27):
        make_agreement(number=f"GR-{n:03d}", buyers=("Härryda",))
    first = text(admin.get("/avtal/"))
    assert "Visar 1–25 av 27 avtal." in first
    assert "Sida 1 av 2" in first
    second = text(admin.get("/avtal/?sida=2"))
    assert "Visar 26–27 av 27 avtal." in second
    assert re.findall(r'<td><a href="/avtal/\d+">([^<]+)</a></td>', second) == ["GR-025", "GR-026"]


def test_menu_has_avtal_for_municipality_users_only(login_as):
    assert 'href="/avtal/">Avtal</a>' in login_as("finance", kommun="Lerum").get("/").get_data(as_text=True)
    sysadmin = login_as("sysadmin", kommun=None)
    assert 'href="/avtal/">Avtal</a>' not in sysadmin.get("/").get_data(as_text=True)
    assert sysadmin.get("/avtal/").status_code == 403
