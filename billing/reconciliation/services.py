"""Year-end reconciliation (avräkning) of preliminary billing, and the host's reported actual cost
(issue #6 point 2; DOMAIN.md "Compensation models"; docs/billing.md "preliminary").

During the year a PRELIMINARY component bills a budget, split by the preliminary share. After the year:
- the host's finance reports the actual cost of the year (`report_cost`);
- `compute_reconciliation` gives each buyer its final amount = actual cost x FINAL share (population: the
  same reference-date rule for the year; usage: the year's own usage; fixed: the agreed percentages),
  rounded half-up to öre, and compares it with what was invoiced preliminarily: the buyer's issued
  invoice lines billed under the preliminary charge key (`preliminary:<service type>`, the key pricing
  writes in billed_charges) for charge periods in the year, minus issued credit notes of those lines.
  A difference of at least the terms' threshold becomes a draft invoice (positive) or a draft credit
  note referring to the buyer's last preliminary invoice of the year (negative); smaller ones are
  recorded, not invoiced. Recomputing replaces the proposal and its drafts;
- `approve_reconciliation` issues every draft of the agreement's year through billing's issue path
  (numbers, OCR, PDF, validated Peppol) in one savepoint: an error anywhere issues nothing.
A buyer's year of a component is reconciled once: billed_charges' unique key
(agreement, buyer, `reconciliation:<component id>`, the year's first day) holds it in the database.
Services add and flush, never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from marshmallow import ValidationError
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from billing.errors import ReconciliationImmutable, ReconciliationNotFound, ReportedCostLocked
from billing.invoicing import numbering
from billing.invoicing import services as invoicing
from billing.models import (
    AnnualFollowup,
    BilledCharge,
    ChargeKind,
    FollowupStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    PerformedService,
    Reconciliation,
    ReconciliationRow,
    ReconciliationStatus,
    ReportedCost,
    VatGroup,
)
from billing.permissions import COST_REPORT, INVOICE_READ, RECONCILIATION_EDIT
from billing.pricing import DEFAULT_SERIES
from billing.reconciliation.schemas import ReportedCostInputSchema
from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractVersion,
    ServiceUnit,
    ShareBasis,
    UsageMeasure,
    VatCategory,
    VersionStatus,
)
from contracts.versions import version_in_force
from core.db import utcnow
from core.errors import Conflict, ValidationFailed
from core.formatting import format_money, format_number, local_today, round_money
from core.models import Municipality, MunicipalityPopulation
from core.permissions import can, require
from registry.models import Agreement, AgreementParty, PartyRole

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
MAX_COST = Decimal("999999999999.99")  # Numeric(14, 2)


class ReconciliationConflict(Conflict):
    code = "reconciliation_conflict"
    default_message = "Avräkningen kan inte göras just nu."


class ReconciliationAlreadyIssued(Conflict):
    code = "reconciliation_issued"
    default_message = (
        "Avräkningen för året är redan godkänd och utfärdad. Ett års avräkning görs en gång; "
        "rätta den med en kreditfaktura."
    )


# --- Keys and small helpers ------------------------------------------------------------------------


def preliminary_key(code: str) -> str:
    """The billed_charges key pricing writes for a preliminary amount (billing.pricing_engine)."""
    return f"{CompensationModel.PRELIMINARY.value}:{code}"


def reconciliation_key(component_id: int) -> str:
    return f"reconciliation:{component_id}"


def percent_text(share: Decimal) -> str:
    """A share as a percent with up to four decimals (`11,2381 %`, `25 %`)."""
    text = format_number((share * HUNDRED).quantize(Decimal("0.0001")), 4)
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return f"{text} %"


def deadline_of(component: CompensationComponent, year: int) -> dt.date | None:
    """The terms' reconciliation deadline: month and day of the following year (None: not agreed)."""
    month, day = component.reconciliation_deadline_month, component.reconciliation_deadline_day
    if not month or not day:
        return None
    try:
        return dt.date(year + 1, month, day)
    except ValueError:  # 29 February in a common year: the last day of February
        return dt.date(year + 1, month, 28)


