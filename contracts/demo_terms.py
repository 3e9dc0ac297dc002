"""Demo contract terms for `make run`, one story per registry demo agreement:

- GR-JAV-2024: hourly rates per started 15 minutes, mileage and outlays, OPI indexation. Version 1
  (2024), "Indexuppräkning 2025" (OPI 3,3 % final) and "Indexuppräkning 2026" made with OPI 2026 at a
  preliminary 2,7 %, since revised to 2,9 %: the index adjustments page shows what billing owes.
- BM-SOC-2023: the shared social services director at the registry's 50/50 allocation, 25 % VAT,
  approved in 2022: the review is more than a year old and shows on the review queue.
- VN-FHEM-2025: preliminary quarterly billing on a budget, shared by population (20 % equally),
  reconciled after the year; cost calculation and joint-controller agreement attached.
- FAM-MHP-2022: per-case fees by case type, prices agreed per year from 2022; an amendment for 2027
  that extends the term is in legal review with one row marked missing (insurance).
- FAM-MK-2023 (expired): Mölndal's investigations for Kungsbacka in 2023–2024 at FAM-MHP-2022's
  per-case prices, invoiced yearly in the same FAM series.

Versions go through the real review path (submit, mark every row, approve) with historical dates,
so every approved version has its completed checklist.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts import versions as versions_service
from contracts.indexation import Rounding, apply_index
from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractBuyerTerms,
    ContractPrice,
    ContractPriceIndexation,
    ContractServiceType,
    ContractVersion,
    ContractVersionDocument,
    DocumentKind,
    IndexKind,
    IndexStatus,
    IndexValue,
    IndexValueRevision,
    InvoiceFrequency,
    PersonalDataRole,
    ReviewSection,
    ReviewStatus,
    RevisionKind,
    ServiceUnit,
    ShareBasis,
    VatCategory,
    VersionStatus,
)
from contracts.review import services as review
from core.models import User
from registry.agreements.services import store_attachment
from registry.models import Agreement, Executor, SharedRole

VATEX_O = ("VATEX-EU-O", "Myndighetsutövning – utanför momsens tillämpningsområde")
VATEX_E = ("VATEX-EU-132-1G", "Social omsorg – undantagen från skatteplikt")

HAMBURG_JUSTIFICATIONS = {
    "hamburg_parties": "Alla parter är kommuner (organisationsnummer 212000-).",
    "hamburg_cooperation": "Parterna samverkar för att fullgöra sina egna uppgifter inom socialtjänsten; "
    "varje part bidrar med handläggning, lokaler eller finansiering.",
    "hamburg_public_interest": "Ersättningen bygger på självkostnad enligt bifogad kalkyl; inget vinstpåslag.",
    "hamburg_market_share": "Värdkommunen utför inga motsvarande tjänster på den öppna marknaden (0 %).",
}
FIFTEEN = 15


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=dt.UTC)


def demo_pdf(title: str) -> bytes:
    """A small valid one-page PDF with a title line, for the demo's signed scans and appendices."""
    text = title.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 14 Tf 72 770 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _service_type(code, name, unit, category, reason=None, rate="0"):
    code_reason = reason or (None, None)
    return ContractServiceType(
        code=code,
        name=name,
        unit=unit,
        vat_category=category,
        vat_rate=Decimal(rate),
        vat_exemption_reason_code=code_reason[0],
        vat_exemption_reason=code_reason[1],
    )


def _prices(pairs) -> list[ContractPrice]:
    return [
        ContractPrice(year=year, case_type=case_type, amount=Decimal(amount))
        for year, case_type, amount in pairs
    ]


def _attach(session, version, kind, filename, title, uploader) -> None:
    attachment = store_attachment(
        session,
        version.agreement,
        filename,
        demo_pdf(title),
        title,
        uploaded_by_id=uploader.id if uploader else None,
    )
    version.documents.append(
        ContractVersionDocument(
            attachment=attachment, kind=kind, added_by_id=uploader.id if uploader else None
        )
    )


