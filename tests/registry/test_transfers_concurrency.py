"""References under concurrency: caseworkers requesting transfers at the same moment, in parallel
transactions on a real database, never get the same reference and leave no gap.

The year's counter row exists before the writers start (one request is made first). The very first
references of a (municipality, year) are not covered: registry.reference.next_reference inserts a
missing counter row without ON CONFLICT, so two first requests at the same instant on PostgreSQL end
in a unique violation (reported to the owner of registry/reference.py)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from core.db import make_engine
from core.migrate import upgrade
from tests.support import DEMO_PASSWORD, backends, fresh_database

WRITERS = 4
REQUESTS_EACH = 5


@pytest.fixture(params=backends())
def empty_engine(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_parallel_requests_get_unique_gapless_references(empty_engine):
    from core import services as core_services
    from core.audit import acting_as
    from core.db import SessionFactory
    from core.models import Municipality, User
    from registry.models import CaseTransfer
    from registry.transfers import services
    from tests.conftest import make_test_app

    upgrade(empty_engine)
    app = make_test_app(empty_engine.url.render_as_string(hide_password=False))
    with app.app_context(), acting_as("test"):
        session = SessionFactory()
        core_services.load_reference_municipalities(session)
        harryda = session.scalar(select(Municipality).where(Municipality.name == "Härryda"))
        lerum = session.scalar(select(Municipality).where(Municipality.name == "Lerum"))
        user_ids = [
            core_services.create_user(
                session,
                None,
                {
                    "email": f"handlaggare{n}@harryda.test",
                    "name": f"Handläggare {n}",
                    "roles": ["caseworker"],
                    "password": DEMO_PASSWORD,
                    "municipality_id": harryda.id,
                },
            ).id
            for n in range(WRITERS)
        ]
        payload = {
            "performing_municipality_id": lerum.id,
            "jav_ground": "narstaende",
            "resolution_type": "konsult",
            "case_area": "vuxen",
            "executor": "requesting",
            "requested_on": "2026-02-01",
        }
        first = services.request_transfer(session, session.get(User, user_ids[0]), payload)
        assert first.reference == "JAV-1401-2026-0001"
        session.commit()
        session.close()

    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(user_id: int) -> None:
        try:
            with app.app_context(), acting_as("test"):
                start.wait(10)
                for _ in range(REQUESTS_EACH):
                    s = SessionFactory()
                    try:
                        services.request_transfer(s, s.get(User, user_id), payload)
                        s.commit()
                    finally:
                        s.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with app.app_context():
        s = SessionFactory()
        references = s.scalars(select(CaseTransfer.reference)).all()
        s.close()
    expected = {f"JAV-1401-2026-{n:04d}" for n in range(1, 1 + WRITERS * REQUESTS_EACH + 1)}
    assert sorted(references) == sorted(expected)
    app.extensions["samverkan_engine"].dispose()
