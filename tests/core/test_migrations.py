"""One migration history: upgrade head -> downgrade base -> upgrade head on both databases, and the
models never drift from the migrations. Also the audit chain under concurrent writers."""

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core.db import Base, make_engine
from core.migrate import downgrade, upgrade
from core.models_registry import import_all_models
from tests.support import backends, fresh_database


@pytest.fixture(params=backends())
def empty_engine(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _drift(engine) -> list:
    import_all_models()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_round_trip_and_no_drift(empty_engine):
    upgrade(empty_engine)
    assert _drift(empty_engine) == []
    tables = set(inspect(empty_engine).get_table_names())
    assert {"municipalities", "users", "user_roles", "api_tokens", "audit_entries"} <= tables

    downgrade(empty_engine)
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}

    upgrade(empty_engine)
    assert _drift(empty_engine) == []


def test_drift_check_notices_a_model_change(empty_engine):
    """The check above can fail: a column missing from the migrations shows up as a difference."""
    upgrade(empty_engine)
    from sqlalchemy import Column, String

    table = Base.metadata.tables["municipalities"]
    extra = Column("drift_probe", String(10))
    table.append_column(extra)
    try:
        diff = _drift(empty_engine)
    finally:
        table._columns.remove(extra)
    assert any(d[0] == "add_column" and d[3].name == "drift_probe" for d in diff)


def test_audit_chain_stays_linear_under_concurrent_writers(empty_engine):
    """Writers in parallel transactions must queue on the chain head, never fork the chain."""
    from core import services
    from core.audit import acting_as, verify_audit_chain
    from core.db import SessionFactory
    from core.models import User
    from tests.conftest import make_test_app
    from tests.support import DEMO_PASSWORD

    upgrade(empty_engine)
    app = make_test_app(empty_engine.url.render_as_string(hide_password=False))
    with app.app_context(), acting_as("test"):
        session = SessionFactory()
        services.load_reference_municipalities(session)
        admin = services.create_user(
            session,
            None,
            {"email": "sys@land.test", "name": "Sys", "roles": ["sysadmin"], "password": DEMO_PASSWORD},
        )
        session.commit()
        admin_id = admin.id
        session.close()

    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(n: int) -> None:
        try:
            with app.app_context(), acting_as(f"skrivare {n}"):
                start.wait(10)
                s = SessionFactory()
                user = s.get(User, admin_id)
                for year in range(2000, 2010):
                    m = s.scalar(services.search_municipalities(s).offset(n).limit(1))
                    services.set_population(s, user, m, year, 1000 + year)
                    s.commit()
                s.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with app.app_context():
        s = SessionFactory()
        result = verify_audit_chain(s)
        s.close()
    assert result.ok, result
    # 290 municipalities + the user and its role + 4 writers x 10 population rows.
    assert result.checked == 290 + 2 + 4 * 10
    app.extensions["samverkan_engine"].dispose()
