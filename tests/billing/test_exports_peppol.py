"""Peppol BIS Billing 3.0: invoices with category O, S 25 % and E lines and a credit note are valid AND
complete under the official rules (../shared/peppol-rules); the fields Swedish receivers need; missing
data is refused before anything is rendered, with a Swedish message naming it; without the rules
nothing is validated, so nothing is issued."""

from __future__ import annotations

import pytest
from lxml import etree
from stdnum import ean

from billing.errors import EInvoiceInvalid
from billing.exports import peppol
from billing.exports.documents import store_issue_documents
from billing.models import InvoiceStatus
from contracts.models import ServiceUnit
from tests.billing.exports_support import need_rules, number_invoice, set_details

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
E_REASON = "Undantag från skatteplikt för social omsorg (3 kap. 7 § mervärdesskattelagen)"


@pytest.fixture
def details(db, municipality):
    set_details(db, municipality)


@pytest.fixture
def agreement(make_agreement, details):
    return make_agreement(number="GR-JAV-2024", title="Jävsärenden i Göteborgsregionen")


def numbered(db, make_invoice, agreement, **kwargs):
    """A draft with number, dates and OCR, as at issue (before the status changes)."""
    return number_invoice(db, make_invoice(agreement, **kwargs))


def xpath(xml: bytes, path: str) -> list:
    return etree.fromstring(xml).xpath(path, namespaces=NS)


def text(xml: bytes, path: str) -> str:
    found = xpath(xml, path)
    assert found, f"{path} saknas"
    return found[0].text if hasattr(found[0], "text") else str(found[0])


def assert_valid(xml: bytes) -> peppol.ValidationResult:
    result = peppol.validate_xml(xml)
    assert result.valid and result.complete, [f"{e['rule']}: {e['message']}" for e in result.errors]
    assert any(layer.startswith("en16931-ubl@") for layer in result.layers_run)
    assert any(layer.startswith("peppol-ubl@") for layer in result.layers_run)
    assert result.ok
    return result


