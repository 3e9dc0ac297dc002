"""Invoicing: invoice runs (create, compute a preview of drafts, approve, issue), issuing with gapless
numbers, credit notes, payment marking, and the scoped reads of runs and invoices (docs/billing.md).

The rules that must never bend:
- a run's drafts are replaced when it is computed again (deleted, then priced again, in one transaction):
  nothing is duplicated and no performed service is billed twice (billed_services' primary key, the
  invoice billing key uq_invoices_billing_key; a clash is a Swedish 409 naming the other run);
- a number is taken from the seller's series row locked FOR UPDATE in the same transaction that marks
  the invoice issued (billing.invoicing.numbering), so a failure anywhere consumes no number;
- an issued invoice never changes, except its payment marking; corrections are credit notes that go
  through the same approve and issue path and the same series.
Services add and flush, never commit: the request or `unit_of_work()` owns the transaction.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import functools
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import psycopg
from marshmallow import ValidationError
from sqlalchemy import and_, delete, false, func, insert, inspect, or_, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, selectinload

from billing import pricing
from billing.errors import (
    IllegalRunTransition,
    InvoiceImmutable,
    InvoiceNotFound,
    PricingError,
    RunNotFound,
)
from billing.exports import documents as issue_documents
from billing.invoicing import numbering
from billing.models import (
    BilledCharge,
    BilledService,
    ChargeKind,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceRun,
    InvoiceSeries,
    InvoiceStatus,
    PeriodKind,
    RunStatus,
    VatGroup,
)
from billing.permissions import INVOICE_EDIT, INVOICE_READ
from contracts.models import VatCategory
from core.audit import append_entries as append_audit_entries
from core.audit import jsonable as audit_value
from core.db import utcnow
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.formatting import format_date, local_today, round_money
from core.models import AuditAction, Municipality
from core.permissions import can, require
from core.personal_numbers import check_no_personal_number
from registry.models import Agreement, AgreementParty, PartyRole

ZERO = Decimal("0.00")
MAX_REASON_LENGTH = 2000
MAX_NOTE_LENGTH = 2000

MONTH_NAMES = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)
CHARGE_KIND_LABELS = {
    ChargeKind.SERVICES: "tjänster och avgifter",
    ChargeKind.INDEX_ADJUSTMENT: "indexjustering",
    ChargeKind.RECONCILIATION: "avräkning",
}
VAT_GROUP_LABELS = {
    VatGroup.OUTSIDE_SCOPE: "O – utanför momsens tillämpningsområde",
    VatGroup.OTHER: "Övriga momskategorier",
}


class RunConflict(Conflict):
    code = "run_conflict"
    default_message = "Fakturakörningen krockar med en annan körning."


class RunHasProblems(Conflict):
    code = "run_has_problems"
    default_message = (
        "Körningen har problem som gjorde att något inte kunde prissättas. Rätta dem och räkna om, eller "
        "bekräfta att du har läst dem och godkänner fakturorna ändå."
    )


class InvoiceStateError(Conflict):
    code = "invoice_state"
    default_message = "Fakturan har inte rätt status för det här."


# --- Periods --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: dt.date
    end: dt.date

    @property
    def code(self) -> str:
        """The period as typed: 2026-10, 2026-Q4 or 2026."""
        if self.kind == PeriodKind.MONTH:
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    @property
    def label(self) -> str:
        """In words: "oktober 2026", "kvartal 4 2026", "år 2026"."""
        if self.kind == PeriodKind.MONTH:
            return f"{MONTH_NAMES[self.start.month - 1]} {self.start.year}"
        if self.kind == PeriodKind.QUARTER:
            return f"kvartal {(self.start.month - 1) // 3 + 1} {self.start.year}"
        return f"år {self.start.year}"


_PERIOD_RE = re.compile(r"^\s*(\d{4})(?:\s*-\s*(?:(\d{1,2})|[QqKk]([1-4])))?\s*$")
PERIOD_HINT = "Ange en månad (2026-10), ett kvartal (2026-Q4) eller ett år (2026)."


def period_of(kind: PeriodKind | str, start: dt.date) -> Period:
    """The month, quarter or year that begins on `start` (ValidationFailed if it does not begin a period)."""
    kind = PeriodKind(kind)
    first_months = {PeriodKind.MONTH: range(1, 13), PeriodKind.QUARTER: (1, 4, 7, 10), PeriodKind.YEAR: (1,)}
    if start.day != 1 or start.month not in first_months[kind]:
        labels = {PeriodKind.MONTH: "en månad", PeriodKind.QUARTER: "ett kvartal", PeriodKind.YEAR: "ett år"}
        raise ValidationFailed(
            errors={"period_start": [f"{format_date(start)} är inte första dagen i {labels[kind]}."]}
        )
    months = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[kind]
    last_month = start.month + months - 1
    end = dt.date(start.year, last_month, calendar.monthrange(start.year, last_month)[1])
    return Period(kind, start, end)


def parse_period(text: str | None, field: str = "period") -> Period:
    """Month "2026-10", quarter "2026-Q4" (K4 also accepted) or year "2026"."""
    match = _PERIOD_RE.match(text or "")
    if not match:
        raise ValidationFailed(errors={field: [PERIOD_HINT]})
    year = int(match.group(1))
    if not 2000 <= year <= 2100:
        raise ValidationFailed(errors={field: ["Året måste vara mellan 2000 och 2100."]})
    if match.group(2):
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise ValidationFailed(errors={field: ["Månaden måste vara 01–12. " + PERIOD_HINT]})
        return period_of(PeriodKind.MONTH, dt.date(year, month, 1))
    if match.group(3):
        return period_of(PeriodKind.QUARTER, dt.date(year, 3 * int(match.group(3)) - 2, 1))
    return period_of(PeriodKind.YEAR, dt.date(year, 1, 1))


def run_period(run: InvoiceRun) -> Period:
    return Period(run.period_kind, run.period_start, run.period_end)


# --- VAT and totals ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VatRow:
    category: VatCategory
    rate: Decimal
    exemption_reason_code: str | None
    exemption_reason: str | None
    taxable_amount: Decimal
    vat_amount: Decimal


def vat_summary(lines: Iterable) -> list[VatRow]:
    """VAT per category and rate on the document, each rounded half-up to öre (docs/billing.md)."""
    groups: dict[tuple, dict] = {}
    for line in lines:
        key = (VatCategory(line.vat_category), Decimal(line.vat_rate).quantize(Decimal("0.01")))
        group = groups.setdefault(
            key, {"base": ZERO, "code": line.vat_exemption_reason_code, "reason": line.vat_exemption_reason}
        )
        group["base"] += line.amount
    order = {VatCategory.S: 0, VatCategory.E: 1, VatCategory.O: 2}
    rows = []
    for (category, rate), group in sorted(groups.items(), key=lambda g: (order.get(g[0][0], 9), -g[0][1])):
        rows.append(
            VatRow(
                category=category,
                rate=rate,
                exemption_reason_code=group["code"],
                exemption_reason=group["reason"],
                taxable_amount=group["base"],
                vat_amount=round_money(group["base"] * rate / 100),
            )
        )
    return rows


def document_totals(lines: Iterable) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, total): net is the sum of the line amounts, VAT the sum of the per-category VAT."""
    lines = list(lines)
    net = sum((line.amount for line in lines), ZERO)
    vat = sum((row.vat_amount for row in vat_summary(lines)), ZERO)
    return net, vat, net + vat


