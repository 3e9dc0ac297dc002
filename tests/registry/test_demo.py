"""The demo stories load and tell what they promise."""

from sqlalchemy import select

from core.formatting import local_today
from registry.dates import DecisionState, decision_state
from registry.models import Agreement, CaseTransfer, Decision, SharedRole, TransferStatus


def test_demo_stories(demo):
    db = demo.session
    numbers = set(db.scalars(select(Agreement.number)))
    assert {"GR-JAV-2024", "BM-SOC-2023", "VN-FHEM-2025", "FAM-MHP-2022"} <= numbers

    gr = db.scalar(select(Agreement).where(Agreement.number == "GR-JAV-2024"))
    assert len(gr.parties) == 13
    assert gr.host.municipality.name == "Göteborg"

    vn = db.scalar(select(Agreement).where(Agreement.number == "VN-FHEM-2025"))
    assert vn.host.municipality.name == "Sundsvall"

    director = db.scalar(select(SharedRole).where(SharedRole.title == "Socialchef"))
    assert director.employer.name == "Bengtsfors"
    assert sorted((a.municipality.name, str(a.percent)) for a in director.allocations) == [
        ("Bengtsfors", "50.00"),
        ("Mellerud", "50.00"),
    ]

    statuses = {t.status for t in db.scalars(select(CaseTransfer))}
    assert statuses == set(TransferStatus)

    today = local_today()
    states = {
        decision_state(
            d.decision_date,
            d.execution_date,
            [(i.interrupted_on, i.resumed_on) for i in d.interruptions],
            today,
        )
        for d in db.scalars(select(Decision))
    }
    assert DecisionState.NOT_EXECUTED in states
    assert DecisionState.INTERRUPTED_OVER_THREE_MONTHS in states
    assert DecisionState.EXECUTED_IN_TIME in states
    assert DecisionState.PENDING in states

    # The familjerätt agreement's last notice day lies a few weeks ahead of the day the demo loads.
    fam = db.scalar(select(Agreement).where(Agreement.number == "FAM-MHP-2022"))
    from registry.dates import current_end_date, last_notice_date

    notice = last_notice_date(current_end_date(fam.end_date, fam.renewal_months, today), fam.notice_months)
    assert 0 < (notice - today).days <= 90
