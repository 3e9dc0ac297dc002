"""Invoice numbers and OCR references.

Numbers: each seller has one or more series (InvoiceSeries, e.g. "F"); issuing locks the series row
FOR UPDATE, takes last_number + 1 and writes it back in the same transaction that marks the invoice
issued. A transaction that rolls back therefore consumes no number (gapless), and two issuers queue on
the row lock (no duplicates; the unique index on (series_id, number) is the last line). On SQLite the
database-wide write lock taken by BEGIN IMMEDIATE does the same.

Lock order: the audit log locks its chain head at a transaction's first write, so a transaction that
writes before it locks a series could deadlock with one that locked the series first and now writes.
Lock the series before any other write in the transaction (`lock_series` at the start; issue_run locks
all its series before approving anything).

OCR reference (Bankgiro "OCR-nummer" with length and check digit), all digits:

    <series id><invoice number, 7 digits zero-padded><length digit><Luhn check digit>

The series id makes the reference unique across sellers and series (series ids are unique in the
database; the fixed width of the number keeps the concatenation unambiguous). The length digit is the
reference's total length (including both trailing digits) modulo 10; the check digit is the Luhn (mod 10)
digit of everything before it. Example: series 3, invoice 42 -> base 30000042 (8 digits), total length
10 -> length digit 0, Luhn of 300000420 is 4 -> OCR 3000004204.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum import luhn

from billing.models import InvoiceSeries

NUMBER_WIDTH = 7
SERIES_NAMES = {"F": "Fakturor"}


def ocr_reference(series_id: int, number: int) -> str:
    """The OCR reference of invoice `number` in series `series_id` (see the module docstring)."""
    if series_id < 1 or number < 1 or number >= 10**NUMBER_WIDTH:
        raise ValueError("series id and number must be positive, the number at most 7 digits")
    base = f"{series_id}{number:0{NUMBER_WIDTH}d}"
    with_length = base + str((len(base) + 2) % 10)
    return with_length + luhn.calc_check_digit(with_length)


def is_valid_ocr(reference: str) -> bool:
    """True when the length digit and the Luhn check digit of `reference` are right."""
    if not reference.isdigit() or len(reference) < 3:
        return False
    return int(reference[-2]) == len(reference) % 10 and luhn.is_valid(reference)


def get_or_create_series(session: Session, municipality_id: int, code: str) -> InvoiceSeries:
    """The seller's series `code`, created (last number 0) the first time it is needed. Two first
    creations at the same instant meet on the unique key: the loser reads the winner's row."""
    stmt = select(InvoiceSeries).where(
        InvoiceSeries.municipality_id == municipality_id, InvoiceSeries.code == code
    )
    series = session.scalar(stmt)
    if series is not None:
        return series
    try:
        with session.begin_nested():
            series = InvoiceSeries(
                municipality_id=municipality_id,
                code=code,
                name=SERIES_NAMES.get(code, f"Serie {code}"),
                last_number=0,
            )
            session.add(series)
    except IntegrityError:
        series = session.scalar(stmt)
        if series is None:  # pragma: no cover - the unique key said it exists
            raise
    return series


def lock_series(session: Session, series_id: int) -> InvoiceSeries:
    """The series row, locked FOR UPDATE until the transaction ends, with its current last number
    (populate_existing: a copy already in the session must not hide another issuer's number)."""
    return session.scalars(
        select(InvoiceSeries)
        .where(InvoiceSeries.id == series_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def take_next_number(series: InvoiceSeries) -> int:
    """The next number of a series locked with `lock_series` in this transaction (written back to the
    row; flushed together with the issued invoice)."""
    series.last_number += 1
    return series.last_number