def _check_vat_group(lines: list, vat_group: VatGroup, where: Callable[[], str]) -> None:
    """Category O (myndighetsutövning) never shares an invoice with other categories."""
    categories = {VatCategory(line.vat_category) for line in lines}
    if VatCategory.O in categories and len(categories) > 1:
        raise PricingError(
            f"{where()}: kategori O (utanför momsens tillämpningsområde) får inte stå på samma faktura som "
            "andra momskategorier. Fakturan skapades inte; kontrollera tjänstetypernas momskategorier."
        )
    expected = VatGroup.OUTSIDE_SCOPE if categories == {VatCategory.O} else VatGroup.OTHER
    if categories and vat_group != expected:
        raise PricingError(f"{where()}: fakturans momsgrupp stämmer inte med radernas momskategorier.")


# --- Scope ------------------------------------------------------------------------------------------------


def _own_municipality(user) -> int:
    if user.municipality_id is None:
        raise PermissionDenied("Du behöver höra till en kommun för att arbeta med fakturering.")
    return user.municipality_id


def runs_for(session: Session, user):
    """The runs of the user's municipality as seller, newest first (other municipalities' are not seen)."""
    require(user, INVOICE_READ)
    if user.municipality_id is None:
        return select(InvoiceRun).where(false())
    return (
        select(InvoiceRun)
        .where(InvoiceRun.seller_municipality_id == user.municipality_id)
        .order_by(InvoiceRun.id.desc())
    )


def get_run_for(session: Session, user, run_id: int, permission: str = INVOICE_READ) -> InvoiceRun:
    """The run if the user's municipality is its seller (else RunNotFound, 404), and the user may
    `permission` on it (else 403)."""
    require(user, INVOICE_READ)
    run = session.get(InvoiceRun, run_id)
    if run is None or user.municipality_id is None or run.seller_municipality_id != user.municipality_id:
        raise RunNotFound()
    require(user, permission, run.seller_municipality_id)
    return run


def _invoice_visible(user):
    """Invoices the user's municipality issued (in every status) or received (issued ones only: a draft
    is the seller's own business until it is issued)."""
    if user.municipality_id is None:
        return false()
    mine = user.municipality_id
    return or_(
        Invoice.seller_municipality_id == mine,
        and_(Invoice.buyer_municipality_id == mine, Invoice.status == InvoiceStatus.ISSUED),
    )


def invoices_for(
    session: Session,
    user,
    *,
    direction: str | None = None,
    status: InvoiceStatus | str | None = None,
    kind: InvoiceKind | str | None = None,
    agreement_id: int | None = None,
    counterpart_id: int | None = None,
    period: Period | None = None,
    paid: bool | None = None,
    run_id: int | None = None,
):
    """The invoices the user may see, filtered; issued newest first, then drafts.

    direction: "issued" (we are the seller) or "received" (we are the buyer); period: invoices whose
    invoicing period lies within it; paid: True paid, False issued and unpaid."""
    require(user, INVOICE_READ)
    stmt = select(Invoice).where(_invoice_visible(user))
    mine = user.municipality_id
    if direction == "issued":
        stmt = stmt.where(Invoice.seller_municipality_id == mine)
    elif direction == "received":
        stmt = stmt.where(Invoice.buyer_municipality_id == mine)
    if status:
        stmt = stmt.where(Invoice.status == InvoiceStatus(status))
    if kind:
        stmt = stmt.where(Invoice.kind == InvoiceKind(kind))
    if agreement_id is not None:
        stmt = stmt.where(Invoice.agreement_id == agreement_id)
    if counterpart_id is not None:
        stmt = stmt.where(
            or_(
                and_(Invoice.seller_municipality_id == mine, Invoice.buyer_municipality_id == counterpart_id),
                and_(Invoice.buyer_municipality_id == mine, Invoice.seller_municipality_id == counterpart_id),
            )
        )
    if period is not None:
        stmt = stmt.where(Invoice.period_start >= period.start, Invoice.period_end <= period.end)
    if paid is True:
        stmt = stmt.where(Invoice.paid_on.is_not(None))
    elif paid is False:
        stmt = stmt.where(Invoice.status == InvoiceStatus.ISSUED, Invoice.paid_on.is_(None))
    if run_id is not None:
        stmt = stmt.where(Invoice.run_id == run_id)
    return stmt.order_by(Invoice.issue_date.desc().nulls_first(), Invoice.number.desc(), Invoice.id.desc())


def get_invoice_for(session: Session, user, invoice_id: int, permission: str = INVOICE_READ) -> Invoice:
    """The invoice if the user's municipality issued it (or received it, once issued); else
    InvoiceNotFound (404). Changes (`INVOICE_EDIT`) are the seller's: the buyer gets 403."""
    require(user, INVOICE_READ)
    invoice = session.scalar(select(Invoice).where(Invoice.id == invoice_id, _invoice_visible(user)))
    if invoice is None:
        raise InvoiceNotFound()
    if permission != INVOICE_READ:
        require(user, permission, invoice.seller_municipality_id)
    return invoice


def may_edit_invoices(user, municipality_id: int) -> bool:
    return can(user, INVOICE_EDIT, municipality_id)


