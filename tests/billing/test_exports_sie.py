"""SIE 4I: codepage 437, `#FLAGGA 0` first, the identification records, accounts, dimensions and
objects used, one balanced #VER per issued invoice or credit note (parsed back: every voucher sums to
0.00), revenue accounts per service type, the counterparty code, credit notes reversed, Swedish
letters intact; a clear Swedish error naming what to configure when the configuration is missing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.exports import sie
from billing.exports.accounting import AccountingNotConfigured
from billing.models import AccountingSettings, CounterpartyCode, RevenueAccount, RunStatus
from core.errors import ValidationFailed
from tests.billing.exports_support import issue, make_run, set_details


@pytest.fixture
def details(db, municipality):
    set_details(db, municipality)


@pytest.fixture
def agreement(make_agreement, details):
    return make_agreement(number="GR-JAV-2024", title="Jävsärenden i Göteborgsregionen")


@pytest.fixture
def configured(db, municipality):
    """Göteborg's accounts: 1510 / 3041 (default) / 2611, series F, motpart dimension 6, ansvar 1 = 4100;
    resor on 3045; counterparty codes for Härryda and Lerum."""
    goteborg = municipality("Göteborg")
    db.add(
        AccountingSettings(
            municipality_id=goteborg.id,
            receivable_account="1510",
            revenue_account="3041",
            output_vat_account="2611",
            voucher_series="F",
            counterparty_dimension=6,
            counterparty_dimension_name="Motpart åäöÅÄÖé",
            responsibility_dimension=1,
            responsibility_dimension_name="Ansvar",
            responsibility_code="4100",
        )
    )
    db.add(RevenueAccount(municipality_id=goteborg.id, service_type_code="resa", account="3045"))
    for name, code in (("Härryda", "1401"), ("Lerum", "1441")):
        db.add(
            CounterpartyCode(
                municipality_id=goteborg.id, counterparty_municipality_id=municipality(name).id, code=code
            )
        )
    db.commit()
    return goteborg


def issue_without_documents(db, invoice):
    """The SIE file reads the invoice rows only: skip rendering the PDF and XML here."""
    return issue(db, invoice, store=False)


@pytest.fixture
def issued(db, make_invoice, agreement, configured):
    """An O invoice to Härryda (hours and km), an S invoice to Lerum, and a credit note of the first."""
    hours_and_km = make_invoice(
        agreement, buyer="Härryda", lines=[("Utredning", "2.5", "1120.00", "O"), ("Resor", "42", "2.50", "O")]
    )
    hours_and_km.lines[1].service_type_code = "resa"
    db.commit()
    first = issue_without_documents(db, hours_and_km)
    second = issue_without_documents(
        db, make_invoice(agreement, buyer="Lerum", lines=[("Stöd", "3", "333.33", "S")])
    )
    credit = issue_without_documents(
        db,
        make_invoice(
            agreement,
            buyer="Härryda",
            kind="credit_note",
            original=first,
            lines=[("Utredning (kredit)", "-1", "1120.00", "O")],
        ),
    )
    return [first, second, credit]


def vouchers(data: bytes) -> dict[str, list[tuple[str, dict[str, str], Decimal]]]:
    """{#VER text: [(account, {dimension: object}, amount), ...]} parsed back from the file."""
    result = {}
    for ver, transactions in sie.vouchers_in(data):
        rows = []
        for tokens in transactions:
            objects = sie.parse_tokens(tokens[2][1:-1])
            rows.append((tokens[1], dict(zip(objects[::2], objects[1::2], strict=True)), Decimal(tokens[3])))
        result[ver[4]] = rows
    return result


def test_sie_file_is_cp437_flagga_first_and_every_voucher_balances(db, configured, issued):
    data = sie.build_sie(db, configured, issued, generated=dt.date(2026, 11, 3))
    text = data.decode("cp437")
    lines = text.split("\r\n")
    assert lines[0] == "#FLAGGA 0"
    assert lines[1].startswith('#PROGRAM "Samverkan" ')
    assert lines[2:7] == [
        "#FORMAT PC8",
        "#GEN 20261103",
        "#SIETYP 4",
        '#FNAMN "Göteborg"',
        "#ORGNR 212000-1355",
    ]
    assert '#KONTO 1510 "Kundfordringar"' in lines and '#KONTO 2611 "Utgående moms"' in lines
    assert '#KONTO 3041 "Intäkter"' in lines and '#KONTO 3045 "Intäkter resa"' in lines
    assert '#DIM 1 "Ansvar"' in lines and '#DIM 6 "Motpart åäöÅÄÖé"' in lines
    assert '#OBJEKT 6 "1401" "Härryda"' in lines and '#OBJEKT 6 "1441" "Lerum"' in lines
    assert '#OBJEKT 1 "4100" "Ansvar 4100"' in lines
    parsed = sie.vouchers_in(data)
    assert len(parsed) == 3
    for ver, transactions in parsed:
        assert ver[0] == "#VER" and ver[1] == "F"
        total = sum(Decimal(t[3]) for t in transactions)
        assert total == Decimal("0.00"), ver
        for t in transactions:
            assert t[3] == f"{Decimal(t[3]):.2f}"  # a dot and two decimals


def test_vouchers_debit_receivable_and_credit_revenue_and_vat(db, configured, issued):
    first, second, credit = issued
    data = vouchers(sie.build_sie(db, configured, issued))
    assert data[f"Faktura {first.display_number} Härryda GR-JAV-2024"] == [
        ("1510", {"6": "1401"}, Decimal("2905.00")),
        ("3041", {"6": "1401", "1": "4100"}, Decimal("-2800.00")),
        ("3045", {"6": "1401", "1": "4100"}, Decimal("-105.00")),
    ]
    assert data[f"Faktura {second.display_number} Lerum GR-JAV-2024"] == [
        ("1510", {"6": "1441"}, Decimal("1249.99")),
        ("3041", {"6": "1441", "1": "4100"}, Decimal("-999.99")),
        ("2611", {"6": "1441"}, Decimal("-250.00")),
    ]
    # The credit note reverses: credit the receivable, debit the revenue.
    assert data[f"Kreditfaktura {credit.display_number} Härryda GR-JAV-2024"] == [
        ("1510", {"6": "1401"}, Decimal("-1120.00")),
        ("3041", {"6": "1401", "1": "4100"}, Decimal("1120.00")),
    ]
    ver_line = next(
        v for v, _ in sie.vouchers_in(sie.build_sie(db, configured, issued)) if v[2] == str(first.number)
    )
    assert ver_line[3] == "20261102"


def test_swedish_letters_survive_and_the_rest_is_replaced_sensibly(db, configured, issued, agreement):
    agreement.number = "GR-ÅÄÖ-åäö-é “citat” – €"
    db.commit()
    data = sie.build_sie(db, configured, issued)
    text = data.decode("cp437")
    assert "åäöÅÄÖé" in text
    assert 'GR-ÅÄÖ-åäö-é \\"citat\\" - EUR' in text
    assert sie.parse_tokens('#VER "F" "1" 20261102 "a \\"b\\" c"')[4] == 'a "b" c'
    assert sie.to_cp437("Åsa Östlund – Malmö ő €") == "Åsa Östlund - Malmö o EUR"


def test_no_vat_row_without_vat_and_no_dimensions_when_none_are_configured(
    db, municipality, make_invoice, agreement
):
    goteborg = municipality("Göteborg")
    db.add(
        AccountingSettings(
            municipality_id=goteborg.id,
            receivable_account="1510",
            revenue_account="3041",
            output_vat_account="2611",
            voucher_series="KF",
        )
    )
    db.commit()
    invoice = issue_without_documents(db, make_invoice(agreement))
    data = sie.build_sie(db, goteborg, [invoice])
    text = data.decode("cp437")
    assert (
        "#DIM" not in text
        and "#OBJEKT" not in text
        and "#KONTO 2611" not in text
        and "#TRANS 2611" not in text
    )
    assert f'#VER "KF" "{invoice.number}" 20261102' in text
    assert "#TRANS 1510 {} 2800.00" in text and "#TRANS 3041 {} -2800.00" in text


def test_missing_configuration_names_what_to_configure(db, municipality, make_invoice, agreement):
    invoice = issue_without_documents(db, make_invoice(agreement))
    goteborg = municipality("Göteborg")
    with pytest.raises(AccountingNotConfigured) as excinfo:
        sie.build_sie(db, goteborg, [invoice])
    assert "bokföringsinställningarna saknas" in excinfo.value.message
    assert "kundfordringskonto" in excinfo.value.message
    db.add(
        AccountingSettings(
            municipality_id=goteborg.id,
            receivable_account="1510",
            revenue_account="3041",
            output_vat_account="2611",
            voucher_series="F",
            counterparty_dimension=6,
        )
    )
    db.commit()
    with pytest.raises(AccountingNotConfigured) as excinfo:
        sie.build_sie(db, goteborg, [invoice])
    assert "Ange motpartskod för Härryda" in excinfo.value.message
    assert excinfo.value.status_code == 422


def test_drafts_are_not_booked(db, configured, make_invoice, agreement):
    with pytest.raises(ValidationFailed) as excinfo:
        sie.build_sie(db, configured, [make_invoice(agreement)])
    assert "inga utfärdade fakturor" in excinfo.value.message


def test_run_and_period_downloads(db, configured, make_invoice, agreement, municipality, login_as):
    run = make_run(db, municipality, status=RunStatus.APPROVED)
    invoice = issue_without_documents(db, make_invoice(agreement, run=run))
    run.status = RunStatus.ISSUED
    db.commit()
    client = login_as("finance", kommun="Göteborg")
    response = client.get(f"/fakturakorningar/{run.id}/export?format=sie")
    assert response.status_code == 200
    assert response.data.startswith(b"#FLAGGA 0\r\n")
    assert f"fakturakorning_{run.id}_2026-10-01_2026-10-31.SI" in response.headers["Content-Disposition"]
    api = client.get(f"/api/v1/invoice-runs/{run.id}/export?format=sie")
    assert api.status_code == 200 and len(sie.vouchers_in(api.data)) == 1
    period = client.get("/api/v1/invoice-exports?format=sie&from=2026-11-01&to=2026-11-30")
    assert period.status_code == 200 and f'"{invoice.number}"'.encode() in period.data
    page = client.get("/bokforing/export?format=sie&from=2026-11-01&to=2026-11-30")
    assert page.status_code == 200 and page.data == period.data
    empty = client.get("/api/v1/invoice-exports?format=sie&from=2026-01-01&to=2026-01-31")
    assert empty.status_code == 409 and "inga utfärdade fakturor" in empty.get_json()["message"]
    backwards = client.get("/api/v1/invoice-exports?format=sie&from=2026-11-30&to=2026-11-01")
    assert backwards.status_code == 422
    # The buyer's period export holds only what the buyer issued (nothing here).
    buyer = login_as("finance", kommun="Härryda").get(
        "/api/v1/invoice-exports?format=sie&from=2026-11-01&to=2026-11-30"
    )
    assert buyer.status_code == 409


def test_export_without_configuration_is_a_swedish_422(db, make_invoice, agreement, municipality, login_as):
    run = make_run(db, municipality, status=RunStatus.APPROVED)
    issue_without_documents(db, make_invoice(agreement, run=run))
    client = login_as("finance", kommun="Göteborg")
    response = client.get(f"/api/v1/invoice-runs/{run.id}/export?format=sie")
    assert response.status_code == 422
    assert response.get_json()["message"].startswith("SIE-filen kan inte skapas")
    # The page sends finance to where it is fixed, with the message.
    page = client.get(f"/fakturakorningar/{run.id}/export?format=sie")
    assert page.status_code == 302 and page.headers["Location"].endswith("/bokforing#installningar")
    html = client.get("/bokforing").get_data(as_text=True)
    assert "SIE-filen kan inte skapas: bokföringsinställningarna saknas" in html
