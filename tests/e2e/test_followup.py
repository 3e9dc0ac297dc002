"""In a real browser, the annual follow-up (issue #6): the owner of the demo agreement GR-JAV-2024
(admin@goteborg.demo) opens its 2025 follow-up from the menu, chooses a recommendation and saves it,
sends the follow-up through the confirmation page (and the browser's confirmation question), sees the
sha256 of the frozen PDF, and downloads the PDF, whose sha256 is the one shown.

The server runs on its own database with the whole demo seeded (`flask core seed`), once per backend."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from werkzeug.serving import make_server

from core.db import make_engine
from core.demo import DEMO_PASSWORD  # the demo users' password (Samverkan-demo-2026)
from core.migrate import upgrade
from tests.billing.followup.conftest import followup_pdf_text, need_wkhtmltopdf
from tests.conftest import make_test_app
from tests.e2e.conftest import FINANCE_USER, WAIT_SECONDS, LiveServer, SeededUser
from tests.e2e.test_billing_run import download
from tests.e2e.test_login_search import click_and_wait_for_new_page, heading
from tests.e2e.test_registry_journeys import (
    control_labelled,
    fact,
    flash_messages,
    log_in_as,
    open_from_menu,
    submit_and_wait_for_new_page,
    type_into,
)
from tests.support import backends, fresh_database

pytestmark = pytest.mark.e2e

OWNER = SeededUser(
    email="admin@goteborg.demo", password=DEMO_PASSWORD, name="Göran Göteborgare", municipality="Göteborg"
)


@pytest.fixture(scope="module", params=backends())
def demo_server(request, tmp_path_factory) -> Iterator[LiveServer]:
    from core.cli import core_cli

    need_wkhtmltopdf()
    kind = request.param
    with fresh_database(kind, tmp_path_factory.mktemp(f"e2e-followup-{kind}")) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        app = make_test_app(url)
        try:
            result = app.test_cli_runner().invoke(core_cli, ["seed"])
            assert result.exit_code == 0, result.output
            server = make_server("127.0.0.1", 0, app, threaded=True)
            thread = threading.Thread(target=server.serve_forever, name=f"e2e-followup-{kind}", daemon=True)
            thread.start()
            try:
                yield LiveServer(
                    url=f"http://127.0.0.1:{server.server_port}", app=app, finance_user=FINANCE_USER
                )
            finally:
                server.shutdown()
                server.server_close()
                thread.join(timeout=WAIT_SECONDS)
        finally:
            app.extensions["samverkan_engine"].dispose()


def test_owner_edits_the_recommendation_sends_and_downloads_the_frozen_pdf(
    browser: WebDriver, demo_server: LiveServer, tmp_path: Path
) -> None:
    log_in_as(browser, demo_server, OWNER)
    open_from_menu(browser, "Uppföljning")
    assert heading(browser) == "Årlig uppföljning"
    row = browser.find_element(
        By.XPATH, "//table//tr[td[1][normalize-space()='2025'] and td[2][normalize-space()='GR-JAV-2024']]"
    )
    assert "Utkast" in row.text
    click_and_wait_for_new_page(browser, row.find_element(By.LINK_TEXT, "GR-JAV-2024"))
    assert heading(browser) == "Årlig uppföljning 2025: GR-JAV-2024"
    assert fact(browser, "Status") == "Utkast"
    assert browser.find_elements(By.CSS_SELECTOR, "figure.chart img[alt='Budget och utfall 2025']")

    # The recommendation: renegotiate, with a reason.
    browser.find_element(By.CSS_SELECTOR, "input[name=recommendation][value=renegotiate]").click()
    type_into(control_labelled(browser, "Motivering"), "Volymerna har ökat; priserna bör ses över.")
    click_and_wait_for_new_page(
        browser, browser.find_element(By.XPATH, "//button[normalize-space()='Spara texterna']")
    )
    assert "Texterna och rekommendationen är sparade." in flash_messages(browser)
    assert browser.find_element(
        By.CSS_SELECTOR, "input[name=recommendation][value=renegotiate]"
    ).is_selected()

    # Send: the confirmation page explains, the browser asks once more.
    click_and_wait_for_new_page(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Skicka uppföljningen"))
    assert heading(browser) == "Skicka uppföljningen av GR-JAV-2024 för 2025"
    assert "Det går inte att ångra." in browser.find_element(By.CSS_SELECTOR, "main").text
    assert fact(browser, "Rekommendation") == "Omförhandla avtalet"
    recipients = control_labelled(browser, "Mottagare")
    type_into(recipients, "Socialnämnderna i Göteborgsregionen")
    submit_and_wait_for_new_page(
        browser, browser.find_element(By.XPATH, "//button[normalize-space()='Skicka och lås uppföljningen']")
    )
    assert any("är skickad och låst" in m for m in flash_messages(browser))
    assert fact(browser, "Status") == "Skickad"
    assert fact(browser, "Mottagare") == "Socialnämnderna i Göteborgsregionen"
    sha256 = browser.find_element(By.ID, "sha256").text
    assert len(sha256) == 64
    assert not browser.find_elements(By.CSS_SELECTOR, "input[name=recommendation]")  # locked

    saved = download(browser, browser.find_element(By.ID, "pdf-link"), tmp_path / "nedladdningar")
    assert saved.name == "uppfoljning-GR-JAV-2024-2025.pdf"
    content = saved.read_bytes()
    assert hashlib.sha256(content).hexdigest() == sha256
    text = followup_pdf_text(content)
    assert "GR-JAV-2024" in text and "Omförhandla avtalet" in text and "UTKAST" not in text