def counterpart_choices(session: Session, user) -> list[Municipality]:
    """Municipalities the user's municipality has invoices with (for the list filter)."""
    if user.municipality_id is None:
        return []
    mine = user.municipality_id
    visible = select(Invoice.seller_municipality_id, Invoice.buyer_municipality_id).where(
        _invoice_visible(user)
    )
    ids = set()
    for seller_id, buyer_id in session.execute(visible.distinct()):
        ids.add(buyer_id if seller_id == mine else seller_id)
    if not ids:
        return []
    return sorted(
        session.scalars(select(Municipality).where(Municipality.id.in_(ids))).all(), key=lambda m: m.name
    )


def agreement_choices(session: Session, user) -> list[Agreement]:
    """Agreements the user's municipality is a party to (run form and list filter)."""
    if user.municipality_id is None:
        return []
    return session.scalars(
        select(Agreement)
        .where(Agreement.parties.any(AgreementParty.municipality_id == user.municipality_id))
        .order_by(Agreement.number)
    ).all()


# --- Runs ------------------------------------------------------------------------------------------------


def create_run(
    session: Session,
    user,
    period_kind: PeriodKind | str,
    period_start: dt.date,
    agreement_id: int | None = None,
    buyer_id: int | None = None,
) -> InvoiceRun:
    """A new run for the user's municipality as seller, for a month, quarter or year, optionally one
    agreement (one the seller is a party to) or one buyer. It has no invoices until it is computed."""
    seller_id = _own_municipality(user)
    require(user, INVOICE_EDIT, seller_id)
    period = period_of(period_kind, period_start)
    errors: dict[str, list[str]] = {}
    if agreement_id is not None:
        agreement = session.get(Agreement, agreement_id)
        if agreement is None or seller_id not in agreement.party_municipality_ids:
            errors["agreement_id"] = ["Avtalet finns inte, eller så är din kommun inte part i det."]
    if buyer_id is not None:
        if session.get(Municipality, buyer_id) is None:
            errors["buyer_municipality_id"] = ["Kommunen finns inte."]
        elif buyer_id == seller_id:
            errors["buyer_municipality_id"] = ["Köparen kan inte vara din egen kommun."]
    if errors:
        raise ValidationFailed(errors=errors)
    run = InvoiceRun(
        seller_municipality_id=seller_id,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        agreement_id=agreement_id,
        buyer_municipality_id=buyer_id,
        status=RunStatus.DRAFT,
        created_by_id=user.id,
    )
    session.add(run)
    session.flush()
    return run


def _require_draft_run(run: InvoiceRun, doing: str) -> None:
    if run.status != RunStatus.DRAFT:
        state = "utfärdad" if run.status == RunStatus.ISSUED else "godkänd"
        raise IllegalRunTransition(f"Fakturakörning {run.id} är {state} och kan inte {doing}.")


def _delete_drafts(session: Session, run: InvoiceRun) -> int:
    """Delete the run's draft invoices with their lines and what the lines bill. The links go first in
    set-based statements (there can be very many); the invoices and lines through the ORM (audited)."""
    line_ids = (
        select(InvoiceLine.id)
        .join(Invoice, InvoiceLine.invoice_id == Invoice.id)
        .where(Invoice.run_id == run.id, Invoice.status == InvoiceStatus.DRAFT)
    )
    for model in (BilledService, BilledCharge):
        session.execute(
            delete(model)
            .where(model.invoice_line_id.in_(line_ids))
            .execution_options(synchronize_session=False)
        )
    drafts = session.scalars(
        select(Invoice)
        .where(Invoice.run_id == run.id, Invoice.status == InvoiceStatus.DRAFT)
        .options(
            selectinload(Invoice.lines).selectinload(InvoiceLine.services),
            selectinload(Invoice.lines).selectinload(InvoiceLine.charges),
        )
        .execution_options(populate_existing=True)
    ).all()
    for invoice in drafts:
        session.delete(invoice)
    session.flush()
    session.expire(run, ["invoices"])
    return len(drafts)


def _key_label(session: Session, priced) -> str:
    agreement = session.get(Agreement, priced.agreement_id)
    buyer = session.get(Municipality, priced.buyer_municipality_id)
    return (
        f"avtal {agreement.number if agreement else priced.agreement_id}, "
        f"{buyer.name if buyer else priced.buyer_municipality_id}, "
        f"{format_date(priced.period_start)}–{format_date(priced.period_end)}, "
        f"{CHARGE_KIND_LABELS[ChargeKind(priced.charge_kind)]}, momsgrupp {VatGroup(priced.vat_group).value}"
    )


def _invoice_key(p) -> tuple:
    """A priced invoice's key: agreement, buyer, period, charge and VAT group (the unique index's)."""
    return (
        p.agreement_id,
        p.buyer_municipality_id,
        p.period_start,
        p.period_end,
        ChargeKind(p.charge_kind),
        VatGroup(p.vat_group),
    )


def _check_keys_free(session: Session, run: InvoiceRun, priced_invoices: list) -> None:
    """One invoice per agreement, buyer, period, charge and VAT group: a key already billed by another
    run (or by hand) is a 409 that names it, before the unique index would refuse it."""
    if not priced_invoices:
        return
    keys = {_invoice_key(p): p for p in priced_invoices}
    existing = session.scalars(
        select(Invoice).where(
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.agreement_id.in_({k[0] for k in keys}),
            Invoice.period_start.in_({k[2] for k in keys}),
            or_(Invoice.run_id.is_(None), Invoice.run_id != run.id),
        )
    ).all()
    for invoice in existing:
        key = (
            invoice.agreement_id,
            invoice.buyer_municipality_id,
            invoice.period_start,
            invoice.period_end,
            invoice.charge_kind,
            invoice.vat_group,
        )
        if key in keys:
            where = (
                f"fakturakörning {invoice.run_id}"
                if invoice.run_id
                else f"faktura {invoice.display_number or invoice.id}"
            )
            state = {"draft": "förhandsgranskning", "approved": "godkänd", "issued": "utfärdad"}[
                invoice.status.value
            ]
            if invoice.status == InvoiceStatus.DRAFT and invoice.run_id:
                advice = "Räkna om den körningen i stället, eller ta bort den och kör igen."
            else:
                advice = (
                    "Det som tillkommit för perioden faktureras i nästa periods körning; rättelser görs med "
                    "kreditfaktura."
                )
            raise RunConflict(
                f"Det finns redan en faktura för {_key_label(session, keys[key])} i {where} ({state}). "
                f"Samma period faktureras bara en gång. {advice}"
            )