def _review_and_approve(session, version, submitter, lawyer, submitted_on, approved_on, missing=None):
    """Submit, mark every row (OK; Hamburg criteria yes with a justification), approve on a past day.
    With `missing` = (key, comment) that row is marked missing and the version stays in review."""
    review.submit_for_review(session, submitter, version)
    version.submitted_at = _at(submitted_on)
    session.flush()
    marks = {}
    for row in version.review_rows:
        if missing and row.key == missing[0]:
            marks[row.id] = {"status": ReviewStatus.MISSING.value, "comment": missing[1]}
        elif row.section == ReviewSection.HAMBURG:
            marks[row.id] = {
                "status": ReviewStatus.OK.value,
                "answer": True,
                "comment": HAMBURG_JUSTIFICATIONS.get(row.key, "Uppfyllt."),
            }
        else:
            marks[row.id] = {"status": ReviewStatus.OK.value, "comment": None}
    review.mark_rows(session, lawyer, version, marks)
    if missing:
        return
    review.approve_version(session, lawyer, version, approved_at=_at(approved_on, 14))
    session.flush()


def _new_version(agreement, number, title, effective_from, creator, **fields) -> ContractVersion:
    return ContractVersion(
        agreement=agreement,
        number=number,
        title=title,
        effective_from=effective_from,
        status=VersionStatus.DRAFT,
        created_by_id=creator.id,
        **fields,
    )


def _indexed_amendment(session, previous, title, year, index_value, percent, creator):
    """An amendment that indexes every price of `year - 1` to `year` (as contracts.indexing does),
    recording the index value and the percent used."""
    amendment = versions_service.create_version(
        session,
        creator,
        previous.agreement,
        title=title,
        effective_from=dt.date(year, 1, 1),
        change_summary=f"Priserna för {year} räknade upp med {index_value.edition} "
        f"({str(percent).replace('.', ',')} %, {'preliminärt' if index_value.status == IndexStatus.PRELIMINARY else 'slutligt'}), "
        "avrundat till hela ören.",
    )
    for component in amendment.components:
        for price in [p for p in component.prices if p.year == year - 1]:
            result = apply_index(Decimal(price.amount), percent, Rounding.ORE, year=year)
            new = ContractPrice(year=year, case_type=price.case_type, amount=result.new_price)
            component.prices.append(new)
            amendment.price_indexations.append(
                ContractPriceIndexation(
                    price=new,
                    index_value=index_value,
                    old_amount=price.amount,
                    percent=percent,
                    index_status=index_value.status,
                    rounding=Rounding.ORE,
                    new_amount=result.new_price,
                )
            )
    session.flush()
    return amendment


def load(session: Session) -> None:
    users = {u.email: u for u in session.scalars(select(User))}
    agreements = {a.number: a for a in session.scalars(select(Agreement))}
    if "GR-JAV-2024" in agreements:
        _gr_jav(session, agreements["GR-JAV-2024"], users)
    if "BM-SOC-2023" in agreements:
        _bm_soc(session, agreements["BM-SOC-2023"], users)
    if "VN-FHEM-2025" in agreements:
        _vn_fhem(session, agreements["VN-FHEM-2025"], users)
    if "FAM-MHP-2022" in agreements:
        _fam(session, agreements["FAM-MHP-2022"], users)
    if "FAM-MK-2023" in agreements:
        _fam_kungsbacka(session, agreements["FAM-MK-2023"], users)
    session.flush()


