"""Numbering: OCR references (a hand-computed example), numbers assigned only at issue, gapless per series
and per seller, never twice, and 8 concurrent issuers on PostgreSQL getting 1..200 without a gap."""

from __future__ import annotations

import datetime as dt
import queue
import threading
from decimal import Decimal

import pytest
from sqlalchemy import select
from stdnum import luhn

from billing.errors import InvoiceImmutable
from billing.invoicing import numbering, services
from billing.invoicing.services import InvoiceStateError
from billing.models import Invoice, InvoiceSeries, InvoiceStatus, PeriodKind
from core.db import make_engine
from core.migrate import upgrade
from tests.billing import invoicing_fixtures as fx
from tests.billing.invoicing_fixtures import ISSUE_DAY, priced_invoice, priced_line
from tests.support import DEMO_PASSWORD, backends, fresh_database

_fixed_today = fx._fixed_today
fake_pricing = fx.fake_pricing
issue_docs = fx.issue_docs
seller_finance = fx.seller_finance

OCTOBER = dt.date(2026, 10, 1)


def test_ocr_reference_worked_by_hand():
    # Series 3, invoice 42: base 3 + 0000042 = 30000042 (8 digits); with the two trailing digits the
    # reference has 10, so the length digit is 0: 300000420. Luhn from the right, doubling every second
    # digit starting with the rightmost: 0×2=0, 2, 4×2=8, 0, 0, 0, 0, 0, 3×2=6 -> sum 16 -> check digit 4.
    assert numbering.ocr_reference(3, 42) == "3000004204"
    assert numbering.ocr_reference(1, 1) == "1000000107"
    assert numbering.ocr_reference(12, 3) == "1200000031" + luhn.calc_check_digit("1200000031")
    for reference in ("3000004204", numbering.ocr_reference(987, 1234567)):
        assert luhn.is_valid(reference) and numbering.is_valid_ocr(reference)
        assert int(reference[-2]) == len(reference) % 10
    assert not numbering.is_valid_ocr("3000004205")  # wrong check digit
    assert not numbering.is_valid_ocr("300000434" + luhn.calc_check_digit("300000434"))  # wrong length digit
    # Unique: series 1 invoice 23 and series 12 invoice 3 do not meet (the number has a fixed width).
    assert numbering.ocr_reference(1, 23) != numbering.ocr_reference(12, 3)
    with pytest.raises(ValueError):
        numbering.ocr_reference(1, 10**7)


def _run(db, user, fake_pricing, agreement, buyers, period_start=OCTOBER, series_code="F"):
    fake_pricing.invoices = [
        priced_invoice(
            agreement,
            buyer,
            [priced_line("100.00")],
            period=(period_start, services.period_of(PeriodKind.MONTH, period_start).end),
            series_code=series_code,
        )
        for buyer in buyers
    ]
    run = services.create_run(db, user, PeriodKind.MONTH, period_start)
    services.compute_run(db, user, run)
    return run


def test_numbers_are_assigned_only_at_issue_gapless_per_series_and_seller(
    db, priced_agreement, make_agreement, make_version, fake_pricing, municipality, seller_finance, issue_docs
):
    harryda, lerum = municipality("Härryda"), municipality("Lerum")
    user = seller_finance(priced_agreement)
    first = _run(db, user, fake_pricing, priced_agreement, [harryda, lerum])
    assert [i.number for i in first.invoices] == [None, None]
    services.approve_run(db, user, first)
    assert [i.number for i in first.invoices] == [None, None]  # approved is not issued
    services.issue_run(db, user, first)
    assert [i.number for i in first.invoices] == [1, 2]

    # The next run continues the series; a second series starts at 1; the OCR differs per series.
    second = _run(db, user, fake_pricing, priced_agreement, [harryda], period_start=dt.date(2026, 11, 1))
    services.issue_run(db, user, second, approve=True)
    other_series = _run(
        db, user, fake_pricing, priced_agreement, [lerum], period_start=dt.date(2026, 11, 1), series_code="K"
    )
    services.issue_run(db, user, other_series, approve=True)
    assert second.invoices[0].display_number == "F3"
    assert other_series.invoices[0].display_number == "K1"
    assert other_series.invoices[0].ocr != first.invoices[0].ocr

    # Another seller numbers from 1 in its own series.
    other = make_agreement(host="Lerum", buyers=("Ale",))
    make_version(other, status="approved")
    lerum_user = seller_finance(other)
    lerum_run = _run(db, lerum_user, fake_pricing, other, [municipality("Ale")])
    services.issue_run(db, lerum_user, lerum_run, approve=True)
    assert lerum_run.invoices[0].display_number == "F1"

    series = db.scalars(select(InvoiceSeries).order_by(InvoiceSeries.id)).all()
    assert [(s.code, s.last_number) for s in series] == [("F", 3), ("K", 1), ("F", 1)]
    numbers = db.execute(select(Invoice.series_id, Invoice.number)).all()
    assert len(numbers) == len(set(numbers)) == 5


