"""Test support: throw-away databases on SQLite and PostgreSQL, and small helpers."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

IN_CI = os.environ.get("CI", "").lower() == "true"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEMO_PASSWORD = "Rätt-lösenord-123"


def backends() -> list[str]:
    return [b.strip() for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]


def _pg_server_url():
    """The PostgreSQL server to create test databases on: TEST_DATABASE_URL's server, or the local one."""
    url = make_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG_URL)
    return url.set(drivername="postgresql+psycopg")


def pg_unavailable(reason: str) -> None:
    message = f"PostgreSQL är inte nåbar ({reason})."
    if IN_CI:
        pytest.fail(message + " I CI är det ett fel: testerna ska köras mot PostgreSQL.", pytrace=False)
    pytest.skip(
        message + " Starta servern: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    )


@contextmanager
def fresh_database(kind: str, tmp_dir: Path) -> Iterator[str]:
    """Create an empty database of `kind` ('sqlite' or 'postgresql'), yield its URL, then drop it."""
    if kind == "sqlite":
        path = tmp_dir / f"samverkan-{uuid.uuid4().hex[:8]}.sqlite3"
        yield f"sqlite:///{path}"
        path.unlink(missing_ok=True)
        return
    server = _pg_server_url()
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"samverkan_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pg_unavailable(str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/logga-in") -> str:
    """A CSRF token for `client`, read from a page's form as a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF_RE.search(html)
    if match is None:
        html = client.get("/").get_data(as_text=True)
        match = _CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)
