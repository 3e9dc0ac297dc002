"""Fixtures: every test runs once on SQLite and once on PostgreSQL, inside a transaction that is
rolled back at the end. `login_as(...)` gives a client signed in with given roles and municipality."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from core import create_app
from core.audit import acting_as
from core.db import SessionFactory, db_session, make_engine, unit_of_work
from core.migrate import upgrade
from core.models import Municipality
from tests.support import DEMO_PASSWORD, backends, csrf_token, fresh_database


@pytest.fixture(scope="session", params=backends())
def database_url(request, tmp_path_factory):
    kind = request.param
    if kind == "postgresql" and os.environ.get("TEST_DATABASE_URL"):
        url = os.environ["TEST_DATABASE_URL"]
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    with fresh_database(kind, tmp_path_factory.mktemp(kind)) as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def make_test_app(url: str, **overrides):
    config = {
        "ENV": "testing",
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret",
        "SERVER_NAME": None,
        # Cheap argon2 for the thousands of test users; production keeps the library's defaults.
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_COST": 1024,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(database_url):
    app = make_test_app(database_url)
    from core import services

    with app.app_context(), acting_as("test: grunddata"), unit_of_work() as session:
        services.load_reference_municipalities(session)
    yield app
    app.extensions["samverkan_engine"].dispose()


@pytest.fixture
def db(app):
    """The test's own session, inside a transaction that is rolled back after the test.

    Requests made during the test use their own sessions on the same connection (each in a
    savepoint), so a request that fails and rolls back does not undo the test's set-up, and the
    test's objects stay attached. Call `db.expire_all()` to see what a request changed.
    """
    engine = app.extensions["samverkan_engine"]
    connection = engine.connect()
    outer = connection.begin()
    SessionFactory.configure(bind=connection, join_transaction_mode="create_savepoint")
    # No app context is kept pushed: each test request pushes its own, so `g` (and Flask-Login's
    # cached user) does not leak between requests.
    session = SessionFactory()
    try:
        yield session
    finally:
        session.close()
        db_session.remove()
        outer.rollback()
        connection.close()
        SessionFactory.kw.pop("bind", None)
        SessionFactory.kw.pop("join_transaction_mode", None)


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def municipality(db):
    """Look up a municipality by kommunkod or name."""

    def _get(key: str) -> Municipality:
        stmt = select(Municipality).where(
            (Municipality.kommunkod == key) if key.isdigit() else (Municipality.name == key)
        )
        return db.scalar(stmt)

    return _get


@pytest.fixture
def make_user(db, municipality):
    """Factory: make_user(roles=("finance",), kommun="Härryda", email=..., password=...)."""
    from core import services

    counter = {"n": 0}

    def _make(
        roles=("finance",),
        kommun: str | None = "Härryda",
        email: str | None = None,
        password: str = DEMO_PASSWORD,
        name: str | None = None,
        active: bool = True,
    ):
        counter["n"] += 1
        roles = list(roles)
        m = municipality(kommun) if kommun and "sysadmin" not in roles else None
        email = email or f"{'-'.join(roles)}{counter['n']}@{(kommun or 'land').lower()}.test"
        user = services.create_user(
            db,
            None,
            {
                "email": email,
                "name": name or f"Test {' '.join(roles)} {counter['n']}",
                "roles": roles,
                "password": password,
                "municipality_id": m.id if m else None,
                "active": active,
            },
        )
        db.commit()  # releases the test session's savepoint; the outer transaction is still rolled back
        return user

    return _make


class LoggedInClient:
    """A test client signed in as `user`, with helpers that send the CSRF token like a browser."""

    def __init__(self, app, user):
        self.user = user
        self.client = app.test_client()
        with self.client.session_transaction() as sess:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True
        self._csrf = None

    def __getattr__(self, name):
        return getattr(self.client, name)

    def csrf(self) -> str:
        if self._csrf is None:
            self._csrf = csrf_token(self.client, "/")
        return self._csrf

    def post_form(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf())
        return self.client.post(url, data=data, **kwargs)

    def api(self, method: str, url: str, **kwargs):
        headers = kwargs.pop("headers", {}) or {}
        headers.setdefault("X-CSRFToken", self.csrf())
        return self.client.open(url, method=method.upper(), headers=headers, **kwargs)


@pytest.fixture
def login_as(app, make_user):
    """login_as("finance", kommun="Härryda") -> a LoggedInClient for a new user with those roles."""

    def _login(*roles: str, kommun: str | None = "Härryda", **kwargs) -> LoggedInClient:
        user = make_user(roles=roles or ("finance",), kommun=kommun, **kwargs)
        return LoggedInClient(app, user)

    return _login


class DemoDatabase:
    """The demo loaded by `flask core seed` into its own database (one per backend), read by tests that
    check what the demo shows. `session` is a plain session on it; do not write."""

    def __init__(self, app, session, output: str):
        self.app, self.session, self.output = app, session, output


@pytest.fixture(scope="session")
def demo(request, database_url, tmp_path_factory):
    """Seeding the whole demo (invoices with PDFs and validated e-invoices) takes seconds: done once per
    backend, not per test."""
    from sqlalchemy.orm import Session

    from core.cli import core_cli

    kind = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    with fresh_database(kind, tmp_path_factory.mktemp(f"demo-{kind}")) as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        app = make_test_app(url)
        result = app.test_cli_runner().invoke(core_cli, ["seed"])
        assert result.exit_code == 0, result.output
        session = Session(app.extensions["samverkan_engine"])
        try:
            yield DemoDatabase(app, session, result.output)
        finally:
            session.close()
            app.extensions["samverkan_engine"].dispose()