def _integrity_message(exc: IntegrityError) -> str:
    text = str(exc.orig)
    if "uq_invoices_billing_key" in text or "invoices.agreement_id" in text:
        return (
            "En annan fakturakörning skapade just en faktura för samma avtal, köpare, period och momsgrupp. "
            "Ladda om sidan: ingenting i den här körningen sparades."
        )
    if "billed_services" in text or "billed_charges" in text:
        return (
            "En prestation eller en periodavgift är redan fakturerad i en annan körning. Ingenting "
            "faktureras två gånger: räkna om den här körningen."
        )
    return "Körningen krockar med uppgifter som någon annan just sparade. Försök igen."


def compute_run(session: Session, user, run: InvoiceRun) -> InvoiceRun:
    """Price the run's period and replace its drafts with the result, in one transaction: the old drafts
    (and what their lines billed) are deleted first, then the priced invoices are created as drafts
    without numbers, and pricing links each line to what it bills. Problems are kept on the run."""
    require(user, INVOICE_EDIT, run.seller_municipality_id)
    _require_draft_run(run, "räknas om")
    _delete_drafts(session, run)
    result = pricing.price_run(
        session,
        pricing.PricingRequest(
            seller_municipality_id=run.seller_municipality_id,
            period_start=run.period_start,
            period_end=run.period_end,
            agreement_id=run.agreement_id,
            buyer_municipality_id=run.buyer_municipality_id,
        ),
    )
    _store_results(
        session, {run.seller_municipality_id: run}, result, lambda problem: run.seller_municipality_id
    )
    return run


def compute_runs(
    session: Session, user, period: Period, sellers: Iterable[int] | None = None
) -> list[InvoiceRun]:
    """The national batch: every seller's invoice run for `period`, priced in ONE pass over all sellers
    (billing.pricing with seller None), with the rules of compute_run. Each seller (optionally only
    those in `sellers`) that has something to bill or a problem gets its whole-municipality run for the
    period (no agreement or buyer filter): an existing draft run is computed again (its drafts
    replaced, even when nothing is left to bill), otherwise a new run is created. A seller whose run is
    already approved or issued is left alone when `sellers` is None (what it did not bill waits for the
    next period); named in `sellers`, it is refused as compute_run refuses it. `user` None is a system
    job (name it with core.audit.acting_as); a user needs invoice rights for every seller concerned.
    Returns the runs, by seller id."""
    wanted = None if sellers is None else set(sellers)
    # The sellers' runs for the period first: drafts are emptied before pricing (as compute_run does, so
    # what they billed is billable again), approved and issued ones keep their sellers out.
    stmt = select(InvoiceRun).where(
        InvoiceRun.period_kind == period.kind,
        InvoiceRun.period_start == period.start,
        InvoiceRun.agreement_id.is_(None),
        InvoiceRun.buyer_municipality_id.is_(None),
    )
    if wanted is not None:
        stmt = stmt.where(InvoiceRun.seller_municipality_id.in_(wanted))
    existing = session.scalars(stmt.order_by(InvoiceRun.id)).all()
    blocked = {run.seller_municipality_id for run in existing if run.status != RunStatus.DRAFT}
    if wanted is not None:
        for run in existing:
            if run.seller_municipality_id in blocked:
                _require_draft_run(run, "räknas om")
    runs: dict[int, InvoiceRun] = {}
    for run in existing:
        if run.seller_municipality_id not in blocked:
            runs.setdefault(run.seller_municipality_id, run)
    if user is not None:
        for seller_id in sorted(runs):
            require(user, INVOICE_EDIT, seller_id)
    for run in runs.values():
        _delete_drafts(session, run)
    result = pricing.price_run(
        session,
        pricing.PricingRequest(seller_municipality_id=None, period_start=period.start, period_end=period.end),
    )
    host_of = _hosts(session, {p.agreement_id for p in result.problems})
    involved = {p.seller_municipality_id for p in result.invoices if p.lines}
    involved |= {host_of[p.agreement_id] for p in result.problems if p.agreement_id in host_of}
    if wanted is not None:
        involved &= wanted
    involved -= blocked
    if user is not None:
        for seller_id in sorted(involved - set(runs)):
            require(user, INVOICE_EDIT, seller_id)
    new_runs = [
        InvoiceRun(
            seller_municipality_id=seller_id,
            period_kind=period.kind,
            period_start=period.start,
            period_end=period.end,
            status=RunStatus.DRAFT,
            created_by_id=user.id if user is not None else None,
        )
        for seller_id in sorted(involved - set(runs))
    ]
    if new_runs:
        session.add_all(new_runs)
        session.flush()
        runs.update({run.seller_municipality_id: run for run in new_runs})
    result = pricing.PricingResult(
        [p for p in result.invoices if p.seller_municipality_id in runs],
        [p for p in result.problems if host_of.get(p.agreement_id) in runs],
    )
    _store_results(session, runs, result, lambda problem: host_of[problem.agreement_id])
    return [runs[seller_id] for seller_id in sorted(runs)]


def _hosts(session: Session, agreement_ids: set[int]) -> dict[int, int]:
    """The host (seller) municipality of each agreement."""
    if not agreement_ids:
        return {}
    return dict(
        session.execute(
            select(AgreementParty.agreement_id, AgreementParty.municipality_id).where(
                AgreementParty.agreement_id.in_(agreement_ids), AgreementParty.role == PartyRole.HOST
            )
        ).all()
    )


def _store_results(
    session: Session, runs: dict[int, InvoiceRun], result, seller_of_problem: Callable[[object], int]
) -> None:
    """Create the priced invoices as drafts of their seller's run, link each line to what it bills, and
    keep the problems on the runs (the runs' old drafts are already deleted)."""
    priced_invoices = [p for p in result.invoices if p.lines]
    by_seller: dict[int, list] = {seller_id: [] for seller_id in runs}
    for priced in priced_invoices:
        if priced.seller_municipality_id not in runs:
            raise PricingError("Prissättningen gav en faktura från en annan säljare än körningens.")
        by_seller[priced.seller_municipality_id].append(priced)
        _check_vat_group(
            priced.lines,
            VatGroup(priced.vat_group),
            lambda priced=priced: "Fakturan för " + _key_label(session, priced),
        )
    for seller_id in _sellers_with_taken_keys(session, runs, priced_invoices):
        _check_keys_free(session, runs[seller_id], by_seller[seller_id])
    series_ids = _series_ids(
        session,
        {(p.seller_municipality_id, p.series_code or pricing.DEFAULT_SERIES) for p in priced_invoices},
    )
    try:
        with session.begin_nested():
            pairs = _insert_drafts(session, runs, priced_invoices, series_ids)
            if pairs:
                pricing.link_lines(session, pairs)
                session.flush()
    except IntegrityError as exc:
        raise RunConflict(_integrity_message(exc)) from exc
    problems: dict[int, list[dict]] = {seller_id: [] for seller_id in runs}
    for problem in result.problems:
        problems[seller_of_problem(problem)].append(
            {
                "agreement_id": problem.agreement_id,
                "buyer_municipality_id": problem.buyer_municipality_id,
                "message": str(problem.message),
            }
        )
    now = utcnow()
    for seller_id, run in runs.items():
        run.problems = problems[seller_id]
        run.computed_at = now
    session.flush()
    for run in runs.values():
        session.expire(run, ["invoices"])


