"""In a real browser, a month's invoice run (issue #5): finance of Göteborg, which performs family-law
investigations for Härryda and Lerum, creates a run for October 2026 for the agreement, checks the
preview (each line says how it was computed; the totals), approves and issues the run (both behind a
confirmation question), sees the invoice numbers and OCR references, opens an invoice and downloads its
PDF, which carries the invoice number, the OCR reference and the total in sv-SE format.

Set up through the services: the agreement (registry), the contract version with hourly terms
(contracts: created, submitted for review and approved by legal), the performed services (billing:
registered and attested by the performer's finance). The parties get organisation numbers, addresses and
Göteborg a Bankgiro: the Peppol e-invoice, validated at issue, needs them.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from sqlalchemy import select

from billing.services import services as service_services
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
from tests.billing.exports_support import DETAILS, need_pdf_tools, need_rules, pdf_text
from tests.e2e.conftest import WAIT_SECONDS, LiveServer, SeededUser
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

NUMBER = "E2E-FAKTURERING-2026"
TITLE = "Familjerättsutredningar åt Härryda och Lerum"
FINANCE = SeededUser(
    email="fakturering@goteborg.test",
    password=DEMO_PASSWORD,
    name="Frida Fakturerare",
    municipality="Göteborg",
)
REGISTRAR = SeededUser(
    email="avtal-fakturering@goteborg.test",
    password=DEMO_PASSWORD,
    name="Axel Avtal",
    municipality="Göteborg",
)
LAWYER = SeededUser(
    email="jurist-fakturering@goteborg.test",
    password=DEMO_PASSWORD,
    name="Jens Jurist",
    municipality="Göteborg",
)
HOURLY_PRICE = Decimal("1120.00")
# The attested services of October 2026 (hours, registered one by one) and one of November, which an
# October run leaves for the next run.
SERVICES = {
    "Härryda": [(dt.date(2026, 10, 5), "3.5"), (dt.date(2026, 10, 20), "1.1")],  # 3,5 + 1,25 = 4,75 h
    "Lerum": [(dt.date(2026, 10, 12), "2.1")],  # 2,25 h
}
LATER_SERVICE = ("Lerum", dt.date(2026, 11, 3), "1")
# 4,75 h × 1 120,00 kr and 2,25 h × 1 120,00 kr, category O (no VAT): hours, computation, amount.
EXPECTED = {
    "Härryda": ("4,75", "4,75 h × 1 120,00 kr (2 registreringar", "5 320,00 kr"),
    "Lerum": ("2,25", "2,25 h × 1 120,00 kr (1 registrering", "2 520,00 kr"),
}
TOTAL = "7 840,00 kr"


@dataclass(frozen=True)
class BillingSeed:
    finance: SeededUser
    agreement_number: str
    agreement_title: str


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
def billing_seed(live_server: LiveServer) -> BillingSeed:
    """An active agreement with an approved hourly version and attested services (once per backend)."""
    with live_server.app.app_context(), acting_as("test: e2e fakturering"), unit_of_work() as session:
        registrar = _user(session, REGISTRAR, ["admin"])
        lawyer = _user(session, LAWYER, ["legal"])
        finance = _user(session, FINANCE, ["finance"])
        by_name = {
            m.name: m for m in session.scalars(select(Municipality).where(Municipality.name.in_(DETAILS)))
        }
        # The register has no invoicing details yet; the e-invoice needs them (the Bankgiro: the seller's).
        for name, (org_number, bankgiro, street, postal_code, city) in DETAILS.items():
            m = by_name[name]
            m.org_number, m.street_address, m.postal_code, m.city = org_number, street, postal_code, city
            if name == "Göteborg":
                m.bankgiro = bankgiro

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
                time_rounding_minutes=15,
                prices=[ContractPrice(year=2026, amount=HOURLY_PRICE)],
            )
        )
        for party in agreement.buyers:
            version.buyer_terms.append(
                ContractBuyerTerms(municipality_id=party.municipality_id, buyer_reference="Familjerätten")
            )
        session.flush()
        review_services.submit_for_review(session, registrar, version)
        review_services.approve_version(
            session, lawyer, version, override_reason="Granskad utanför systemet (testdata)."
        )

        registered = [
            service_services.register_service(
                session,
                finance,
                {
                    "agreement_id": agreement.id,
                    "service_date": day.isoformat(),
                    "buying_municipality_id": by_name[buyer].id,
                    "service_type_code": "utredning",
                    "quantity": quantity,
                },
            )
            for buyer, day, quantity in [
                *((buyer, day, quantity) for buyer, rows in SERVICES.items() for day, quantity in rows),
                LATER_SERVICE,
            ]
        ]
        service_services.attest_services(session, finance, [s.id for s in registered])
    return BillingSeed(finance=FINANCE, agreement_number=NUMBER, agreement_title=TITLE)


def _plain(text: str) -> str:
    """Amounts are written with no-break spaces ("1\u00a0120,00\u00a0kr"); compare them as plain text."""
    return text.replace("\u00a0", " ")


def preview(driver: WebDriver, buyer: str) -> WebElement:
    """The run page's <article> of the invoice to `buyer`."""
    return driver.find_element(
        By.XPATH,
        f"//article[contains(@class, 'invoice-preview')][h3[contains(normalize-space(), ': {buyer}, avtal')]]",
    )


