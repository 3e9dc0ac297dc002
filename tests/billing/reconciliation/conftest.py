"""Fixtures of the reconciliation tests: an agreement on preliminary billing (Göteborg hosts Härryda
and Lerum, quarterly, category E), its preliminary invoices of 2025 issued (rows made directly, keyed
in billed_charges exactly as pricing keys preliminary amounts), credit notes of chosen lines, reported
costs and users. `fake_docs` stands in for the stored PDF/Peppol documents where a test is about the
reconciliation logic; the Peppol test issues for real."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.errors import EInvoiceInvalid
from billing.exports import documents
from billing.invoicing import numbering
from billing.models import (
    BilledCharge,
    ChargeKind,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    ReportedCost,
    VatGroup,
)
from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractBuyerTerms,
    ContractFixedShare,
    ContractPrice,
    ContractServiceType,
    InvoiceFrequency,
    ServiceUnit,
    ShareBasis,
    VatCategory,
)
from core.db import utcnow
from core.models import MunicipalityPopulation

TODAY = dt.date(2026, 2, 10)
YEAR = 2025
QUARTERS = [(dt.date(YEAR, m, 1), dt.date(YEAR, m + 2, 30 if m in (4, 7) else 31)) for m in (1, 4, 7, 10)]
VATEX_E = ("VATEX-EU-132-1G", "Social omsorg – undantagen från skatteplikt")


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch):
    monkeypatch.setattr("billing.reconciliation.services.local_today", lambda: TODAY)
    monkeypatch.setattr("billing.invoicing.services.local_today", lambda: TODAY)


@pytest.fixture
def populations(db, municipality):
    def _set(year: int, figures: dict[str, int]) -> None:
        for name, population in figures.items():
            db.add(
                MunicipalityPopulation(
                    municipality_id=municipality(name).id, year=year, population=population
                )
            )
        db.commit()

    return _set


@pytest.fixture
def prelim(db, make_agreement, make_version, make_user, municipality):
    """prelim(basis="population", threshold="5000", include_host=True, equal="20", fixed=None) ->
    (agreement, component): an approved version with one PRELIMINARY component "jour" (budget 2025
    1 000 000 kr, category E)."""

    def _make(
        basis: str = "population",
        threshold: str | None = "5000",
        include_host: bool = True,
        equal: str | None = "20",
        fixed: dict[str, str] | None = None,
        category: str = "E",
        usage_measure: str | None = None,
    ):
        agreement = make_agreement(start_date=dt.date(2024, 1, 1), end_date=dt.date(2027, 12, 31))
        version = make_version(
            agreement, terms=False, invoice_frequency=InvoiceFrequency.QUARTERLY, invoice_series="AVR"
        )
        category = VatCategory(category)
        st = ContractServiceType(
            code="jour",
            name="Socialjour",
            unit=ServiceUnit.PERIOD,
            vat_category=category,
            vat_rate=Decimal("25.00") if category == VatCategory.S else Decimal("0"),
            vat_exemption_reason_code=None if category == VatCategory.S else VATEX_E[0],
            vat_exemption_reason=None if category == VatCategory.S else VATEX_E[1],
        )
        component = CompensationComponent(
            position=1,
            model=CompensationModel.PRELIMINARY,
            service_type=st,
            share_basis=ShareBasis(basis),
            population_ref_month=11,
            population_ref_day=1,
            population_ref_year_offset=-1,
            equal_split_percent=Decimal(equal) if equal else None,
            include_host=include_host,
            usage_measure=usage_measure,
            reconciliation_deadline_month=3,
            reconciliation_deadline_day=31,
            reconciliation_threshold=Decimal(threshold) if threshold else None,
            prices=[ContractPrice(year=YEAR, amount=Decimal("1000000.00"))],
        )
        if fixed:
            component.fixed_shares = [
                ContractFixedShare(municipality_id=municipality(name).id, percent=Decimal(p))
                for name, p in fixed.items()
            ]
        version.service_types = [st]
        version.components = [component]
        version.buyer_terms = [
            ContractBuyerTerms(
                municipality_id=p.municipality_id, buyer_reference=f"IFO {p.municipality.name}"
            )
            for p in agreement.buyers
        ]
        db.commit()
        legal = make_user(roles=("legal",), kommun=agreement.host.municipality.name)
        from contracts.models import VersionStatus

        version.status = VersionStatus.APPROVED
        version.approved_by_id = legal.id
        version.approved_at = utcnow()
        db.commit()
        return agreement, component

    return _make


@pytest.fixture
def prelim_invoice(db, municipality):
    """prelim_invoice(agreement, buyer, ["26000", ...] per quarter, status="issued") -> Invoice with one
    line per quarter, each keyed `preliminary:jour` in billed_charges like pricing keys it."""

    def _make(
        agreement, buyer: str, amounts, status: str = "issued", category: str = "E", period_end=None
    ) -> Invoice:
        seller = agreement.host.municipality_id
        lines = []
        for position, (amount, (start, end)) in enumerate(zip(amounts, QUARTERS, strict=False), start=1):
            amount = Decimal(amount)
            line = InvoiceLine(
                position=position,
                service_type_code="jour",
                description=f"Socialjour kvartal {position} {YEAR}",
                computation="Preliminär debitering",
                quantity=Decimal(1),
                unit=ServiceUnit.PERIOD,
                unit_price=amount,
                amount=amount,
                vat_category=VatCategory(category),
                vat_rate=Decimal("0"),
                vat_exemption_reason_code=VATEX_E[0],
                vat_exemption_reason=VATEX_E[1],
            )
            line.charges = [
                BilledCharge(
                    agreement_id=agreement.id,
                    buyer_municipality_id=municipality(buyer).id,
                    charge_key="preliminary:jour",
                    charge_period_start=start,
                    charge_period_end=end,
                )
            ]
            lines.append(line)
        total = sum((line.amount for line in lines), Decimal("0.00"))
        invoice = Invoice(
            kind=InvoiceKind.INVOICE,
            charge_kind=ChargeKind.SERVICES,
            vat_group=VatGroup.OTHER,
            status=InvoiceStatus.DRAFT,
            seller_municipality_id=seller,
            buyer_municipality_id=municipality(buyer).id,
            agreement=agreement,
            period_start=dt.date(YEAR, 1, 1),
            period_end=period_end or dt.date(YEAR, 12, 31),
            payment_terms_days=30,
            buyer_reference=f"IFO {buyer}",
            net_amount=total,
            vat_amount=Decimal("0.00"),
            total_amount=total,
            lines=lines,
        )
        db.add(invoice)
        db.commit()
        if status == "issued":
            _issue_directly(db, invoice, dt.date(YEAR + 1, 1, 12))
        return invoice

    return _make


def _issue_directly(db, invoice: Invoice, day: dt.date) -> None:
    series = numbering.get_or_create_series(db, invoice.seller_municipality_id, "AVR")
    series.last_number += 1
    invoice.series = series
    invoice.number = series.last_number
    invoice.issue_date = day
    invoice.due_date = day + dt.timedelta(days=30)
    invoice.ocr = numbering.ocr_reference(series.id, invoice.number)
    invoice.issued_at = utcnow()
    invoice.status = InvoiceStatus.ISSUED
    db.commit()


@pytest.fixture
def credit_line(db):
    """credit_line(invoice, position, status="issued") -> a credit note of that line."""

    def _make(invoice: Invoice, position: int, status: str = "issued") -> Invoice:
        line = next(li for li in invoice.lines if li.position == position)
        note = Invoice(
            kind=InvoiceKind.CREDIT_NOTE,
            original_invoice_id=invoice.id,
            charge_kind=ChargeKind.SERVICES,
            vat_group=invoice.vat_group,
            status=InvoiceStatus.DRAFT,
            seller_municipality_id=invoice.seller_municipality_id,
            buyer_municipality_id=invoice.buyer_municipality_id,
            agreement_id=invoice.agreement_id,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            payment_terms_days=30,
            buyer_reference=invoice.buyer_reference,
            net_amount=-line.amount,
            vat_amount=Decimal("0.00"),
            total_amount=-line.amount,
            credit_reason="Kvartalet krediterat",
            lines=[
                InvoiceLine(
                    position=1,
                    service_type_code=line.service_type_code,
                    description=line.description,
                    computation="Kreditering",
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
            ],
        )
        db.add(note)
        db.commit()
        if status == "issued":
            _issue_directly(db, note, dt.date(YEAR, 12, 15))
        return note

    return _make


@pytest.fixture
def host_finance(make_user):
    users = {}

    def _get(agreement):
        name = agreement.host.municipality.name
        if name not in users:
            users[name] = make_user(roles=("finance",), kommun=name)
        return users[name]

    return _get


@pytest.fixture
def report(db):
    """report(agreement, amount, user): a reported cost of 2025 stored directly."""

    def _make(agreement, amount: str, user=None) -> ReportedCost:
        cost = ReportedCost(
            agreement_id=agreement.id,
            year=YEAR,
            amount=Decimal(amount),
            reported_by_id=user.id if user else None,
            reported_at=utcnow() - dt.timedelta(minutes=5),
        )
        db.add(cost)
        db.commit()
        return cost

    return _make


class FakeDocs:
    """Stands in for the stored PDF and Peppol XML (the exports' own tests cover them); can refuse the
    n-th document like an invalid e-invoice."""

    def __init__(self):
        self.issued: list[int] = []
        self.fail_on: int | None = None

    def store(self, session, invoice, pdf=None) -> None:
        assert invoice.number is not None and invoice.ocr
        self.issued.append(invoice.id)
        if self.fail_on is not None and len(self.issued) == self.fail_on:
            raise EInvoiceInvalid(f"Faktura {invoice.display_number}: BT-10 saknas (testfel).")


@pytest.fixture
def fake_docs(monkeypatch):
    docs = FakeDocs()
    monkeypatch.setattr(documents, "store_issue_documents", docs.store)
    return docs