def test_issuing_needs_approval_and_happens_once(
    db, priced_agreement, fake_pricing, municipality, seller_finance, issue_docs
):
    user = seller_finance(priced_agreement)
    run = _run(db, user, fake_pricing, priced_agreement, [municipality("Härryda")])
    (invoice,) = run.invoices
    with pytest.raises(InvoiceStateError):
        services.issue_invoice(db, user, invoice)
    services.approve_run(db, user, run)
    services.issue_invoice(db, user, invoice)
    db.commit()
    assert (invoice.number, invoice.issue_date, invoice.due_date) == (1, ISSUE_DAY, dt.date(2026, 12, 2))
    assert numbering.is_valid_ocr(invoice.ocr) and invoice.ocr.startswith(str(invoice.series_id))
    with pytest.raises(InvoiceImmutable):
        services.issue_invoice(db, user, invoice)
    assert invoice.series.last_number == 1


# --- Concurrency (PostgreSQL) ------------------------------------------------------------------------------

ISSUERS = 8
INVOICES = 200


@pytest.fixture
def pg_engine(tmp_path):
    """An empty PostgreSQL database (row locks are what this is about; SQLite has one writer anyway)."""
    if "postgresql" not in backends():
        pytest.skip("PostgreSQL är inte valt (TEST_DATABASES): samtidighetstestet kräver radlås.")
    with fresh_database("postgresql", tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_concurrent_issuers_get_contiguous_numbers_without_duplicates(pg_engine, issue_docs):
    """8 issuers, each invoice in its own transaction on its own connection, race for the series row:
    the numbers are exactly 1..200, each once, and the counter ends at 200."""
    from core import services as core_services
    from core.audit import acting_as
    from core.db import SessionFactory
    from core.models import Municipality, User
    from registry.models import Agreement, AgreementParty, AgreementStatus, Area, CooperationForm, PartyRole
    from tests.conftest import make_test_app

    upgrade(pg_engine)
    app = make_test_app(pg_engine.url.render_as_string(hide_password=False))
    with app.app_context(), acting_as("test"):
        session = SessionFactory()
        core_services.load_reference_municipalities(session)
        gbg = session.scalar(select(Municipality).where(Municipality.name == "Göteborg"))
        harryda = session.scalar(select(Municipality).where(Municipality.name == "Härryda"))
        user_ids = [
            core_services.create_user(
                session,
                None,
                {
                    "email": f"ekonomi{n}@goteborg.test",
                    "name": f"Ekonomi {n}",
                    "roles": ["finance"],
                    "password": DEMO_PASSWORD,
                    "municipality_id": gbg.id,
                },
            ).id
            for n in range(ISSUERS)
        ]
        agreement = Agreement(
            number="SAMTIDIGT-1",
            title="Samtidighetstest",
            area=Area.JAV,
            cooperation_form=CooperationForm.AVTALSSAMVERKAN,
            legal_basis="KL 9 kap. 37 §",
            start_date=dt.date(2020, 1, 1),
            status=AgreementStatus.ACTIVE,
            parties=[
                AgreementParty(municipality=gbg, role=PartyRole.HOST),
                AgreementParty(municipality=harryda, role=PartyRole.BUYER),
            ],
        )
        session.add(agreement)
        series = InvoiceSeries(municipality_id=gbg.id, code="F", name="Fakturor", last_number=0)
        session.add(series)
        session.flush()
        for n in range(INVOICES):
            day = dt.date(2026, 1, 1) + dt.timedelta(days=n)  # one key per invoice: a period per day
            session.add(
                Invoice(
                    charge_kind="services",
                    vat_group="O",
                    status=InvoiceStatus.APPROVED,
                    seller_municipality_id=gbg.id,
                    buyer_municipality_id=harryda.id,
                    agreement=agreement,
                    period_start=day,
                    period_end=day,
                    series_id=series.id,
                    net_amount=Decimal("100.00"),
                    vat_amount=Decimal("0.00"),
                    total_amount=Decimal("100.00"),
                )
            )
        session.commit()
        invoice_ids = session.scalars(select(Invoice.id).order_by(Invoice.id)).all()
        session.close()

    work: queue.Queue[int] = queue.Queue()
    for invoice_id in invoice_ids:
        work.put(invoice_id)
    errors: list[BaseException] = []
    start = threading.Barrier(ISSUERS)

    def issuer(user_id: int) -> None:
        try:
            with app.app_context(), acting_as("test"):
                start.wait(10)
                while True:
                    try:
                        invoice_id = work.get_nowait()
                    except queue.Empty:
                        return
                    s = SessionFactory()
                    try:
                        services.issue_invoice(s, s.get(User, user_id), s.get(Invoice, invoice_id))
                        s.commit()
                    finally:
                        s.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=issuer, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    with app.app_context():
        s = SessionFactory()
        numbers = s.scalars(select(Invoice.number)).all()
        ocrs = s.scalars(select(Invoice.ocr)).all()
        issuers = s.scalars(select(Invoice.issued_by_id).distinct()).all()
        last = s.scalar(select(InvoiceSeries.last_number))
        s.close()
    assert sorted(numbers) == list(range(1, INVOICES + 1))
    assert len(set(ocrs)) == INVOICES
    assert last == INVOICES
    assert len(issuers) > 1  # the issuers really took turns
    app.extensions["samverkan_engine"].dispose()