def _year_range(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _check_year(year) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationFailed(errors={"year": ["Året måste vara mellan 2000 och 2100."]})
    return year


# --- Scope -------------------------------------------------------------------------------------------


def get_agreement_for(session: Session, user, agreement_id: int) -> Agreement:
    """The agreement if the user's municipality is a party (else ReconciliationNotFound, 404)."""
    require(user, INVOICE_READ)
    agreement = session.get(Agreement, agreement_id) if 0 < agreement_id < 2**31 else None
    if agreement is None or user.municipality_id not in agreement.party_municipality_ids:
        raise ReconciliationNotFound()
    return agreement


def _host_id(agreement: Agreement) -> int:
    host = agreement.host
    if host is None:
        raise ValidationFailed("Avtalet har ingen utförande kommun.")
    return host.municipality_id


def _require_party(user, agreement: Agreement) -> None:
    if user.municipality_id is None or user.municipality_id not in agreement.party_municipality_ids:
        raise ReconciliationNotFound()


def may_report_cost(user, agreement: Agreement) -> bool:
    return agreement.host is not None and can(user, COST_REPORT, agreement.host.municipality_id)


def may_reconcile(user, agreement: Agreement) -> bool:
    return agreement.host is not None and can(user, RECONCILIATION_EDIT, agreement.host.municipality_id)


def reconciliations_for(session: Session, user):
    """The reconciliations the user may see: its municipality hosts the agreement (every status) or buys
    under it (issued ones: a proposal is the host's business until it is issued). Newest year first."""
    require(user, INVOICE_READ)
    mine = user.municipality_id
    if mine is None:
        return select(Reconciliation).where(false())
    party = Reconciliation.agreement.has(Agreement.parties.any(AgreementParty.municipality_id == mine))
    host = Reconciliation.agreement.has(
        Agreement.parties.any(
            (AgreementParty.municipality_id == mine) & (AgreementParty.role == PartyRole.HOST)
        )
    )
    return (
        select(Reconciliation)
        .where(party, or_(host, Reconciliation.status == ReconciliationStatus.ISSUED))
        .order_by(Reconciliation.year.desc(), Reconciliation.agreement_id, Reconciliation.id)
    )


def get_reconciliation_for(session: Session, user, reconciliation_id: int) -> Reconciliation:
    stmt = reconciliations_for(session, user).where(Reconciliation.id == reconciliation_id)
    reconciliation = session.scalar(stmt) if 0 < reconciliation_id < 2**31 else None
    if reconciliation is None:
        raise ReconciliationNotFound()
    return reconciliation


def year_reconciliations(session: Session, agreement: Agreement, year: int) -> list[Reconciliation]:
    return list(
        session.scalars(
            select(Reconciliation)
            .where(Reconciliation.agreement_id == agreement.id, Reconciliation.year == year)
            .options(
                selectinload(Reconciliation.rows).selectinload(ReconciliationRow.invoice),
                selectinload(Reconciliation.rows).selectinload(ReconciliationRow.buyer),
            )
            .order_by(Reconciliation.component_id)
        )
    )


def visible_year_reconciliations(session: Session, user, agreement: Agreement, year: int):
    _require_party(user, agreement)
    recs = year_reconciliations(session, agreement, year)
    if user.municipality_id != _host_id(agreement):
        recs = [r for r in recs if r.status == ReconciliationStatus.ISSUED]
    return recs


# --- Reported cost -------------------------------------------------------------------------------------


def reported_cost_of(session: Session, agreement: Agreement, year: int) -> ReportedCost | None:
    return session.scalar(
        select(ReportedCost).where(ReportedCost.agreement_id == agreement.id, ReportedCost.year == year)
    )


def cost_lock_reason(session: Session, agreement: Agreement, year: int) -> str | None:
    """Why the year's reported cost can no longer change (None: it can)."""
    issued = session.scalar(
        select(func.count(Reconciliation.id)).where(
            Reconciliation.agreement_id == agreement.id,
            Reconciliation.year == year,
            Reconciliation.status == ReconciliationStatus.ISSUED,
        )
    )
    if issued:
        return f"avräkningen för {year} är utfärdad och bygger på kostnaden"
    sent = session.scalar(
        select(func.count(AnnualFollowup.id)).where(
            AnnualFollowup.agreement_id == agreement.id,
            AnnualFollowup.year == year,
            AnnualFollowup.status == FollowupStatus.SENT,
        )
    )
    if sent:
        return f"den årliga uppföljningen för {year} är skickad och redovisar kostnaden"
    return None


def report_cost(
    session: Session, user, agreement: Agreement, year: int, amount, note: str | None = None
) -> ReportedCost:
    """Report (or correct) the actual cost of the agreement's year: the host's finance only. Locked once
    an issued reconciliation or a sent follow-up of that year relies on it (ReportedCostLocked)."""
    _require_party(user, agreement)
    require(user, COST_REPORT, _host_id(agreement))
    year = _check_year(year)
    try:
        values = ReportedCostInputSchema().load(
            {"amount": amount if not isinstance(amount, Decimal) else str(amount), "note": note}
        )
    except ValidationError as exc:
        raise ValidationFailed(errors=exc.messages) from exc
    reason = cost_lock_reason(session, agreement, year)
    if reason:
        raise ReportedCostLocked(f"Den verkliga kostnaden för {year} är låst: {reason}.")
    cost = reported_cost_of(session, agreement, year)
    if cost is None:
        cost = ReportedCost(agreement_id=agreement.id, year=year)
        session.add(cost)
    cost.amount = round_money(values["amount"])
    cost.note = (values.get("note") or "").strip() or None
    cost.reported_by_id = user.id
    cost.reported_at = utcnow()
    session.flush()
    return cost


# --- Final shares ---------------------------------------------------------------------------------------


@dataclass
class Shares:
    """Final shares of the buyers a component applies to, with the words that explain them."""

    shares: dict[int, Decimal]
    texts: dict[int, str]
    basis_text: str


def _names(session: Session, ids) -> str:
    return ", ".join(sorted(session.scalars(select(Municipality.name).where(Municipality.id.in_(list(ids))))))


def _population_shares(session: Session, agreement: Agreement, component, year: int, buyers: list[int]):
    ref_year = year + (component.population_ref_year_offset or 0)
    ids = [p.municipality_id for p in agreement.buyers]
    if component.include_host and agreement.host is not None:
        ids.append(agreement.host.municipality_id)
    figures = dict(
        session.execute(
            select(MunicipalityPopulation.municipality_id, MunicipalityPopulation.population).where(
                MunicipalityPopulation.municipality_id.in_(ids), MunicipalityPopulation.year == ref_year
            )
        ).all()
    )
    missing = [m for m in ids if figures.get(m) is None]
    if missing:
        raise ValidationFailed(
            f"Invånarantal för {ref_year} saknas för {_names(session, missing)}; fyll i dem i kommunregistret "
            "och räkna om avräkningen."
        )
    total = sum(figures[m] for m in ids)
    if total == 0:
        raise ValidationFailed(f"Invånarantalet för {ref_year} är noll för alla parter.")
    equal = Decimal(component.equal_split_percent or 0) / HUNDRED
    shares, texts = {}, {}
    for buyer_id in buyers:
        by_population = Decimal(figures[buyer_id]) / Decimal(total)
        shares[buyer_id] = equal / len(ids) + (1 - equal) * by_population
        reference = f"invånare {format_number(figures[buyer_id])} av {format_number(total)} ({ref_year})"
        texts[buyer_id] = (
            f"{percent_text(equal)} lika delar (1/{len(ids)}) och resten efter {reference}"
            if equal
            else f"efter {reference}"
        )
    host_text = " inklusive utföraren" if component.include_host else ""
    basis = f"Slutlig andel efter folkmängd {ref_year}{host_text}"
    if equal:
        basis += f", {percent_text(equal)} fördelas lika"
    return Shares(shares, texts, basis + ".")


def _usage_shares(session: Session, agreement: Agreement, component, year: int, buyers: list[int]):
    ps = PerformedService
    start, end = _year_range(year)
    measure = func.count(ps.id) if component.usage_measure == UsageMeasure.CASES else func.sum(ps.quantity)
    rows = dict(
        session.execute(
            select(ps.buying_municipality_id, measure)
            .where(
                ps.agreement_id == agreement.id,
                ps.service_type_code == component.service_type.code,
                ps.attested_at.is_not(None),
                ps.service_date >= start,
                ps.service_date <= end,
            )
            .group_by(ps.buying_municipality_id)
        ).all()
    )
    total = sum((Decimal(v or 0) for v in rows.values()), Decimal(0))
    if total == 0:
        raise ValidationFailed(
            f"Inget attesterat nyttjande {year} att fördela den verkliga kostnaden efter "
            f"(tjänstetyp {component.service_type.code})."
        )
    unit = {UsageMeasure.CASES: "ärenden", UsageMeasure.HOURS: "timmar", UsageMeasure.DAYS: "dygn"}.get(
        component.usage_measure, ""
    )
    shares, texts = {}, {}
    for buyer_id in buyers:
        mine = Decimal(rows.get(buyer_id) or 0)
        shares[buyer_id] = mine / total
        texts[buyer_id] = f"nyttjande {year}: {format_number(mine)} av {format_number(total)} {unit}".strip()
    return Shares(shares, texts, f"Slutlig andel efter årets eget nyttjande {year} ({unit}).")


def _fixed_shares(session: Session, agreement: Agreement, component, year: int, buyers: list[int]):
    agreed = {s.municipality_id: Decimal(s.percent) for s in component.fixed_shares}
    missing = [b for b in buyers if b not in agreed]
    if missing:
        raise ValidationFailed(f"Avtalad andel saknas för {_names(session, missing)} i avtalsvillkoren.")
    shares = {b: agreed[b] / HUNDRED for b in buyers}
    texts = {b: f"avtalad andel {format_number(agreed[b])} %" for b in buyers}
    return Shares(shares, texts, "Slutlig andel enligt avtalade procentsatser.")


def final_shares(session: Session, agreement: Agreement, component, year: int, buyers: list[int]) -> Shares:
    basis = component.share_basis or ShareBasis.POPULATION
    if basis == ShareBasis.FIXED:
        return _fixed_shares(session, agreement, component, year, buyers)
    if basis == ShareBasis.USAGE:
        return _usage_shares(session, agreement, component, year, buyers)
    return _population_shares(session, agreement, component, year, buyers)


# --- What was invoiced preliminarily ------------------------------------------------------------------


@dataclass
class Invoiced:
    amount: Decimal = ZERO
    last_invoice_id: int | None = None
    invoice_ids: set[int] = field(default_factory=set)


def invoiced_preliminarily(
    session: Session, agreement: Agreement, code: str, year: int
) -> dict[int, Invoiced]:
    """Per buyer: the issued invoice lines billed under the preliminary key of `code` for charge periods
    beginning in `year`, minus the issued credit notes of exactly those lines; and the last such
    invoice (by issue date and number), which a reconciliation credit note refers to."""
    start, end = _year_range(year)
    line_rows = session.execute(
        select(
            InvoiceLine.id,
            InvoiceLine.amount,
            Invoice.id,
            Invoice.buyer_municipality_id,
            Invoice.issue_date,
            Invoice.number,
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            InvoiceLine.id.in_(
                select(BilledCharge.invoice_line_id).where(
                    BilledCharge.agreement_id == agreement.id,
                    BilledCharge.charge_key == preliminary_key(code),
                    BilledCharge.charge_period_start >= start,
                    BilledCharge.charge_period_start <= end,
                )
            ),
            Invoice.agreement_id == agreement.id,
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.status == InvoiceStatus.ISSUED,
        )
    ).all()
    result: dict[int, Invoiced] = {}
    latest: dict[int, tuple] = {}
    line_buyer: dict[int, int] = {}
    for line_id, amount, invoice_id, buyer_id, issue_date, number in line_rows:
        entry = result.setdefault(buyer_id, Invoiced())
        entry.amount += Decimal(amount)
        entry.invoice_ids.add(invoice_id)
        line_buyer[line_id] = buyer_id
        rank = (issue_date, number or 0, invoice_id)
        if buyer_id not in latest or rank > latest[buyer_id]:
            latest[buyer_id] = rank
            entry.last_invoice_id = invoice_id
    if line_buyer:
        credits = session.execute(
            select(InvoiceLine.credited_line_id, InvoiceLine.amount)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(
                InvoiceLine.credited_line_id.in_(list(line_buyer)),
                Invoice.kind == InvoiceKind.CREDIT_NOTE,
                Invoice.status == InvoiceStatus.ISSUED,
            )
        ).all()
        for credited_line_id, amount in credits:
            result[line_buyer[credited_line_id]].amount += Decimal(amount)  # credit lines are negative
    return result


# --- Compute -------------------------------------------------------------------------------------------


def _version_for(session: Session, agreement: Agreement, year: int) -> ContractVersion:
    version = version_in_force(session, agreement.id, dt.date(year, 12, 31))
    if version is None:
        raise ValidationFailed(f"Avtalet har inga godkända avtalsvillkor som gäller {year}.")
    return version


def preliminary_components(version: ContractVersion) -> list[CompensationComponent]:
    return [c for c in version.components if c.model == CompensationModel.PRELIMINARY]


def _buyers_of(agreement: Agreement, version: ContractVersion, component) -> list[int]:
    """The buyers the component bills: its own buyer, or every buyer without an own preliminary
    component for the same service type."""
    if component.buyer_municipality_id is not None:
        return [component.buyer_municipality_id]
    own = {
        c.buyer_municipality_id
        for c in preliminary_components(version)
        if c.buyer_municipality_id is not None and c.service_type.code == component.service_type.code
    }
    return [p.municipality_id for p in agreement.buyers if p.municipality_id not in own]


def _budget(component, year: int) -> Decimal:
    price = next((p for p in component.prices if p.year == year and not p.case_type), None)
    return Decimal(price.amount) if price is not None else ZERO


def _cost_parts(components, cost: Decimal, year: int) -> dict[int, tuple[Decimal, str]]:
    """One component: the whole cost. Several: the cost split in proportion to their budgets of the year
    (the öre remainder on the last), said in the basis text."""
    if len(components) == 1:
        return {components[0].id: (cost, "")}
    budgets = {c.id: _budget(c, year) for c in components}
    total = sum(budgets.values(), ZERO)
    if total == 0:
        raise ValidationFailed(
            f"Avtalet har flera preliminära komponenter men ingen budget för {year} att fördela kostnaden efter."
        )
    parts, used = {}, ZERO
    for index, c in enumerate(components):
        part = cost - used if index == len(components) - 1 else round_money(cost * budgets[c.id] / total)
        used += part
        parts[c.id] = (
            part,
            f" Den verkliga kostnaden {format_money(cost)} är fördelad på de preliminära komponenterna efter "
            f"deras budget {year}: {format_money(budgets[c.id])} av {format_money(total)}.",
        )
    return parts


def _vat_group(category: VatCategory) -> VatGroup:
    return VatGroup.OUTSIDE_SCOPE if VatCategory(category) == VatCategory.O else VatGroup.OTHER


def line_text(year: int, cost, share, final, invoiced, difference) -> str:
    what = "att betala" if difference >= 0 else "att kreditera"
    return (
        f"Avräkning {year}: slutlig kostnad {format_money(cost)} × andel {percent_text(share)} = "
        f"{format_money(final)}, preliminärt fakturerat {format_money(invoiced)}, {what} "
        f"{format_money(abs(difference))}"
    )


def _delete_proposals(session: Session, recs: list[Reconciliation]) -> None:
    invoice_ids = {row.invoice_id for rec in recs for row in rec.rows if row.invoice_id is not None}
    for rec in recs:
        session.delete(rec)
    session.flush()
    for invoice in session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids))) if invoice_ids else []:
        if invoice.status != InvoiceStatus.ISSUED:
            session.delete(invoice)
    session.flush()


