"""Configuration from environment variables.

`load_config()` reads the environment once; `create_app(config=...)` may override any key (tests do).
Outside development and testing the app refuses to start without SECRET_KEY.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_SQLITE_URL = f"sqlite:///{INSTANCE_DIR / 'samverkan.sqlite3'}"

DEV_ENVIRONMENTS = {"development", "testing"}


class ConfigError(RuntimeError):
    """Raised when the app cannot start with the given configuration."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "ja"}


def load_config(overrides: dict | None = None) -> dict:
    env = os.environ
    overrides = dict(overrides or {})
    environment = overrides.get("ENV") or env.get("SAMVERKAN_ENV") or env.get("FLASK_ENV") or "production"
    is_dev = environment in DEV_ENVIRONMENTS

    secret = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret:
        if not is_dev:
            raise ConfigError(
                "SECRET_KEY saknas. Sätt miljövariabeln SECRET_KEY (en lång slumpmässig sträng) "
                "innan tjänsten startas i produktion."
            )
        secret = "development-only-not-secret"

    config = {
        "ENV": environment,
        "SECRET_KEY": secret,
        "DATABASE_URL": env.get("DATABASE_URL") or DEFAULT_SQLITE_URL,
        "SQL_ECHO": _bool(env.get("SQL_ECHO"), False),
        # Sessions: HttpOnly and SameSite always, Secure everywhere but on a developer's machine.
        "SESSION_COOKIE_NAME": "samverkan_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), not is_dev),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), not is_dev),
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        # CSRF is checked in one before_request hook (see core.auth) so that bearer-token API calls
        # can be exempt while cookie-authenticated ones are not.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 20 * 1024 * 1024)),
        # Login throttling: failures within the window before a lock of the same length.
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": int(env.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)),
        "LOGIN_MAX_FAILURES_PER_IP": int(env.get("LOGIN_MAX_FAILURES_PER_IP", 20)),
        "LOGIN_LOCK_MINUTES": int(env.get("LOGIN_LOCK_MINUTES", 15)),
        "WKHTMLTOPDF": env.get("WKHTMLTOPDF"),
        # De-identified statistics (registry.reports): counts below this are hidden (at least 2).
        "STATISTICS_MIN_COUNT": int(env.get("STATISTICS_MIN_COUNT") or 3),
        # flask-smorest / OpenAPI
        "API_TITLE": "Samverkan API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs-assets/",
        "API_SPEC_OPTIONS": {
            "info": {
                "description": "JSON-API för Samverkan. Autentisera med en personlig API-nyckel: "
                "`Authorization: Bearer <nyckel>`. Fel har alltid formen "
                '`{"code", "status", "message", "errors"}`.'
            },
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{"bearerAuth": []}],
        },
        "TESTING": environment == "testing",
        "DEBUG": False,
    }
    config.update(overrides)
    if config.get("ENV") not in DEV_ENVIRONMENTS and config.get("SECRET_KEY") in (
        None,
        "",
        "development-only-not-secret",
    ):
        raise ConfigError("SECRET_KEY saknas eller är utvecklingsnyckeln; sätt SECRET_KEY i produktion.")
    return config