def _sellers_with_taken_keys(
    session: Session, runs: dict[int, InvoiceRun], priced_invoices: list
) -> list[int]:
    """The sellers whose priced invoices may clash with an invoice outside their run: one query for every
    run (the national batch has 290) instead of one per run; _check_keys_free then checks (and names)
    the clash as for a single run."""
    if not priced_invoices:
        return []
    keys = {_invoice_key(p): p.seller_municipality_id for p in priced_invoices}
    found = session.execute(
        select(
            Invoice.agreement_id,
            Invoice.buyer_municipality_id,
            Invoice.period_start,
            Invoice.period_end,
            Invoice.charge_kind,
            Invoice.vat_group,
            Invoice.run_id,
        ).where(
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.agreement_id.in_({k[0] for k in keys}),
            Invoice.period_start.in_({k[2] for k in keys}),
        )
    )
    sellers = set()
    for *key, run_id in found:
        seller_id = keys.get(tuple(key))
        if seller_id is not None and (run_id is None or run_id != runs[seller_id].id):
            sellers.add(seller_id)
    return sorted(sellers, key=list(runs).index)


def _series_ids(session: Session, keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The id of each (seller, code) series, the missing ones created (numbering.get_or_create_series)."""
    if not keys:
        return {}
    sellers = {seller_id for seller_id, _ in keys}
    found = {
        (m, code): series_id
        for series_id, m, code in session.execute(
            select(InvoiceSeries.id, InvoiceSeries.municipality_id, InvoiceSeries.code).where(
                InvoiceSeries.municipality_id.in_(sellers)
            )
        )
    }
    missing = sorted(keys - set(found))
    if missing:
        try:
            # Every missing series in one flush (a first national run creates one per seller) ...
            with session.begin_nested():
                created = [
                    InvoiceSeries(
                        municipality_id=seller_id,
                        code=code,
                        name=numbering.SERIES_NAMES.get(code, f"Serie {code}"),
                        last_number=0,
                    )
                    for seller_id, code in missing
                ]
                session.add_all(created)
            found.update(((series.municipality_id, series.code), series.id) for series in created)
        except IntegrityError:
            # ... unless another transaction created one meanwhile: then one by one, as numbering does.
            for seller_id, code in missing:
                found[(seller_id, code)] = numbering.get_or_create_series(session, seller_id, code).id
    return {key: found[key] for key in keys}


@dataclass(frozen=True)
class _StoredLine:
    """A line row as link_lines needs it (its id)."""

    id: int


@dataclass(frozen=True)
class _LineAmounts:
    """What vat_summary reads of a line, before the line is stored."""

    amount: Decimal
    vat_category: VatCategory
    vat_rate: Decimal
    vat_exemption_reason_code: str | None
    vat_exemption_reason: str | None


def _insert_drafts(
    session: Session, runs: dict[int, InvoiceRun], priced_invoices: list, series_ids: dict
) -> list[tuple[_StoredLine, object]]:
    """Insert the priced invoices and their lines as drafts (no number; totals from document_totals) in
    two multi-row INSERTs rather than one ORM object each (a national run has tens of thousands), and append
    their audit entries as the session's flush events would (core.audit: same entity, id, scopes and
    column values). Returns (stored line, priced line) pairs for link_lines."""
    if not priced_invoices:
        return []
    now = utcnow()
    invoice_rows, line_rows = [], []
    for priced in priced_invoices:
        lines = [
            {
                "position": position,
                "service_type_code": line.service_type_code,
                "description": line.description,
                "computation": line.computation,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": line.unit_price,
                "amount": round_money(line.amount),
                "vat_category": VatCategory(line.vat_category),
                "vat_rate": line.vat_rate,
                "vat_exemption_reason_code": line.vat_exemption_reason_code,
                "vat_exemption_reason": line.vat_exemption_reason,
                "credited_line_id": None,
            }
            for position, line in enumerate(priced.lines, start=1)
        ]
        net, vat, total = document_totals(
            _LineAmounts(
                v["amount"],
                v["vat_category"],
                v["vat_rate"],
                v["vat_exemption_reason_code"],
                v["vat_exemption_reason"],
            )
            for v in lines
        )
        series_key = (priced.seller_municipality_id, priced.series_code or pricing.DEFAULT_SERIES)
        invoice_rows.append(
            {
                "run_id": runs[priced.seller_municipality_id].id,
                "kind": InvoiceKind.INVOICE,
                "charge_kind": ChargeKind(priced.charge_kind),
                "vat_group": VatGroup(priced.vat_group),
                "status": InvoiceStatus.DRAFT,
                "seller_municipality_id": priced.seller_municipality_id,
                "buyer_municipality_id": priced.buyer_municipality_id,
                "agreement_id": priced.agreement_id,
                "contract_version_id": priced.contract_version_id,
                "period_start": priced.period_start,
                "period_end": priced.period_end,
                "series_id": series_ids[series_key],
                "payment_terms_days": priced.payment_terms_days,
                "buyer_reference": priced.buyer_reference,
                "currency": "SEK",
                "net_amount": net,
                "vat_amount": vat,
                "total_amount": total,
                "created_at": now,
            }
        )
        line_rows.append(lines)
    invoice_ids = _insert_rows(session, Invoice.__table__, invoice_rows)
    flat_lines = []
    for invoice_id, lines in zip(invoice_ids, line_rows, strict=True):
        for values in lines:
            values["invoice_id"] = invoice_id
            flat_lines.append(values)
    line_ids = _insert_rows(session, InvoiceLine.__table__, flat_lines)
    entries = []
    for invoice_id, values in zip(invoice_ids, invoice_rows, strict=True):
        values["id"] = invoice_id
        parties = {values["seller_municipality_id"], values["buyer_municipality_id"]}
        entries.append(_insert_entry(Invoice, values, values["seller_municipality_id"], parties))
    for line_id, values, invoice_values in zip(
        line_ids,
        flat_lines,
        (invoice for invoice, lines in zip(invoice_rows, line_rows, strict=True) for _ in lines),
        strict=True,
    ):
        values["id"] = line_id
        parties = {invoice_values["seller_municipality_id"], invoice_values["buyer_municipality_id"]}
        entries.append(_insert_entry(InvoiceLine, values, invoice_values["seller_municipality_id"], parties))
    append_audit_entries(session, entries)
    priced_lines = (line for priced in priced_invoices for line in priced.lines)
    return [(_StoredLine(line_id), line) for line_id, line in zip(line_ids, priced_lines, strict=True)]


def _insert_rows(session: Session, table, rows: list[dict]) -> list[int]:
    """Insert rows; their ids, ascending in the order of `rows`. On PostgreSQL the ids are taken from the
    table's sequence first and the rows sent as one prepared INSERT executed many times (a multi-row
    INSERT ... RETURNING of tens of thousands of rows costs seconds in the driver's parameter handling)."""
    if session.get_bind().dialect.name != "postgresql":
        return list(
            session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars()
        )
    ids = sorted(
        session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
            {"table": table.name, "count": len(rows)},
        ).scalars()
    )
    for row_id, values in zip(ids, rows, strict=True):
        values["id"] = row_id
    _copy_rows(session, table, rows)
    return ids


