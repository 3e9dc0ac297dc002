"""The follow-up's charts, drawn with core.charts (matplotlib, SVG with text kept as text): invoiced per
municipality per month, budget against outcome through the year, and case transfers by state. Pages
inline the SVG; the PDF embeds it as a data: URL (wkhtmltopdf reads no local files)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.followup.figures import FollowupFigures
from core import charts
from core.formatting import format_money

MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


@dataclass(frozen=True)
class Chart:
    key: str
    title: str  # also the SVG's <title> and the heading above the chart in the PDF
    caption: str  # what the chart shows, in a sentence (printed under it)
    svg: str

    @property
    def data_url(self) -> str:
        return charts.data_url(self.svg)


def invoiced_chart(figures: FollowupFigures) -> Chart | None:
    """Net invoiced per buyer and month (stacked), None when nothing was invoiced in the year."""
    rows = [row for row in figures.invoiced if any(row.by_month)]
    if not rows:
        return None
    title = f"Fakturerat per kommun och månad {figures.year}"
    caption = (
        f"Fakturerat netto exklusive moms (fakturor minus kreditfakturor) per köpande kommun och månad, "
        f"totalt {format_money(sum((r.invoiced for r in figures.invoiced), Decimal(0)))}."
    )
    svg = charts.bar_chart(
        MONTHS,
        {row.municipality_name: list(row.by_month) for row in rows},
        title=title,
        value_label="kronor",
        description=caption,
        stacked=True,
    )
    return Chart("invoiced", title, caption, svg)


def budget_chart(figures: FollowupFigures) -> Chart:
    """Cumulative invoiced per month against the budget spread evenly over the year (when there is one)."""
    monthly = [sum((row.by_month[m] for row in figures.invoiced), Decimal(0)) for m in range(12)]
    cumulative, running = [], Decimal(0)
    for amount in monthly:
        running += amount
        cumulative.append(running)
    series = {"Fakturerat (ackumulerat)": cumulative}
    budget = figures.budget.budget
    if budget is not None:
        series["Budget (jämnt fördelad)"] = [budget * (m + 1) / 12 for m in range(12)]
        caption = (
            f"Budget {format_money(budget)} mot fakturerat {format_money(figures.budget.invoiced)} "
            f"under {figures.year}, ackumulerat per månad."
        )
    else:
        caption = (
            f"Fakturerat {format_money(figures.budget.invoiced)} under {figures.year}, ackumulerat per månad. "
            "Avtalsvillkoren anger ingen årsbudget."
        )
    title = f"Budget och utfall {figures.year}"
    svg = charts.line_chart(MONTHS, series, title=title, value_label="kronor", description=caption)
    return Chart("budget", title, caption, svg)


def transfers_chart(figures: FollowupFigures) -> Chart | None:
    """The year's case transfers by their current status; None when there were none."""
    counts = {status: n for status, n in figures.transfers.by_status.items() if n}
    if not counts:
        return None
    labels = [figures.transfers.status_labels.get(status, status) for status in counts]
    title = f"Ärendeöverlämningar {figures.year} efter status"
    caption = (
        f"{figures.transfers.requests} begärda överlämningar under {figures.year}, efter status den "
        f"{figures.transfers.as_of.isoformat()}."
    )
    svg = charts.bar_chart(
        labels,
        {"Antal": list(counts.values())},
        title=title,
        value_label="antal",
        description=caption,
        horizontal=True,
        height=max(1.6, 0.45 * len(labels) + 0.8),
    )
    return Chart("transfers", title, caption, svg)


def followup_charts(figures: FollowupFigures) -> list[Chart]:
    """Every chart that has something to show, in the order of the report."""
    return [c for c in (invoiced_chart(figures), budget_chart(figures), transfers_chart(figures)) if c]
