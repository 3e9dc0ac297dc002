"""Factories for registry tests. They create rows directly (not through the services under test),
so each part's tests stand on their own."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from registry.models import (
    Agreement,
    AgreementParty,
    AgreementStatus,
    Area,
    CaseArea,
    CaseTransfer,
    CooperationForm,
    Executor,
    JavGround,
    LegalBasis,
    PartyRole,
    ResolutionType,
    TransferStatus,
)
from registry.seed import load_legal_bases


@pytest.fixture
def make_agreement(db, municipality):
    """make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"), status=AgreementStatus.ACTIVE, ...)."""
    counter = {"n": 0}

    def _make(
        host: str = "Göteborg",
        buyers: tuple[str, ...] = ("Härryda", "Lerum"),
        status: AgreementStatus = AgreementStatus.ACTIVE,
        **overrides,
    ) -> Agreement:
        counter["n"] += 1
        values = {
            "number": f"TEST-{counter['n']:03d}",
            "title": f"Testavtal {counter['n']}",
            "area": Area.JAV,
            "cooperation_form": CooperationForm.AVTALSSAMVERKAN,
            "legal_basis": "KL 9 kap. 37 §",
            "start_date": dt.date(2024, 1, 1),
            "end_date": dt.date(2026, 12, 31),
            "renewal_months": 12,
            "notice_months": 6,
            "status": status,
        }
        values.update(overrides)
        agreement = Agreement(**values)
        agreement.parties = [AgreementParty(municipality=municipality(host), role=PartyRole.HOST)] + [
            AgreementParty(municipality=municipality(b), role=PartyRole.BUYER) for b in buyers
        ]
        db.add(agreement)
        db.commit()
        return agreement

    return _make


@pytest.fixture
def make_transfer(db, municipality):
    """make_transfer(requesting="Härryda", performing="Lerum", agreement=None, status=REQUESTED, ...)."""
    counter = {"n": 0}

    def _make(
        requesting: str = "Härryda",
        performing: str = "Lerum",
        agreement: Agreement | None = None,
        status: TransferStatus = TransferStatus.REQUESTED,
        **overrides,
    ) -> CaseTransfer:
        counter["n"] += 1
        req = municipality(requesting)
        values = {
            "reference": f"JAV-{req.kommunkod}-2026-T{counter['n']:03d}",
            "agreement": agreement,
            "requesting_municipality": req,
            "performing_municipality": municipality(performing),
            "jav_ground": JavGround.ANSTALLD,
            "resolution_type": ResolutionType.EXTERNAL_DELEGATION,
            "case_area": CaseArea.BARN_UNGA,
            "executor": Executor.PERFORMING,
            "status": status,
            "requested_on": dt.date(2026, 1, 10),
        }
        values.update(overrides)
        transfer = CaseTransfer(**values)
        db.add(transfer)
        db.commit()
        return transfer

    return _make


@pytest.fixture
def legal_bases(db):
    """The legal-basis table as `flask core seed` loads it; returns {code: LegalBasis}."""
    load_legal_bases(db)
    db.commit()
    return {lb.code: lb for lb in db.scalars(select(LegalBasis))}