def _copy_rows(session: Session, table, rows: list[dict]) -> None:
    """COPY rows into `table` on the session's connection (PostgreSQL), each value through its column
    type's bind processing as an INSERT would send it."""
    dialect = session.get_bind().dialect
    columns = [column for column in table.columns if column.name in rows[0]]
    processors = [column.type._cached_bind_processor(dialect) for column in columns]
    names = ", ".join(f'"{column.name}"' for column in columns)
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for values in rows:
                copy.write_row(
                    [
                        value if process is None or value is None else process(value)
                        for value, process in zip((values[c.name] for c in columns), processors, strict=True)
                    ]
                )
    except psycopg.Error as exc:
        # Reported as SQLAlchemy reports an INSERT's errors (a unique key: IntegrityError).
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
    finally:
        cursor.close()


@functools.cache
def _audit_converter(kind: type) -> Callable | None:
    """How core.audit.jsonable records a value of type `kind` (None: as it is), looked up once per type:
    a national run records some 400 000 values."""
    if kind in (int, str, bool, type(None)):
        return None
    if kind is Decimal:
        return str
    if issubclass(kind, enum.Enum):
        return operator.attrgetter("value")
    if issubclass(kind, dt.date):  # datetimes too
        return kind.isoformat
    return audit_value


@functools.cache
def _audited_columns(model) -> tuple[tuple[str, str], ...]:
    """(attribute key, column name) of every column the audit records for `model`."""
    return tuple((attr.key, attr.columns[0].name) for attr in inspect(model).column_attrs)


def _insert_entry(model, values: dict, municipality_id: int, scopes: set[int]) -> dict:
    """The audit entry of an inserted row, as core.audit records one from a flush."""
    changes = {}
    for key, name in _audited_columns(model):
        value = values.get(name)
        convert = _audit_converter(type(value))
        changes[key] = [None, value if convert is None else convert(value)]
    return {
        "action": AuditAction.INSERT,
        "entity": model.__tablename__,
        "entity_id": str(values["id"]),
        "municipality_id": municipality_id,
        "scopes": scopes,
        "changes": changes,
    }


def approve_run(session: Session, user, run: InvoiceRun, confirm_problems: bool = False) -> InvoiceRun:
    """Approve every draft of the run. A run with pricing problems is approved only when finance
    confirms it has read them (what could not be priced is billed by a later run once fixed)."""
    require(user, INVOICE_EDIT, run.seller_municipality_id)
    _require_draft_run(run, "godkännas igen")
    if run.computed_at is None:
        raise IllegalRunTransition("Räkna fram körningen och granska fakturorna innan den godkänns.")
    if run.problems and not confirm_problems:
        raise RunHasProblems(errors={"confirm_problems": [RunHasProblems.default_message]})
    drafts = [i for i in run.invoices if i.status == InvoiceStatus.DRAFT]
    if not drafts:
        raise IllegalRunTransition("Körningen har inga fakturor att godkänna.")
    now = utcnow()
    for invoice in drafts:
        invoice.status = InvoiceStatus.APPROVED
        invoice.approved_by_id = user.id
        invoice.approved_at = now
    run.status = RunStatus.APPROVED
    run.approved_by_id = user.id
    run.approved_at = now
    session.flush()
    return run


def _lock_series_of(session: Session, invoices: Iterable[Invoice]) -> dict[int, object]:
    """Lock every series the invoices take numbers from, in id order (numbering: lock order)."""
    return {
        series_id: numbering.lock_series(session, series_id)
        for series_id in sorted({i.series_id for i in invoices if i.series_id is not None})
    }


def issue_run(
    session: Session,
    user,
    run: InvoiceRun,
    *,
    approve: bool = False,
    confirm_problems: bool = False,
    progress: Callable[[int], None] | None = None,
    issue_date: dt.date | None = None,
) -> list[Invoice]:
    """Issue the run's approved invoices, numbered in the preview's order, all in the caller's
    transaction: if one fails (e.g. its e-invoice is invalid) nothing is issued and no number is
    consumed. The documents of the whole run are rendered together (one PDF process). `approve=True`
    approves a draft run first (the CLI's `issue`); `progress(n)`: n more invoices done."""
    require(user, INVOICE_EDIT, run.seller_municipality_id)
    if run.status == RunStatus.ISSUED:
        raise IllegalRunTransition(f"Fakturakörning {run.id} är redan utfärdad.")
    if run.status == RunStatus.DRAFT and not approve:
        raise IllegalRunTransition("Godkänn körningen innan den utfärdas.")
    series = _lock_series_of(session, run.invoices)
    if run.status == RunStatus.DRAFT:
        approve_run(session, user, run, confirm_problems=confirm_problems)
    invoices = sorted((i for i in run.invoices if i.status == InvoiceStatus.APPROVED), key=lambda i: i.id)
    if any(i.series_id not in series for i in invoices):
        raise InvoiceStateError("En faktura i körningen saknar fakturaserie. Beräkna körningen igen.")
    today = issue_date or local_today()  # an earlier date only from services (the demo's history)
    # Nothing is flushed until every invoice has its number, documents and status: the database takes
    # a number only with the issued status, the flush guard documents only in that same flush.
    with session.no_autoflush:
        for invoice in invoices:
            _number(invoice, series[invoice.series_id], user, today)
        issue_documents.store_issue_documents_batch(session, invoices, progress=progress)
        for invoice in invoices:
            invoice.status = InvoiceStatus.ISSUED
    run.status = RunStatus.ISSUED
    run.issued_at = utcnow()
    session.flush()
    return invoices