def test_category_o_invoice_is_valid_and_carries_what_swedish_receivers_need(db, make_invoice, agreement):
    need_rules()
    invoice = numbered(db, make_invoice, agreement, lines=[("Utredning", "2.5", "1120.00", "O")])
    xml = peppol.validated_invoice_xml(invoice)
    assert_valid(xml)
    assert etree.fromstring(xml).tag == f"{{{NS['inv']}}}Invoice"
    assert text(xml, "/inv:Invoice/cbc:CustomizationID") == (
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    )
    assert text(xml, "/inv:Invoice/cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert text(xml, "/inv:Invoice/cbc:ID") == invoice.display_number == f"F{invoice.number}"
    assert text(xml, "/inv:Invoice/cbc:IssueDate") == "2026-11-02"
    assert text(xml, "/inv:Invoice/cbc:DueDate") == "2026-12-02"
    assert text(xml, "/inv:Invoice/cbc:InvoiceTypeCode") == "380"
    assert text(xml, "/inv:Invoice/cbc:DocumentCurrencyCode") == "SEK"
    assert text(xml, "/inv:Invoice/cbc:BuyerReference") == "REF-1"
    assert text(xml, "//cac:InvoicePeriod/cbc:StartDate") == "2026-10-01"
    assert text(xml, "//cac:InvoicePeriod/cbc:EndDate") == "2026-10-31"
    assert text(xml, "//cac:ContractDocumentReference/cbc:ID") == "GR-JAV-2024"
    seller = "//cac:AccountingSupplierParty/cac:Party"
    buyer = "//cac:AccountingCustomerParty/cac:Party"
    assert text(xml, f"{seller}/cbc:EndpointID") == "2120001355"
    assert text(xml, f"{seller}/cbc:EndpointID/@schemeID") == "0007"
    assert text(xml, f"{buyer}/cbc:EndpointID") == "2120001371"
    assert text(xml, f"{seller}/cac:PartyLegalEntity/cbc:CompanyID") == "2120001355"
    assert text(xml, f"{buyer}/cac:PostalAddress/cac:Country/cbc:IdentificationCode") == "SE"
    assert text(xml, f"{buyer}/cac:PostalAddress/cbc:CityName") == "Mölnlycke"
    # Outside the scope of VAT: no VAT numbers at all (BR-O-02).
    assert xpath(xml, "//cac:PartyTaxScheme") == []
    assert text(xml, "//cac:PaymentMeans/cbc:PaymentMeansCode") == "30"
    assert text(xml, "//cac:PaymentMeans/cbc:PaymentID") == invoice.ocr
    assert text(xml, "//cac:PayeeFinancialAccount/cbc:ID") == "50501097"
    assert text(xml, "//cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID") == "SE:BANKGIRO"
    assert "30 dagar netto" in text(xml, "//cac:PaymentTerms/cbc:Note")
    assert text(xml, "//cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == "O"
    assert text(xml, "//cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode") == "VATEX-EU-O"
    assert "Myndighetsutövning" in text(xml, "//cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason")
    assert xpath(xml, "//cac:TaxCategory/cbc:Percent") == []
    assert text(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == "2800.00"
    assert text(xml, "//cac:InvoiceLine/cbc:InvoicedQuantity/@unitCode") == "HUR"
    assert text(xml, "//cac:InvoiceLine/cbc:InvoicedQuantity") == "2.50"
    assert text(xml, "//cac:InvoiceLine/cac:Item/cbc:Name") == "Utredning"
    assert text(xml, "//cac:InvoiceLine/cac:Price/cbc:PriceAmount") == "1120.00"


def test_standard_rated_invoice_is_valid_with_vat_numbers(db, make_invoice, agreement):
    need_rules()
    invoice = numbered(
        db,
        make_invoice,
        agreement,
        lines=[("Stödtjänst", "10", "450.00", "S"), ("Material", "3", "33.33", "S")],
    )
    xml = peppol.validated_invoice_xml(invoice)
    assert_valid(xml)
    assert text(xml, "//cac:AccountingSupplierParty//cac:PartyTaxScheme/cbc:CompanyID") == "SE212000135501"
    assert text(xml, "//cac:AccountingCustomerParty//cac:PartyTaxScheme/cbc:CompanyID") == "SE212000137101"
    assert text(xml, "//cac:TaxSubtotal/cbc:TaxableAmount") == "4599.99"
    assert text(xml, "//cac:TaxSubtotal/cbc:TaxAmount") == "1150.00"  # 4 599,99 × 25 % = 1 149,9975
    assert text(xml, "//cac:TaxSubtotal/cac:TaxCategory/cbc:Percent") == "25.00"
    assert text(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == "5749.99"
    assert xpath(xml, "//cbc:TaxExemptionReasonCode") == []


def test_exempt_invoice_is_valid_with_its_reason(db, make_invoice, agreement):
    need_rules()
    invoice = make_invoice(agreement, lines=[("Boendestöd", "12", "640.00", "E")])
    for line in invoice.lines:
        line.vat_exemption_reason_code = None
        line.vat_exemption_reason = E_REASON
        line.unit = ServiceUnit.DAY
    db.commit()
    number_invoice(db, invoice)
    xml = peppol.validated_invoice_xml(invoice)
    assert_valid(xml)
    assert text(xml, "//cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == "E"
    assert text(xml, "//cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason") == E_REASON
    assert text(xml, "//cac:InvoiceLine/cbc:InvoicedQuantity/@unitCode") == "DAY"
    # Exempt is not outside the scope: the seller's VAT number is required (BR-E-02).
    assert text(xml, "//cac:AccountingSupplierParty//cac:PartyTaxScheme/cbc:CompanyID") == "SE212000135501"


def test_credit_note_is_valid_and_refers_to_the_original(db, make_invoice, agreement):
    need_rules()
    original = numbered(db, make_invoice, agreement)
    original.status = InvoiceStatus.ISSUED
    db.commit()
    # As the invoicing part stores it: negative quantities and amounts.
    credit = numbered(
        db,
        make_invoice,
        agreement,
        kind="credit_note",
        original=original,
        lines=[("Utredning (kredit)", "-2.5", "1120.00", "O")],
        credit_reason="Fel antal timmar",
    )
    xml = peppol.validated_invoice_xml(credit)
    assert_valid(xml)
    assert etree.fromstring(xml).tag == f"{{{NS['cn']}}}CreditNote"
    assert text(xml, "/cn:CreditNote/cbc:CreditNoteTypeCode") == "381"
    assert text(xml, "//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == original.display_number
    assert text(xml, "//cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate") == "2026-11-02"
    assert text(xml, "/cn:CreditNote/cbc:Note") == "Fel antal timmar"
    # A UBL credit note carries positive amounts: the type code says it is a credit.
    assert text(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == "2800.00"
    assert text(xml, "//cac:CreditNoteLine/cbc:CreditedQuantity") == "2.50"
    assert xpath(xml, "/cn:CreditNote/cbc:DueDate") == []


def test_credit_note_stored_with_positive_amounts_is_valid_too(db, make_invoice, agreement):
    need_rules()
    original = numbered(db, make_invoice, agreement)
    original.status = InvoiceStatus.ISSUED
    db.commit()
    credit = numbered(db, make_invoice, agreement, kind="credit_note", original=original)
    xml = peppol.validated_invoice_xml(credit)
    assert_valid(xml)
    assert text(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == "2800.00"


def test_units_outlays_period_charges_and_a_negative_line(db, make_invoice, agreement):
    need_rules()
    invoice = make_invoice(
        agreement,
        lines=[
            ("Resor", "42", "2.50", "O"),
            ("Utlägg: tågbiljett", "1", "389.00", "O"),
            ("Fast avgift oktober", "1", "10000.00", "O"),
            ("Ärenden", "3", "4200.50", "O"),
            ("Kostnadstak 2026", "1", "-500.00", "O"),
        ],
    )
    units = [ServiceUnit.KM, ServiceUnit.SEK, ServiceUnit.PERIOD, ServiceUnit.CASE, ServiceUnit.PERIOD]
    for line, unit in zip(invoice.lines, units, strict=True):
        line.unit = unit
    db.commit()
    number_invoice(db, invoice)
    xml = peppol.validated_invoice_xml(invoice)
    assert_valid(xml)
    codes = [q.get("unitCode") for q in xpath(xml, "//cac:InvoiceLine/cbc:InvoicedQuantity")]
    assert codes == ["KMT", "C62", "C62", "C62", "C62"]
    quantities = [q.text for q in xpath(xml, "//cac:InvoiceLine/cbc:InvoicedQuantity")]
    assert quantities == ["42.00", "1.00", "1.00", "3.00", "-1.00"]  # the minus on the quantity (BR-27)
    prices = [p.text for p in xpath(xml, "//cac:InvoiceLine/cac:Price/cbc:PriceAmount")]
    assert prices == ["2.50", "389.00", "10000.00", "4200.50", "500.00"]
    assert text(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == "22595.50"


def test_missing_buyer_reference_uses_the_agreement_number_and_says_why(db, make_invoice, agreement):
    need_rules()
    invoice = numbered(db, make_invoice, agreement, buyer_reference=None)
    xml = peppol.validated_invoice_xml(invoice)
    assert_valid(xml)
    assert text(xml, "/inv:Invoice/cbc:BuyerReference") == "GR-JAV-2024"
    assert b"BT-10" in xml and b"agreement number stands in" in xml


def test_the_municipalitys_peppol_id_is_the_endpoint_when_set(db, make_invoice, agreement, municipality):
    need_rules()
    gln = "735999900000" + ean.calc_check_digit("735999900000")
    municipality("Härryda").peppol_id = f"0088:{gln}"
    db.commit()
    xml = peppol.validated_invoice_xml(numbered(db, make_invoice, agreement))
    assert_valid(xml)
    assert text(xml, "//cac:AccountingCustomerParty/cac:Party/cbc:EndpointID") == gln
    assert text(xml, "//cac:AccountingCustomerParty/cac:Party/cbc:EndpointID/@schemeID") == "0088"
    # The legal entity is still the organisation number.
    assert text(xml, "//cac:AccountingCustomerParty//cac:PartyLegalEntity/cbc:CompanyID") == "2120001371"


def test_seller_without_organisation_number_is_refused_before_issue(
    db, make_invoice, agreement, municipality
):
    municipality("Göteborg").org_number = None
    db.commit()
    invoice = numbered(db, make_invoice, agreement)
    with pytest.raises(EInvoiceInvalid) as excinfo:
        store_issue_documents(db, invoice)
    assert "Säljarens organisationsnummer saknas (Göteborg)" in excinfo.value.message
    assert "seller.org_number" in excinfo.value.errors
    assert excinfo.value.status_code == 409
    with db.no_autoflush:
        assert invoice.documents == []


def test_every_missing_field_is_named(db, make_invoice, agreement, municipality):
    municipality("Härryda").org_number = None
    municipality("Göteborg").bankgiro = None
    db.commit()
    invoice = make_invoice(agreement)  # a draft: no number, dates or OCR
    with pytest.raises(EInvoiceInvalid) as excinfo:
        peppol.build_values(invoice)
    errors = excinfo.value.errors
    assert set(errors) >= {"buyer.org_number", "seller.bankgiro", "number", "issue_date", "due_date", "ocr"}
    assert "Köparens organisationsnummer saknas (Härryda)" in excinfo.value.message
    assert "bankgironummer" in excinfo.value.message


def test_totals_that_do_not_match_the_lines_are_refused(db, make_invoice, agreement):
    invoice = make_invoice(agreement)
    invoice.net_amount += 1
    invoice.total_amount += 1
    db.commit()
    number_invoice(db, invoice)
    with pytest.raises(EInvoiceInvalid) as excinfo:
        peppol.build_values(invoice)
    assert "summor stämmer inte" in excinfo.value.message


def test_a_document_the_rules_reject_is_not_valid_and_lists_the_rules(db, make_invoice, agreement):
    need_rules()
    values = peppol.build_values(numbered(db, make_invoice, agreement))
    values.seller.vat_number = "SE212000135501"  # a VAT number on an invoice outside the scope of VAT
    xml = peppol.render_xml(values)
    with pytest.raises(EInvoiceInvalid) as excinfo:
        peppol.check_valid(xml, "F1")
    assert "BR-O-02" in excinfo.value.errors
    assert excinfo.value.message.startswith("E-fakturan F1 uppfyller inte Peppol-reglerna")


def test_without_the_rules_nothing_is_issued(app, db, make_invoice, agreement, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "PEPPOL_RULES_DIR", str(tmp_path))
    invoice = numbered(db, make_invoice, agreement)
    with app.app_context():
        assert not peppol.rules_available()
        with pytest.raises(peppol.PeppolRulesUnavailable) as excinfo:
            store_issue_documents(db, invoice)
    assert excinfo.value.status_code == 503
    assert isinstance(excinfo.value, EInvoiceInvalid)
    assert "Peppol-reglerna" in excinfo.value.message and "saknas" in excinfo.value.message
    with db.no_autoflush:
        assert invoice.documents == []


def test_rules_dir_default_and_environment(app, monkeypatch, tmp_path):
    monkeypatch.delenv("PEPPOL_RULES_DIR", raising=False)
    assert peppol.rules_dir().parts[-2:] == ("shared", "peppol-rules")
    monkeypatch.setenv("PEPPOL_RULES_DIR", str(tmp_path))
    assert peppol.rules_dir() == tmp_path
