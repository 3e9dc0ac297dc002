"""The follow-up as a document: the PDF (through core.pdf.render_pdf; a draft says UTKAST on every page,
a sent one carries who sent it, when and to whom) and the figures as CSV for Excel in Sweden (`;`,
decimal comma without thousands separators, UTF-8 with BOM, CR LF), one section after the other."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from flask import render_template

from billing.exports.csv_export import number_cell, text_cell
from billing.followup.charts import MONTHS, followup_charts
from billing.followup.figures import FollowupFigures
from billing.models import RECOMMENDATION_LABELS, AnnualFollowup
from core.pdf import render_pdf

TEMPLATE = "billing/followup/document.html"


def render_followup_html(
    figures: FollowupFigures,
    followup: AnnualFollowup | None,
    draft: bool,
    sent_at: dt.datetime | None = None,
    sent_by=None,
    sent_to: str | None = None,
) -> str:
    if followup is not None and not draft:
        sent_at = sent_at or followup.sent_at
        sent_by = sent_by or followup.sent_by
        sent_to = sent_to or followup.sent_to
    return render_template(
        TEMPLATE,
        f=figures,
        followup=followup,
        charts=followup_charts(figures),
        months=MONTHS,
        draft=draft,
        sent_at=sent_at,
        sent_by_name=getattr(sent_by, "name", None),
        sent_to=sent_to,
        recommendation_labels=RECOMMENDATION_LABELS,
        pdf=True,
    )


def render_followup_pdf(
    figures: FollowupFigures,
    followup: AnnualFollowup | None,
    draft: bool,
    sent_at: dt.datetime | None = None,
    sent_by=None,
    sent_to: str | None = None,
) -> bytes:
    """The follow-up's PDF: marked UTKAST when `draft`, else the final version with its sending."""
    return render_pdf(render_followup_html(figures, followup, draft, sent_at, sent_by, sent_to))


def _money(value: Decimal | None) -> str:
    return "" if value is None else number_cell(value)


def build_csv(figures: FollowupFigures) -> bytes:
    """Sections separated by an empty line, each with its own header row, so Excel opens one sheet
    that reads top to bottom."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(["Årlig uppföljning", text_cell(figures.agreement_number), text_cell(figures.agreement_title)])
    w.writerow(["År", str(figures.year), "Beräknad", figures.computed_on.isoformat()])
    w.writerow([])
    w.writerow(["Volymer"])
    w.writerow(["Kommun", "Tjänstetyp (kod)", "Tjänst", "Enhet", "Registreringar", "Mängd"])
    for v in figures.volumes:
        w.writerow(
            [
                text_cell(v.municipality_name),
                text_cell(v.service_type_code),
                text_cell(v.service_type_name),
                text_cell(v.unit_label),
                str(v.entries),
                number_cell(v.quantity, None),
            ]
        )
    w.writerow([])
    w.writerow(["Fakturerat per köpare och månad (netto exkl. moms)"])
    w.writerow(["Köpare", *MONTHS, "Summa", "Fakturor", "Kreditfakturor"])
    for r in figures.invoiced:
        w.writerow(
            [
                text_cell(r.municipality_name),
                *(number_cell(a) for a in r.by_month),
                number_cell(r.invoiced),
                str(r.invoice_count),
                str(r.credit_note_count),
            ]
        )
    w.writerow([])
    b = figures.budget
    w.writerow(["Budget", "Underlag", "Fakturerat", "Skillnad", "Andel av budget (%)"])
    w.writerow(
        [
            _money(b.budget),
            text_cell(b.basis),
            number_cell(b.invoiced),
            _money(b.difference),
            _money(b.percent_of_budget),
        ]
    )
    w.writerow([])
    w.writerow(["Index"])
    w.writerow(["Version", "Gäller från", "Index", "Procent", "Status", "Pris", "Före", "Efter"])
    for i in figures.index:
        w.writerow(
            [
                f"{i.version_number} {text_cell(i.version_title)}",
                i.effective_from.isoformat(),
                text_cell(i.index_edition),
                number_cell(i.percent, None),
                text_cell(i.status_label),
                text_cell(i.description),
                number_cell(i.old_amount),
                number_cell(i.new_amount),
            ]
        )
    w.writerow([])
    t = figures.transfers
    w.writerow(["Ärendeöverlämningar", "Antal"])
    for label, value in (
        ("Begärda", t.requests),
        ("Avböjda", t.declines),
        ("Har nått beslut", t.decided),
        ("Beslut daterade under året", t.decisions),
        ("Verkställda i tid", t.executed_in_time),
        ("Verkställda för sent", t.executed_late),
        ("Inte verkställda efter tre månader", t.not_executed),
        ("Väntar, inom tre månader", t.pending),
    ):
        w.writerow([label, str(value)])
    w.writerow(
        [
            "Mediantid begäran–beslut (dagar)",
            "" if t.median_days_to_decision is None else number_cell(t.median_days_to_decision, None),
        ]
    )
    for status, n in t.by_status.items():
        w.writerow([f"Status i dag: {t.status_labels.get(status, status)}", str(n)])
    w.writerow([])
    w.writerow(["Gemensamma tjänster", "Kommun", "Årets kostnad"])
    for s in figures.shared_roles:
        w.writerow([text_cell(s.title), text_cell(s.municipality_name), number_cell(s.amount)])
    w.writerow([])
    w.writerow(["Avtalstid", text_cell(figures.notice.text)])
    w.writerow(
        [
            "Nuvarande slutdatum",
            text_cell(figures.notice.current_end_date),
            "Sista uppsägningsdag",
            text_cell(figures.notice.last_notice_date),
        ]
    )
    w.writerow([])
    h = figures.hamburg
    w.writerow(["Hamburgundantaget", "Omsättning", "Varav utanför samverkan", "Underlag finns"])
    for y in h.years:
        w.writerow(
            [str(y.year), number_cell(y.turnover), number_cell(y.outside), "ja" if y.has_history else "nej"]
        )
    w.writerow(["Summa", number_cell(h.turnover), number_cell(h.outside), ""])
    w.writerow(
        [
            "Andel utanför (%)",
            _money(h.share_percent),
            "Flaggad (20 % eller mer)",
            "ja" if h.flagged else "nej",
            "Uppskattning",
            "ja" if h.estimate else "nej",
        ]
    )
    w.writerow([])
    c = figures.cost_coverage
    w.writerow(["Kostnadstäckning", "Verklig kostnad", "Fakturerat", "Täckning (%)", "Överskott", "Flaggad"])
    w.writerow(
        [
            "",
            _money(c.reported_cost),
            number_cell(c.invoiced),
            _money(c.coverage_percent),
            _money(c.surplus),
            "ja" if c.flagged else "nej",
        ]
    )
    w.writerow([])
    r = figures.reconciliation
    w.writerow(["Avräkning", text_cell(r.status_label), "Verklig kostnad", _money(r.actual_cost)])
    w.writerow(
        ["Köpare", "Slutligt belopp", "Preliminärt fakturerat", "Skillnad", "Inom beloppsgräns", "Dokument"]
    )
    for row in r.rows:
        w.writerow(
            [
                text_cell(row.municipality_name),
                number_cell(row.final_amount),
                number_cell(row.invoiced_amount),
                number_cell(row.difference),
                "ja" if row.within_threshold else "nej",
                text_cell(row.document),
            ]
        )
    return out.getvalue().encode("utf-8-sig")
