"""Login, throttling, CSRF, API tokens and sessions."""

import datetime as dt

from sqlalchemy import func, select

from core import services
from core.db import utcnow
from core.models import ApiToken, LoginAttempt, Municipality
from tests.support import DEMO_PASSWORD, csrf_token


def _login(client, email, password):
    token = csrf_token(client, "/logga-in")
    return client.post("/logga-in", data={"email": email, "password": password, "csrf_token": token})


def test_login_and_logout(client, make_user):
    user = make_user(roles=["finance"], email="eva@harryda.test", name="Eva Ekonom")
    response = _login(client, "Eva@Harryda.test ", DEMO_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Välkommen, Eva Ekonom" in page
    assert "Härryda" in page
    logout = client.post("/logga-ut", data={"csrf_token": csrf_token(client, "/")})
    assert logout.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page
    assert user.last_login_at is None or user.last_login_at <= utcnow()


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    make_user(email="kaka@harryda.test")
    response = _login(client, "kaka@harryda.test", DEMO_PASSWORD)
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_wrong_password_is_refused_in_swedish(client, make_user, db):
    make_user(email="fel@harryda.test")
    response = _login(client, "fel@harryda.test", "fel-lösenord-123")
    assert response.status_code == 401
    assert "Fel e-postadress eller lösenord." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert (
        db.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.email == "fel@harryda.test")
        )
        == 1
    )


def test_unknown_user_gets_the_same_answer(client):
    response = _login(client, "ingen@harryda.test", "vad-som-helst-123")
    assert response.status_code == 401
    assert "Fel e-postadress eller lösenord." in response.get_data(as_text=True)


def test_inactive_user_cannot_log_in(client, make_user):
    make_user(email="slutat@harryda.test", active=False)
    assert _login(client, "slutat@harryda.test", DEMO_PASSWORD).status_code == 401


def test_repeated_failures_lock_the_account(client, make_user, app):
    make_user(email="spärr@harryda.test")
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        assert _login(client, "spärr@harryda.test", "fel-lösenord-123").status_code == 401
    # Now even the right password is refused, with a clear message, until the lock expires.
    response = _login(client, "spärr@harryda.test", DEMO_PASSWORD)
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "För många misslyckade inloggningsförsök" in text
    assert "15 minuter" in text
    assert client.get("/").status_code == 302


def test_lock_expires_after_the_window(client, make_user, app, db):
    make_user(email="gammal@harryda.test")
    old = utcnow() - dt.timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"] + 1)
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        db.add(LoginAttempt(email="gammal@harryda.test", ip_address="127.0.0.1", attempted_at=old))
    db.commit()
    assert _login(client, "gammal@harryda.test", DEMO_PASSWORD).status_code == 302


def test_successful_login_clears_earlier_failures(client, make_user, db):
    make_user(email="rensa@harryda.test")
    _login(client, "rensa@harryda.test", "fel-lösenord-123")
    assert _login(client, "rensa@harryda.test", DEMO_PASSWORD).status_code == 302
    assert (
        db.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.email == "rensa@harryda.test")
        )
        == 0
    )


def test_repeated_failures_from_one_address_lock_the_address(client, app, db):
    now = utcnow()
    for i in range(app.config["LOGIN_MAX_FAILURES_PER_IP"]):
        db.add(LoginAttempt(email=f"gissning{i}@x.test", ip_address="127.0.0.1", attempted_at=now))
    db.commit()
    response = _login(client, "någon@harryda.test", "vad-som-helst-123")
    assert response.status_code == 429
    assert "din dator" in response.get_data(as_text=True)


