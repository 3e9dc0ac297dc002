"""core.charts: SVG text with the title for screen readers, sv-SE numbers on the value axis, text kept
as text (searchable in PDFs), amounts from zero, stable output, and a data: URL for PDF templates."""

from __future__ import annotations

import base64
import re
from decimal import Decimal

from core.charts import bar_chart, data_url, line_chart


def _texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]+)</text>", svg)


def test_bar_chart_is_accessible_svg_with_swedish_numbers():
    svg = bar_chart(
        ["jan", "feb"],
        {"Ale": [Decimal("12345.50"), Decimal("0")], "Lerum": [1000, 2000]},
        title="Fakturerat per månad",
    )
    assert svg.startswith('<svg role="img"')
    assert "<title>Fakturerat per månad</title>" in svg
    texts = _texts(svg)
    assert "jan" in texts and "Ale" in texts and "Lerum" in texts and "kronor" in texts
    assert "12\u00a0500" in texts  # sv-SE thousands separator on the axis


def test_line_chart_starts_at_zero_for_amounts():
    svg = line_chart(["jan", "feb", "mar"], {"Utfall": [104000, 109000, 109200]}, title="Budget och utfall")
    ticks = [t for t in _texts(svg) if re.fullmatch(r"[\d\u00a0]+", t)]
    assert ticks[0] == "0"


def test_same_data_gives_the_same_svg_and_a_data_url():
    one = bar_chart(["a"], {"x": [1]}, title="T")
    assert one == bar_chart(["a"], {"x": [1]}, title="T")
    url = data_url(one)
    assert url.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(url.split(",", 1)[1]).decode() == one


def test_counts_get_whole_number_ticks():
    svg = bar_chart(["Avslutad", "Beslutad"], {"Antal": [1, 0]}, title="Överlämningar", horizontal=True)
    ticks = [t for t in _texts(svg) if re.fullmatch(r"[\d\u00a0]+", t)]
    assert ticks == sorted(set(ticks), key=int) and ticks[:2] == ["0", "1"]


def test_a_horizontal_value_axis_keeps_few_ticks():
    svg = bar_chart(["Sundsvall", "Göteborg"], {"x": [2104044, 652193]}, title="T", horizontal=True)
    ticks = [t for t in _texts(svg) if re.fullmatch(r"[\d\u00a0]+", t)]
    assert 2 <= len(ticks) <= 5