def compute_reconciliation(session: Session, user, agreement: Agreement, year: int) -> list[Reconciliation]:
    """Compute (or recompute) the year's reconciliation: one per PRELIMINARY component of the approved
    version in force at the year's end. The host's finance only. Replaces an earlier proposal and its
    draft documents; refuses when the year is already issued."""
    _require_party(user, agreement)
    host_id = _host_id(agreement)
    require(user, RECONCILIATION_EDIT, host_id)
    year = _check_year(year)
    if year >= local_today().year:
        raise ValidationFailed(
            errors={"year": [f"Året {year} är inte slut: avräkningen görs efter årets slut."]}
        )
    cost = reported_cost_of(session, agreement, year)
    if cost is None:
        raise ValidationFailed(
            f"Rapportera den verkliga kostnaden för {year} innan avräkningen räknas fram.",
            errors={"amount": [f"Den verkliga kostnaden för {year} är inte rapporterad."]},
        )
    version = _version_for(session, agreement, year)
    components = preliminary_components(version)
    if not components:
        raise ValidationFailed(
            f"Avtalsvillkoren som gäller {year} har ingen preliminär debitering: det finns inget att avräkna."
        )
    existing = year_reconciliations(session, agreement, year)
    if any(r.status == ReconciliationStatus.ISSUED for r in existing):
        raise ReconciliationAlreadyIssued()
    _delete_proposals(session, existing)

    series = numbering.get_or_create_series(
        session, host_id, (version.invoice_series or DEFAULT_SERIES).strip() or DEFAULT_SERIES
    )
    references = {t.municipality_id: t.buyer_reference for t in version.buyer_terms}
    parts = _cost_parts(components, Decimal(cost.amount), year)
    start, end = _year_range(year)
    now = utcnow()
    documents: dict[tuple, Invoice] = {}  # (buyer, kind, VAT group): several components share one
    result = []
    for component in components:
        st = component.service_type
        buyers = _buyers_of(agreement, version, component)
        shares = final_shares(session, agreement, component, year, buyers)
        invoiced = invoiced_preliminarily(session, agreement, st.code, year)
        part, part_text = parts[component.id]
        threshold = Decimal(component.reconciliation_threshold or 0)
        rec = Reconciliation(
            agreement_id=agreement.id,
            year=year,
            component_id=component.id,
            contract_version_id=version.id,
            actual_cost=part,
            threshold=component.reconciliation_threshold,
            basis_text=f"{shares.basis_text}{part_text}",
            status=ReconciliationStatus.PROPOSED,
            created_by_id=user.id,
            computed_at=now,
        )
        for buyer_id in buyers:
            share = shares.shares[buyer_id]
            final = round_money(part * share)
            already = invoiced.get(buyer_id, Invoiced())
            difference = final - already.amount
            within = difference == 0 or abs(difference) < threshold
            row = ReconciliationRow(
                buyer_municipality_id=buyer_id,
                share=share.quantize(Decimal("0.0000000001")),
                share_text=shares.texts[buyer_id][:300],
                final_amount=final,
                invoiced_amount=already.amount,
                difference=difference,
                within_threshold=within,
            )
            rec.rows.append(row)
            if within:
                continue
            kind = InvoiceKind.INVOICE if difference > 0 else InvoiceKind.CREDIT_NOTE
            if kind == InvoiceKind.CREDIT_NOTE and already.last_invoice_id is None:
                raise ValidationFailed("Det finns ingen utfärdad preliminär faktura att kreditera mot.")
            key = (buyer_id, kind, _vat_group(st.vat_category))
            document = documents.get(key)
            if document is None:
                document = Invoice(
                    kind=kind,
                    original_invoice_id=already.last_invoice_id if kind == InvoiceKind.CREDIT_NOTE else None,
                    charge_kind=ChargeKind.RECONCILIATION,
                    vat_group=key[2],
                    status=InvoiceStatus.DRAFT,
                    seller_municipality_id=host_id,
                    buyer_municipality_id=buyer_id,
                    agreement_id=agreement.id,
                    contract_version_id=version.id,
                    period_start=start,
                    period_end=end,
                    series_id=series.id,
                    payment_terms_days=version.payment_terms_days,
                    buyer_reference=references.get(buyer_id),
                    credit_reason=(
                        f"Avräkning {year}: den slutliga kostnaden är lägre än det preliminärt fakturerade."
                        if kind == InvoiceKind.CREDIT_NOTE
                        else None
                    ),
                    lines=[],
                )
                documents[key] = document
                session.add(document)
            sign = Decimal(1) if difference > 0 else Decimal(-1)
            line = InvoiceLine(
                position=len(document.lines) + 1,
                service_type_code=st.code,
                description=f"Avräkning {year} {st.name}"[:300],
                computation=line_text(year, part, share, final, already.amount, difference),
                quantity=sign,
                unit=ServiceUnit.PERIOD,
                unit_price=abs(difference),
                amount=difference,
                vat_category=st.vat_category,
                vat_rate=Decimal(st.vat_rate),
                vat_exemption_reason_code=st.vat_exemption_reason_code,
                vat_exemption_reason=st.vat_exemption_reason,
            )
            line.charges = [
                BilledCharge(
                    agreement_id=agreement.id,
                    buyer_municipality_id=buyer_id,
                    charge_key=reconciliation_key(component.id),
                    charge_period_start=start,
                    charge_period_end=end,
                )
            ]
            document.lines.append(line)
            row.invoice = document
        session.add(rec)
        result.append(rec)
    for document in documents.values():
        document.net_amount, document.vat_amount, document.total_amount = invoicing.document_totals(
            document.lines
        )
    session.flush()
    return result


