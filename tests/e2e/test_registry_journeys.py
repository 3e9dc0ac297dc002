"""In a real browser, the registry's two main journeys.

1. An administrator of Göteborg registers a jäv agreement with two buying municipalities, finds it in
   the list and makes it active.
2. A caseworker of Härryda asks Lerum to take a case; a caseworker of Lerum accepts it, starts the
   investigation and registers the decision; Härryda then sees Lerum's views in the insight log.

The people and the agreement of journey 2 come from the `registry_seed` fixture (tests/e2e/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from tests.e2e.conftest import LiveServer, RegistrySeed, SeededUser
from tests.e2e.test_login_search import click_and_wait_for_new_page, heading, log_in, wait

pytestmark = pytest.mark.e2e

Scope = WebDriver | WebElement


# --- Finding things the way a user does ----------------------------------------------------------


def _literal(text: str) -> str:
    """`text` as an XPath string literal (names like "Göteborgs" are fine; quotes are not expected)."""
    assert "'" not in text, text
    return f"'{text}'"


def control_labelled(scope: Scope, label: str) -> WebElement:
    """The form control whose <label> reads `label` (a required field's "*" aside), within `scope`."""
    labels = scope.find_elements(
        By.XPATH, f".//label[normalize-space(translate(., '*', ''))={_literal(label)}]"
    )
    assert len(labels) == 1, f"expected one label {label!r}, found {len(labels)}"
    target = labels[0].get_attribute("for")
    if target:
        return scope.find_element(By.ID, target)
    return labels[0].find_element(By.CSS_SELECTOR, "input, select, textarea")


def radio_labelled(scope: Scope, label_start: str) -> WebElement:
    """The radio button whose (wrapping) label begins with `label_start`."""
    return scope.find_element(
        By.XPATH,
        f".//label[starts-with(normalize-space(), {_literal(label_start)})]//input[@type='radio']",
    )


def fieldset(scope: Scope, legend: str) -> WebElement:
    return scope.find_element(
        By.XPATH, f".//fieldset[legend[normalize-space(translate(., '*', ''))={_literal(legend)}]]"
    )


def section(driver: WebDriver, title: str) -> WebElement:
    """The <section> headed by an <h2> reading `title`."""
    return driver.find_element(By.XPATH, f"//section[h2[normalize-space()={_literal(title)}]]")


def fact(scope: Scope, term: str) -> str:
    """The <dd> text for the <dt> `term` in the first fact list (dl.facts) within `scope`."""
    return scope.find_element(
        By.XPATH,
        f".//dl[contains(@class, 'facts')]/dt[normalize-space()={_literal(term)}]/following-sibling::dd[1]",
    ).text


def table_rows(table: WebElement) -> list[list[str]]:
    return [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]


def flash_messages(driver: WebDriver) -> list[str]:
    return [p.text for p in driver.find_elements(By.CSS_SELECTOR, ".flashes .flash")]


def main_menu(driver: WebDriver) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Huvudmeny]")


def choose(select: WebElement, text: str) -> None:
    Select(select).select_by_visible_text(text)


def chosen(select: WebElement) -> str:
    # Not Select.first_selected_option: it asks about each of the country's 290 municipalities in turn.
    return select.find_element(By.CSS_SELECTOR, "option:checked").text


# --- Typing and submitting -----------------------------------------------------------------------


def type_date(field: WebElement, value: dt.date) -> None:
    """Type a date into an <input type=date> as a user of the browser's locale would.

    Chromium shows the field in its UI locale (on Debian without chromium-l10n: en-US, mm/dd/yyyy) and
    takes keystrokes in that order, so the order and separators come from the page's Intl.
    """
    parts = field.parent.execute_script(
        "return new Intl.DateTimeFormat(navigator.language, "
        "{year: 'numeric', month: '2-digit', day: '2-digit'}).formatToParts(new Date(2000, 0, 2))"
    )
    digits = {"year": f"{value.year:04d}", "month": f"{value.month:02d}", "day": f"{value.day:02d}"}
    keys = "".join(digits.get(part["type"], part["value"]) for part in parts)
    field.send_keys(keys)
    assert field.get_attribute("value") == value.isoformat(), f"typed {keys!r} into a date field"


def type_into(field: WebElement, text: str) -> None:
    field.clear()
    field.send_keys(text)


def submit_and_wait_for_new_page(driver: WebDriver, button: WebElement) -> None:
    """Click a form's submit button, answer its confirmation question (data-confirm) with OK if it
    asks one, and wait for the next page."""
    question = button.find_element(By.XPATH, "./ancestor::form[1]").get_attribute("data-confirm")
    old_page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    if question:
        alert = wait(driver).until(EC.alert_is_present())
        assert alert.text == question
        alert.accept()
    wait(driver).until(EC.staleness_of(old_page))
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")