def _gr_jav(session, agreement, users) -> None:
    admin, lawyer = users["admin@goteborg.demo"], users["jurist@harryda.demo"]
    v1 = _new_version(
        agreement,
        1,
        "Ursprungligt avtal",
        agreement.start_date,
        admin,
        scope="Utredning, beslut och uppföljning i ärenden enligt SoL, LVU och LVM där den begärande "
        "kommunen har jäv. Utförande kommun handlägger med extern delegering; den begärande kommunen "
        "verkställer beslutet.",
        executor=Executor.REQUESTING,
        invoice_frequency=InvoiceFrequency.MONTHLY,
        payment_terms_days=30,
        invoice_series="JAV",
        index_kind=IndexKind.OPI,
        index_edition="OPI (SKR) för prisåret",
        index_effective_from=dt.date(2025, 1, 1),
        index_rounding=Rounding.ORE,
        personal_data_role=PersonalDataRole.PROCESSOR,
        claims_cost_coverage=True,
    )
    hours = _service_type("utredning", "Utredning och handläggning", ServiceUnit.HOUR, VatCategory.O, VATEX_O)
    km = _service_type("resa", "Resor i tjänsten", ServiceUnit.KM, VatCategory.O, VATEX_O)
    outlay = _service_type("utlagg", "Utlägg", ServiceUnit.SEK, VatCategory.O, VATEX_O)
    v1.service_types = [hours, km, outlay]
    v1.components = [
        CompensationComponent(
            position=1,
            model=CompensationModel.HOURLY,
            service_type=hours,
            time_rounding_minutes=FIFTEEN,
            description="Handläggartid inklusive resor inom kommunen",
            prices=_prices([(2024, "", "1050.00")]),
        ),
        CompensationComponent(
            position=2, model=CompensationModel.MILEAGE, service_type=km, prices=_prices([(2024, "", "2.50")])
        ),
        CompensationComponent(position=3, model=CompensationModel.OUTLAYS, service_type=outlay),
    ]
    v1.buyer_terms = [
        ContractBuyerTerms(
            municipality_id=p.municipality_id, buyer_reference=f"{p.municipality.kommunkod}-IFO"
        )
        for p in agreement.buyers
    ]
    session.add(v1)
    session.flush()
    _attach(session, v1, DocumentKind.PUB_AGREEMENT, "pub-avtal-gr-jav.pdf", "PUB-avtal GR jäv", admin)
    _attach(
        session, v1, DocumentKind.COST_CALCULATION, "kalkyl-gr-jav-2024.pdf", "Kostnadskalkyl 2024", admin
    )
    _review_and_approve(session, v1, admin, lawyer, dt.date(2023, 11, 20), dt.date(2023, 12, 12))
    _attach(session, v1, DocumentKind.SIGNED_SCAN, "gr-jav-2024-signerat.pdf", "Undertecknat avtal", admin)

    opi = {v.year: v for v in session.scalars(select(IndexValue).where(IndexValue.kind == IndexKind.OPI))}
    if 2025 not in opi or 2026 not in opi:
        return
    v2 = _indexed_amendment(session, v1, "Indexuppräkning 2025", 2025, opi[2025], opi[2025].percent, admin)
    _review_and_approve(session, v2, admin, lawyer, dt.date(2024, 12, 2), dt.date(2024, 12, 10))
    # OPI 2026 was 2,7 % (preliminary) when the 2026 prices were set; it has since been revised.
    used = Decimal("2.7000")
    v3 = _indexed_amendment(session, v2, "Indexuppräkning 2026", 2026, opi[2026], used, admin)
    _review_and_approve(session, v3, admin, lawyer, dt.date(2025, 12, 1), dt.date(2025, 12, 8))
    if opi[2026].percent != used and not opi[2026].revisions:
        session.add(
            IndexValueRevision(
                index_value=opi[2026],
                kind=RevisionKind.REVISION,
                old_percent=used,
                new_percent=opi[2026].percent,
                old_status=IndexStatus.PRELIMINARY,
                new_status=IndexStatus.PRELIMINARY,
                reason="SKR:s reviderade prognos efter avtalsrörelsen (demodata).",
                revised_at=_at(dt.date(2026, 4, 15)),
            )
        )


def _bm_soc(session, agreement, users) -> None:
    admin, lawyer = users["admin@bengtsfors.demo"], users["jurist@bengtsfors.demo"]
    role = session.scalar(select(SharedRole).where(SharedRole.agreement_id == agreement.id))
    v1 = _new_version(
        agreement,
        1,
        "Ursprungligt avtal",
        agreement.start_date,
        admin,
        scope="Bengtsfors kommun anställer en gemensam socialchef som leder socialtjänsten i båda "
        "kommunerna och har delegation från båda socialnämnderna.",
        invoice_frequency=InvoiceFrequency.QUARTERLY,
        payment_terms_days=30,
        invoice_series="F",
        personal_data_role=PersonalDataRole.NONE,
    )
    chef = _service_type("socialchef", "Gemensam socialchef", ServiceUnit.PERIOD, VatCategory.S, rate="25.00")
    v1.service_types = [chef]
    v1.components = [
        CompensationComponent(
            position=1,
            model=CompensationModel.SHARED_ROLE,
            service_type=chef,
            shared_role=role,
            description="Lön, PO-pålägg och overhead enligt registrets kostnadsfördelning",
        )
    ]
    v1.buyer_terms = [
        ContractBuyerTerms(municipality_id=p.municipality_id, buyer_reference="Socialnämnden Mellerud")
        for p in agreement.buyers
    ]
    session.add(v1)
    session.flush()
    _review_and_approve(session, v1, admin, lawyer, dt.date(2022, 11, 28), dt.date(2022, 12, 14))
    _attach(session, v1, DocumentKind.SIGNED_SCAN, "bm-soc-2023-signerat.pdf", "Undertecknat avtal", admin)


