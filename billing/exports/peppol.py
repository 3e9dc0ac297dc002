"""Peppol BIS Billing 3.0: the UBL 2.1 Invoice or CreditNote of an invoice, built in four steps
(ARCHITECTURE.md): build the values, check the required fields (a Swedish message naming what is
missing), render with lxml, validate with the official rules.

Validation runs the CEN EN 16931 and OpenPeppol BIS 3 Schematron (with the Swedish rules SE-R-001..013)
through the `eu-einvoice` package's Python API, with the compiled rules from `PEPPOL_RULES_DIR` (app
config or environment; default `../shared/peppol-rules` beside the project). Only a result that is both
"valid" and "complete" (both rule layers ran) counts: without the rules nothing is issued.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from flask import current_app, has_app_context
from lxml import etree
from stdnum.se import orgnr

from billing.errors import EInvoiceInvalid
from billing.exports.common import ZERO, buyer_sign, digits, is_credit_note, vat_breakdown
from billing.models import Invoice
from contracts.models import ServiceUnit, VatCategory
from core.formatting import format_date, round_money
from core.models import Municipality

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
INVOICE_TYPE_CODE = "380"  # commercial invoice
CREDIT_NOTE_TYPE_CODE = "381"
PAYMENT_MEANS_CREDIT_TRANSFER = "30"  # SE-R-012: domestic credit transfer (Bankgiro)
BANKGIRO_BRANCH = "SE:BANKGIRO"  # SE-R-007..009: the Bankgiro account as PayeeFinancialAccount
ORG_NUMBER_SCHEME = "0007"  # Swedish organisation number (SE-R-013: ten digits, Luhn valid)
MEDIA_TYPE = "application/xml"

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CAC = "{" + NS["cac"] + "}"
CBC = "{" + NS["cbc"] + "}"

# UN/ECE Recommendation 20 unit codes. Outlays in kronor and period charges are one piece (C62) at
# the amount, so quantity x price stays the line amount.
UNIT_CODES = {
    ServiceUnit.HOUR: "HUR",
    ServiceUnit.CASE: "C62",
    ServiceUnit.DAY: "DAY",
    ServiceUnit.KM: "KMT",
    ServiceUnit.SEK: "C62",
    ServiceUnit.PERIOD: "C62",
}
AMOUNT_AS_ONE_PIECE = frozenset({ServiceUnit.SEK, ServiceUnit.PERIOD})

DEFAULT_RULES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "peppol-rules"
RULE_LAYERS = ("en16931-ubl", "peppol-ubl")


class PeppolRulesUnavailable(EInvoiceInvalid):
    """The official rules are not on this server: nothing can be validated, so nothing is issued."""

    status_code = 503
    code = "peppol_rules_unavailable"
    default_message = (
        "E-fakturan kan inte kontrolleras: Peppol-reglerna (CEN EN 16931 och Peppol BIS Billing 3.0) saknas "
        "på servern. Fakturan utfärdades inte. Be driften lägga reglerna i mappen som PEPPOL_RULES_DIR pekar "
        "på."
    )


# --- Values ---------------------------------------------------------------------------------------


@dataclass
class PartyValues:
    name: str
    org_number: str  # ten digits
    endpoint_scheme: str
    endpoint_id: str
    vat_number: str | None  # SE + ten digits + 01, only on documents with VAT categories other than O
    street: str | None
    postal_code: str | None
    city: str | None
    email: str | None = None


@dataclass
class LineValues:
    id: str
    name: str
    description: str
    quantity: Decimal
    unit_code: str
    price: Decimal
    amount: Decimal
    category: VatCategory
    rate: Decimal


@dataclass
class SubtotalValues:
    category: VatCategory
    rate: Decimal
    taxable: Decimal
    tax: Decimal
    exemption_code: str | None
    exemption_reason: str | None


@dataclass
class DocumentValues:
    credit_note: bool
    id: str
    issue_date: dt.date
    due_date: dt.date | None
    buyer_reference: str
    buyer_reference_is_agreement: bool
    period_start: dt.date
    period_end: dt.date
    contract_number: str
    preceding_id: str | None
    preceding_issue_date: dt.date | None
    note: str | None
    seller: PartyValues
    buyer: PartyValues
    bankgiro: str | None
    payment_id: str | None
    payment_terms: str
    subtotals: list[SubtotalValues]
    net: Decimal
    vat: Decimal
    total: Decimal
    lines: list[LineValues] = field(default_factory=list)
    currency: str = "SEK"


def _org_digits(municipality: Municipality) -> str | None:
    number = digits(municipality.org_number)
    return number if len(number) == 10 and orgnr.is_valid(number) else None


def _party(
    municipality: Municipality, role: str, with_vat: bool, missing: dict[str, list[str]]
) -> PartyValues:
    number = _org_digits(municipality)
    if number is None:
        what = "saknas" if not municipality.org_number else "är ogiltigt"
        missing[f"{role}.org_number"] = [
            f"{'Säljarens' if role == 'seller' else 'Köparens'} organisationsnummer {what} "
            f"({municipality.name}). Fyll i det i kommunregistret."
        ]
        number = ""
    endpoint = municipality.peppol_id or (f"{ORG_NUMBER_SCHEME}:{number}" if number else "")
    scheme, _, ident = endpoint.partition(":")
    return PartyValues(
        name=municipality.name,
        org_number=number,
        endpoint_scheme=scheme,
        endpoint_id=ident,
        vat_number=f"SE{number}01" if with_vat and number else None,
        street=municipality.street_address,
        postal_code=municipality.postal_code,
        city=municipality.city,
        email=municipality.invoice_email,
    )


def _line_values(line, sign: int) -> LineValues:
    quantity = Decimal(line.quantity) * sign
    price = Decimal(line.unit_price)
    amount = Decimal(line.amount) * sign
    if line.unit in AMOUNT_AS_ONE_PIECE and round_money(quantity * price) == amount:
        quantity, price = Decimal(1), amount
    # BR-27: the item price is never negative; a negative line (a cost cap, a credited outlay) carries
    # the minus on the quantity.
    if price < 0:
        quantity, price = -quantity, -price
    return LineValues(
        id=str(line.position),
        name=line.description,
        description=line.computation,
        quantity=quantity,
        unit_code=UNIT_CODES[line.unit],
        price=price,
        amount=amount,
        category=line.vat_category,
        rate=Decimal(line.vat_rate),
    )


def build_values(invoice: Invoice) -> DocumentValues:
    """The document's values, or EInvoiceInvalid listing in Swedish everything that is missing."""
    missing: dict[str, list[str]] = {}
    credit = is_credit_note(invoice)
    # UBL carries a credit note's amounts positive (the type code says it is a credit); an invoice's
    # amounts are what the buyer owes.
    sign = buyer_sign(invoice) * (-1 if credit else 1)
    with_vat = any(line.vat_category != VatCategory.O for line in invoice.lines)
    seller = _party(invoice.seller, "seller", with_vat, missing)
    buyer = _party(invoice.buyer, "buyer", with_vat, missing)
    if not invoice.lines:
        missing["lines"] = ["Fakturan har inga rader."]
    if invoice.number is None or invoice.series is None:
        missing["number"] = ["Fakturanummer saknas: e-fakturan skapas när fakturan utfärdas."]
    if invoice.issue_date is None:
        missing["issue_date"] = ["Fakturadatum saknas."]
    bankgiro = digits(invoice.seller.bankgiro)
    if not credit:
        if invoice.due_date is None:
            missing["due_date"] = ["Förfallodatum saknas."]
        if not invoice.ocr:
            missing["ocr"] = ["OCR-referens saknas."]
        if len(bankgiro) not in (7, 8):
            missing["seller.bankgiro"] = [
                f"Säljarens bankgironummer saknas eller är ogiltigt ({invoice.seller.name}). "
                "Fyll i det i kommunregistret."
            ]
    preceding = invoice.original if credit else None
    if credit and (preceding is None or preceding.display_number is None):
        missing["original"] = ["Kreditfakturan måste hänvisa till en utfärdad originalfaktura."]
    breakdown = vat_breakdown(invoice.lines, sign)
    net = sum((row.taxable for row in breakdown), ZERO)
    vat = sum((row.vat for row in breakdown), ZERO)
    stored_sign = buyer_sign(invoice) * (-1 if credit else 1)
    stored = (
        Decimal(invoice.net_amount) * stored_sign,
        Decimal(invoice.vat_amount) * stored_sign,
        Decimal(invoice.total_amount) * stored_sign,
    )
    if invoice.lines and stored != (net, vat, net + vat):
        missing["totals"] = [
            "Fakturans summor stämmer inte med raderna (netto, moms per momssats och total). "
            "Räkna om fakturan innan den utfärdas."
        ]
    for category in {row.category for row in breakdown if row.category != VatCategory.S}:
        if not any(row.exemption_reason for row in breakdown if row.category == category):
            missing[f"vat_{category.value}"] = [
                f"Momskategori {category.value} saknar skäl för undantag från moms. Ange skälet för "
                "tjänstetypen i avtalsvillkoren."
            ]
    if missing:
        raise EInvoiceInvalid(
            "E-fakturan kan inte skapas: uppgifter saknas. "
            + " ".join(m for ms in missing.values() for m in ms),
            errors=missing,
        )
    agreement = invoice.agreement
    days = invoice.payment_terms_days
    if credit:
        terms = f"Kreditering av faktura {preceding.display_number}."
    else:
        terms = f"{days} dagar netto. Betala till bankgiro {invoice.seller.bankgiro} med OCR {invoice.ocr}."
    note = None
    if credit and invoice.credit_reason:
        note = invoice.credit_reason
    elif invoice.note:
        note = invoice.note
    return DocumentValues(
        credit_note=credit,
        id=invoice.display_number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        buyer_reference=invoice.buyer_reference or agreement.number,
        buyer_reference_is_agreement=not invoice.buyer_reference,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        contract_number=agreement.number,
        preceding_id=preceding.display_number if preceding is not None else None,
        preceding_issue_date=preceding.issue_date if preceding is not None else None,
        note=note,
        seller=seller,
        buyer=buyer,
        bankgiro=bankgiro or None,
        payment_id=invoice.ocr,
        payment_terms=terms,
        subtotals=[
            SubtotalValues(r.category, r.rate, r.taxable, r.vat, r.exemption_code, r.exemption_reason)
            for r in breakdown
        ],
        net=net,
        vat=vat,
        total=net + vat,
        lines=[_line_values(line, sign) for line in invoice.lines],
        currency=invoice.currency or "SEK",
    )