def log_in_as(driver: WebDriver, server: LiveServer, user: SeededUser) -> None:
    log_in(driver, server, user.email, user.password)
    assert heading(driver) == f"Välkommen, {user.name}"
    user_box = driver.find_element(By.CSS_SELECTOR, ".user-box")
    assert f"{user.name}, {user.municipality}" in user_box.text


def log_out(driver: WebDriver) -> None:
    user_box = driver.find_element(By.CSS_SELECTOR, ".user-box")
    click_and_wait_for_new_page(
        driver, user_box.find_element(By.XPATH, ".//button[normalize-space()='Logga ut']")
    )
    assert heading(driver) == "Logga in"
    assert "Du är utloggad." in flash_messages(driver)


def open_from_menu(driver: WebDriver, item: str) -> None:
    click_and_wait_for_new_page(driver, main_menu(driver).find_element(By.LINK_TEXT, item))
    assert main_menu(driver).find_element(By.LINK_TEXT, item).get_attribute("aria-current") == "page"


# --- Journey 1: an agreement ---------------------------------------------------------------------

NUMBER = "E2E-JAV-2026"
TITLE = "Jävsärenden mellan Göteborg, Härryda och Lerum"
BUYERS = {"Härryda": ("1401", "Socialnämnden"), "Lerum": ("1441", "Sociala myndighetsnämnden")}


