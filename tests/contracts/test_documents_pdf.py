"""The contract as a PDF: the parties, the prices in sv-SE format and every term, read back from the PDF
with pdftotext; UTKAST on drafts and versions in review, never on an approved version; the download
name; a clear 503 without wkhtmltopdf; non-parties get 404."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from decimal import Decimal
from html import unescape

import pytest
from flask_login import login_user
from pypdf import PdfReader

from contracts.documents import render
from contracts.models import (
    CeilingPer,
    CompensationComponent,
    CompensationModel,
    ContractFixedShare,
    ContractPrice,
    ContractServiceType,
    ContractVersionDocument,
    DocumentKind,
    FeePeriod,
    PersonalDataRole,
    ServiceUnit,
    ShareBasis,
    UsageMeasure,
    VatCategory,
    VersionStatus,
)
from registry.models import AgreementAttachment, Executor, SharedRole, SharedRoleAllocation
from tests.support import IN_CI

D = dt.date
ORG = {"Göteborg": "212000-1355", "Härryda": "212000-1421", "Lerum": "212000-1504"}


def _need_pdf_tools():
    for program, package in (("wkhtmltopdf", "wkhtmltopdf"), ("pdftotext", "poppler-utils")):
        if shutil.which(program) is None:
            if IN_CI:
                pytest.fail(f"{program} saknas: make test ska installera Debian-paketet {package}")
            pytest.skip(f"{program} saknas (sudo apt-get install {package})")


def pdf_text(pdf: bytes, *options: str) -> str:
    """The PDF's text as pdftotext reads it, with every run of whitespace (also no-break spaces) one
    space. Diagonal text (the UTKAST watermark) is left out unless asked for: it comes out as loose
    letters between the lines."""
    assert pdf.startswith(b"%PDF")
    options = options or ("-nodiag",)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *options, "-", "-"], input=pdf, capture_output=True, check=True
    )
    return " ".join(out.stdout.decode("utf-8").replace("\u00a0", " ").split())


def watermark_letters_per_page(pdf: bytes) -> list[int]:
    """How many loose letters of the diagonal UTKAST watermark each page has."""
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    counts = []
    for page in range(1, pages + 1):
        both = pdf_text(pdf, "-f", str(page), "-l", str(page)).split()
        straight = pdf_text(pdf, "-nodiag", "-f", str(page), "-l", str(page)).split()
        counts.append(
            sum(w in "UTKAST" and len(w) == 1 for w in both)
            - sum(w in "UTKAST" and len(w) == 1 for w in straight)
        )
    return counts


@pytest.fixture
def parties_with_details(db, municipality):
    """Organisation numbers on the three municipalities (rolled back with the test)."""
    for name, org in ORG.items():
        municipality(name).org_number = org
    db.commit()


@pytest.fixture
def agreement(make_agreement, parties_with_details, db):
    agreement = make_agreement(
        host="Göteborg",
        buyers=("Härryda", "Lerum"),
        number="GR-JAV-2024",
        title="Jävsärenden i Göteborgsregionen",
        legal_basis="KL 9 kap. 37 §",
    )
    for party in agreement.parties:
        name = party.municipality.name
        party.board = f"Socialnämnden i {name}"
        party.contact_name = f"Kontakt {name}"
        party.decision_reference = f"SN § {len(name)}"
        party.decision_date = D(2023, 11, 20)
    db.commit()
    return agreement


@pytest.fixture
def as_user(app, make_user):
    """Render inside a request with a signed-in user (the template reads no user, but url_for needs a request)."""

    def _enter(user=None):
        user = user or make_user(roles=("legal",), kommun="Göteborg")
        ctx = app.test_request_context("/")
        ctx.push()
        login_user(user)
        return ctx

    return _enter


def html_of(db, version, as_user) -> str:
    """The contract's HTML as text: tags removed, entities resolved, whitespace collapsed."""
    ctx = as_user()
    try:
        html = render.render_contract_html(db, version)
    finally:
        ctx.pop()
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).replace("\u00a0", " ").split())


