"""SIE 4I (`.SI`): the seller's issued invoices and credit notes as vouchers for its accounting system.

One `#VER` per document, dated its invoice date: debit the receivable account with the total, credit
the revenue account of each line's service type (the municipality's RevenueAccount, else its default)
and the output VAT; a credit note reverses the signs. The counterparty dimension carries the buyer's
counterparty code (CounterpartyCode) and the responsibility dimension, when configured, the revenue
rows. Every voucher sums to exactly zero (checked before the file is written). The file is codepage
437 (`#FORMAT PC8`), lines end in CR LF, amounts have a dot and two decimals, minus for credit.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from sqlalchemy.orm import Session

from billing.exports.accounting import AccountingConfig, load_config
from billing.exports.common import ZERO, buyer_sign, is_credit_note, vat_breakdown
from billing.models import Invoice
from core.errors import ValidationFailed
from core.formatting import local_today
from core.models import Municipality

ENCODING = "cp437"
MEDIA_TYPE = "application/octet-stream"
PROGRAM = "Samverkan"


def program_version() -> str:
    try:
        return package_version("samverkan")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0"


# Characters outside codepage 437 that have a natural stand-in (typographic quotes and dashes, the
# euro sign); anything else is decomposed (é stays é, ő becomes o) or becomes "?".
_REPLACEMENTS = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2026": "...",
    "\u20ac": "EUR",
    "\u00d7": "x",
    "\u202f": " ",
    "\u2009": " ",
}


def to_cp437(text: str) -> str:
    """`text` with every character encodable in codepage 437."""
    out = []
    for char in text:
        try:
            char.encode(ENCODING)
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        if char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
            continue
        decomposed = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        try:
            decomposed.encode(ENCODING)
            out.append(decomposed or "?")
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


def quote(text: str | None) -> str:
    """A SIE string: in double quotes, with backslash and quote escaped, control characters removed."""
    text = to_cp437(" ".join((text or "").split()))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def amount(value: Decimal) -> str:
    """A dot and two decimals, minus for credit: `2825.00`, `-2825.00`."""
    return f"{Decimal(value).quantize(Decimal('0.01')):f}"


def sie_date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


@dataclass
class Trans:
    account: str
    objects: list[tuple[int, str]]
    amount: Decimal


@dataclass
class Voucher:
    number: int
    date: dt.date
    text: str
    rows: list[Trans] = field(default_factory=list)

    @property
    def balance(self) -> Decimal:
        return sum((row.amount for row in self.rows), ZERO)


def voucher_for(invoice: Invoice, config: AccountingConfig) -> Voucher:
    """The voucher of one issued invoice or credit note."""
    settings = config.settings
    sign = buyer_sign(invoice)  # amounts as they change what the buyer owes: negative for a credit
    counterparty: list[tuple[int, str]] = []
    if settings.counterparty_dimension is not None:
        counterparty = [
            (settings.counterparty_dimension, config.counterparty_codes[invoice.buyer_municipality_id])
        ]
    responsibility: list[tuple[int, str]] = []
    if settings.responsibility_dimension is not None and settings.responsibility_code:
        responsibility = [(settings.responsibility_dimension, settings.responsibility_code)]
    kind = "Kreditfaktura" if is_credit_note(invoice) else "Faktura"
    text = f"{kind} {invoice.display_number} {invoice.buyer.name} {invoice.agreement.number}"
    voucher = Voucher(number=invoice.number, date=invoice.issue_date, text=text)
    revenue: dict[str, Decimal] = {}
    for line in invoice.lines:
        account = config.revenue_account_for(line.service_type_code)
        revenue[account] = revenue.get(account, ZERO) + Decimal(line.amount) * sign
    vat = sum((row.vat for row in vat_breakdown(invoice.lines, sign)), ZERO)
    net = sum(revenue.values(), ZERO)
    total = Decimal(invoice.total_amount) * sign
    if net + vat != total:
        raise ValidationFailed(
            f"{kind} {invoice.display_number}: raderna och momsen ({amount(net + vat)}) stämmer inte med "
            f"totalen ({amount(total)}). SIE-filen skapades inte."
        )
    voucher.rows.append(Trans(settings.receivable_account, counterparty, total))
    for account, value in revenue.items():
        voucher.rows.append(Trans(account, counterparty + responsibility, -value))
    if vat:
        voucher.rows.append(Trans(settings.output_vat_account, counterparty, -vat))
    if (
        voucher.balance != 0
    ):  # cannot happen after the check above; a voucher that does not balance is never written
        raise ValidationFailed(f"{kind} {invoice.display_number}: verifikationen balanserar inte.")
    return voucher


def account_names(config: AccountingConfig) -> dict[str, str]:
    s = config.settings
    names = {
        s.receivable_account: "Kundfordringar",
        s.revenue_account: "Intäkter",
        s.output_vat_account: "Utgående moms",
    }
    for code, account in config.revenue_accounts.items():
        names.setdefault(account, f"Intäkter {code}")
    return names


def build_sie(
    session: Session, seller: Municipality, invoices: list[Invoice], generated: dt.date | None = None
) -> bytes:
    """The SIE 4I file of the seller's issued `invoices`, encoded in codepage 437."""
    issued = [i for i in invoices if i.is_issued and i.seller_municipality_id == seller.id]
    if not issued:
        raise ValidationFailed("SIE-filen kan inte skapas: det finns inga utfärdade fakturor att bokföra.")
    config = load_config(session, seller.id, issued)
    settings = config.settings
    vouchers = [voucher_for(i, config) for i in sorted(issued, key=lambda i: (i.issue_date, i.number))]
    names = account_names(config)
    used_accounts = sorted({row.account for v in vouchers for row in v.rows})
    used_objects = sorted({obj for v in vouchers for row in v.rows for obj in row.objects})
    object_names = {}
    if settings.counterparty_dimension is not None:
        for invoice in issued:
            code = config.counterparty_codes[invoice.buyer_municipality_id]
            object_names[(settings.counterparty_dimension, code)] = invoice.buyer.name
    lines = [
        "#FLAGGA 0",
        f"#PROGRAM {quote(PROGRAM)} {quote(program_version())}",
        "#FORMAT PC8",
        f"#GEN {sie_date(generated or local_today())}",
        "#SIETYP 4",
        f"#FNAMN {quote(seller.name)}",
    ]
    if seller.org_number:
        lines.append(f"#ORGNR {seller.org_number}")
    for account in used_accounts:
        lines.append(f"#KONTO {account} {quote(names.get(account, 'Konto ' + account))}")
    dimensions = []
    if settings.counterparty_dimension is not None:
        dimensions.append(
            (settings.counterparty_dimension, settings.counterparty_dimension_name or "Motpart")
        )
    if settings.responsibility_dimension is not None:
        dimensions.append(
            (settings.responsibility_dimension, settings.responsibility_dimension_name or "Ansvar")
        )
    for number, name in sorted(dimensions):
        lines.append(f"#DIM {number} {quote(name)}")
    for dim, code in used_objects:
        name = object_names.get((dim, code)) or (
            f"Ansvar {code}" if dim == settings.responsibility_dimension else code
        )
        lines.append(f"#OBJEKT {dim} {quote(code)} {quote(name)}")
    for v in vouchers:
        lines.append(
            f"#VER {quote(settings.voucher_series)} {quote(str(v.number))} {sie_date(v.date)} {quote(v.text)}"
        )
        lines.append("{")
        for row in v.rows:
            objects = " ".join(f"{dim} {quote(code)}" for dim, code in row.objects)
            lines.append(f"   #TRANS {row.account} {{{objects}}} {amount(row.amount)}")
        lines.append("}")
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING)


