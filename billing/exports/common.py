"""What the outputs share: the sign of a document's amounts, the VAT breakdown per category and rate,
digits of organisation numbers and Bankgiro, ASCII file names, and the scoped look-ups of invoices and
runs for the download routes (a municipality sees what it issued or received; everything else 404)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from billing.errors import InvoiceNotFound, RunNotFound
from billing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceRun
from billing.permissions import INVOICE_READ
from contracts.models import ServiceUnit, VatCategory
from core.formatting import round_money
from core.permissions import can, scope_municipality_ids

ZERO = Decimal("0.00")
ORE_RATE = Decimal("0.01")

VAT_CATEGORY_TEXT = {
    VatCategory.O: "Utanför momsens tillämpningsområde (myndighetsutövning)",
    VatCategory.E: "Undantagen från moms",
    VatCategory.S: "Moms",
}

UNIT_TEXT = {
    ServiceUnit.HOUR: "tim",
    ServiceUnit.CASE: "st",
    ServiceUnit.DAY: "dagar",
    ServiceUnit.KM: "km",
    ServiceUnit.SEK: "kr",
    ServiceUnit.PERIOD: "period",
}


def digits(value: str | None) -> str:
    """The digits of an organisation number, Bankgiro or OCR (`212000-1355` -> `2120001355`)."""
    return re.sub(r"\D", "", value or "")


def is_credit_note(invoice: Invoice) -> bool:
    return invoice.kind == InvoiceKind.CREDIT_NOTE


def buyer_sign(invoice: Invoice) -> int:
    """+1 when the stored amounts are what the buyer owes, -1 when they must be negated for that.

    A credit note reduces what the buyer owes. Whether the invoicing part stores a credit note's
    amounts negated (a Swedish kreditfaktura printed with minus signs) or positive (as UBL carries
    them) is read from the document itself, so every output gets the sign right either way."""
    if not is_credit_note(invoice):
        return 1
    reference = invoice.total_amount
    if not reference:
        reference = sum((line.amount for line in invoice.lines), ZERO)
    return -1 if reference > 0 else 1


@dataclass(frozen=True)
class VatRow:
    """One row of the VAT summary: a category and rate with its taxable amount and VAT."""

    category: VatCategory
    rate: Decimal
    taxable: Decimal
    vat: Decimal
    exemption_code: str | None
    exemption_reason: str | None

    @property
    def label(self) -> str:
        if self.category == VatCategory.S:
            return f"Moms {format_rate(self.rate)}\u00a0%"
        return self.exemption_reason or VAT_CATEGORY_TEXT[self.category]


def format_rate(rate: Decimal) -> str:
    """25.00 -> `25`, 12.50 -> `12,5`."""
    return format(Decimal(rate).normalize(), "f").replace(".", ",")


def vat_breakdown(lines: list[InvoiceLine], sign: int = 1) -> list[VatRow]:
    """VAT per category and rate, rounded half-up per row (docs/billing.md: "VAT is computed per category
    and rate on the document"). Amounts are multiplied by `sign`. Exempt categories keep the
    exemption reason(s) of their lines."""
    groups: dict[tuple[VatCategory, Decimal], list[InvoiceLine]] = {}
    for line in lines:
        groups.setdefault((line.vat_category, Decimal(line.vat_rate).quantize(ORE_RATE)), []).append(line)
    order = {VatCategory.S: 0, VatCategory.E: 1, VatCategory.O: 2}
    rows = []
    for (category, rate), group in sorted(groups.items(), key=lambda g: (order[g[0][0]], -g[0][1])):
        taxable = sum((line.amount for line in group), ZERO) * sign
        codes = [line.vat_exemption_reason_code for line in group if line.vat_exemption_reason_code]
        reasons = list(dict.fromkeys(r for line in group if (r := line.vat_exemption_reason)))
        rows.append(
            VatRow(
                category=category,
                rate=rate,
                taxable=taxable,
                vat=round_money(taxable * rate / 100),
                exemption_code=codes[0] if codes else None,
                exemption_reason="; ".join(reasons) or None,
            )
        )
    return rows


def ascii_name(text: str, fallback: str) -> str:
    """An ASCII file-name part: å, ä, ö become a, a, o; anything else odd becomes a hyphen."""
    name = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return name or fallback


def invoice_basename(invoice: Invoice) -> str:
    """`faktura_F1001` for an issued invoice, `kreditfaktura_F1002`, `faktura_utkast_17` for a draft."""
    kind = "kreditfaktura" if is_credit_note(invoice) else "faktura"
    if invoice.is_issued and invoice.display_number:
        return f"{kind}_{ascii_name(invoice.display_number, str(invoice.id))}"
    return f"{kind}_utkast_{invoice.id}"


# --- Scoped look-ups ------------------------------------------------------------------------------


def _invoice_options():
    return (
        selectinload(Invoice.lines),
        selectinload(Invoice.seller),
        selectinload(Invoice.buyer),
        selectinload(Invoice.series),
    )


def get_invoice(session: Session, user, invoice_id: int) -> Invoice:
    """The invoice if the user may read invoices and the user's municipality issued or received it;
    InvoiceNotFound (404) otherwise, so the existence of others' invoices is not revealed."""
    if not can(user, INVOICE_READ):
        raise InvoiceNotFound()
    stmt = select(Invoice).where(Invoice.id == invoice_id).options(*_invoice_options())
    ids = scope_municipality_ids(user, INVOICE_READ)
    if ids is not None:
        stmt = stmt.where(
            or_(Invoice.seller_municipality_id.in_(ids), Invoice.buyer_municipality_id.in_(ids))
        )
    invoice = session.scalar(stmt)
    if invoice is None:
        raise InvoiceNotFound()
    return invoice


def get_run(session: Session, user, run_id: int) -> InvoiceRun:
    """The run if the user's municipality is its seller (a run is the seller's work); 404 otherwise."""
    if not can(user, INVOICE_READ):
        raise RunNotFound()
    stmt = select(InvoiceRun).where(InvoiceRun.id == run_id)
    ids = scope_municipality_ids(user, INVOICE_READ)
    if ids is not None:
        stmt = stmt.where(InvoiceRun.seller_municipality_id.in_(ids))
    run = session.scalar(stmt)
    if run is None:
        raise RunNotFound()
    return run
