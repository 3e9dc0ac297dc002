"""Fixtures for real-browser tests: a live server per database backend and a headless Chromium.

`live_server` serves the app from a background thread on its own, freshly migrated and seeded
database (one per backend, like the main suite). It does not use the `db`/`client` fixtures of
tests/conftest.py: those bind the session to one connection, which a server thread must not share.
Data committed here stays while the e2e tests of one backend run; each test gets a fresh browser
profile. `registry_seed` adds the people and the agreement of the registry journeys to that database.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.errorhandler import ErrorHandler
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from core import services
from core.audit import acting_as
from core.db import make_engine, unit_of_work
from core.migrate import upgrade
from core.models import Municipality
from registry.models import (
    Agreement,
    AgreementParty,
    AgreementStatus,
    Area,
    CooperationForm,
    PartyRole,
)
from tests.conftest import make_test_app
from tests.support import DEMO_PASSWORD, IN_CI, backends, fresh_database

CHROMIUM_BINARY = Path("/usr/bin/chromium")
CHROMEDRIVER_BINARY = Path("/usr/bin/chromedriver")
CHROME_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1024",
)
# How long explicit waits in the tests may take before they fail.
WAIT_SECONDS = 10


@dataclass(frozen=True)
class SeededUser:
    email: str
    password: str
    name: str
    municipality: str


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask
    finance_user: SeededUser

    def page(self, path: str) -> str:
        """The absolute URL of `path` (e.g. "/logga-in") on this server."""
        return self.url + path


FINANCE_USER = SeededUser(
    email="ekonomi@harryda.test",
    password=DEMO_PASSWORD,
    name="Eva Ekonom",
    municipality="Härryda",
)


def _municipality(session: Session, name: str) -> Municipality:
    municipality = session.scalar(select(Municipality).where(Municipality.name == name))
    assert municipality is not None, f"reference data lacks {name}"
    return municipality


def _create_user(session: Session, user: SeededUser, roles: list[str]) -> None:
    services.create_user(
        session,
        None,
        {
            "email": user.email,
            "name": user.name,
            "roles": roles,
            "password": user.password,
            "municipality_id": _municipality(session, user.municipality).id,
            "active": True,
        },
    )


def _seed(app: Flask) -> None:
    with app.app_context(), acting_as("test: e2e"), unit_of_work() as session:
        services.load_reference_municipalities(session)
        _create_user(session, FINANCE_USER, ["finance"])


@pytest.fixture(scope="package", params=backends())
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The app on a fresh database of one backend, served on a free local port in a daemon thread."""
    kind: str = request.param
    with fresh_database(kind, tmp_path_factory.mktemp(f"e2e-{kind}")) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()

        app = make_test_app(url)
        try:
            _seed(app)
            server = make_server("127.0.0.1", 0, app, threaded=True)
            thread = threading.Thread(target=server.serve_forever, name=f"e2e-server-{kind}", daemon=True)
            thread.start()
            try:
                url = f"http://127.0.0.1:{server.server_port}"
                yield LiveServer(url=url, app=app, finance_user=FINANCE_USER)
            finally:
                server.shutdown()
                server.server_close()
                thread.join(timeout=WAIT_SECONDS)
        finally:
            app.extensions["samverkan_engine"].dispose()


# --- The registry journeys' people and agreement (tests/e2e/test_registry_journeys.py) -------------


@dataclass(frozen=True)
class SeededAgreement:
    number: str
    title: str
    host: str
    buyers: tuple[str, ...]


@dataclass(frozen=True)
class RegistrySeed:
    admin: SeededUser  # administrator of Göteborg: registers agreements
    requesting_caseworker: SeededUser  # caseworker of Härryda: asks Lerum to take a case
    performing_caseworker: SeededUser  # caseworker of Lerum: takes the case
    agreement: SeededAgreement  # in force, between the three