def search_agreements(driver: WebDriver, text: str) -> list[list[str]]:
    search_form = driver.find_element(By.CSS_SELECTOR, "form[role=search]")
    type_into(control_labelled(search_form, "Sök"), text)
    click_and_wait_for_new_page(driver, search_form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert heading(driver) == "Samverkansavtal"
    assert control_labelled(driver, "Sök").get_attribute("value") == text
    return table_rows(driver.find_element(By.CSS_SELECTOR, "table.list"))


def test_admin_registers_an_agreement_with_two_buyers_and_finds_it(
    browser: WebDriver, live_server: LiveServer, registry_seed: RegistrySeed
) -> None:
    admin = registry_seed.admin
    log_in_as(browser, live_server, admin)

    open_from_menu(browser, "Avtal")
    assert heading(browser) == "Samverkansavtal"
    click_and_wait_for_new_page(browser, browser.find_element(By.LINK_TEXT, "Registrera nytt avtal"))
    assert heading(browser) == "Registrera nytt avtal"

    # The agreement itself.
    form = browser.find_element(By.CSS_SELECTOR, "main form[method=post]")
    agreement = fieldset(form, "Avtalet")
    control_labelled(agreement, "Avtalsnummer").send_keys(NUMBER)
    control_labelled(agreement, "Titel").send_keys(TITLE)
    choose(control_labelled(agreement, "Område"), "Jävsärenden")
    choose(control_labelled(agreement, "Samverkansform"), "Avtalssamverkan")
    control_labelled(agreement, "Rättslig grund").send_keys("Kommunallagen 9 kap. 37 §")
    term = fieldset(form, "Avtalstid, förlängning och uppsägning")
    type_date(control_labelled(term, "Startdatum"), dt.date(2026, 1, 1))
    type_date(control_labelled(term, "Slutdatum"), dt.date(2027, 12, 31))
    control_labelled(term, "Automatisk förlängning (månader)").send_keys("12")
    control_labelled(term, "Uppsägningstid (månader)").send_keys("6")

    # The parties: the admin's own municipality is the host unless changed; two buyers.
    host = fieldset(form, "Utförande kommun (värdkommun)")
    assert chosen(control_labelled(host, "Kommun")) == "Göteborg (1480)"
    control_labelled(host, "Ansvarig nämnd").send_keys("Socialnämnden Centrum")
    for index, (name, (kommunkod, board)) in enumerate(BUYERS.items(), start=1):
        buyer = fieldset(form, f"Köpande kommun {index}")
        choose(control_labelled(buyer, "Kommun"), f"{name} ({kommunkod})")
        control_labelled(buyer, "Ansvarig nämnd").send_keys(board)
    assert chosen(control_labelled(form, "Avtalsansvarig")) == f"{admin.name}, {admin.municipality}"

    submit_and_wait_for_new_page(
        browser, form.find_element(By.XPATH, ".//button[normalize-space()='Spara utkast']")
    )

    # The detail page: saved as a draft with both buyers.
    assert heading(browser) == f"{NUMBER}: {TITLE}", browser.find_element(By.TAG_NAME, "main").text
    assert any(m.startswith(f"Avtalet {NUMBER} är registrerat som utkast.") for m in flash_messages(browser))
    assert fact(browser, "Status") == "Utkast"
    assert fact(browser, "Startdatum") == "2026-01-01"
    assert fact(browser, "Slutdatum enligt avtalet") == "2027-12-31"
    assert (
        "där Göteborg utför uppgiften åt Härryda och Lerum"
        in browser.find_element(By.CSS_SELECTOR, "p.lead").text
    )
    parties = table_rows(section(browser, "Parter").find_element(By.TAG_NAME, "table"))
    assert [row[:3] for row in parties] == [
        ["Utförare (värdkommun)", "Göteborg (1480)", "Socialnämnden Centrum"],
        ["Köpare", "Härryda (1401)", "Socialnämnden"],
        ["Köpare", "Lerum (1441)", "Sociala myndighetsnämnden"],
    ]

    # Back to the list: a search by number finds the draft with its title and both buyers.
    click_and_wait_for_new_page(
        browser, browser.find_element(By.CSS_SELECTOR, ".breadcrumb").find_element(By.LINK_TEXT, "Avtal")
    )
    rows = search_agreements(browser, NUMBER)
    assert [row[:6] for row in rows] == [
        [NUMBER, TITLE, "Jävsärenden", "Göteborg", "Härryda, Lerum", "Utkast"]
    ]

    # The draft is made active with the status button on its page.
    click_and_wait_for_new_page(
        browser, browser.find_element(By.CSS_SELECTOR, "table.list").find_element(By.LINK_TEXT, NUMBER)
    )
    status = section(browser, "Status")
    assert "Avtalet är utkast." in status.text
    submit_and_wait_for_new_page(
        browser, status.find_element(By.XPATH, ".//button[normalize-space()='Gör avtalet gällande']")
    )
    assert f"Avtal {NUMBER} har nu status Gällande." in flash_messages(browser)
    assert fact(browser, "Status") == "Gällande"
    assert not section(browser, "Status").find_elements(
        By.XPATH, ".//button[normalize-space()='Gör avtalet gällande']"
    )

    # The list shows the new status.
    click_and_wait_for_new_page(
        browser, browser.find_element(By.CSS_SELECTOR, ".breadcrumb").find_element(By.LINK_TEXT, "Avtal")
    )
    rows = search_agreements(browser, NUMBER)
    assert [row[:6] for row in rows] == [
        [NUMBER, TITLE, "Jävsärenden", "Göteborg", "Härryda, Lerum", "Gällande"]
    ]


# --- Journey 2: a case transfer ------------------------------------------------------------------


def step_form(driver: WebDriver, step: str) -> WebElement:
    """The form of the next step `step` (its legend) on a transfer's page."""
    return driver.find_element(
        By.XPATH,
        f"//form[contains(@class, 'step-form')][fieldset/legend[normalize-space()={_literal(step)}]]",
    )


def take_step(driver: WebDriver, step: str, comment: str) -> str:
    """Fill in and submit the step's form; returns the date it was registered for (ISO)."""
    form = step_form(driver, step)
    date = control_labelled(form, "Datum")
    on = date.get_attribute("value")
    assert on == date.get_attribute("max"), "the date should default to today (the latest allowed)"
    control_labelled(form, "Kommentar (frivillig)").send_keys(comment)
    submit_and_wait_for_new_page(
        driver, form.find_element(By.XPATH, f".//button[normalize-space()={_literal(step)}]")
    )
    return on


def timeline(driver: WebDriver) -> list[list[str]]:
    return table_rows(section(driver, "Händelser").find_element(By.TAG_NAME, "table"))


def test_caseworker_moves_a_transfer_from_requested_to_decided(
    browser: WebDriver, live_server: LiveServer, registry_seed: RegistrySeed
) -> None:
    requester = registry_seed.requesting_caseworker
    performer = registry_seed.performing_caseworker
    agreement = registry_seed.agreement

    # Härryda asks Lerum to take a case under the agreement.
    log_in_as(browser, live_server, requester)
    open_from_menu(browser, "Överlämningar")
    assert heading(browser) == "Ärendeöverlämningar"
    click_and_wait_for_new_page(browser, browser.find_element(By.LINK_TEXT, "Begär en överlämning"))
    assert heading(browser) == "Begär en överlämning"
    form = browser.find_element(By.CSS_SELECTOR, "main form[method=post]")
    choose(control_labelled(form, "Utförande kommun"), "Lerum")
    radio_labelled(form, "Avtalssamverkan med extern delegering").click()
    parties = ", ".join((agreement.host, *agreement.buyers))
    choose(control_labelled(form, "Avtal"), f"{agreement.number} {agreement.title} (parter: {parties})")
    choose(control_labelled(form, "Jävsgrund"), "Anställd i kommunen")
    choose(control_labelled(form, "Ärendeområde"), "Barn och unga")
    radio_labelled(form, "Den utförande kommunen").click()
    control_labelled(form, "Delegationsbeslut").send_keys("SN 2026-02-10 § 14")
    requested_on = control_labelled(form, "Begärd den").get_attribute("value")  # today, by default
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", requested_on), requested_on
    submit_and_wait_for_new_page(
        browser, form.find_element(By.XPATH, ".//button[normalize-space()='Begär överlämning']")
    )

    match = re.fullmatch(r"Överlämning (JAV-1401-\d{4}-\d{4})", heading(browser))
    assert match, heading(browser)
    reference = match[1]
    assert reference.startswith(f"JAV-1401-{requested_on[:4]}-")
    assert (
        f"Överlämningen är begärd med referensen {reference}. Lerum ser den nu och kan svara."
        in flash_messages(browser)
    )
    assert fact(browser, "Status") == "Begärd"
    assert fact(browser, "Avtal") == f"{agreement.number} {agreement.title}"
    assert timeline(browser)[0][1:3] == ["Begärd", f"{requester.name}, {requester.municipality}"]
    # Härryda owns the case: its own views are not logged.
    assert (
        section(browser, "Insynslogg").find_element(By.CSS_SELECTOR, "p.empty").text
        == "Inga loggade visningar."
    )
    log_out(browser)

    # Lerum finds the request in its list and opens it.
    log_in_as(browser, live_server, performer)
    open_from_menu(browser, "Överlämningar")
    assert "väntar på svar från din kommun" in browser.find_element(By.CSS_SELECTOR, "main").text
    transfers = browser.find_element(By.CSS_SELECTOR, "table.list")
    rows = {row[0]: row for row in table_rows(transfers)}
    assert rows[reference][:6] == [
        reference,
        "Härryda",
        "Lerum",
        "Barn och unga",
        "Anställd i kommunen",
        "Begärd",
    ]
    click_and_wait_for_new_page(browser, transfers.find_element(By.LINK_TEXT, reference))
    assert heading(browser) == f"Överlämning {reference}"
    assert fact(browser, "Utförande kommun") == "Lerum – din kommun"

    # Accept, start the investigation, register the decision: each a form with today's date.
    steps = [
        ("Acceptera överlämningen", "Begärd", "Accepterad", "Vi tar ärendet."),
        ("Starta utredning", "Accepterad", "Utredning pågår", "Utredare utsedd."),
        ("Markera att beslut är fattat", "Utredning pågår", "Beslutad", "Beslut fattat enligt delegation."),
    ]
    for count, (step, before, after, comment) in enumerate(steps, start=2):
        assert fact(browser, "Status") == before
        on = take_step(browser, step, comment)
        assert heading(browser) == f"Överlämning {reference}"
        assert f"{reference}: {before} → {after} är registrerat." in flash_messages(browser)
        assert fact(browser, "Status") == after
        assert f"Status: {after}." in browser.find_element(By.CSS_SELECTOR, "p.lead").text
        events = timeline(browser)
        assert len(events) == count
        effective_on, what, who, registered_at, remark = events[-1]
        assert (effective_on, what, who, remark) == (
            on,
            f"{before} → {after}",
            f"{performer.name}, {performer.municipality}",
            comment,
        )
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", registered_at), registered_at
    assert fact(browser, "Status") == "Beslutad"
    assert not browser.find_elements(
        By.XPATH,
        "//form[contains(@class, 'step-form')]//legend[normalize-space()='Markera att beslut är fattat']",
    )
    log_out(browser)

    # Härryda sees in the insight log that Lerum's caseworker opened the case: the first opening and
    # the page shown after each of the three steps (the steps themselves are not views).
    log_in_as(browser, live_server, requester)
    open_from_menu(browser, "Överlämningar")
    click_and_wait_for_new_page(
        browser, browser.find_element(By.CSS_SELECTOR, "table.list").find_element(By.LINK_TEXT, reference)
    )
    assert fact(browser, "Status") == "Beslutad"
    insight = table_rows(section(browser, "Insynslogg").find_element(By.TAG_NAME, "table"))
    assert [row[1:] for row in insight] == [
        [f"{performer.name} ({performer.email})", "Lerum", "Webbsidan"]
    ] * 4
