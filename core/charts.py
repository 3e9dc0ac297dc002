"""Charts drawn on the server with matplotlib, as SVG text: pages inline them, PDFs (wkhtmltopdf with
local file access disabled) embed them as `data:` URLs, so nothing needs JavaScript.

One look for every chart: Swedish labels, sv-SE numbers on the value axis (`1 234 567`), a colour per
series that also prints well in grey, a title and a caption (`<title>`/`<desc>`) for screen readers.
Callers pass plain values (Decimal, int); money is shown in kronor without öre on the axis.
"""

from __future__ import annotations

import base64
import io
import re
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from core.formatting import format_number  # noqa: E402

# Matplotlib's pyplot state is global: draw one chart at a time (gunicorn threads, test workers).
_LOCK = threading.Lock()

PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7f6000", "#7030a0", "#2e75b6", "#a5a5a5", "#843c0c")
HATCHES = ("", "//", "..", "xx", "\\\\", "--", "++", "oo")

matplotlib.rcParams.update(
    {
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.fonttype": "none",  # text stays text: searchable in the PDF, readable by tests
        "svg.hashsalt": "samverkan",  # stable ids: the same data gives the same SVG
    }
)


def _number(value, _pos=None) -> str:
    return format_number(Decimal(str(round(value))))


def _to_float(value) -> float:
    return float(value or 0)


def _value_axis(axis, series: Mapping[str, Sequence], bins: int = 6) -> None:
    """sv-SE numbers, at most `bins` ticks (labels like `1 250 000` must not run into each other);
    whole-number ticks when every value is whole (counts: no 0,2 ärenden printed as 0)."""
    axis.set_major_formatter(FuncFormatter(_number))
    whole = all(_to_float(v) == int(_to_float(v)) for values in series.values() for v in values)
    axis.set_major_locator(MaxNLocator(nbins=bins, integer=whole))


def _finish(fig, title: str, description: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML declaration and doctype: the SVG is inlined in HTML
    accessible = f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
    svg = re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + accessible, svg, count=1)
    return svg.replace("<svg ", '<svg role="img" ', 1)


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence],
    *,
    title: str,
    value_label: str = "kronor",
    description: str = "",
    stacked: bool = False,
    horizontal: bool = False,
    width: float = 7.0,
    height: float = 3.2,
) -> str:
    """Grouped (or stacked) bars: one group per category, one bar per series. Returns SVG text."""
    names = list(series)
    with _LOCK:
        fig, ax = plt.subplots(figsize=(width, height))
        count = max(len(names), 1)
        group = 0.8
        bar = group if stacked else group / count
        bottoms = [0.0] * len(categories)
        for i, name in enumerate(names):
            values = [_to_float(v) for v in series[name]]
            offsets = [x if stacked else x - group / 2 + bar * (i + 0.5) for x in range(len(categories))]
            kwargs = dict(
                color=PALETTE[i % len(PALETTE)],
                hatch=HATCHES[i % len(HATCHES)],
                edgecolor="white",
                linewidth=0.5,
                label=name,
            )
            if horizontal:
                ax.barh(offsets, values, bar, left=bottoms if stacked else None, **kwargs)
            else:
                ax.bar(offsets, values, bar, bottom=bottoms if stacked else None, **kwargs)
            if stacked:
                bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        _value_axis(ax.yaxis if not horizontal else ax.xaxis, series, bins=6 if not horizontal else 4)
        if horizontal:
            ax.set_yticks(range(len(categories)), labels=list(categories))
            ax.invert_yaxis()
            ax.set_xlabel(value_label)
        else:
            ax.set_xticks(range(len(categories)), labels=list(categories))
            if len(categories) > 6 or max((len(c) for c in categories), default=0) > 10:
                plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
            ax.set_ylabel(value_label)
        ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
        if len(names) > 1:
            ax.legend(
                frameon=False,
                fontsize=8,
                ncols=min(len(names), 4),
                loc="upper left",
                bbox_to_anchor=(0, -0.18 if not horizontal else -0.12),
            )
        ax.grid(axis="x" if horizontal else "y", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        return _finish(fig, title, description or title)


def line_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence],
    *,
    title: str,
    value_label: str = "kronor",
    description: str = "",
    width: float = 7.0,
    height: float = 3.2,
) -> str:
    """One line per series over the categories (e.g. months). Returns SVG text."""
    with _LOCK:
        fig, ax = plt.subplots(figsize=(width, height))
        markers = ("o", "s", "^", "D", "v", "P", "X", "*")
        for i, (name, values) in enumerate(series.items()):
            ax.plot(
                range(len(categories)),
                [_to_float(v) for v in values],
                marker=markers[i % len(markers)],
                color=PALETTE[i % len(PALETTE)],
                linewidth=1.5,
                markersize=4,
                label=name,
            )
        ax.set_xticks(range(len(categories)), labels=list(categories))
        if all(_to_float(v) >= 0 for values in series.values() for v in values):
            ax.set_ylim(bottom=0)  # amounts from zero: a cropped axis exaggerates small differences
        _value_axis(ax.yaxis, series)
        ax.set_ylabel(value_label)
        ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
        if len(series) > 1:
            ax.legend(
                frameon=False,
                fontsize=8,
                ncols=min(len(series), 4),
                loc="upper left",
                bbox_to_anchor=(0, -0.12),
            )
        ax.grid(axis="y", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        return _finish(fig, title, description or title)


def data_url(svg: str) -> str:
    """The SVG as a `data:` URL for an <img> in a PDF template (wkhtmltopdf reads no local files)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