def total_row(scope: WebElement, label: str) -> str:
    """The amount of the totals row `label` in an invoice's VAT summary."""
    return _plain(
        scope.find_element(
            By.XPATH,
            f".//table[contains(@class, 'vat-summary')]/tfoot/tr[th[normalize-space()='{label}']]/td",
        ).text
    )


def download(driver: WebDriver, link: WebElement, directory: Path) -> Path:
    """Click a download link and return the file the browser saved in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(directory)}
    )
    link.click()
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        done = [p for p in directory.iterdir() if not p.name.endswith(".crdownload")]
        if done and not any(p.name.endswith(".crdownload") for p in directory.iterdir()):
            assert len(done) == 1, [p.name for p in done]
            return done[0]
        time.sleep(0.05)
    raise AssertionError(f"no download in {directory} after {WAIT_SECONDS} s")


def test_finance_runs_a_month_approves_issues_and_downloads_the_invoice_pdf(
    browser: WebDriver, live_server: LiveServer, billing_seed: BillingSeed, tmp_path: Path
) -> None:
    need_pdf_tools()
    need_rules()
    log_in_as(browser, live_server, billing_seed.finance)

    # A new run for October 2026, for the agreement only, computed at once.
    open_from_menu(browser, "Fakturering")
    assert heading(browser) == "Fakturakörningar"
    click_and_wait_for_new_page(browser, browser.find_element(By.LINK_TEXT, "Ny fakturakörning"))
    assert heading(browser) == "Ny fakturakörning"
    form = browser.find_element(By.CSS_SELECTOR, "main form[method=post]")
    choose(control_labelled(form, "Periodtyp"), "Månad")
    type_into(control_labelled(form, "Period"), "2026-10")
    choose(
        control_labelled(form, "Avtal (valfritt)"),
        f"{billing_seed.agreement_number} – {billing_seed.agreement_title}",
    )
    assert control_labelled(form, "Beräkna fakturorna direkt").is_selected()
    submit_and_wait_for_new_page(
        browser, form.find_element(By.XPATH, ".//button[normalize-space()='Skapa fakturakörning']")
    )

    match = re.fullmatch(r"Fakturakörning (\d+): oktober 2026", heading(browser))
    assert match, heading(browser)
    run_id = match[1]
    assert (
        f"Fakturakörning {run_id} för oktober 2026 är beräknad: 2 fakturautkast. Granska dem innan du godkänner."
        in flash_messages(browser)
    )
    assert fact(browser, "Status") == "Förhandsgranskning"
    assert fact(browser, "Period") == "2026-10 (2026-10-01 – 2026-10-31)"
    assert fact(browser, "Avgränsning") == f"Avtal {NUMBER} – {TITLE}"
    assert not browser.find_elements(By.ID, "problem-h")

    # The preview: one draft per buyer, without a number; each line says how it was computed.
    for buyer, (hours, computation, amount) in EXPECTED.items():
        article = preview(browser, buyer)
        assert re.match(
            rf"Utkast \d+: {buyer}, avtal {NUMBER}$", article.find_element(By.TAG_NAME, "h3").text
        )
        assert fact(article, "Köpare") == f"{buyer} – Er referens: Familjerätten"
        assert fact(article, "Momsgrupp") == "O – utanför momsens tillämpningsområde"
        assert fact(article, "Status") == "Utkast"
        [line] = table_rows(article.find_element(By.CSS_SELECTOR, "table.invoice-lines"))
        position, description, how, quantity, unit_price, vat, line_amount = (_plain(cell) for cell in line)
        assert (position, description, vat, line_amount) == ("1", "Utredning 2026 (utredning)", "O", amount)
        assert how.startswith(computation), how
        assert quantity.startswith(f"{hours} "), quantity
        assert "avrundad uppåt till påbörjad 15-minutersperiod" in how
        assert unit_price == "1 120,00 kr"
        assert total_row(article, "Summa rader (netto)") == amount
        assert total_row(article, "Moms") == "0,00 kr"
        assert total_row(article, "Att betala") == amount
    assert _plain(fact(browser, "Summa netto")) == TOTAL
    assert _plain(fact(browser, "Moms")) == "0,00 kr"
    assert _plain(fact(browser, "Att betala totalt")) == TOTAL

    # Approve, then issue: each asks a confirmation question first (accepted by
    # submit_and_wait_for_new_page, which checks the dialog shows the form's question).
    actions = section(browser, "Åtgärder")
    approve = actions.find_element(By.XPATH, ".//button[normalize-space()='Godkänn körningen']")
    assert (
        approve.find_element(By.XPATH, "./ancestor::form[1]")
        .get_attribute("data-confirm")
        .startswith("Godkänna körningens 2 fakturor?")
    )
    submit_and_wait_for_new_page(browser, approve)
    assert "Körningen är godkänd: 2 fakturor väntar på att utfärdas." in flash_messages(browser)
    assert fact(browser, "Status") == "Godkänd"
    actions = section(browser, "Åtgärder")
    assert "Att utfärda kan inte ångras." in actions.text
    issue = actions.find_element(By.XPATH, ".//button[normalize-space()='Utfärda fakturorna']")
    assert (
        issue.find_element(By.XPATH, "./ancestor::form[1]")
        .get_attribute("data-confirm")
        .startswith("Utfärda 2 fakturor nu?")
    )
    submit_and_wait_for_new_page(browser, issue)
    [issued] = [m for m in flash_messages(browser) if "fakturor är utfärdade" in m]
    span = re.fullmatch(r"2 fakturor är utfärdade \((F(\d+))–(F(\d+))\)\.", issued)
    assert span, issued
    assert int(span[4]) == int(span[2]) + 1  # consecutive numbers in the series
    assert fact(browser, "Status") == "Utfärdad"
    assert "Körningen är utfärdad." in section(browser, "Åtgärder").text

    # Each invoice has its number and OCR reference; the numbers are the ones the message gave.
    numbers = {}
    for buyer in EXPECTED:
        article = preview(browser, buyer)
        title = article.find_element(By.TAG_NAME, "h3").text
        number = re.match(rf"Faktura (F\d+): {buyer}, avtal {NUMBER}$", title)
        assert number, title
        ocr = re.fullmatch(r"Utfärdad, OCR (\d+)", fact(article, "Status"))
        assert ocr, fact(article, "Status")
        numbers[buyer] = (number[1], ocr[1])
    assert sorted(n for n, _ in numbers.values()) == sorted([span[1], span[3]])

    # Härryda's invoice: its page, then its PDF.
    number, ocr = numbers["Härryda"]
    hours, _, amount = EXPECTED["Härryda"]
    click_and_wait_for_new_page(
        browser, preview(browser, "Härryda").find_element(By.PARTIAL_LINK_TEXT, number)
    )
    assert heading(browser) == f"Faktura {number}"
    assert fact(browser, "Status") == "Utfärdad"
    assert fact(browser, "Fakturanummer") == number
    assert fact(browser, "OCR-nummer") == ocr
    assert fact(browser, "Köpare") == "Härryda (212000-1371)"
    assert fact(browser, "Bankgiro") == "5050-1097"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", fact(browser, "Fakturadatum"))
    main = browser.find_element(By.TAG_NAME, "main")
    assert total_row(main, "Att betala") == amount

    files = section(browser, "Filer")
    saved = download(browser, files.find_element(By.LINK_TEXT, "Ladda ner PDF"), tmp_path / "nedladdningar")
    assert saved.suffix == ".pdf", saved.name
    pdf = saved.read_bytes()
    text = pdf_text(pdf)
    assert f"Fakturanummer {number}" in text
    assert f"OCR {ocr}" in text
    assert f"Att betala {amount}" in text
    assert hours in text and "1 120,00 kr" in text
    assert "UTKAST" not in pdf_text(pdf, "-layout")  # the issued document, not a draft preview
