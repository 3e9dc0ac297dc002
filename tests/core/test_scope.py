"""Role plus municipality scope: a finance user of Härryda cannot read or change what belongs only
to Lerum, on pages or in the API."""

from sqlalchemy import select

from core import services
from core.models import Municipality, User
from core.permissions import Permission, can


def test_finance_of_harryda_cannot_edit_lerum_page(login_as, municipality, db):
    c = login_as("finance", kommun="Härryda")
    lerum = municipality("Lerum")
    assert c.get(f"/kommuner/{lerum.id}/redigera").status_code == 403
    response = c.post_form(f"/kommuner/{lerum.id}/redigera", {"city": "Härrydastad"})
    assert response.status_code == 403
    assert "Du har inte behörighet" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Municipality, lerum.id).city != "Härrydastad"


def test_finance_of_harryda_cannot_edit_lerum_api(login_as, municipality, db):
    c = login_as("finance", kommun="Härryda")
    lerum = municipality("Lerum")
    response = c.api("patch", f"/api/v1/municipalities/{lerum.id}", json={"city": "Härrydastad"})
    assert response.status_code == 403
    assert response.json["message"] == "Du har inte behörighet till detta."
    put = c.api(
        "put", f"/api/v1/municipalities/{lerum.id}/populations/2025", json={"year": 2025, "population": 1}
    )
    assert put.status_code == 403
    db.expire_all()
    assert db.get(Municipality, lerum.id).city != "Härrydastad"
    assert db.get(Municipality, lerum.id).population_for(2025) is None


