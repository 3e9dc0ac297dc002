"""The application factory."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from flask import Flask, g, jsonify, request
from sqlalchemy import text
from werkzeug.routing import IntegerConverter

from core.config import load_config
from core.db import db_session, make_engine

DEFAULT_PACKAGES = ("registry", "contracts", "billing")
MAX_ID = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    settings = load_config(config)
    app = Flask(
        __name__,
        instance_path=str(Path(__file__).resolve().parent.parent / "instance"),
        static_folder="static",
        template_folder="templates",
    )
    app.config.update(settings)
    # Ids in URLs fit the database's INTEGER: a larger one is "not found", not a database error.
    app.url_map.converters["int"] = BoundedIntegerConverter
    logging.basicConfig(level=logging.INFO)

    engine = settings.get("ENGINE") or make_engine(settings["DATABASE_URL"], settings["SQL_ECHO"])
    app.extensions["samverkan_engine"] = engine

    from core import audit  # noqa: F401  (registers the session events)
    from core.auth import configure_password_hashing, csrf, login_manager
    from core.formatting import register_filters

    configure_password_hashing(
        settings.get("PASSWORD_HASH_TIME_COST"), settings.get("PASSWORD_HASH_MEMORY_COST")
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    register_filters(app)

    _register_transaction(app)
    _register_security(app)

    from core.api import init_api
    from core.errorhandlers import register_error_handlers
    from core.views import register_views

    register_views(app)
    api = init_api(app)
    # Domain packages plug in here (core never imports them by name): each has init_app(app, api).
    for package in settings.get("PACKAGES", DEFAULT_PACKAGES):
        importlib.import_module(package).init_app(app, api)
    register_error_handlers(app)

    from core.cli import core_cli

    app.cli.add_command(core_cli)

    @app.get("/healthz")
    def healthz():
        try:
            db_session.execute(text("SELECT 1"))
        except Exception:  # the health check reports, it does not crash
            app.logger.exception("health check failed")
            return jsonify(status="fel", database="otillgänglig"), 503
        return jsonify(status="ok", database="ok")

    return app


def _register_transaction(app: Flask) -> None:
    """One transaction per request: commit once if the answer is a success, otherwise roll back."""

    @app.after_request
    def _commit(response):
        session = db_session()
        if response.status_code < 400 or g.get("commit_on_error"):
            session.commit()
        else:
            session.rollback()
        return response

    @app.teardown_appcontext
    def _remove(exc):
        if exc is not None:
            db_session.rollback()
        db_session.remove()


def _register_security(app: Flask) -> None:
    from flask_login import current_user

    from core.auth import bearer_token, csrf

    @app.before_request
    def _csrf():
        # Every form and cookie-authenticated call is CSRF-checked; bearer-token API calls carry no
        # cookie, so a forged cross-site request cannot use them.
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or not app.config.get(
            "WTF_CSRF_ENABLED", True
        ):
            return
        if request.path.startswith("/api/"):
            user = current_user._get_current_object()
            # Exempt only what a forged cross-site request cannot carry: a call authenticated by its
            # bearer token (not by a session cookie), or no authentication at all (the API answers 401).
            if not user.is_authenticated or (bearer_token() and g.get("api_token_id")):
                return
        csrf.protect()

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith("/api/v1/docs"):
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                "frame-ancestors 'none'; form-action 'self'",
            )
        return response