# --- The PDF --------------------------------------------------------------------------------------


def test_draft_pdf_has_parties_prices_and_terms_and_says_utkast(login_as, agreement, make_version):
    _need_pdf_tools()
    version = make_version(agreement, status="draft", executor=Executor.PERFORMING)
    response = login_as("caseworker", kommun="Härryda").get(f"/avtalsversioner/{version.id}/avtal.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "UTKAST" in text
    assert "Samverkansavtal" in text and "GR-JAV-2024" in text
    for name, org in ORG.items():
        assert name in text
        assert org in text
        assert f"Socialnämnden i {name}" in text
    assert "Utförare: Göteborg" in text and "Köpare: Härryda" in text and "Köpare: Lerum" in text
    assert "SN § 7, 2023-11-20" in text  # Härryda's decision reference and date
    # Prices per year in sv-SE format, mileage, outlays, rounding and indexation.
    for price in ("1 050,00 kr", "1 085,00 kr", "1 120,00 kr", "2,50 kr"):
        assert price in text
    assert "påbörjade 15-minutersperiod" in text
    assert "självkostnad, utan påslag" in text
    assert "OPI – omsorgsprisindex (SKR), utgåva OPI oktober" in text
    assert "2025-01-01" in text
    # Invoicing: buyer references, payment terms, VAT with its exemption reason.
    assert "REF-1401" in text and "REF-1441" in text
    assert "30 dagar netto" in text
    assert "VATEX-EU-O" in text
    assert "Verkställighet av beslut: den utförande kommunen" in text
    # Term and notice from the registry.
    assert "till och med 2026-12-31" in text
    assert "12 månader i taget" in text and "senast 6 månader före" in text
    # One signature block per party.
    assert text.count("Namnförtydligande") == 3
    assert "För Lerum Socialnämnden i Lerum Ort och datum" in text
    # The watermark: a whole diagonal UTKAST on every page, not only the first.
    marks = watermark_letters_per_page(response.data)
    assert len(marks) >= 2 and all(count >= 6 for count in marks)


def test_version_in_review_is_utkast_too(login_as, agreement, make_version):
    _need_pdf_tools()
    version = make_version(agreement, status="in_review")
    text = pdf_text(login_as("legal", kommun="Göteborg").get(f"/avtalsversioner/{version.id}/avtal.pdf").data)
    assert "UTKAST" in text
    assert "under juridisk granskning" in text


def test_approved_pdf_is_not_marked_utkast(login_as, agreement, make_version):
    _need_pdf_tools()
    version = make_version(agreement, status="approved")
    response = login_as("finance", kommun="Lerum").api("get", f"/api/v1/contract-versions/{version.id}/pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "UTKAST" not in text and "utkast" not in text.lower()
    assert "UTKAST" not in pdf_text(response.data, "-raw")  # no watermark either
    assert set(watermark_letters_per_page(response.data)) == {0}
    assert "1 050,00 kr" in text and "212000-1355" in text
    assert "godkänd efter juridisk granskning" in text


def test_pdf_download_name(login_as, agreement, make_version):
    _need_pdf_tools()
    approved = make_version(agreement, status="approved", number=1)
    draft = make_version(agreement, status="draft", number=2, effective_from=D(2025, 1, 1))
    client = login_as("caseworker", kommun="Härryda")
    disposition = client.get(f"/avtalsversioner/{approved.id}/avtal.pdf").headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "GR-JAV-2024_version-1.pdf" in disposition
    draft_disposition = client.get(f"/avtalsversioner/{draft.id}/avtal.pdf").headers["Content-Disposition"]
    assert "GR-JAV-2024_version-2_utkast.pdf" in draft_disposition


def test_pdf_filename_is_ascii(make_agreement, make_version):
    version = make_version(make_agreement(number="Familjerätt/Sjuhärad 2025"), status="approved", number=1)
    assert render.pdf_filename(version) == "Familjeratt-Sjuharad-2025_version-1.pdf"


def test_missing_wkhtmltopdf_is_503_not_500(app, login_as, agreement, make_version, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "WKHTMLTOPDF", str(tmp_path / "saknas"))
    version = make_version(agreement)
    client = login_as("legal", kommun="Göteborg")
    page = client.get(f"/avtalsversioner/{version.id}/avtal.pdf")
    assert page.status_code == 503
    assert "wkhtmltopdf saknas" in page.get_data(as_text=True)
    api = client.api("get", f"/api/v1/contract-versions/{version.id}/pdf")
    assert api.status_code == 503
    assert api.get_json()["message"].startswith("PDF kan inte skapas")


def test_non_party_gets_404_for_the_pdf(login_as, agreement, make_version):
    version = make_version(agreement, status="approved")
    outsider = login_as("legal", kommun="Malmö")
    assert outsider.get(f"/avtalsversioner/{version.id}/avtal.pdf").status_code == 404
    assert outsider.api("get", f"/api/v1/contract-versions/{version.id}/pdf").status_code == 404


# --- What the document says (HTML, no wkhtmltopdf needed) ----------------------------------------------


def _service_type(version, code="tjanst", unit=ServiceUnit.PERIOD, category=VatCategory.O):
    st = ContractServiceType(
        code=code,
        name=f"Tjänst {code}",
        unit=unit,
        vat_category=category,
        vat_rate=Decimal("25") if category == VatCategory.S else Decimal("0"),
        vat_exemption_reason_code="VATEX-EU-O" if category == VatCategory.O else None,
        vat_exemption_reason=None if category == VatCategory.S else "Myndighetsutövning",
    )
    version.service_types.append(st)
    return st


def test_every_compensation_model_is_described(db, agreement, make_version, municipality, as_user):
    version = make_version(
        agreement,
        terms=False,
        cost_cap_amount=Decimal("250000.00"),
        invoice_series="GRJ",
        payment_terms_days=20,
        personal_data_role=PersonalDataRole.PROCESSOR,
    )
    role = SharedRole(
        agreement=agreement,
        title="Gemensam socialchef",
        employer=municipality("Göteborg"),
        period_start=D(2024, 1, 1),
        salary_per_month=Decimal("75000.00"),
        po_percent=Decimal("31.42"),
        overhead_per_month=Decimal("5000.00"),
        allocations=[
            SharedRoleAllocation(valid_from=D(2023, 1, 1), municipality=municipality("Göteborg"), percent=50),
            SharedRoleAllocation(valid_from=D(2023, 1, 1), municipality=municipality("Härryda"), percent=50),
            SharedRoleAllocation(valid_from=D(2024, 1, 1), municipality=municipality("Göteborg"), percent=40),
            SharedRoleAllocation(valid_from=D(2024, 1, 1), municipality=municipality("Härryda"), percent=35),
            SharedRoleAllocation(valid_from=D(2024, 1, 1), municipality=municipality("Lerum"), percent=25),
        ],
    )
    db.add(role)
    fee = _service_type(version, "avgift")
    cases = _service_type(version, "arende", ServiceUnit.CASE, VatCategory.S)
    version.components = [
        CompensationComponent(
            position=1,
            model=CompensationModel.FIXED_FEE,
            service_type=fee,
            fee_period=FeePeriod.QUARTERLY,
            in_advance=True,
            prices=[ContractPrice(year=2024, amount=Decimal("120000.00"))],
        ),
        CompensationComponent(
            position=2,
            model=CompensationModel.PER_CASE,
            service_type=cases,
            buyer_municipality_id=municipality("Lerum").id,
            ceiling_hours=Decimal("10"),
            ceiling_per=CeilingPer.CASE,
            prices=[
                ContractPrice(year=2024, case_type="Adoptionsutredning", amount=Decimal("18500.00")),
                ContractPrice(year=2024, case_type="Faderskap", amount=Decimal("4200.50")),
            ],
        ),
        CompensationComponent(
            position=3,
            model=CompensationModel.POPULATION_SHARE,
            service_type=fee,
            population_ref_month=11,
            population_ref_day=1,
            population_ref_year_offset=-1,
            equal_split_percent=Decimal("20"),
            include_host=False,
            prices=[ContractPrice(year=2024, amount=Decimal("1000000.00"))],
        ),
        CompensationComponent(
            position=4, model=CompensationModel.USAGE_SHARE, service_type=fee, usage_measure=UsageMeasure.DAYS
        ),
        CompensationComponent(
            position=5, model=CompensationModel.SHARED_ROLE, service_type=fee, shared_role=role
        ),
        CompensationComponent(
            position=6,
            model=CompensationModel.PRELIMINARY,
            service_type=fee,
            share_basis=ShareBasis.FIXED,
            reconciliation_deadline_month=3,
            reconciliation_deadline_day=31,
            reconciliation_threshold=Decimal("500.00"),
            fixed_shares=[
                ContractFixedShare(municipality_id=municipality("Härryda").id, percent=Decimal("60")),
                ContractFixedShare(municipality_id=municipality("Lerum").id, percent=Decimal("40")),
            ],
        ),
    ]
    db.commit()
    html = html_of(db, version, as_user)
    assert "kvartalsvis med en fjärdedel av avgiften i förskott" in html
    assert "120 000,00 kr" in html
    assert "Adoptionsutredning" in html and "18 500,00 kr" in html and "4 200,50 kr" in html
    assert "Gäller Lerum." in html
    assert "Endast timmar över 10 timmar per ärende" in html
    assert "SCB den 1 november året före debiteringsåret" in html
    assert "20 % av kostnaden fördelas lika mellan parterna och 80 % efter invånarantal" in html
    assert "Utföraren ingår inte i fördelningen" in html
    assert "mätt som antal dygn" in html
    assert "Gemensam socialchef (anställd av Göteborg)" in html
    assert "Kostnadsfördelning från 2024-01-01" in html and "2023-01-01" not in html  # the set in force
    assert "35,00 %" in html
    assert "senast den 31 mars året efter" in html
    assert "Skillnader under 500,00 kr" in html
    assert "60,00 %" in html
    assert "högst 250 000,00 kr per köpare och kalenderår" in html
    assert "fakturaserie GRJ" in html and "20 dagar netto" in html
    assert "Momspliktig, 25 %" in html
    assert "Milersättning debiteras inte." in html and "Utlägg debiteras inte." in html
    assert "Priserna indexeras inte" in html
    assert "Personuppgiftsbiträdesavtal ska bifogas men är inte bifogat" in html


def test_appendices_and_changed_term(db, agreement, make_version, as_user):
    v1 = make_version(agreement, status="approved", number=1)
    v2 = make_version(
        agreement,
        number=2,
        effective_from=D(2025, 1, 1),
        changes_term=True,
        term_end_date=D(2028, 12, 31),
        term_renewal_months=24,
        term_notice_months=9,
        personal_data_role=PersonalDataRole.PROCESSOR,
        change_summary="Avtalstiden förlängs till 2028.",
    )
    pub = AgreementAttachment(
        agreement=agreement,
        filename="PUB-avtal.pdf",
        media_type="application/pdf",
        size_bytes=9,
        sha256="ab" * 32,
        content=b"%PDF-1.4\n",
    )
    db.add(pub)
    v2.documents.append(ContractVersionDocument(attachment=pub, kind=DocumentKind.PUB_AGREEMENT))
    db.commit()
    html = html_of(db, v2, as_user)
    assert "till och med 2028-12-31" in html and "24 månader i taget" in html and "senast 9 månader" in html
    assert "Denna version ändrar avtalstiden." in html
    assert "Avtalstiden förlängs till 2028." in html
    assert "Personuppgiftsbiträdesavtalet är en bilaga" in html
    assert "PUB-avtal.pdf" in html and "ab" * 32 in html
    assert "tilläggsavtal" in html
    # An earlier version still shows the registry's term.
    assert v1.status == VersionStatus.APPROVED
    assert "till och med 2026-12-31" in html_of(db, v1, as_user)