# --- Approve and issue -----------------------------------------------------------------------------------


def approve_reconciliation(session: Session, user, reconciliation: Reconciliation) -> list[Invoice]:
    """Approve the reconciliation and issue its draft invoices and credit notes through billing's issue
    path (next number of the series, OCR, PDF, validated Peppol). The proposals of every preliminary
    component of the same agreement and year are issued together (their documents may be shared).
    All in one savepoint: if any document fails (e.g. its e-invoice is invalid), nothing is issued
    and no number is used."""
    agreement = reconciliation.agreement
    _require_party(user, agreement)
    require(user, RECONCILIATION_EDIT, _host_id(agreement))
    if reconciliation.status == ReconciliationStatus.ISSUED:
        raise ReconciliationAlreadyIssued()
    recs = [r for r in year_reconciliations(session, agreement, reconciliation.year)]
    if any(r.status == ReconciliationStatus.ISSUED for r in recs):
        raise ReconciliationAlreadyIssued()
    cost = reported_cost_of(session, agreement, reconciliation.year)
    if cost is None or any(cost.reported_at > r.computed_at for r in recs):
        raise ReconciliationConflict(
            "Den verkliga kostnaden har ändrats sedan avräkningen räknades fram. Räkna om avräkningen och "
            "granska den innan den godkänns."
        )
    invoices: dict[int, Invoice] = {}
    for rec in recs:
        for row in rec.rows:
            if row.within_threshold:
                continue
            if row.invoice is None:
                raise ReconciliationConflict(
                    f"Förslaget för {row.buyer.name} saknar sin faktura (den har tagits bort). Räkna om avräkningen."
                )
            invoices[row.invoice.id] = row.invoice
    ordered = sorted(invoices.values(), key=lambda i: (i.kind != InvoiceKind.INVOICE, i.id))
    with session.begin_nested():
        # Lock order (docs/billing.md): every series row before any other write of the transaction.
        for series_id in sorted({i.series_id for i in ordered if i.series_id is not None}):
            numbering.lock_series(session, series_id)
        for invoice in ordered:
            if invoice.status == InvoiceStatus.ISSUED:
                continue  # issued from the invoice page already: through the same path
            if invoice.status == InvoiceStatus.DRAFT:
                invoicing.approve_invoice(session, user, invoice)
            invoicing.issue_invoice(session, user, invoice)
        now = utcnow()
        for rec in recs:
            rec.status = ReconciliationStatus.ISSUED
            rec.approved_by_id = user.id
            rec.approved_at = now
        session.flush()
    return ordered