def delete_run(session: Session, user, run: InvoiceRun) -> None:
    """Delete a run that is still a preview, with its drafts (nothing was issued from it)."""
    require(user, INVOICE_EDIT, run.seller_municipality_id)
    _require_draft_run(run, "tas bort")
    _delete_drafts(session, run)
    session.delete(run)
    session.flush()


def run_summary(session: Session, run: InvoiceRun) -> dict:
    """How many invoices the run has per status and their sums (one aggregate query)."""
    rows = session.execute(
        select(
            Invoice.status,
            func.count(),
            func.coalesce(func.sum(Invoice.net_amount), 0),
            func.coalesce(func.sum(Invoice.vat_amount), 0),
            func.coalesce(func.sum(Invoice.total_amount), 0),
        )
        .where(Invoice.run_id == run.id)
        .group_by(Invoice.status)
    ).all()
    summary = {
        "invoices": 0,
        "by_status": {},
        "net_amount": ZERO,
        "vat_amount": ZERO,
        "total_amount": ZERO,
        "problems": len(run.problems or []),
    }
    for status, count, net, vat, total in rows:
        summary["invoices"] += count
        summary["by_status"][InvoiceStatus(status)] = count
        summary["net_amount"] += Decimal(net)
        summary["vat_amount"] += Decimal(vat)
        summary["total_amount"] += Decimal(total)
    return summary


# --- Issuing ---------------------------------------------------------------------------------------------


def _refuse_issued(invoice: Invoice) -> None:
    if invoice.status == InvoiceStatus.ISSUED:
        raise InvoiceImmutable()


def approve_invoice(session: Session, user, invoice: Invoice) -> Invoice:
    """Approve a draft credit note (run invoices are approved with their run)."""
    require(user, INVOICE_EDIT, invoice.seller_municipality_id)
    _refuse_issued(invoice)
    if invoice.run_id is not None:
        raise InvoiceStateError("Fakturor i en fakturakörning godkänns med körningen.")
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceStateError("Kreditfakturan är redan godkänd.")
    invoice.status = InvoiceStatus.APPROVED
    invoice.approved_by_id = user.id
    invoice.approved_at = utcnow()
    session.flush()
    return invoice


def _number(invoice: Invoice, series, user, today: dt.date) -> None:
    """Number, dates and OCR reference of an invoice whose series row is locked (not flushed: the
    database takes a number only together with the issued status)."""
    number = numbering.take_next_number(series)
    invoice.series = series
    invoice.number = number
    invoice.issue_date = today
    invoice.due_date = today + dt.timedelta(days=invoice.payment_terms_days)
    invoice.ocr = numbering.ocr_reference(series.id, number)
    invoice.issued_by_id = user.id
    invoice.issued_at = utcnow()


def issue_invoice(session: Session, user, invoice: Invoice) -> Invoice:
    """Issue an approved invoice or credit note: lock the seller's series row, take the next number, set
    the issue date (today in Sweden), the due date (issue date + payment terms) and the OCR reference,
    store the PDF and Peppol XML (validated; EInvoiceInvalid stops the issue), mark it issued.

    Call it in the transaction that commits the issue, before any other write in that transaction
    (numbering: lock order). A failure anywhere rolls the whole transaction back: no number is used.
    The number, the status and the documents reach the database in one flush: the database holds
    "a number exactly when issued", and the flush guard accepts documents only in that flush."""
    require(user, INVOICE_EDIT, invoice.seller_municipality_id)
    _refuse_issued(invoice)
    if invoice.status != InvoiceStatus.APPROVED:
        raise InvoiceStateError("Fakturan måste godkännas innan den utfärdas.")
    if invoice.series_id is None:
        invoice.series_id = numbering.get_or_create_series(
            session, invoice.seller_municipality_id, pricing.DEFAULT_SERIES
        ).id
    series = numbering.lock_series(session, invoice.series_id)
    with session.no_autoflush:
        _number(invoice, series, user, local_today())
        issue_documents.store_issue_documents(session, invoice)
        invoice.status = InvoiceStatus.ISSUED
    session.flush()
    return invoice


def issue_credit_note(session: Session, user, credit_note: Invoice) -> Invoice:
    """Issue one approved credit note (the invoices of a run are issued with their run)."""
    require(user, INVOICE_EDIT, credit_note.seller_municipality_id)
    _refuse_issued(credit_note)
    if credit_note.run_id is not None:
        raise InvoiceStateError("Fakturor i en fakturakörning utfärdas med körningen.")
    return issue_invoice(session, user, credit_note)


# --- Credit notes ----------------------------------------------------------------------------------------


def credited_lines(session: Session, invoice: Invoice) -> dict[int, list[InvoiceLine]]:
    """For each line of `invoice`, the credit note lines (any status) that credit it."""
    line_ids = [line.id for line in invoice.lines]
    if not line_ids:
        return {}
    rows = session.scalars(
        select(InvoiceLine)
        .where(InvoiceLine.credited_line_id.in_(line_ids))
        .options(selectinload(InvoiceLine.invoice))
        .order_by(InvoiceLine.id)
    ).all()
    result: dict[int, list[InvoiceLine]] = {}
    for row in rows:
        result.setdefault(row.credited_line_id, []).append(row)
    return result


def credit_notes_of(session: Session, invoice: Invoice) -> list[Invoice]:
    return session.scalars(
        select(Invoice).where(Invoice.original_invoice_id == invoice.id).order_by(Invoice.id)
    ).all()


def _check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(errors={"reason": ["Ange varför fakturan krediteras."]})
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(errors={"reason": [f"Skälet får vara högst {MAX_REASON_LENGTH} tecken."]})
    try:
        check_no_personal_number(reason)
    except ValidationError as exc:
        raise ValidationFailed(errors={"reason": exc.messages}) from exc
    return reason


