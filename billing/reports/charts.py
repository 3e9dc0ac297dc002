"""The overviews' charts (core.charts, SVG): money in and out per month and invoiced per counterparty for
a municipality; invoiced per municipality (top 15) and per county for the country."""

from __future__ import annotations

from dataclasses import dataclass

from billing.reports.services import MONTH_NAMES, MunicipalityOverview, NationalOverview
from core.charts import bar_chart, data_url

MONTHS_TITLE = "Pengar in och ut per månad {year}"
COUNTERPARTY_TITLE = "Fakturerat per motpart {year}"
TOP_TITLE = "Fakturerat per kommun {year}, de 15 största"
COUNTY_TITLE = "Fakturerat per län {year}"
MONEY_IN = "Pengar in (vi har fakturerat)"
MONEY_OUT = "Pengar ut (vi har fakturerats)"


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str

    @property
    def data_url(self) -> str:
        return data_url(self.svg)


def overview_charts(overview: MunicipalityOverview) -> list[Chart]:
    year = overview.year
    charts = []
    title = MONTHS_TITLE.format(year=year)
    charts.append(
        Chart(
            title,
            bar_chart(
                MONTH_NAMES,
                {MONEY_IN: overview.months_in, MONEY_OUT: overview.months_out},
                title=title,
                description=f"{overview.municipality_name}: fakturerat exkl. moms per månad {year}, "
                "utfärdade fakturor minus kreditfakturor.",
            ),
        )
    )
    if overview.counterparties:
        title = COUNTERPARTY_TITLE.format(year=year)
        parties = overview.counterparties
        charts.append(
            Chart(
                title,
                bar_chart(
                    [c.name for c in parties],
                    {MONEY_IN: [c.money_in for c in parties], MONEY_OUT: [c.money_out for c in parties]},
                    title=title,
                    horizontal=True,
                    height=max(2.4, 0.45 * len(parties) + 1.4),
                    description=f"{overview.municipality_name}: fakturerat exkl. moms per motpart {year}.",
                ),
            )
        )
    return charts


def national_charts(overview: NationalOverview) -> list[Chart]:
    year = overview.year
    charts = []
    top = overview.top
    if top:
        title = TOP_TITLE.format(year=year)
        charts.append(
            Chart(
                title,
                bar_chart(
                    [r.name for r in top],
                    {"Fakturerat av kommunen": [r.invoiced_out for r in top]},
                    title=title,
                    horizontal=True,
                    height=max(2.4, 0.4 * len(top) + 1.2),
                    description="Kommunerna som fakturerat mest inom samverkansavtal, exkl. moms.",
                ),
            )
        )
    if overview.counties:
        title = COUNTY_TITLE.format(year=year)
        counties = overview.counties
        charts.append(
            Chart(
                title,
                bar_chart(
                    [c.county_name for c in counties],
                    {"Fakturerat av kommunerna i länet": [c.invoiced_out for c in counties]},
                    title=title,
                    horizontal=True,
                    height=max(2.4, 0.4 * len(counties) + 1.2),
                    description="Fakturerat inom samverkansavtal per län (säljande kommuns län), exkl. moms.",
                ),
            )
        )
    return charts
