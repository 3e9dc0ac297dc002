"""Database plumbing: declarative Base, engine, scoped session and the unit of work.

One owner of the transaction: a web request (committed once in `after_request` handling,
rolled back on any error) or `with unit_of_work():` in CLI commands and jobs. Services only add and
flush.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import DateTime, MetaData, create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    # Rows of every model are audited unless a model sets this to False (the audit log itself,
    # login attempts). Columns listed in __audit_redact__ are recorded as changed, values hidden.
    __audit__ = True
    __audit_redact__: frozenset[str] = frozenset()

    def audit_municipality_id(self) -> int | None:
        """The municipality the row belongs to first (recorded on the audit entry)."""
        return getattr(self, "municipality_id", None)

    def audit_municipality_ids(self) -> set[int]:
        """Every municipality whose auditors may read this row's audit entries (e.g. all parties of
        an agreement). Read only loaded attributes: this runs inside a flush."""
        primary = self.audit_municipality_id()
        return {primary} if primary is not None else set()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def stored_value(obj, key: str):
    """An attribute's value as stored (before this flush's changes), or None for an object not yet
    stored: what flush-time guards (contracts.guards, billing.guards) judge a change by."""
    state = inspect(obj)
    if state.pending or state.transient:
        return None
    history = state.attrs[key].history
    if history.deleted:
        return history.deleted[0]
    return getattr(obj, key)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AppSession(Session):
    """A session bound to the engine of the current Flask app unless given a bind explicitly.

    Tests bind the factory to one connection (each test rolled back); several apps in one process
    (a test's live server beside the main test app) each keep their own engine.
    """

    def get_bind(self, mapper=None, clause=None, **kwargs):
        if self.bind is not None:
            return self.bind
        return get_engine()


SessionFactory = sessionmaker(class_=AppSession, expire_on_commit=False)
# Thread-local session; each request and each CLI unit of work removes it when done.
db_session: scoped_session[AppSession] = scoped_session(SessionFactory)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _unicode_upper(value):
    return value.upper() if isinstance(value, str) else value


_SWEDISH_LAST = str.maketrans({"å": "{", "ä": "|", "æ": "|", "ö": "}", "ø": "}", "ü": "y"})


def swedish_sort_key(value: str) -> str:
    """Swedish alphabetical order: a-z, then å, ä, ö; other accents sort as their base letter."""
    import unicodedata

    folded = value.casefold().translate(_SWEDISH_LAST)
    return "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))


def _swedish_collation(a: str, b: str) -> int:
    ka, kb = (swedish_sort_key(a), a), (swedish_sort_key(b), b)
    return (ka > kb) - (ka < kb)


class swedish(FunctionElement):
    """`swedish(column)` in ORDER BY sorts text in Swedish order on PostgreSQL (ICU) and SQLite."""

    inherit_cache = True
    name = "swedish"


@compiles(swedish)
def _swedish_postgresql(element, compiler, **kw):
    return f'{compiler.process(element.clauses, **kw)} COLLATE "sv-SE-x-icu"'


@compiles(swedish, "sqlite")
def _swedish_sqlite(element, compiler, **kw):
    return f"{compiler.process(element.clauses, **kw)} COLLATE swedish"


def _sqlite_pragmas(dbapi_connection, _record):
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
    dbapi_connection.isolation_level = None
    # SQLite's built-in lower()/upper() only know ASCII; Swedish searches need å, ä and ö too.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    dbapi_connection.create_function("upper", 1, _unicode_upper, deterministic=True)
    dbapi_connection.create_collation("swedish", _swedish_collation)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn):
    # BEGIN IMMEDIATE takes the write lock at once, so two writers queue instead of deadlocking.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, echo: bool = False) -> Engine:
    kwargs: dict = {"echo": echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def get_engine() -> Engine:
    from flask import current_app, has_app_context

    if not has_app_context():
        raise RuntimeError("no application context: the database engine belongs to an app")
    return current_app.extensions["samverkan_engine"]


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction for CLI commands and jobs: commit on success, roll back on error."""
    session = db_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        db_session.remove()
