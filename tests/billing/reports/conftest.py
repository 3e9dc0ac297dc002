"""Fixture data of the overview tests: three agreements, issued invoices in several years (one with a
25 % VAT line), drafts and an approved invoice that must not count, credit notes (one dated in another
year than the invoice it credits), case transfers, decisions and follow-ups. Today is 2026-05-15."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.models import AnnualFollowup, FollowupStatus, Recommendation
from registry.models import AgreementStatus, Decision, TransferStatus
from tests.registry import conftest as _registry_fixtures

make_transfer = _registry_fixtures.make_transfer
legal_bases = _registry_fixtures.legal_bases

TODAY = dt.date(2026, 5, 15)


def month(year: int, m: int) -> tuple[dt.date, dt.date]:
    import calendar

    return dt.date(year, m, 1), dt.date(year, m, calendar.monthrange(year, m)[1])


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr("billing.reports.services.local_today", lambda: TODAY)
    return TODAY


@pytest.fixture
def data(db, make_agreement, make_invoice, make_transfer, legal_bases, municipality, today):
    """a1: Göteborg performs for Härryda and Lerum; a2: Härryda performs for Göteborg; a3: Lerum performs
    for Mölndal (Göteborg is not a party); a4: a terminated agreement of Göteborg's (not in force)."""
    a1 = make_agreement(number="OV-GBG-1", title="Jävsärenden Göteborg")
    a2 = make_agreement(number="OV-HRY-2", title="Familjerätt Härryda", host="Härryda", buyers=("Göteborg",))
    a3 = make_agreement(number="OV-LER-3", title="Socialjour Lerum", host="Lerum", buyers=("Mölndal",))
    a4 = make_agreement(
        number="OV-GBG-4", title="Avslutat avtal", buyers=("Partille",), status=AgreementStatus.TERMINATED
    )
    n = iter(range(1, 100))

    def issued(agreement, buyer, period, lines=(("Utredning", "2.5", "1120.00", "O"),), **kw):
        return make_invoice(
            agreement, buyer=buyer, status="issued", number=next(n), period=period, lines=lines, **kw
        )

    inv = {
        "h_2025_03": issued(a1, "Härryda", month(2025, 3)),  # 2 800,00
        "l_2025_07": issued(
            a1, "Lerum", month(2025, 7), lines=(("Stöd", "10", "500.00", "S"),)
        ),  # 5 000 + moms
        "h_2024_11": issued(a1, "Härryda", month(2024, 11), lines=(("Utredning", "4", "1085.00", "O"),)),
        "h_2026_01": issued(a1, "Härryda", month(2026, 1), lines=(("Utredning", "1", "1120.00", "O"),)),
        "g_2025_02": issued(a2, "Göteborg", month(2025, 2), lines=(("Utredning", "3", "1000.00", "O"),)),
        "m_2025_05": issued(a3, "Mölndal", month(2025, 5), lines=(("Jour", "7", "900.00", "O"),)),
        "p_2025_01": issued(a4, "Partille", month(2025, 1), lines=(("Utredning", "1", "777.00", "O"),)),
    }
    # Not issued: never counted.
    make_invoice(a1, buyer="Härryda", status="draft", period=month(2025, 5))
    make_invoice(a1, buyer="Lerum", status="approved", period=month(2025, 6))
    # Credit notes: one hour of March 2025; the whole 2024 invoice, dated in 2026 (counts in 2024).
    inv["c_2025_03"] = issued(
        a1,
        "Härryda",
        month(2025, 3),
        lines=(("Kredit", "-1", "1120.00", "O"),),
        kind="credit_note",
        original=inv["h_2025_03"],
    )
    inv["c_2024_11"] = issued(
        a1,
        "Härryda",
        month(2026, 2),
        lines=(("Kredit", "-4", "1085.00", "O"),),
        kind="credit_note",
        original=inv["h_2024_11"],
    )
    # A draft credit note: not counted.
    make_invoice(
        a1,
        buyer="Lerum",
        status="draft",
        lines=(("Kredit", "-1", "500.00", "S"),),
        kind="credit_note",
        original=inv["l_2025_07"],
        period=month(2025, 7),
    )

    # Case transfers: open ones (requested, investigating) and settled ones (declined, closed).
    make_transfer(requesting="Härryda", performing="Göteborg", agreement=a1, status=TransferStatus.REQUESTED)
    make_transfer(
        requesting="Lerum", performing="Göteborg", agreement=a1, status=TransferStatus.INVESTIGATING
    )
    make_transfer(requesting="Härryda", performing="Göteborg", agreement=a1, status=TransferStatus.DECLINED)
    make_transfer(requesting="Mölndal", performing="Lerum", agreement=a3, status=TransferStatus.CLOSED)
    decided = make_transfer(
        requesting="Härryda", performing="Göteborg", agreement=a1, status=TransferStatus.DECIDED
    )

    # Decisions Härryda answers for: one not executed after three months (reportable), one executed in
    # time, one closed; and one of Lerum's under a basis IVO does not supervise (if the table has one).
    basis = legal_bases["SOL-KONTAKTPERSON"]
    for values in (
        {"decision_date": dt.date(2025, 12, 1)},
        {"decision_date": dt.date(2026, 1, 10), "execution_date": dt.date(2026, 2, 1)},
        {
            "decision_date": dt.date(2025, 10, 1),
            "closed_on": dt.date(2026, 3, 1),
            "closing_reason": "Flyttat",
        },
        {"decision_date": dt.date(2026, 4, 1)},  # within three months: not yet reportable
    ):
        db.add(
            Decision(
                transfer=decided,
                responsible_municipality=municipality("Härryda"),
                legal_basis=basis,
                insats_type="Kontaktfamilj",
                **values,
            )
        )
    db.commit()

    # Follow-ups for 2025: a1 sent, a2 draft.
    db.add(
        AnnualFollowup(
            agreement=a1,
            year=2025,
            status=FollowupStatus.SENT,
            recommendation=Recommendation.CONTINUE,
            sent_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
            snapshot_figures={},
            snapshot_pdf=b"%PDF-1.4 test",
            snapshot_sha256="0" * 64,
            snapshot_size=13,
        )
    )
    db.add(AnnualFollowup(agreement=a2, year=2025, status=FollowupStatus.DRAFT))
    db.commit()
    return {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "invoices": inv}
