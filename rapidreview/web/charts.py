"""Charts drawn on the server as SVG, for pages that must work without JavaScript under a strict CSP.

Each chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` (the figures in a sentence), and the page
follows it with a table of the same figures. Nothing is told by colour alone: every bar carries its value
as text, and the parts of a stacked bar differ by pattern as well as colour, with a legend. Colours are
GOV.UK's, each at least 3:1 against white (WCAG 1.4.11). Presentation attributes only (``fill=``), never
``style=``: the Content-Security-Policy forbids inline styles. Every text is escaped: agency names are typed
by people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BLUE, DARK_BLUE, GREEN, RED, ORANGE, GREY, BLACK = "#1d70b8", "#003078", "#00703c", "#d4351c", "#f47738", "#505a5f", "#0b0c0c"
WIDTH = 720
FONT = 14


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as the bar shows it, e.g. "70%" or "3"


@dataclass(frozen=True)
class Part:
    """One category of a stacked bar: its name, colour and the pattern that tells it apart without colour."""

    name: str
    colour: str
    pattern: str  # solid, stripes, dots, cross


@dataclass(frozen=True)
class StackedRow:
    label: str
    values: Sequence[int]


def _open(chart_id: str, title: str, description: str, height: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img" viewBox="0 0 {WIDTH} {height}" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-size="{FONT}" fill="{BLACK}">'
            f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>')


def _text(x: float, y: float, text: str, anchor: str = "start", weight: str = "normal") -> str:
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{bold}>{escape(text)}</text>'


def column_chart(chart_id: str, title: str, description: str, bars: Sequence[Bar], *, top: float, axis: str,
                 marker_after: int | None = None, marker_text: str = "") -> Markup:
    """Vertical bars, each with its value above and its label below, ``axis`` naming what the labels are;
    ``marker_after`` draws a dashed line after that bar (the end of Day 15 on the days-to-submission chart)."""
    height, left, base, plot = 320, 40, 250, 200
    slot = (WIDTH - left - 10) / max(1, len(bars))
    width = min(60.0, slot * 0.7)
    parts = [_open(chart_id, title, description, height),
             f'<line x1="{left}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="{BLACK}" stroke-width="1"/>']
    for i, bar in enumerate(bars):
        x = left + i * slot + (slot - width) / 2
        h = 0 if top <= 0 else plot * min(bar.value, top) / top
        parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{width:.1f}" height="{h:.1f}" fill="{BLUE}"/>')
        parts.append(_text(x + width / 2, base - h - 6, bar.text, "middle", "bold"))
        parts.append(_text(x + width / 2, base + 20, bar.label, "middle"))
    if marker_after is not None and 0 <= marker_after < len(bars):
        x = left + (marker_after + 1) * slot
        parts.append(f'<line x1="{x:.1f}" y1="{base - plot - 20}" x2="{x:.1f}" y2="{base + 30}" stroke="{RED}" '
                     'stroke-width="3" stroke-dasharray="8 4"/>')
        parts.append(_text(x + 6, base - plot - 8, marker_text))
    parts.append(_text(left + (WIDTH - left - 10) / 2, base + 50, axis, "middle", "bold"))
    parts.append("</svg>")
    return Markup("".join(parts))


def range_chart(chart_id: str, title: str, description: str, rows: Sequence[tuple[str, float, float]],
                unit: str) -> Markup:
    """One row per label: a bar to the median and a thin line on to the 90th percentile, both written out."""
    label_width, row_height, top_pad = 300, 34, 30
    height = top_pad + row_height * len(rows) + 20
    longest = max((p90 for _, _, p90 in rows), default=0) or 1
    scale = (WIDTH - label_width - 130) / longest
    parts = [_open(chart_id, title, description, height),
             _text(label_width, 18, f"Median (bar) and 90th percentile (line end), {unit}")]
    for i, (label, median, p90) in enumerate(rows):
        y = top_pad + i * row_height
        parts.append(_text(label_width - 10, y + 18, label if len(label) <= 40 else label[:39] + "…", "end"))
        parts.append(f'<line x1="{label_width}" y1="{y + 13}" x2="{label_width + p90 * scale:.1f}" y2="{y + 13}" '
                     f'stroke="{DARK_BLUE}" stroke-width="2"/>')
        parts.append(f'<line x1="{label_width + p90 * scale:.1f}" y1="{y + 5}" x2="{label_width + p90 * scale:.1f}" '
                     f'y2="{y + 21}" stroke="{DARK_BLUE}" stroke-width="2"/>')
        parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{median * scale:.1f}" height="18" fill="{BLUE}"/>')
        parts.append(_text(label_width + p90 * scale + 8, y + 18, f"{median:.1f} / {p90:.1f}"))
    parts.append("</svg>")
    return Markup("".join(parts))


def _patterns(chart_id: str, parts: Sequence[Part]) -> str:
    defs = []
    for n, part in enumerate(parts):
        pid = f"{chart_id}-p{n}"
        marks = {
            "stripes": '<path d="M0,8 L8,0" stroke="#ffffff" stroke-width="2"/>',
            "dots": '<circle cx="4" cy="4" r="1.6" fill="#ffffff"/>',
            "cross": '<path d="M0,0 L8,8 M8,0 L0,8" stroke="#ffffff" stroke-width="1.5"/>',
        }.get(part.pattern, "")
        defs.append(f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">'
                    f'<rect width="8" height="8" fill="{part.colour}"/>{marks}</pattern>')
    return "<defs>" + "".join(defs) + "</defs>"


def stacked_chart(chart_id: str, title: str, description: str, parts: Sequence[Part],
                  rows: Sequence[StackedRow]) -> Markup:
    """One horizontal bar per row, split into the parts; a legend above names each part by its pattern."""
    label_width, row_height, legend_height = 220, 34, 40
    height = legend_height + row_height * len(rows) + 10
    largest = max((sum(r.values) for r in rows), default=0) or 1
    scale = (WIDTH - label_width - 60) / largest
    out = [_open(chart_id, title, description, height), _patterns(chart_id, parts)]
    x = 0.0
    for n, part in enumerate(parts):
        out.append(f'<rect x="{x:.1f}" y="8" width="18" height="18" fill="url(#{chart_id}-p{n})" stroke="{BLACK}"/>')
        out.append(_text(x + 24, 22, part.name))
        x += 34 + len(part.name) * 7.5
    for i, row in enumerate(rows):
        y = legend_height + i * row_height
        out.append(_text(label_width - 10, y + 18, row.label if len(row.label) <= 28 else row.label[:27] + "…", "end"))
        x = float(label_width)
        for n, value in enumerate(row.values):
            if value <= 0:
                continue
            w = value * scale
            out.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="22" fill="url(#{chart_id}-p{n})" '
                       f'stroke="#ffffff" stroke-width="1"/>')
            x += w
        out.append(_text(x + 8, y + 18, str(sum(row.values))))
    out.append("</svg>")
    return Markup("".join(out))
