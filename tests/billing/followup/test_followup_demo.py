"""The demo (`flask core seed`) has a 2025 follow-up for every demo agreement: Mölndal's and Bengtsfors'
sent (figures and PDF frozen, sha256 matching), Göteborg's and Sundsvall's drafts to finish."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select

from billing.models import AnnualFollowup, FollowupStatus
from registry.models import Agreement


def test_demo_has_a_2025_follow_up_for_every_agreement(demo):
    rows = demo.session.execute(
        select(Agreement.number, AnnualFollowup).join(
            AnnualFollowup, AnnualFollowup.agreement_id == Agreement.id
        )
    ).all()
    by_number = {number: f for number, f in rows if f.year == 2025}
    in_force_2025 = set(
        demo.session.scalars(
            select(Agreement.number).where(
                Agreement.start_date <= dt.date(2025, 12, 31),
                (Agreement.end_date.is_(None)) | (Agreement.end_date >= dt.date(2025, 1, 1)),
            )
        )
    )
    # every demo agreement in force during 2025 (FAM-MK-2023 ended with 2024: no 2025 to follow up)
    assert set(by_number) == in_force_2025
    assert in_force_2025 >= {"GR-JAV-2024", "FAM-MHP-2022", "BM-SOC-2023", "VN-FHEM-2025"}
    for number in ("FAM-MHP-2022", "BM-SOC-2023"):
        sent = by_number[number]
        assert sent.status == FollowupStatus.SENT and sent.recommendation is not None
        assert hashlib.sha256(sent.snapshot_pdf).hexdigest() == sent.snapshot_sha256
        assert sent.snapshot_figures["agreement_number"] == number
        assert sent.snapshot_figures["year"] == 2025
    for number in ("GR-JAV-2024", "VN-FHEM-2025"):
        draft = by_number[number]
        assert draft.status == FollowupStatus.DRAFT and draft.quality_text
    assert by_number["GR-JAV-2024"].recommendation is None  # the browser test chooses one