def test_form_post_without_csrf_token_is_refused(client, make_user):
    make_user(email="csrf@harryda.test")
    response = client.post("/logga-in", data={"email": "csrf@harryda.test", "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert "säkerhetskod" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in


def test_csrf_less_edit_changes_nothing(login_as, municipality, db):
    c = login_as("admin")
    harryda = municipality("Härryda")
    response = c.client.post(f"/kommuner/{harryda.id}/redigera", data={"city": "Hackat"})
    assert response.status_code == 400
    db.expire_all()
    assert db.get(Municipality, harryda.id).city != "Hackat"


def test_cookie_authenticated_api_write_needs_csrf_header(login_as, municipality, db):
    c = login_as("admin")
    harryda = municipality("Härryda")
    response = c.client.patch(f"/api/v1/municipalities/{harryda.id}", json={"city": "Utan token"})
    assert response.status_code == 400
    assert response.json["code"] == 400
    ok = c.api("patch", f"/api/v1/municipalities/{harryda.id}", json={"city": "Med token"})
    assert ok.status_code == 200
    assert ok.json["city"] == "Med token"


def test_api_token_is_shown_once_and_stored_hashed(login_as, db):
    c = login_as("finance")
    response = c.post_form("/konto", {"action": "create-token", "name": "Ekonomisystemet", "days": "30"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "visas bara en gång" in html
    secret = html.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("svk_") and len(secret) > 40
    token = db.scalar(select(ApiToken).where(ApiToken.name == "Ekonomisystemet"))
    assert token.token_hash != secret and secret not in token.token_hash
    assert token.expires_at is not None
    # The account page never shows the secret again.
    assert secret not in c.get("/konto").get_data(as_text=True)


def test_bearer_token_authenticates_api_calls(app, make_user, db):
    user = make_user(roles=["finance"])
    _, secret = services.create_api_token(db, user, "Integration")
    db.commit()
    client = app.test_client()
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.json["email"] == user.email
    assert response.json["roles"] == ["finance"]
    # No CSRF header needed with a bearer token, and no session cookie is involved.
    harryda_id = user.municipality_id
    patch = client.patch(
        f"/api/v1/municipalities/{harryda_id}",
        json={"city": "Mölnlycke"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert patch.status_code == 200


def test_invalid_revoked_and_expired_tokens_are_refused(app, make_user, db):
    user = make_user(roles=["finance"])
    revoked, revoked_secret = services.create_api_token(db, user, "Gammal")
    services.revoke_api_token(db, user, revoked.id)
    expired, expired_secret = services.create_api_token(db, user, "Utgången", days=1)
    expired.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.commit()
    client = app.test_client()
    for secret in ("svk_fel", revoked_secret, expired_secret):
        response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 401
        assert response.json["message"] == "API-nyckeln är ogiltig, återkallad eller har gått ut."
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoking_a_token_from_the_account_page(login_as, db):
    c = login_as("finance")
    token, secret = services.create_api_token(db, db.merge(c.user), "Återkalla mig")
    db.commit()
    response = c.post_form("/konto", {"action": "revoke-token", "token_id": str(token.id)})
    assert response.status_code == 302
    assert (
        c.client.application.test_client()
        .get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
        .status_code
        == 401
    )


def test_cannot_revoke_someone_elses_token(login_as, make_user, db):
    other = make_user(roles=["finance"], kommun="Lerum")
    token, _ = services.create_api_token(db, other, "Annans")
    db.commit()
    c = login_as("finance")
    response = c.post_form("/konto", {"action": "revoke-token", "token_id": str(token.id)})
    assert response.status_code == 404
    db.expire_all()
    assert db.get(ApiToken, token.id).revoked_at is None


def test_open_redirect_after_login_is_ignored(client, make_user):
    make_user(email="redir@harryda.test")
    token = csrf_token(client, "/logga-in")
    response = client.post(
        "/logga-in?next=https://evil.example/",
        data={"email": "redir@harryda.test", "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_user_changes_own_password(login_as, db):
    from core.auth import verify_password
    from core.models import User

    c = login_as("finance")
    wrong = c.post_form(
        "/konto",
        {
            "action": "change-password",
            "current_password": "fel",
            "new_password": "Nytt-lösenord-123",
            "repeat_password": "Nytt-lösenord-123",
        },
    )
    assert wrong.status_code == 422
    assert "Det nuvarande lösenordet stämmer inte." in wrong.get_data(as_text=True)
    mismatch = c.post_form(
        "/konto",
        {
            "action": "change-password",
            "current_password": DEMO_PASSWORD,
            "new_password": "Nytt-lösenord-123",
            "repeat_password": "Annat-lösenord-123",
        },
    )
    assert "Lösenorden är inte lika." in mismatch.get_data(as_text=True)
    db.expire_all()
    assert verify_password(db.get(User, c.user.id), DEMO_PASSWORD)
    ok = c.post_form(
        "/konto",
        {
            "action": "change-password",
            "current_password": DEMO_PASSWORD,
            "new_password": "Nytt-lösenord-123",
            "repeat_password": "Nytt-lösenord-123",
        },
    )
    assert ok.status_code == 302
    db.expire_all()
    assert verify_password(db.get(User, c.user.id), "Nytt-lösenord-123")