def _vn_fhem(session, agreement, users) -> None:
    admin, lawyer = users["admin@sundsvall.demo"], users["jurist@sundsvall.demo"]
    v1 = _new_version(
        agreement,
        1,
        "Ursprungligt avtal",
        agreement.start_date,
        admin,
        scope="Sundsvalls kommun rekryterar, utreder, utbildar och handleder familjehem och "
        "jourhem för länets kommuner. Placeringsbeslut fattas av respektive kommun.",
        executor=Executor.REQUESTING,
        invoice_frequency=InvoiceFrequency.QUARTERLY,
        payment_terms_days=30,
        invoice_series="FHEM",
        personal_data_role=PersonalDataRole.JOINT_CONTROLLERS,
        claims_cost_coverage=True,
    )
    recruitment = _service_type(
        "familjehem", "Familjehemsrekrytering", ServiceUnit.PERIOD, VatCategory.E, VATEX_E
    )
    v1.service_types = [recruitment]
    v1.components = [
        CompensationComponent(
            position=1,
            model=CompensationModel.PRELIMINARY,
            service_type=recruitment,
            share_basis=ShareBasis.POPULATION,
            population_ref_month=11,
            population_ref_day=1,
            population_ref_year_offset=-1,
            equal_split_percent=Decimal("20.00"),
            include_host=True,
            reconciliation_deadline_month=3,
            reconciliation_deadline_day=31,
            reconciliation_threshold=Decimal("5000.00"),
            description="Preliminär debitering på budget, avräkning mot verklig kostnad efter årets slut",
            prices=_prices([(2025, "", "4200000.00"), (2026, "", "4350000.00"), (2027, "", "4480000.00")]),
        )
    ]
    v1.buyer_terms = [
        ContractBuyerTerms(municipality_id=p.municipality_id, buyer_reference=f"IFO {p.municipality.name}")
        for p in agreement.buyers
    ]
    session.add(v1)
    session.flush()
    _attach(
        session,
        v1,
        DocumentKind.PUB_AGREEMENT,
        "gemensamt-ansvar-vn.pdf",
        "Avtal om gemensamt personuppgiftsansvar",
        admin,
    )
    _attach(
        session, v1, DocumentKind.COST_CALCULATION, "budget-vn-fhem.pdf", "Budget och kalkyl 2025-2027", admin
    )
    _review_and_approve(session, v1, admin, lawyer, dt.date(2024, 11, 18), dt.date(2024, 12, 5))
    _attach(session, v1, DocumentKind.SIGNED_SCAN, "vn-fhem-2025-signerat.pdf", "Undertecknat avtal", admin)


FAM_PRICES = {
    "Vårdnad, boende och umgänge": ("36000", "37500", "38900", "40100", "41300", "42400"),
    "Faderskap och föräldraskap": ("5800", "6000", "6200", "6400", "6600", "6800"),
    "Snabbupplysning": ("2400", "2500", "2600", "2700", "2800", "2900"),
}