def test_token_of_another_municipality_is_refused(app, make_user, municipality, db):
    lerum_user = make_user(roles=["admin"], kommun="Lerum")
    _, secret = services.create_api_token(db, lerum_user, "Lerums integration")
    db.commit()
    harryda = municipality("Härryda")
    response = app.test_client().patch(
        f"/api/v1/municipalities/{harryda.id}",
        json={"invoice_email": "kapad@lerum.test"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 403
    db.expire_all()
    assert db.get(Municipality, harryda.id).invoice_email != "kapad@lerum.test"


def test_users_of_lerum_are_not_listed_for_harryda(login_as, make_user):
    make_user(roles=["finance"], kommun="Lerum", email="hemlig@lerum.test")
    make_user(roles=["finance"], kommun="Härryda", email="synlig@harryda.test")
    c = login_as("admin", kommun="Härryda")
    page = c.get("/anvandare/").get_data(as_text=True)
    assert "synlig@harryda.test" in page
    assert "hemlig@lerum.test" not in page
    api = c.get("/api/v1/users/?page_size=100").json
    emails = {u["email"] for u in api}
    assert "synlig@harryda.test" in emails and "hemlig@lerum.test" not in emails


def test_user_of_lerum_cannot_be_read_by_id(login_as, make_user):
    lerum_user = make_user(roles=["finance"], kommun="Lerum")
    c = login_as("admin", kommun="Härryda")
    assert c.get(f"/api/v1/users/{lerum_user.id}").status_code == 404  # ids reveal nothing


def test_finance_cannot_list_users_and_only_sysadmin_manages(login_as):
    assert login_as("finance").get("/anvandare/").status_code == 403
    assert login_as("admin").get("/anvandare/ny").status_code == 403
    assert login_as("sysadmin", kommun=None).get("/anvandare/ny").status_code == 200


def test_auditor_only_sees_own_municipality_audit_entries(login_as, make_user, municipality, db):
    lerum = municipality("Lerum")
    harryda = municipality("Härryda")
    lerum_admin = make_user(roles=["admin"], kommun="Lerum")
    services.update_municipality(db, lerum_admin, lerum, {"city": "Lerum centrum"})
    harryda_admin = make_user(roles=["admin"], kommun="Härryda")
    services.update_municipality(db, harryda_admin, harryda, {"city": "Mölnlycke centrum"})
    db.commit()
    c = login_as("auditor", kommun="Härryda")
    entries = c.get("/api/v1/audit/?entity=municipalities&page_size=100").json
    ids = {e["entity_id"] for e in entries}
    assert str(harryda.id) in ids
    assert str(lerum.id) not in ids
    assert all(e["municipality_id"] == harryda.id for e in c.get("/api/v1/audit/?page_size=100").json)
    html = c.get("/granskningslogg/?entitet=municipalities").get_data(as_text=True)
    assert "Mölnlycke centrum" in html and "Lerum centrum" not in html


def test_permission_check_is_role_plus_scope(make_user, municipality):
    harryda, lerum = municipality("Härryda"), municipality("Lerum")
    finance = make_user(roles=["finance"], kommun="Härryda")
    legal = make_user(roles=["legal"], kommun="Härryda")
    sysadmin = make_user(roles=["sysadmin"], kommun=None)
    assert can(finance, Permission.MUNICIPALITY_EDIT, harryda.id)
    assert not can(finance, Permission.MUNICIPALITY_EDIT, lerum.id)
    assert not can(legal, Permission.MUNICIPALITY_EDIT, harryda.id)
    assert can(legal, Permission.MUNICIPALITY_READ, lerum.id)  # the register itself is public
    assert can(sysadmin, Permission.MUNICIPALITY_EDIT, lerum.id)
    assert not can(finance, Permission.AUDIT_READ)
    assert not can(None, Permission.MUNICIPALITY_READ)


def test_inactive_user_loses_access_at_once(login_as, db):
    c = login_as("finance")
    assert c.get("/").status_code == 200
    user = db.get(User, c.user.id)
    user.active = False
    db.commit()
    assert c.get("/").status_code == 302


def test_sysadmin_creates_and_edits_users(login_as, municipality, db):
    c = login_as("sysadmin", kommun=None)
    lerum = municipality("Lerum")
    response = c.post_form(
        "/anvandare/ny",
        {
            "email": "ny@lerum.test",
            "name": "Ny Användare",
            "municipality_id": str(lerum.id),
            "roles": ["finance", "legal"],
            "password": "Ett-bra-lösenord-1",
            "active": "on",
        },
    )
    assert response.status_code == 302
    user = db.scalar(select(User).where(User.email == "ny@lerum.test"))
    assert user.municipality_id == lerum.id
    assert {r.value for r in user.roles} == {"finance", "legal"}
    edit = c.post_form(
        f"/anvandare/{user.id}/redigera",
        {
            "name": "Ny Användare",
            "municipality_id": str(lerum.id),
            "roles": ["auditor"],
        },
    )
    assert edit.status_code == 302
    db.expire_all()
    user = db.get(User, user.id)
    assert {r.value for r in user.roles} == {"auditor"}
    assert user.active is False  # the checkbox was not ticked


def test_user_form_errors_are_swedish_and_nothing_is_saved(login_as, db):
    c = login_as("sysadmin", kommun=None)
    response = c.post_form(
        "/anvandare/ny", {"email": "inte-en-adress", "name": "", "roles": [], "password": "kort"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Ogiltig e-postadress." in html
    assert "Välj minst en roll." in html
    assert "Minst 12 tecken." in html
    assert db.scalar(select(User).where(User.email == "inte-en-adress")) is None


def test_non_sysadmin_needs_a_municipality(login_as):
    c = login_as("sysadmin", kommun=None)
    response = c.api(
        "post",
        "/api/v1/users/",
        json={
            "email": "utan@kommun.test",
            "name": "Utan Kommun",
            "roles": ["finance"],
            "password": "Ett-bra-lösenord-1",
        },
    )
    assert response.status_code == 422
    assert response.json["errors"]["municipality_id"] == ["Välj den kommun användaren arbetar för."]


def test_api_user_create_rejects_unknown_fields(login_as, municipality):
    c = login_as("sysadmin", kommun=None)
    response = c.api(
        "post",
        "/api/v1/users/",
        json={
            "email": "x@lerum.test",
            "name": "X",
            "roles": ["finance"],
            "password": "Ett-bra-lösenord-1",
            "municipality_id": municipality("Lerum").id,
            "is_admin": True,
        },
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"is_admin": ["Okänt fält."]}
