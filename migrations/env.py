"""Alembic environment: one migration history for the whole app.

The engine comes from `config.attributes["engine"]` (the app and tests pass theirs) or from
DATABASE_URL, or the embedded SQLite database.
"""

from __future__ import annotations

from alembic import context

from core.config import DEFAULT_SQLITE_URL
from core.db import Base, make_engine
from core.models_registry import import_all_models

import_all_models()
config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Render the app's UTCDateTime as a plain timezone-aware DateTime in migration files."""
    from core.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        import os

        engine = make_engine(
            config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL") or DEFAULT_SQLITE_URL
        )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_item=render_item,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run against a database.")
run_migrations()