# --- The page's figures ------------------------------------------------------------------------------------


@dataclass
class YearView:
    agreement: Agreement
    year: int
    cost: ReportedCost | None
    cost_locked: str | None
    version: ContractVersion | None
    components: list[CompensationComponent]
    reconciliations: list[Reconciliation]
    deadline: dt.date | None
    deadline_passed: bool
    may_report: bool
    may_reconcile: bool
    is_host: bool
    problem: str | None = None

    @property
    def issued(self) -> bool:
        return bool(self.reconciliations) and all(
            r.status == ReconciliationStatus.ISSUED for r in self.reconciliations
        )

    @property
    def stale(self) -> bool:
        """The cost was reported again after the proposal was computed."""
        return (
            self.cost is not None
            and not self.issued
            and any(self.cost.reported_at > r.computed_at for r in self.reconciliations)
        )


def year_view(session: Session, user, agreement: Agreement, year: int) -> YearView:
    """What the agreement-and-year page shows (the host sees proposals; a buyer only issued ones)."""
    _require_party(user, agreement)
    year = _check_year(year)
    is_host = agreement.host is not None and user.municipality_id == agreement.host.municipality_id
    version = version_in_force(session, agreement.id, dt.date(year, 12, 31))
    components = preliminary_components(version) if version is not None else []
    deadlines = [d for d in (deadline_of(c, year) for c in components) if d is not None]
    deadline = min(deadlines) if deadlines else None
    recs = visible_year_reconciliations(session, user, agreement, year)
    issued = bool(recs) and all(r.status == ReconciliationStatus.ISSUED for r in recs)
    return YearView(
        agreement=agreement,
        year=year,
        cost=reported_cost_of(session, agreement, year) if is_host or issued else None,
        cost_locked=cost_lock_reason(session, agreement, year),
        version=version,
        components=components,
        reconciliations=recs,
        deadline=deadline,
        deadline_passed=deadline is not None and not issued and local_today() > deadline,
        may_report=is_host and may_report_cost(user, agreement),
        may_reconcile=is_host and may_reconcile(user, agreement),
        is_host=is_host,
    )


def reconcilable_agreements(session: Session, user) -> list[Agreement]:
    """Agreements the user's municipality hosts whose approved terms have a preliminary component."""
    if user.municipality_id is None:
        return []
    agreements = session.scalars(
        select(Agreement)
        .where(
            Agreement.parties.any(
                (AgreementParty.municipality_id == user.municipality_id)
                & (AgreementParty.role == PartyRole.HOST)
            ),
            Agreement.id.in_(
                select(ContractVersion.agreement_id).where(
                    ContractVersion.status == VersionStatus.APPROVED,
                    ContractVersion.components.any(
                        CompensationComponent.model == CompensationModel.PRELIMINARY
                    ),
                )
            ),
        )
        .order_by(Agreement.number)
    ).all()
    return list(agreements)


__all__ = [
    "ReconciliationAlreadyIssued",
    "ReconciliationConflict",
    "ReconciliationImmutable",
    "approve_reconciliation",
    "compute_reconciliation",
    "get_agreement_for",
    "get_reconciliation_for",
    "invoiced_preliminarily",
    "reconciliations_for",
    "report_cost",
    "year_view",
]