def _fam(session, agreement, users) -> None:
    lawyer = users["admin@molndal.demo"]  # administrator and lawyer in Mölndal
    v1 = _new_version(
        agreement,
        1,
        "Ursprungligt avtal",
        agreement.start_date,
        lawyer,
        scope="Mölndals stad utför familjerättsliga utredningar (vårdnad, boende och umgänge, "
        "faderskap och föräldraskap, snabbupplysningar) åt Härryda och Partille.",
        executor=Executor.REQUESTING,
        invoice_frequency=InvoiceFrequency.QUARTERLY,
        payment_terms_days=30,
        invoice_series="FAM",
        personal_data_role=PersonalDataRole.PROCESSOR,
    )
    cases = _service_type(
        "familjeratt", "Familjerättslig utredning", ServiceUnit.CASE, VatCategory.O, VATEX_O
    )
    v1.service_types = [cases]
    v1.components = [
        CompensationComponent(
            position=1,
            model=CompensationModel.PER_CASE,
            service_type=cases,
            description="Styckpris per avslutat ärende enligt prisbilaga",
            prices=_prices(
                [
                    (2022 + i, case_type, amount)
                    for case_type, amounts in FAM_PRICES.items()
                    for i, amount in enumerate(amounts[:5])
                ]
            ),
        )
    ]
    v1.buyer_terms = [
        ContractBuyerTerms(
            municipality_id=p.municipality_id, buyer_reference=f"Familjerätt {p.municipality.name}"
        )
        for p in agreement.buyers
    ]
    session.add(v1)
    session.flush()
    _attach(
        session, v1, DocumentKind.PUB_AGREEMENT, "pub-avtal-familjeratt.pdf", "PUB-avtal familjerätt", lawyer
    )
    _review_and_approve(session, v1, lawyer, lawyer, dt.date(2021, 11, 22), dt.date(2021, 12, 9))
    _attach(session, v1, DocumentKind.SIGNED_SCAN, "fam-mhp-2022-signerat.pdf", "Undertecknat avtal", lawyer)

    # The amendment for 2027: new prices and a longer term, in review with the insurance row missing.
    end = agreement.end_date
    v2 = versions_service.create_version(
        session,
        lawyer,
        agreement,
        title="Tilläggsavtal 1 – förlängning och priser 2027",
        effective_from=dt.date(2027, 1, 1) if end is None or end >= dt.date(2027, 1, 1) else end,
        change_summary="Avtalet förlängs två år och priserna för 2027 läggs till.",
    )
    for price_component in v2.components:
        for case_type, amounts in FAM_PRICES.items():
            price_component.prices.append(
                ContractPrice(year=2027, case_type=case_type, amount=Decimal(amounts[5]))
            )
    v2.changes_term = True
    v2.term_end_date = dt.date(end.year + 2, end.month, min(end.day, 28)) if end else None
    v2.term_renewal_months = agreement.renewal_months
    v2.term_notice_months = agreement.notice_months
    session.flush()
    _review_and_approve(
        session,
        v2,
        lawyer,
        lawyer,
        dt.date(2026, 11, 2),
        None,
        missing=("insurance", "Försäkringsskyddet för utförarens personal vid hembesök regleras inte."),
    )


def _fam_kungsbacka(session, agreement, users) -> None:
    """Kungsbacka bought single investigations in 2023–2024 at FAM-MHP-2022's per-case prices."""
    lawyer = users["admin@molndal.demo"]
    v1 = _new_version(
        agreement,
        1,
        "Ursprungligt avtal",
        agreement.start_date,
        lawyer,
        scope="Mölndals stad utför enstaka familjerättsliga utredningar åt Kungsbacka kommun under 2023 "
        "och 2024, till samma styckpriser som i samverkan med Härryda och Partille.",
        executor=Executor.REQUESTING,
        invoice_frequency=InvoiceFrequency.YEARLY,
        payment_terms_days=30,
        invoice_series="FAM",
        personal_data_role=PersonalDataRole.PROCESSOR,
    )
    cases = _service_type(
        "familjeratt", "Familjerättslig utredning", ServiceUnit.CASE, VatCategory.O, VATEX_O
    )
    v1.service_types = [cases]
    v1.components = [
        CompensationComponent(
            position=1,
            model=CompensationModel.PER_CASE,
            service_type=cases,
            description="Styckpris per avslutat ärende enligt prisbilaga",
            prices=_prices(
                [
                    (year, case_type, amounts[year - 2022])
                    for case_type, amounts in FAM_PRICES.items()
                    for year in (2023, 2024)
                ]
            ),
        )
    ]
    v1.buyer_terms = [
        ContractBuyerTerms(municipality_id=p.municipality_id, buyer_reference="Familjerätt Kungsbacka")
        for p in agreement.buyers
    ]
    session.add(v1)
    session.flush()
    _attach(session, v1, DocumentKind.PUB_AGREEMENT, "pub-avtal-fam-mk.pdf", "PUB-avtal familjerätt", lawyer)
    _review_and_approve(session, v1, lawyer, lawyer, dt.date(2022, 11, 21), dt.date(2022, 12, 8))
    _attach(session, v1, DocumentKind.SIGNED_SCAN, "fam-mk-2023-signerat.pdf", "Undertecknat avtal", lawyer)
