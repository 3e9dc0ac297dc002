"""Demo stories of the registry, loaded by `flask core seed` into an empty database.

- Göteborgsregionen's 13 municipalities in a jäv cooperation (GR-JAV-2024) with transfers in every
  state, mostly involving Härryda so that Härryda's demo users see them, and decisions that show
  every state of the three-month watch (one reportable to IVO).
- Bengtsfors and Mellerud sharing one social services director 50/50 (BM-SOC-2023).
- Västernorrland's family-home recruitment hosted by Sundsvall (VN-FHEM-2025).
- A familjerätt cooperation of Mölndal, Härryda and Partille whose last notice day is a few weeks
  ahead (FAM-MHP-2022), so the start page has a real deadline.
- Mölndal's familjerätt investigations for Kungsbacka in 2023–2024 (FAM-MK-2023, expired): a buyer
  outside FAM-MHP-2022 in the same area, so FAM-MHP-2022's Hamburg re-check has an open-market share.

Dates are relative to the day the demo is loaded, so the stories stay current. Rows are created
directly; the audit log records them as the seeding actor.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.formatting import local_today
from core.models import Municipality, User
from registry.dates import add_months
from registry.models import (
    Agreement,
    AgreementParty,
    AgreementStatus,
    Area,
    CaseArea,
    CaseTransfer,
    CaseTransferEvent,
    CooperationForm,
    Decision,
    DecisionInterruption,
    DecisionOffer,
    Executor,
    JavGround,
    LegalBasis,
    PartyRole,
    ResolutionType,
    SharedRole,
    SharedRoleAllocation,
    TransferStatus,
)
from registry.reference import next_reference

GR_MEMBERS = [
    "1480",
    "1440",
    "1489",
    "1401",
    "1384",
    "1482",
    "1441",
    "1462",
    "1481",
    "1402",
    "1415",
    "1419",
    "1407",
]
BOARDS = {"1480": "Socialnämnden Centrum", "1401": "Socialnämnden", "1441": "Nämnden för sociala frågor"}

# The path each transfer status takes from 'requested'.
PATHS = {
    TransferStatus.REQUESTED: [],
    TransferStatus.ACCEPTED: [TransferStatus.ACCEPTED],
    TransferStatus.DECLINED: [TransferStatus.DECLINED],
    TransferStatus.INVESTIGATING: [TransferStatus.ACCEPTED, TransferStatus.INVESTIGATING],
    TransferStatus.DECIDED: [TransferStatus.ACCEPTED, TransferStatus.INVESTIGATING, TransferStatus.DECIDED],
    TransferStatus.EXECUTED: [
        TransferStatus.ACCEPTED,
        TransferStatus.INVESTIGATING,
        TransferStatus.DECIDED,
        TransferStatus.EXECUTED,
    ],
    TransferStatus.INTERRUPTED: [
        TransferStatus.ACCEPTED,
        TransferStatus.INVESTIGATING,
        TransferStatus.DECIDED,
        TransferStatus.EXECUTED,
        TransferStatus.INTERRUPTED,
    ],
    TransferStatus.CLOSED: [
        TransferStatus.ACCEPTED,
        TransferStatus.INVESTIGATING,
        TransferStatus.DECIDED,
        TransferStatus.EXECUTED,
        TransferStatus.CLOSED,
    ],
}


# Moves the requesting municipality registers; the performing municipality registers the rest.
REQUESTER_MOVES = {TransferStatus.CLOSED}


def load(session: Session, today: dt.date | None = None) -> None:
    today = today or local_today()
    m = {mun.kommunkod: mun for mun in session.scalars(select(Municipality))}
    users = {u.email: u for u in session.scalars(select(User))}

    gr = _agreement(
        session,
        m,
        "GR-JAV-2024",
        "Jävsärenden inom Göteborgsregionen",
        Area.JAV,
        host="1480",
        buyers=[k for k in GR_MEMBERS if k != "1480"],
        start=dt.date(2024, 1, 1),
        end=dt.date(2025, 12, 31),
        renewal=12,
        notice=6,
        owner=users.get("admin@goteborg.demo"),
        description="Medlemskommunerna i Göteborgsregionen utför handläggning åt varandra när jäv "
        "uppstår, med extern delegering enligt KL 9 kap. 37 §. Den begärande kommunen behåller "
        "huvudmannaskapet.",
    )
    _agreement(
        session,
        m,
        "BM-SOC-2023",
        "Gemensam socialchef Bengtsfors–Mellerud",
        Area.SOCIALCHEF,
        host="1460",
        buyers=["1461"],
        start=dt.date(2023, 1, 1),
        end=dt.date(2026, 12, 31),
        renewal=24,
        notice=12,
        owner=users.get("admin@bengtsfors.demo"),
        description="Bengtsfors anställer socialchefen; Mellerud ersätter hälften av kostnaden.",
    )
    _agreement(
        session,
        m,
        "VN-FHEM-2025",
        "Familjehemsrekrytering i Västernorrland",
        Area.FAMILJEHEM,
        host="2281",
        buyers=["2280", "2262", "2260", "2282", "2283", "2284"],
        start=dt.date(2025, 1, 1),
        end=dt.date(2027, 12, 31),
        renewal=12,
        notice=6,
        owner=users.get("admin@sundsvall.demo"),
        description="Sundsvall rekryterar, utreder och utbildar familjehem för länets kommuner. "
        "Kostnaden fördelas efter folkmängd med avräkning vid årets slut.",
    )
    # Last notice day about six weeks ahead: the start page shows it.
    notice_day = today + dt.timedelta(days=45)
    _agreement(
        session,
        m,
        "FAM-MHP-2022",
        "Familjerätt Mölndal, Härryda och Partille",
        Area.FAMILJERATT,
        host="1481",
        buyers=["1401", "1402"],
        start=dt.date(2022, 1, 1),
        end=add_months(notice_day, 6),
        renewal=24,
        notice=6,
        owner=users.get("admin@molndal.demo"),
        description="Mölndal utför familjerättsliga utredningar (vårdnad, boende, umgänge, faderskap) "
        "åt Härryda och Partille mot styckpris per ärende.",
    )
    kungsbacka = _agreement(
        session,
        m,
        "FAM-MK-2023",
        "Familjerättsliga utredningar åt Kungsbacka",
        Area.FAMILJERATT,
        host="1481",
        buyers=["1384"],
        start=dt.date(2023, 1, 1),
        end=dt.date(2024, 12, 31),
        renewal=None,
        notice=3,
        owner=users.get("admin@molndal.demo"),
        description="Mölndal utförde enstaka familjerättsliga utredningar åt Kungsbacka mot samma "
        "styckpris som i FAM-MHP-2022 medan Kungsbacka byggde upp sin egen familjerätt. Avtalet "
        "löpte ut vid utgången av 2024.",
    )
    kungsbacka.status = AgreementStatus.EXPIRED

    _shared_director(session, m, users)
    _transfers(session, m, users, gr, today)
    session.flush()


def _agreement(
    session, m, number, title, area, host, buyers, start, end, renewal, notice, owner, description
):
    agreement = Agreement(
        number=number,
        title=title,
        area=area,
        cooperation_form=CooperationForm.AVTALSSAMVERKAN,
        legal_basis="KL 9 kap. 37 §",
        description=description,
        start_date=start,
        end_date=end,
        renewal_months=renewal,
        notice_months=notice,
        owner=owner,
        status=AgreementStatus.ACTIVE,
    )
    agreement.parties = [
        AgreementParty(
            municipality=m[code],
            role=PartyRole.HOST if code == host else PartyRole.BUYER,
            board=BOARDS.get(code, "Socialnämnden"),
            contact_name=None,
            decision_reference=f"KS {start.year - 1}/{40 + i} § {12 + i}",
            decision_date=dt.date(start.year - 1, 11, 20),
        )
        for i, code in enumerate([host, *buyers])
    ]
    session.add(agreement)
    return agreement


def _shared_director(session, m, users) -> None:
    agreement = session.scalar(select(Agreement).where(Agreement.number == "BM-SOC-2023"))
    role = SharedRole(
        agreement=agreement,
        title="Socialchef",
        employer=m["1460"],
        holder_name="Karin Lindqvist",
        period_start=dt.date(2023, 1, 1),
        period_end=None,
        salary_per_month=Decimal("78000.00"),
        po_percent=Decimal("31.42"),
        overhead_per_month=Decimal("3500.00"),
        delegations="Beslut enligt delegationsordning för socialnämnden i Bengtsfors och "
        "socialnämnden i Mellerud, avsnitt 1–4.",
    )
    role.allocations = [
        SharedRoleAllocation(
            valid_from=dt.date(2023, 1, 1), municipality=m["1460"], percent=Decimal("50.00")
        ),
        SharedRoleAllocation(
            valid_from=dt.date(2023, 1, 1), municipality=m["1461"], percent=Decimal("50.00")
        ),
    ]
    session.add(role)


def _transfers(session, m, users, agreement, today) -> None:
    # Who registers steps for each municipality in the stories (a caseworker or administrator).
    actors = {
        "1401": users.get("handlaggare@harryda.demo"),
        "1441": users.get("handlaggare@lerum.demo"),
        "1402": users.get("handlaggare@partille.demo"),
        "1481": users.get("admin@molndal.demo"),
        "1480": users.get("admin@goteborg.demo"),
    }
    bases = {lb.code: lb for lb in session.scalars(select(LegalBasis))}
    stories = [
        # requesting, performing, final status, days ago requested, jäv ground, area
        ("1401", "1441", TransferStatus.REQUESTED, 3, JavGround.ANSTALLD, CaseArea.BARN_UNGA),
        ("1441", "1401", TransferStatus.REQUESTED, 6, JavGround.NARSTAENDE, CaseArea.VUXEN),
        ("1401", "1402", TransferStatus.ACCEPTED, 12, JavGround.FORTROENDEVALD, CaseArea.EKONOMISKT_BISTAND),
        ("1401", "1481", TransferStatus.DECLINED, 20, JavGround.KAND_PERSON, CaseArea.BARN_UNGA),
        ("1401", "1441", TransferStatus.INVESTIGATING, 35, JavGround.ANSTALLD, CaseArea.LSS),
        ("1480", "1401", TransferStatus.DECIDED, 60, JavGround.KLIENTENS_ONSKEMAL, CaseArea.VUXEN),
        ("1401", "1441", TransferStatus.EXECUTED, 150, JavGround.NARSTAENDE, CaseArea.BARN_UNGA),
        ("1401", "1402", TransferStatus.INTERRUPTED, 300, JavGround.ANSTALLD, CaseArea.LSS),
        ("1401", "1481", TransferStatus.CLOSED, 400, JavGround.ANNAT, CaseArea.VUXEN),
        ("1401", "1441", TransferStatus.DECIDED, 200, JavGround.FORTROENDEVALD, CaseArea.BARN_UNGA),
    ]
    for req, perf, final, days_ago, ground, area in stories:
        requested_on = today - dt.timedelta(days=days_ago)
        creator = actors.get(req)
        transfer = CaseTransfer(
            reference=next_reference(session, "JAV", req, requested_on.year),
            agreement=agreement,
            requesting_municipality=m[req],
            performing_municipality=m[perf],
            jav_ground=ground,
            resolution_type=ResolutionType.EXTERNAL_DELEGATION,
            case_area=area,
            executor=Executor.PERFORMING,
            delegation_decision=f"Delegationsbeslut {requested_on.year}-{days_ago:03d}",
            requested_on=requested_on,
            status=TransferStatus.REQUESTED,
            created_by_id=creator.id if creator else None,
        )
        transfer.events = [
            CaseTransferEvent(
                from_status=None,
                to_status=TransferStatus.REQUESTED,
                effective_on=requested_on,
                user=creator,
                comment="Överlämning begärd.",
            )
        ]
        step_day = requested_on
        days: dict[TransferStatus, dt.date] = {}
        for target in PATHS[final]:
            step_day = min(today, step_day + dt.timedelta(days=max(2, days_ago // 8)))
            previous = transfer.status
            if target is TransferStatus.INTERRUPTED:
                transfer.status_before_interruption = previous
            if target in (TransferStatus.ACCEPTED, TransferStatus.DECLINED):
                transfer.answered_on = step_day
            if target is TransferStatus.DECLINED:
                transfer.decline_reason = "Jäv även hos oss: en handläggare är närstående till den enskilde."
            if target is TransferStatus.CLOSED:
                transfer.closed_on = step_day
            transfer.status = target
            days[target] = step_day
            transfer.events.append(
                CaseTransferEvent(
                    from_status=previous,
                    to_status=target,
                    effective_on=step_day,
                    user=actors.get(req if target in REQUESTER_MOVES else perf),
                )
            )
        session.add(transfer)
        _decision_for(session, transfer, final, days, today, bases)


def _decision_for(session, transfer, final, days, today, bases) -> None:
    """Decisions that show every state of the three-month watch, dated by the transfer's events."""
    decided_on = days.get(TransferStatus.DECIDED)
    if decided_on is None:
        return
    lss = transfer.case_area is CaseArea.LSS
    decision = Decision(
        transfer=transfer,
        responsible_municipality=transfer.requesting_municipality,
        legal_basis=bases["LSS-9-4" if lss else "SOL-KONTAKTPERSON"],
        insats_type="Kontaktperson enligt LSS" if lss else "Kontaktperson",
        decision_date=decided_on,
        execution_date=days.get(TransferStatus.EXECUTED),
    )
    if TransferStatus.INTERRUPTED in days:
        decision.interruptions = [
            DecisionInterruption(
                interrupted_on=days[TransferStatus.INTERRUPTED], reason="Kontaktpersonen slutade."
            )
        ]
    if TransferStatus.CLOSED in days:
        decision.closed_on = days[TransferStatus.CLOSED]
        decision.closing_reason = "Insatsen avslutad på den enskildes begäran."
    if decision.execution_date is None and (today - decided_on).days > 92:
        # Not executed after more than three months: reportable to IVO.
        decision.delay_reason = "Ingen kontaktperson har kunnat rekryteras."
        decision.offers = [
            DecisionOffer(
                offered_on=decided_on + dt.timedelta(days=50),
                declined=True,
                note="Erbjudandet avböjdes: kontaktpersonen bodde för långt bort.",
            ),
        ]
    session.add(decision)
