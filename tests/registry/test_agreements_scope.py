"""Who sees and changes an agreement: only users of party municipalities see it (others get 404, as if
it did not exist); among them, only administrators change it (others get 403)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from registry.models import Agreement, AgreementStatus


@pytest.fixture
def agreement(make_agreement):
    return make_agreement(number="GR-JAV-2024", host="Göteborg", buyers=("Härryda", "Lerum"))


@pytest.fixture
def outsider(login_as):
    """An administrator of Mölndal, which is not a party."""
    return login_as("admin", kommun="Mölndal")


def unchanged(db, agreement) -> bool:
    db.expire_all()
    stored = db.get(Agreement, agreement.id)
    return stored.title == agreement.title and stored.status == agreement.status


def test_non_party_gets_404_on_every_page(outsider, agreement, db):
    base = f"/avtal/{agreement.id}"
    for url in (base, f"{base}/redigera"):
        response = outsider.get(url)
        assert response.status_code == 404, url
        assert "GR-JAV-2024" not in response.get_data(as_text=True)
    assert outsider.post_form(f"{base}/redigera", {"title": "Kapad"}).status_code == 404
    assert outsider.post_form(f"{base}/status", {"status": "expired"}).status_code == 404
    assert outsider.get(f"{base}/bilagor/1").status_code == 404
    assert unchanged(db, agreement)


def test_non_party_gets_404_in_the_api(outsider, agreement, db, municipality):
    base = f"/api/v1/agreements/{agreement.id}"
    response = outsider.api("get", base)
    assert response.status_code == 404
    assert response.json["message"] == "Avtalet finns inte, eller så är din kommun inte part i det."
    assert outsider.api("patch", base, json={"title": "Kapad"}).status_code == 404
    assert outsider.api("post", f"{base}/transition", json={"status": "expired"}).status_code == 404
    assert outsider.api("get", f"{base}/parties").status_code == 404
    parties = [{"municipality_id": municipality("Mölndal").id, "role": "host"}]
    parties.append({"municipality_id": municipality("Härryda").id, "role": "buyer"})
    assert outsider.api("put", f"{base}/parties", json={"parties": parties}).status_code == 404
    assert outsider.api("get", f"{base}/attachments").status_code == 404
    assert unchanged(db, agreement)


def test_404_is_the_same_for_a_missing_agreement(outsider, agreement):
    hidden = outsider.api("get", f"/api/v1/agreements/{agreement.id}").json
    missing = outsider.api("get", "/api/v1/agreements/987654").json
    assert hidden == missing


def test_lists_exclude_agreements_of_other_municipalities(outsider, agreement, make_agreement):
    make_agreement(number="MOL-FAM-2025", host="Mölndal", buyers=("Partille",))
    html = outsider.get("/avtal/").get_data(as_text=True)
    assert "MOL-FAM-2025" in html and "GR-JAV-2024" not in html
    api = outsider.api("get", "/api/v1/agreements/?page_size=100").json
    assert [a["number"] for a in api] == ["MOL-FAM-2025"]
    # Searching for it by number or filtering on its parties does not reveal it either.
    assert outsider.api("get", "/api/v1/agreements/?q=GR-JAV").json == []


@pytest.mark.parametrize("kommun", ["Göteborg", "Härryda", "Lerum"])
def test_every_party_sees_the_agreement(login_as, agreement, kommun):
    c = login_as("auditor", kommun=kommun)
    assert c.get(f"/avtal/{agreement.id}").status_code == 200
    assert c.api("get", f"/api/v1/agreements/{agreement.id}").json["number"] == "GR-JAV-2024"
    assert "GR-JAV-2024" in c.get("/avtal/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["finance", "legal", "caseworker", "auditor"])
def test_party_users_without_the_admin_role_read_but_cannot_change(login_as, agreement, db, role):
    c = login_as(role, kommun="Lerum")
    page = c.get(f"/avtal/{agreement.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ändra uppgifter och parter" not in html
    assert 'name="status"' not in html and "Ladda upp en bilaga" not in html
    assert c.get(f"/avtal/{agreement.id}/redigera").status_code == 403
    assert c.post_form(f"/avtal/{agreement.id}/redigera", {"title": "Ändrad"}).status_code == 403
    response = c.post_form(f"/avtal/{agreement.id}/status", {"status": "expired"})
    assert response.status_code == 403
    assert c.api("patch", f"/api/v1/agreements/{agreement.id}", json={"title": "Ändrad"}).status_code == 403
    response = c.api("post", f"/api/v1/agreements/{agreement.id}/transition", json={"status": "expired"})
    assert response.status_code == 403
    assert response.json["message"] == "Du har inte behörighet till detta."
    assert unchanged(db, agreement)


def test_administrator_of_any_party_may_change_it(login_as, agreement, db):
    c = login_as("admin", kommun="Lerum")
    response = c.api("patch", f"/api/v1/agreements/{agreement.id}", json={"title": "Ändrad av Lerum"})
    assert response.status_code == 200
    db.expire_all()
    assert db.get(Agreement, agreement.id).title == "Ändrad av Lerum"


def test_sysadmin_manages_users_not_agreements(login_as, agreement):
    c = login_as("sysadmin", kommun=None)
    assert c.get("/avtal/").status_code == 403
    assert c.get(f"/avtal/{agreement.id}").status_code == 403
    assert c.api("get", "/api/v1/agreements/").status_code == 403


def test_inactive_owner_keeps_the_agreement_but_cannot_be_newly_chosen(
    login_as, make_user, make_agreement, db
):
    agreement = make_agreement(status=AgreementStatus.ACTIVE)
    former = make_user(roles=("legal",), kommun="Härryda", name="Före Detta")
    agreement.owner_id = former.id
    former.active = False
    db.commit()
    c = login_as("admin", kommun="Härryda")
    # Other edits still save: the owner is not re-validated while unchanged.
    assert c.api("patch", f"/api/v1/agreements/{agreement.id}", json={"title": "Ny"}).status_code == 200
    other = make_agreement(number="X-2")
    response = c.api("patch", f"/api/v1/agreements/{other.id}", json={"owner_id": former.id})
    assert response.status_code == 422
    assert response.json["errors"]["owner_id"] == [
        "Avtalsansvarig ska vara en aktiv användare i en av avtalets parter."
    ]
    db.expire_all()
    assert db.scalar(select(Agreement.owner_id).where(Agreement.id == agreement.id)) == former.id