REGISTRY_SEED = RegistrySeed(
    admin=SeededUser(
        email="admin@goteborg.test", password=DEMO_PASSWORD, name="Greta Admin", municipality="Göteborg"
    ),
    requesting_caseworker=SeededUser(
        email="handlaggare@harryda.test",
        password=DEMO_PASSWORD,
        name="Hanna Handläggare",
        municipality="Härryda",
    ),
    performing_caseworker=SeededUser(
        email="handlaggare@lerum.test", password=DEMO_PASSWORD, name="Leo Lindqvist", municipality="Lerum"
    ),
    agreement=SeededAgreement(
        number="E2E-GR-JAV-2025",
        title="Jävssamverkan i Göteborgsregionen",
        host="Göteborg",
        buyers=("Härryda", "Lerum"),
    ),
)


@pytest.fixture(scope="package")
def registry_seed(live_server: LiveServer) -> RegistrySeed:
    """The journeys' users and an active agreement, in the live server's database (once per backend).

    The agreement is written as model rows (like tests/registry/conftest.py `make_agreement`), not
    through the services, so the transfer journey does not depend on the agreement pages.
    """
    seed = REGISTRY_SEED
    with live_server.app.app_context(), acting_as("test: e2e registry"), unit_of_work() as session:
        _create_user(session, seed.admin, ["admin"])
        _create_user(session, seed.requesting_caseworker, ["caseworker"])
        _create_user(session, seed.performing_caseworker, ["caseworker"])
        agreement = Agreement(
            number=seed.agreement.number,
            title=seed.agreement.title,
            area=Area.JAV,
            cooperation_form=CooperationForm.AVTALSSAMVERKAN,
            legal_basis="Kommunallagen 9 kap. 37 §",
            start_date=dt.date(2025, 1, 1),
            end_date=None,
            notice_months=6,
            status=AgreementStatus.ACTIVE,
        )
        agreement.parties = [
            AgreementParty(municipality=_municipality(session, seed.agreement.host), role=PartyRole.HOST)
        ] + [
            AgreementParty(municipality=_municipality(session, name), role=PartyRole.BUYER)
            for name in seed.agreement.buyers
        ]
        session.add(agreement)
    return seed


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM_BINARY, CHROMEDRIVER_BINARY) if not p.exists()]
    if not missing:
        return
    message = f"Headless Chromium is missing ({', '.join(missing)})."
    if IN_CI:
        pytest.fail(message + " In CI that is an error: the browser tests must run.", pytrace=False)
    pytest.skip(message + " Install it: apt-get install -y chromium chromium-driver")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    # Keep each phase's report on the test item so that `browser` can tell whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# Chromium sometimes answers a call on an element of a page that is being replaced (the old page's
# <html> polled by `staleness_of` while a form's answer loads) with "unknown error: unhandled inspector
# error: Node with given id does not belong to the document" instead of "stale element reference".
# WebDriverWait does not ignore that error, so such a wait failed at random, a few times in a hundred
# page loads (https://github.com/SeleniumHQ/selenium/issues/15401). The node is gone with its page:
# the driver reports it as the stale element it is.
DETACHED_NODE_ERRORS = (
    "Node with given id does not belong to the document",
    "No node with given id found",
)


class StaleNodeErrorHandler(ErrorHandler):
    def check_response(self, response: dict) -> None:
        try:
            super().check_response(response)
        except StaleElementReferenceException:
            raise
        except WebDriverException as exc:
            if any(message in (exc.msg or "") for message in DETACHED_NODE_ERRORS):
                raise StaleElementReferenceException(exc.msg, exc.screen, exc.stacktrace) from exc
            raise


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile; saves a screenshot to tmp_path if the test fails."""
    _require_browser()
    profile = Path(tempfile.mkdtemp(prefix="e2e-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM_BINARY)
    for argument in (*CHROME_ARGUMENTS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    # Giving the driver's path explicitly keeps Selenium Manager (which would go online) out of it.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER_BINARY)))
    driver.error_handler = StaleNodeErrorHandler()
    try:
        yield driver
    finally:
        try:
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:
                screenshot = tmp_path / "failure.png"
                driver.save_screenshot(str(screenshot))
                print(f"Screenshot of the failing page: {screenshot} ({driver.current_url})")
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)