# --- Reading a file back (tests, and a check before a file leaves) ------------------------------------


def parse_tokens(line: str) -> list[str]:
    """Split a SIE line into tokens: quoted strings (escapes resolved), `{...}` groups, bare words."""
    tokens, i = [], 0
    while i < len(line):
        c = line[i]
        if c.isspace():
            i += 1
        elif c == '"':
            i += 1
            buf = []
            while i < len(line) and line[i] != '"':
                if line[i] == "\\" and i + 1 < len(line):
                    i += 1
                buf.append(line[i])
                i += 1
            tokens.append("".join(buf))
            i += 1
        elif c == "{":
            end = i + 1
            depth = 1
            in_quote = False
            while end < len(line) and depth:
                if line[end] == "\\" and in_quote:
                    end += 2
                    continue
                if line[end] == '"':
                    in_quote = not in_quote
                elif not in_quote and line[end] == "}":
                    depth -= 1
                end += 1
            tokens.append(line[i:end])
            i = end
        else:
            end = i
            while end < len(line) and not line[end].isspace():
                end += 1
            tokens.append(line[i:end])
            i = end
    return tokens


def vouchers_in(data: bytes) -> list[tuple[list[str], list[list[str]]]]:
    """(#VER tokens, [#TRANS tokens, ...]) for every voucher of a SIE file."""
    result = []
    current = None
    for raw in data.decode(ENCODING).splitlines():
        line = raw.strip()
        if line.startswith("#VER"):
            current = (parse_tokens(line), [])
            result.append(current)
        elif line.startswith("#TRANS") and current is not None:
            current[1].append(parse_tokens(line))
    return result
