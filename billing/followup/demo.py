"""Demo data of billing.followup (issue #6), loaded by billing.demo after the invoices and the
reconciliation: a follow-up of 2025 for every demo agreement, written by the agreement's owner. Mölndal's
(FAM-MHP-2022) and Bengtsfors' (BM-SOC-2023) are sent (figures and PDF frozen); Göteborg's (GR-JAV-2024)
and Sundsvall's (VN-FHEM-2025) are drafts, so the owner can finish and send them (the browser test sends
GR-JAV-2024's)."""

from __future__ import annotations

from sqlalchemy import select

from billing.followup import services
from billing.models import Recommendation
from registry.models import Agreement

YEAR = 2025

TEXTS = {
    "GR-JAV-2024": {
        "quality_text": (
            "Samverkan har fungerat väl. Jävsärenden har kunnat lämnas över inom en vecka i de flesta fall, och "
            "de mottagande kommunerna har hållit utredningstiderna."
        ),
        "complaints_text": "Två synpunkter på handläggningstid, båda besvarade inom tio dagar.",
        "deviations_text": "En avvikelse: ett beslut verkställdes senare än tre månader efter beslutsdatum.",
        "lex_sarah_text": "Inga lex Sarah-rapporter under året.",
        "recommendation": None,
        "recommendation_text": None,
    },
    "FAM-MHP-2022": {
        "quality_text": (
            "Familjerätten i Mölndal har genomfört samtliga beställda utredningar om vårdnad, boende och umgänge. "
            "Tingsrätterna har inte begärt kompletteringar."
        ),
        "complaints_text": "Ett klagomål på bemötande vid ett samarbetssamtal; utrett och återkopplat.",
        "deviations_text": "Inga avvikelser.",
        "lex_sarah_text": "Inga lex Sarah-rapporter under året.",
        "recommendation": Recommendation.RENEGOTIATE,
        "recommendation_text": (
            "Volymerna har ökat med en fjärdedel sedan avtalet tecknades. Styckpriserna bör ses över inför nästa "
            "avtalsperiod."
        ),
    },
    "BM-SOC-2023": {
        "quality_text": (
            "Den gemensamma socialchefen har lett båda förvaltningarna under hela året. Ledningsgrupperna "
            "träffas varannan vecka."
        ),
        "complaints_text": "Inga klagomål som rör samverkan.",
        "deviations_text": "Inga avvikelser.",
        "lex_sarah_text": "En lex Sarah-rapport i Mellerud, utredd och avslutad utan anmälan till IVO.",
        "recommendation": Recommendation.CONTINUE,
        "recommendation_text": "Samverkan ger båda kommunerna en erfaren chef till lägre kostnad. Fortsätt.",
    },
    "VN-FHEM-2025": {
        "quality_text": (
            "Första året: 14 familjehem har rekryterats och utbildats. Matchningen mot placeringsbehoven har "
            "förbättrats under hösten."
        ),
        "complaints_text": None,
        "deviations_text": None,
        "lex_sarah_text": None,
        "recommendation": Recommendation.CONTINUE,
        "recommendation_text": None,
    },
}
SENT_TO = {
    "FAM-MHP-2022": "Social- och arbetsmarknadsnämnden i Mölndal, socialnämnderna i Härryda och Partille",
    "BM-SOC-2023": "Socialnämnden i Bengtsfors, socialnämnden i Mellerud",
}


def load(session) -> None:
    for number, texts in TEXTS.items():
        agreement = session.scalar(select(Agreement).where(Agreement.number == number))
        if agreement is None or agreement.owner is None:
            continue
        owner = agreement.owner
        followup = services.get_or_create_followup(session, owner, agreement, YEAR)
        if followup is None or followup.is_sent:
            continue
        data = dict(texts)
        data["recommendation"] = data["recommendation"].value if data["recommendation"] else None
        services.update_followup(session, owner, followup, data)
        if number in SENT_TO:
            services.send_followup(session, owner, followup, SENT_TO[number])
    session.flush()
