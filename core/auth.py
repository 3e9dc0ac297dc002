"""Authentication: password hashing, sessions (Flask-Login), personal API tokens, login throttling
and CSRF. Authorisation lives in core.permissions."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, current_app, g, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import delete, func, select

from core.db import db_session, utcnow
from core.errors import LoginThrottled
from core.models import ApiToken, LoginAttempt, User

login_manager = LoginManager()
login_manager.login_view = "core_auth.login"
login_manager.login_message = "Logga in för att se sidan."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"
csrf = CSRFProtect()

_hasher = PasswordHasher()


def configure_password_hashing(time_cost: int | None = None, memory_cost: int | None = None) -> None:
    """Argon2 cost. Production keeps argon2-cffi's defaults (RFC 9106 low-memory profile); the test
    suite lowers it, since it creates thousands of users and is not what attackers face."""
    global _hasher
    if time_cost or memory_cost:
        _hasher = PasswordHasher(
            time_cost=time_cost or _hasher.time_cost,
            memory_cost=memory_cost or _hasher.memory_cost,
            parallelism=1,
        )


TOKEN_PREFIX = "svk_"
MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the e-mail is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def dummy_verify() -> None:
    try:
        _hasher.verify(_DUMMY_HASH, "x")
    except VerificationError:
        pass


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    try:
        user = db_session.get(User, int(user_id))
    except ValueError:
        return None
    return user if user is not None and user.active else None


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


@login_manager.request_loader
def _load_user_from_token(req) -> User | None:
    secret = bearer_token()
    if not secret:
        return None
    token = db_session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        g.invalid_token = True
        return None
    if not token.user.active:
        g.invalid_token = True
        return None
    g.api_token_id = token.id
    return token.user


# --- Login throttling ---------------------------------------------------------------------------


@dataclass
class ThrottleState:
    locked: bool
    until: dt.datetime | None = None
    reason: str | None = None


def client_ip() -> str:
    return request.remote_addr or "okänd"


def throttle_state(email: str, ip: str) -> ThrottleState:
    cfg = current_app.config
    window = dt.timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
    since = utcnow() - window
    for column, value, limit, reason in (
        (LoginAttempt.email, email, cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"], "kontot"),
        (LoginAttempt.ip_address, ip, cfg["LOGIN_MAX_FAILURES_PER_IP"], "din dator"),
    ):
        count, last = db_session.execute(
            select(func.count(), func.max(LoginAttempt.attempted_at)).where(
                column == value, LoginAttempt.attempted_at >= since
            )
        ).one()
        if count >= limit:
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=dt.UTC)
            return ThrottleState(True, (last or utcnow()) + window, reason)
    return ThrottleState(False)


def check_throttle(email: str, ip: str) -> None:
    state = throttle_state(email, ip)
    if state.locked:
        from core.formatting import format_datetime

        minutes = current_app.config["LOGIN_LOCK_MINUTES"]
        raise LoginThrottled(
            f"För många misslyckade inloggningsförsök från {state.reason}. Inloggningen är spärrad i "
            f"{minutes} minuter, till {format_datetime(state.until)}. Har du glömt lösenordet? "
            "Kontakta din systemadministratör."
        )


def record_failed_login(email: str, ip: str) -> None:
    db_session.add(LoginAttempt(email=email, ip_address=ip))
    # The failed attempt must be kept although the request answers with an error.
    g.commit_on_error = True


def clear_failed_logins(email: str) -> None:
    db_session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))


def authenticate(email: str, password: str) -> User | None:
    """Check throttling, then the password. Records failures; raises LoginThrottled when locked."""
    email = (email or "").strip().lower()
    ip = client_ip()
    check_throttle(email, ip)
    user = db_session.scalar(select(User).where(User.email == email))
    if user is None:
        dummy_verify()
    if user is None or not user.active or not verify_password(user, password):
        record_failed_login(email, ip)
        return None
    clear_failed_logins(email)
    user.last_login_at = utcnow()
    return user


def require_login() -> None:
    """before_request of every API blueprint: no session and no valid token means 401 (JSON)."""
    if not current_user.is_authenticated:
        abort(401)


def acting_user():
    """The signed-in user as a plain object (what services take)."""
    return current_user._get_current_object()
