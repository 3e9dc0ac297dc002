"""In a real browser: log in, find a municipality in the register and open it; a wrong password."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import WAIT_SECONDS, LiveServer

pytestmark = pytest.mark.e2e


def wait(driver: WebDriver) -> WebDriverWait:
    # Poll often: the default of 0.5 s would make up most of the test's run time.
    return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.05)


def click_and_wait_for_new_page(driver: WebDriver, element: WebElement) -> None:
    """Click a link or submit button and wait until the browser has left the current page."""
    old_page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    wait(driver).until(EC.staleness_of(old_page))
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")


def heading(driver: WebDriver) -> str:
    return wait(driver).until(EC.visibility_of_element_located((By.TAG_NAME, "h1"))).text


def input_labelled(driver: WebDriver, label: str) -> WebElement:
    """The form control whose <label> reads `label`, found the way assistive technology finds it."""
    label_element = driver.find_element(By.XPATH, f"//label[normalize-space()='{label}']")
    return driver.find_element(By.ID, label_element.get_attribute("for"))


def log_in(driver: WebDriver, server: LiveServer, email: str, password: str) -> None:
    driver.get(server.page("/logga-in"))
    assert heading(driver) == "Logga in"
    input_labelled(driver, "E-postadress").send_keys(email)
    input_labelled(driver, "Lösenord").send_keys(password)
    click_and_wait_for_new_page(driver, driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))


def test_finance_user_logs_in_and_finds_lerum(browser: WebDriver, live_server: LiveServer) -> None:
    user = live_server.finance_user
    log_in(browser, live_server, user.email, user.password)

    # The start page greets the user by name.
    assert browser.current_url == live_server.page("/")
    assert heading(browser) == f"Välkommen, {user.name}"

    # The main navigation leads to the municipality register.
    nav = browser.find_element(By.CSS_SELECTOR, "nav[aria-label=Huvudmeny]")
    click_and_wait_for_new_page(browser, nav.find_element(By.LINK_TEXT, "Kommuner"))
    assert heading(browser) == "Kommunregistret"
    nav = browser.find_element(By.CSS_SELECTOR, "nav[aria-label=Huvudmeny]")
    assert nav.find_element(By.LINK_TEXT, "Kommuner").get_attribute("aria-current") == "page"

    # Search by name.
    search_field = input_labelled(browser, "Sök kommun")
    assert search_field.get_attribute("id") == "q"
    search_field.send_keys("Lerum")
    search_form = browser.find_element(By.CSS_SELECTOR, "form[role=search]")
    click_and_wait_for_new_page(browser, search_form.find_element(By.CSS_SELECTOR, "button[type=submit]"))

    assert input_labelled(browser, "Sök kommun").get_attribute("value") == "Lerum"
    rows = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
    ]
    names = [cells[1] for cells in rows]
    assert ["1441", "Lerum", "Västra Götalands län"] in [cells[:3] for cells in rows]
    assert "Göteborg" not in names
    assert "Härryda" not in names

    # The municipality's own page.
    results = browser.find_element(By.CSS_SELECTOR, "table.list")
    click_and_wait_for_new_page(browser, results.find_element(By.LINK_TEXT, "Lerum"))
    assert heading(browser) == "Lerum kommun"
    facts = browser.find_element(By.CSS_SELECTOR, "dl.facts")
    kommunkod = facts.find_element(By.XPATH, "./dt[normalize-space()='Kommunkod']/following-sibling::dd[1]")
    assert kommunkod.text == "1441"


def test_wrong_password_is_refused_with_a_swedish_message(
    browser: WebDriver, live_server: LiveServer
) -> None:
    user = live_server.finance_user
    log_in(browser, live_server, user.email, "Fel-lösenord-999")

    alert = wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert alert.text == "Fel e-postadress eller lösenord."
    assert browser.current_url == live_server.page("/logga-in")
    assert heading(browser) == "Logga in"
    # The e-mail address is kept for the next try; the password is not.
    assert input_labelled(browser, "E-postadress").get_attribute("value") == user.email
    assert input_labelled(browser, "Lösenord").get_attribute("value") == ""
    assert not browser.find_elements(By.CSS_SELECTOR, "nav[aria-label=Huvudmeny]")