# --- Rendering ------------------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return f"{round_money(value):f}"


def _decimal(value: Decimal) -> str:
    """A quantity or price without trailing zeros beyond two decimals: 2.5000 -> 2.50, 1120.0000 -> 1120.00."""
    value = Decimal(value).normalize()
    if value.as_tuple().exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}"


def _sub(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, (CAC if prefix == "cac" else CBC) + name, attrs)
    if text is not None:
        element.text = text
    return element


def _party_xml(parent, tag: str, party: PartyValues) -> None:
    wrapper = _sub(parent, tag)
    p = _sub(wrapper, "cac:Party")
    _sub(p, "cbc:EndpointID", party.endpoint_id, schemeID=party.endpoint_scheme)
    name = _sub(p, "cac:PartyName")
    _sub(name, "cbc:Name", party.name)
    address = _sub(p, "cac:PostalAddress")
    if party.street:
        _sub(address, "cbc:StreetName", party.street)
    if party.city:
        _sub(address, "cbc:CityName", party.city)
    if party.postal_code:
        _sub(address, "cbc:PostalZone", party.postal_code)
    _sub(_sub(address, "cac:Country"), "cbc:IdentificationCode", "SE")
    if party.vat_number:
        tax = _sub(p, "cac:PartyTaxScheme")
        _sub(tax, "cbc:CompanyID", party.vat_number)
        _sub(_sub(tax, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _sub(p, "cac:PartyLegalEntity")
    _sub(legal, "cbc:RegistrationName", party.name)
    _sub(legal, "cbc:CompanyID", party.org_number, schemeID=ORG_NUMBER_SCHEME)
    if party.email:
        _sub(_sub(p, "cac:Contact"), "cbc:ElectronicMail", party.email)


def _tax_category(parent, tag: str, category: VatCategory, rate: Decimal) -> etree._Element:
    element = _sub(parent, tag)
    _sub(element, "cbc:ID", category.value)
    if category != VatCategory.O:  # BR-O-05/BR-O-10: no rate at all outside the scope of VAT
        _sub(element, "cbc:Percent", _decimal(rate))
    return element


def render_xml(values: DocumentValues) -> bytes:
    """The UBL document as UTF-8 bytes with an XML declaration."""
    credit = values.credit_note
    root_ns = NS["cn"] if credit else NS["inv"]
    root = etree.Element(
        f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: root_ns, "cac": NS["cac"], "cbc": NS["cbc"]},
    )
    cur = {"currencyID": values.currency}
    _sub(root, "cbc:CustomizationID", CUSTOMIZATION_ID)
    _sub(root, "cbc:ProfileID", PROFILE_ID)
    _sub(root, "cbc:ID", values.id)
    _sub(root, "cbc:IssueDate", format_date(values.issue_date))
    if not credit and values.due_date is not None:
        _sub(root, "cbc:DueDate", format_date(values.due_date))
    _sub(
        root,
        "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode",
        CREDIT_NOTE_TYPE_CODE if credit else INVOICE_TYPE_CODE,
    )
    if values.note:
        _sub(root, "cbc:Note", values.note)
    _sub(root, "cbc:DocumentCurrencyCode", values.currency)
    if values.buyer_reference_is_agreement:
        root.append(
            etree.Comment(
                " BT-10: the buyer gave no reference (Er referens); the agreement number stands in so the "
                "document stays valid (PEPPOL-EN16931-R003) and the buyer can still route it. "
            )
        )
    _sub(root, "cbc:BuyerReference", values.buyer_reference)
    period = _sub(root, "cac:InvoicePeriod")
    _sub(period, "cbc:StartDate", format_date(values.period_start))
    _sub(period, "cbc:EndDate", format_date(values.period_end))
    if values.preceding_id:
        reference = _sub(_sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _sub(reference, "cbc:ID", values.preceding_id)
        if values.preceding_issue_date:
            _sub(reference, "cbc:IssueDate", format_date(values.preceding_issue_date))
    _sub(_sub(root, "cac:ContractDocumentReference"), "cbc:ID", values.contract_number)
    _party_xml(root, "cac:AccountingSupplierParty", values.seller)
    _party_xml(root, "cac:AccountingCustomerParty", values.buyer)
    if not credit and values.bankgiro:
        means = _sub(root, "cac:PaymentMeans")
        _sub(means, "cbc:PaymentMeansCode", PAYMENT_MEANS_CREDIT_TRANSFER, name="Credit transfer")
        if values.payment_id:
            _sub(means, "cbc:PaymentID", values.payment_id)
        account = _sub(means, "cac:PayeeFinancialAccount")
        _sub(account, "cbc:ID", values.bankgiro)
        _sub(_sub(account, "cac:FinancialInstitutionBranch"), "cbc:ID", BANKGIRO_BRANCH)
    _sub(_sub(root, "cac:PaymentTerms"), "cbc:Note", values.payment_terms)
    tax_total = _sub(root, "cac:TaxTotal")
    _sub(tax_total, "cbc:TaxAmount", _money(values.vat), **cur)
    for sub in values.subtotals:
        subtotal = _sub(tax_total, "cac:TaxSubtotal")
        _sub(subtotal, "cbc:TaxableAmount", _money(sub.taxable), **cur)
        _sub(subtotal, "cbc:TaxAmount", _money(sub.tax), **cur)
        category = _tax_category(subtotal, "cac:TaxCategory", sub.category, sub.rate)
        if sub.category != VatCategory.S:
            code = sub.exemption_code or ("VATEX-EU-O" if sub.category == VatCategory.O else None)
            if code:
                _sub(category, "cbc:TaxExemptionReasonCode", code)
            if sub.exemption_reason:
                _sub(category, "cbc:TaxExemptionReason", sub.exemption_reason)
        _sub(_sub(category, "cac:TaxScheme"), "cbc:ID", "VAT")
    totals = _sub(root, "cac:LegalMonetaryTotal")
    _sub(totals, "cbc:LineExtensionAmount", _money(values.net), **cur)
    _sub(totals, "cbc:TaxExclusiveAmount", _money(values.net), **cur)
    _sub(totals, "cbc:TaxInclusiveAmount", _money(values.total), **cur)
    _sub(totals, "cbc:PayableAmount", _money(values.total), **cur)
    for line in values.lines:
        element = _sub(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        _sub(element, "cbc:ID", line.id)
        _sub(
            element,
            "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",
            _decimal(line.quantity),
            unitCode=line.unit_code,
        )
        _sub(element, "cbc:LineExtensionAmount", _money(line.amount), **cur)
        item = _sub(element, "cac:Item")
        if line.description:
            _sub(item, "cbc:Description", line.description)
        _sub(item, "cbc:Name", line.name)
        classified = _tax_category(item, "cac:ClassifiedTaxCategory", line.category, line.rate)
        _sub(_sub(classified, "cac:TaxScheme"), "cbc:ID", "VAT")
        _sub(_sub(element, "cac:Price"), "cbc:PriceAmount", _decimal(line.price), **cur)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- Validation -----------------------------------------------------------------------------------


@dataclass
class ValidationResult:
    valid: bool
    complete: bool
    errors: list[dict]
    warnings: list[dict]
    layers_run: list[str]
    layers_skipped: list[str]

    @property
    def ok(self) -> bool:
        return (
            self.valid
            and self.complete
            and all(any(run.startswith(f"{layer}@") for run in self.layers_run) for layer in RULE_LAYERS)
        )


def rules_dir() -> Path:
    """Where the compiled official rules are: PEPPOL_RULES_DIR in the app config or the environment,
    else ../shared/peppol-rules beside the project root."""
    configured = current_app.config.get("PEPPOL_RULES_DIR") if has_app_context() else None
    configured = configured or os.environ.get("PEPPOL_RULES_DIR")
    if configured:
        path = Path(configured)
        if not path.is_absolute():
            path = Path(__file__).resolve().parents[2] / path
        return path
    return DEFAULT_RULES_DIR


def rules_available(path: Path | None = None) -> bool:
    """Are the compiled rules of both layers there?"""
    try:
        from eu_einvoice import artifacts
    except ImportError:  # the package is a dependency; without it nothing can be validated
        return False

    path = path or rules_dir()
    return all(
        (path / f"{name}-{artifacts.MANIFEST[name]['version']}" / artifacts.MANIFEST[name]["xslt"]).is_file()
        for name in RULE_LAYERS
    )


# eu-einvoice finds its rules through the EINVOICE_RULES_DIR environment variable and keeps one Saxon
# processor for the process: set the variable and validate under one lock (gunicorn runs threads).
_validation_lock = threading.Lock()


def validate_xml(xml: bytes) -> ValidationResult:
    """Validate with the official rules; PeppolRulesUnavailable when they are not on this server."""
    path = rules_dir()
    if not rules_available(path):
        raise PeppolRulesUnavailable()
    from eu_einvoice.validate import validate

    with _validation_lock:
        previous = os.environ.get("EINVOICE_RULES_DIR")
        os.environ["EINVOICE_RULES_DIR"] = str(path)
        try:
            result = validate(xml, profile="peppol", fetch=False)
        finally:
            if previous is None:
                os.environ.pop("EINVOICE_RULES_DIR", None)
            else:
                os.environ["EINVOICE_RULES_DIR"] = previous
    return ValidationResult(
        valid=result["valid"],
        complete=result["complete"],
        errors=result["errors"],
        warnings=result["warnings"],
        layers_run=result["layers_run"],
        layers_skipped=result["layers_skipped"],
    )


def check_valid(xml: bytes, number: str | None = None) -> ValidationResult:
    """Validate and raise EInvoiceInvalid (the rule messages in `errors`) unless valid and complete."""
    result = validate_xml(xml)
    if result.ok:
        return result
    if not result.complete or not result.valid and not result.errors:
        raise PeppolRulesUnavailable(
            "E-fakturan kunde inte kontrolleras fullständigt mot Peppol-reglerna "
            f"(ej körda: {', '.join(result.layers_skipped) or 'okänt'}). Fakturan utfärdades inte."
        )
    errors: dict[str, list[str]] = {}
    for finding in result.errors:
        errors.setdefault(finding["rule"] or "regel", []).append(finding["message"])
    what = f"E-fakturan {number}" if number else "E-fakturan"
    raise EInvoiceInvalid(
        f"{what} uppfyller inte Peppol-reglerna ({len(result.errors)} fel) och utfärdades inte: "
        + "; ".join(f"{rule}: {' '.join(msgs)}" for rule, msgs in errors.items()),
        errors=errors,
    )


def invoice_xml(invoice: Invoice) -> bytes:
    """Build, check and render (not validated): for previews and tests of the rendering."""
    return render_xml(build_values(invoice))


def validated_invoice_xml(invoice: Invoice) -> bytes:
    """Build, check, render and validate: what is stored at issue."""
    xml = invoice_xml(invoice)
    check_valid(xml, invoice.display_number)
    return xml