def credit_invoice(
    session: Session, user, invoice: Invoice, line_ids: Iterable[int] | None = None, reason: str = ""
) -> Invoice:
    """A draft credit note for the whole invoice (every line not yet credited) or chosen lines: the same
    seller, buyer, agreement, period, VAT group and series, negative quantities and amounts, each line
    referring to the line it credits. A line is credited at most once (a credit note in any status
    counts; delete a draft credit note to free its lines). Crediting does not free the billed services:
    they stay billed on the original, so a run never bills them again."""
    require(user, INVOICE_EDIT, invoice.seller_municipality_id)
    reason = _check_reason(reason)
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        raise InvoiceStateError("En kreditfaktura kan inte krediteras.")
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvoiceStateError("Bara utfärdade fakturor kan krediteras. Ett utkast räknas om i sin körning.")
    already = credited_lines(session, invoice)
    by_id = {line.id: line for line in invoice.lines}
    if line_ids is None:
        chosen = [line for line in invoice.lines if line.id not in already]
        if not chosen:
            raise InvoiceStateError("Alla rader på fakturan är redan krediterade.")
    else:
        wanted = list(dict.fromkeys(int(i) for i in line_ids))
        if not wanted:
            raise ValidationFailed(errors={"line_ids": ["Välj minst en rad att kreditera."]})
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise ValidationFailed(errors={"line_ids": ["Raden finns inte på fakturan."]})
        chosen = [by_id[i] for i in wanted]
        twice = [line for line in chosen if line.id in already]
        if twice:
            positions = ", ".join(str(line.position) for line in twice)
            raise InvoiceStateError(
                f"Rad {positions} är redan krediterad. En rad kan inte krediteras mer än sitt belopp.",
                errors={"line_ids": [f"Rad {positions} är redan krediterad."]},
            )
    chosen.sort(key=lambda line: (line.position, line.id))
    number = invoice.display_number or str(invoice.id)
    lines = [
        InvoiceLine(
            position=position,
            service_type_code=line.service_type_code,
            description=line.description,
            computation=f"Kreditering av faktura {number}, rad {line.position}: {line.computation}",
            quantity=-line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            amount=-line.amount,
            vat_category=line.vat_category,
            vat_rate=line.vat_rate,
            vat_exemption_reason_code=line.vat_exemption_reason_code,
            vat_exemption_reason=line.vat_exemption_reason,
            credited_line_id=line.id,
        )
        for position, line in enumerate(chosen, start=1)
    ]
    net, vat, total = document_totals(lines)
    credit_note = Invoice(
        kind=InvoiceKind.CREDIT_NOTE,
        original_invoice_id=invoice.id,
        charge_kind=invoice.charge_kind,
        vat_group=invoice.vat_group,
        status=InvoiceStatus.DRAFT,
        seller_municipality_id=invoice.seller_municipality_id,
        buyer_municipality_id=invoice.buyer_municipality_id,
        agreement_id=invoice.agreement_id,
        contract_version_id=invoice.contract_version_id,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        series_id=invoice.series_id,
        payment_terms_days=invoice.payment_terms_days,
        buyer_reference=invoice.buyer_reference,
        currency=invoice.currency,
        net_amount=net,
        vat_amount=vat,
        total_amount=total,
        credit_reason=reason,
        lines=lines,
    )
    session.add(credit_note)
    session.flush()
    return credit_note


def delete_credit_note(session: Session, user, credit_note: Invoice) -> None:
    """Delete a credit note that is not issued yet (its lines can then be credited again)."""
    require(user, INVOICE_EDIT, credit_note.seller_municipality_id)
    _refuse_issued(credit_note)
    if credit_note.kind != InvoiceKind.CREDIT_NOTE:
        raise InvoiceStateError(
            "Fakturor i en körning tas bort genom att körningen räknas om eller tas bort."
        )
    session.delete(credit_note)
    session.flush()


# --- Notes and payment -----------------------------------------------------------------------------------


def set_invoice_note(session: Session, user, invoice: Invoice, note: str | None) -> Invoice:
    """The free-text note on an invoice that is not yet issued (shown on the invoice)."""
    require(user, INVOICE_EDIT, invoice.seller_municipality_id)
    _refuse_issued(invoice)
    note = (note or "").strip() or None
    if note is not None:
        if len(note) > MAX_NOTE_LENGTH:
            raise ValidationFailed(errors={"note": [f"Meddelandet får vara högst {MAX_NOTE_LENGTH} tecken."]})
        try:
            check_no_personal_number(note)
        except ValidationError as exc:
            raise ValidationFailed(errors={"note": exc.messages}) from exc
    invoice.note = note
    session.flush()
    return invoice


def mark_invoice_paid(session: Session, user, invoice: Invoice, paid_on: dt.date | None) -> Invoice:
    """Mark an issued invoice paid on a date, or unpaid (None): the one change allowed after issue
    (billing.guards). The seller's finance marks it, when the payment has come in."""
    require(user, INVOICE_EDIT, invoice.seller_municipality_id)
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvoiceStateError("Bara utfärdade fakturor kan markeras som betalda.")
    if paid_on is not None:
        if paid_on > local_today():
            raise ValidationFailed(errors={"paid_on": ["Betaldatum kan inte vara i framtiden."]})
        if invoice.issue_date and paid_on < invoice.issue_date:
            raise ValidationFailed(
                errors={
                    "paid_on": [
                        f"Betaldatum kan inte vara före fakturadatum {format_date(invoice.issue_date)}."
                    ]
                }
            )
    invoice.paid_on = paid_on
    invoice.paid_marked_by_id = user.id if paid_on is not None else None
    session.flush()
    return invoice


def is_overdue(invoice: Invoice, today: dt.date | None = None) -> bool:
    today = today or local_today()
    return (
        invoice.status == InvoiceStatus.ISSUED
        and invoice.paid_on is None
        and invoice.due_date is not None
        and invoice.due_date < today
    )


__all__ = [
    "Period",
    "RunConflict",
    "RunHasProblems",
    "approve_invoice",
    "approve_run",
    "compute_run",
    "compute_runs",
    "create_run",
    "credit_invoice",
    "delete_credit_note",
    "delete_run",
    "get_invoice_for",
    "get_run_for",
    "invoices_for",
    "issue_credit_note",
    "issue_invoice",
    "issue_run",
    "mark_invoice_paid",
    "parse_period",
    "period_of",
    "runs_for",
    "set_invoice_note",
    "vat_summary",
]
