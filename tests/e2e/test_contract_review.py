"""In a real browser, the legal review of a contract version: a lawyer of Härryda finds a version awaiting
review, marks the checklist and the Hamburg criteria, sees approval refused while a row is missing,
fixes the row and approves the version.

The agreement and its version (complete terms, submitted for review) are set up through the services
(registry agreements, contract versions, the review's submit); the terms rows themselves are written as
model rows, like tests/contracts/conftest.py `make_version` does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select

from contracts import versions
from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractBuyerTerms,
    ContractPrice,
    ContractServiceType,
    ServiceUnit,
    VatCategory,
)
from contracts.review import services as review_services
from core import services as core_services
from core.audit import acting_as
from core.db import unit_of_work
from core.models import Municipality, User
from registry.agreements import services as agreement_services
from tests.e2e.conftest import LiveServer, SeededUser
from tests.e2e.test_login_search import click_and_wait_for_new_page, heading
from tests.e2e.test_registry_journeys import (
    choose,
    control_labelled,
    fact,
    flash_messages,
    log_in_as,
    open_from_menu,
    section,
    submit_and_wait_for_new_page,
    table_rows,
    type_into,
)
from tests.support import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

NUMBER = "E2E-GRANSKNING-2026"
TITLE = "Familjerätt mellan Göteborg, Härryda och Lerum"
ORG_NUMBERS = {"Göteborg": "212000-1355", "Härryda": "212000-1371", "Lerum": "212000-1447"}
LAWYER = SeededUser(
    email="jurist@harryda.test", password=DEMO_PASSWORD, name="Julia Jurist", municipality="Härryda"
)
REGISTRAR = SeededUser(
    email="avtal@goteborg.test", password=DEMO_PASSWORD, name="Gunnar Avtal", municipality="Göteborg"
)


@dataclass(frozen=True)
class ReviewSeed:
    lawyer: SeededUser
    version_id: int


def _user(session, seeded: SeededUser, roles: list[str]) -> User:
    municipality = session.scalar(select(Municipality).where(Municipality.name == seeded.municipality))
    return core_services.create_user(
        session,
        None,
        {
            "email": seeded.email,
            "name": seeded.name,
            "roles": roles,
            "password": seeded.password,
            "municipality_id": municipality.id,
            "active": True,
        },
    )


@pytest.fixture(scope="module")
def review_seed(live_server: LiveServer) -> ReviewSeed:
    """An active agreement with a complete version 1, submitted for review (once per backend)."""
    with live_server.app.app_context(), acting_as("test: e2e granskning"), unit_of_work() as session:
        registrar = _user(session, REGISTRAR, ["admin"])
        _user(session, LAWYER, ["legal"])
        by_name = {
            m.name: m for m in session.scalars(select(Municipality).where(Municipality.name.in_(ORG_NUMBERS)))
        }
        for name, org_number in ORG_NUMBERS.items():
            by_name[name].org_number = org_number  # reference data: the register has no numbers yet
        agreement = agreement_services.register_agreement(
            session,
            registrar,
            {
                "number": NUMBER,
                "title": TITLE,
                "area": "familjeratt",
                "cooperation_form": "avtalssamverkan",
                "legal_basis": "Kommunallagen 9 kap. 37 §",
                "start_date": "2026-01-01",
                "end_date": "2027-12-31",
                "renewal_months": 12,
                "notice_months": 6,
                "parties": [
                    {"municipality_id": by_name["Göteborg"].id, "role": "host", "board": "Socialnämnden"},
                    {"municipality_id": by_name["Härryda"].id, "role": "buyer", "board": "Socialnämnden"},
                    {"municipality_id": by_name["Lerum"].id, "role": "buyer", "board": "Socialnämnden"},
                ],
            },
        )
        agreement_services.transition_agreement(session, registrar, agreement, "active")
        version = versions.create_version(
            session, registrar, agreement, title="Ursprungligt avtal", effective_from=dt.date(2026, 1, 1)
        )
        version.scope = "Utredningar i familjerätt (FB 6 kap.) åt köpande kommuner."
        hours = ContractServiceType(
            code="utredning",
            name="Utredning",
            unit=ServiceUnit.HOUR,
            vat_category=VatCategory.O,
            vat_rate=Decimal("0"),
            vat_exemption_reason_code="VATEX-EU-O",
            vat_exemption_reason="Myndighetsutövning – utanför momsens tillämpningsområde",
        )
        version.service_types.append(hours)
        version.components.append(
            CompensationComponent(
                position=1,
                model=CompensationModel.HOURLY,
                service_type=hours,
                prices=[ContractPrice(year=2026, amount=Decimal("1120.00"))],
            )
        )
        for party in agreement.buyers:
            version.buyer_terms.append(
                ContractBuyerTerms(municipality_id=party.municipality_id, buyer_reference="Familjerätten")
            )
        session.flush()
        review_services.submit_for_review(session, registrar, version)
        version_id = version.id
    return ReviewSeed(lawyer=LAWYER, version_id=version_id)


def review_row(driver: WebDriver, label: str):
    """The rows (one <tbody>) of the checklist item `label`: the judgement and the comment."""
    return driver.find_element(By.XPATH, f"//tbody[tr/th[starts-with(normalize-space(), '{label}')]]")


def mark(form, label: str, status: str, comment: str = "", answer: str | None = None) -> None:
    choose(control_labelled(form, f"Bedömning: {label}"), status)
    if answer is not None:
        choose(control_labelled(form, f"Uppfyllt? {label}"), answer)
    if comment:
        type_into(control_labelled(form, f"Kommentar: {label}"), comment)


def test_lawyer_marks_rows_is_refused_while_a_row_is_missing_then_approves(
    browser: WebDriver, live_server: LiveServer, review_seed: ReviewSeed
) -> None:
    log_in_as(browser, live_server, review_seed.lawyer)
    panel = section(browser, "Avtalsgranskning")
    assert "1 avtalsversion väntar på juridisk granskning." in panel.text

    # The queue lists the version; the lawyer opens its review.
    open_from_menu(browser, "Avtalsgranskning")
    assert heading(browser) == "Avtalsgranskning"
    awaiting = section(browser, "Väntar på granskning (1)").find_element(By.TAG_NAME, "table")
    assert table_rows(awaiting)[0][:2] == [f"{NUMBER} {TITLE}", "1: Ursprungligt avtal"]
    click_and_wait_for_new_page(browser, awaiting.find_element(By.PARTIAL_LINK_TEXT, "Granska"))
    assert heading(browser) == f"Juridisk granskning: {NUMBER} version 1"
    assert fact(browser, "Status") == "Under juridisk granskning"

    # The pre-checks found nothing wrong, and filled in their rows.
    prechecks = table_rows(section(browser, "Förkontroller").find_element(By.TAG_NAME, "table"))
    assert [row[1] for row in prechecks] == ["OK"] * 5
    assert "Göteborg (kommun, 212000-1355)" in prechecks[0][2]
    assert "Förkontroll" in review_row(browser, "Parter och mandat").text

    # Mark every other row: insurance is missing from the contract; the Hamburg criteria hold.
    form = browser.find_element(By.ID, "granskning")
    checklist = form.find_element(By.ID, "avsnitt-checklist")
    prefilled = {"Parter och mandat", "Personuppgifter", "Ersättningsmodell", "Uppsägning"}
    labels = [th.text.split("\n")[0] for th in checklist.find_elements(By.CSS_SELECTOR, "tbody th")]
    assert len(labels) == 27
    for label in labels:
        if label == "Försäkring":
            mark(form, label, "Saknas", "Avtalet säger inget om försäkring.")
        elif label not in prefilled:
            mark(form, label, "OK")
    hamburg = form.find_element(By.ID, "avsnitt-hamburg")
    criteria = [th.text.split("\n")[0] for th in hamburg.find_elements(By.CSS_SELECTOR, "tbody th")]
    assert len(criteria) == 4
    for label in criteria:
        mark(form, label, "OK", "Uppfyllt enligt avtalet och kostnadskalkylen.", answer="Ja")
    submit_and_wait_for_new_page(
        browser, form.find_element(By.XPATH, ".//button[normalize-space()='Spara granskningen']")
    )
    assert "Granskningen är sparad (27 rader)." in flash_messages(browser)
    insurance = review_row(browser, "Försäkring")
    assert "Hindrar godkännande: saknas" in insurance.text
    assert LAWYER.name in insurance.text

    # Approval is refused while the row is missing.
    approve = section(browser, "Godkänn versionen")
    blocking = [li.text for li in approve.find_elements(By.CSS_SELECTOR, "ul.blocking-rows li")]
    assert blocking == ["Försäkring: saknas"]
    submit_and_wait_for_new_page(
        browser, approve.find_element(By.XPATH, ".//button[normalize-space()='Godkänn versionen']")
    )
    refusal = section(browser, "Godkänn versionen").find_element(By.CSS_SELECTOR, "p.error[role=alert]")
    assert refusal.text.startswith("Versionen kan inte godkännas: Försäkring (saknas).")
    assert fact(browser, "Status") == "Under juridisk granskning"

    # The lawyer fixes the row (the parties have added the clause) and approves.
    form = browser.find_element(By.ID, "granskning")
    mark(form, "Försäkring", "OK", "Tillagt: varje part svarar för sin egen försäkring.")
    submit_and_wait_for_new_page(
        browser, form.find_element(By.XPATH, ".//button[normalize-space()='Spara granskningen']")
    )
    assert "Granskningen är sparad (1 rad)." in flash_messages(browser)
    approve = section(browser, "Godkänn versionen")
    assert "Alla rader är bedömda, ingen saknas och Hamburgkriterierna är uppfyllda." in approve.text
    submit_and_wait_for_new_page(
        browser, approve.find_element(By.XPATH, ".//button[normalize-space()='Godkänn versionen']")
    )
    assert "Version 1 är godkänd." in flash_messages(browser)
    assert fact(browser, "Status") == "Godkänd"
    assert fact(browser, "Godkänd").endswith(f"av {LAWYER.name}")
    assert not browser.find_elements(By.ID, "granskning")  # approved: read-only
    insurance = review_row(browser, "Försäkring")
    assert "Tillagt: varje part svarar för sin egen försäkring." in insurance.text
    assert "Hindrar godkännande" not in insurance.text
