"""Small server-side SVG charts (no chart library, nothing fetched at run time)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from riskrank.fairness.policy import FAIR_HIGH, FAIR_LOW

PALETTE = ("#1f5fa8", "#e07b00", "#2e8b57", "#b03060", "#6a5acd", "#8b6914")
FLAG_COLOUR = "#c62828"


def ratio_chart(items: Sequence[tuple[str, float | None, float | None, float | None, bool]], title: str,
                band: tuple[float, float] = (FAIR_LOW, FAIR_HIGH)) -> str:
    """Ratios to a reference as dots with interval whiskers on a log axis; the fair band is shaded.

    items: (label, ratio, low, high, flagged)."""
    row_h, left, right, top = 22, 230, 30, 34
    width = 720
    height = top + row_h * max(len(items), 1) + 30
    finite = [v for _, r, lo, hi, _ in items for v in (r, lo, hi) if v is not None and v > 0]
    lo_axis = min([0.5, *finite]) / 1.1
    hi_axis = max([2.0, *finite]) * 1.1
    span = math.log(hi_axis) - math.log(lo_axis)

    def x(value: float) -> float:
        return left + (math.log(value) - math.log(lo_axis)) / span * (width - left - right)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart ratio-chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="10" y="18" font-weight="bold" font-size="14">{escape(title)}</text>',
             f'<rect x="{x(band[0]):.1f}" y="{top - 6}" width="{x(band[1]) - x(band[0]):.1f}" height="{row_h * len(items) + 6}" '
             'fill="#e8f5e9"/>']
    for tick in (0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0):
        if lo_axis <= tick <= hi_axis:
            parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{height - 24}" stroke="#bbb" '
                         f'stroke-dasharray="{"none" if tick == 1.0 else "3,3"}"/>')
            parts.append(f'<text x="{x(tick):.1f}" y="{height - 10}" font-size="11" text-anchor="middle">{tick:g}</text>')
    for i, (label, ratio, low, high, flagged) in enumerate(items):
        y = top + i * row_h + row_h / 2
        colour = FLAG_COLOUR if flagged else PALETTE[0]
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">{escape(label)}</text>')
        if low is not None and high is not None and high > 0:
            low = max(low, lo_axis)  # an interval reaching 0 runs off the left of the log axis
            parts.append(f'<line class="interval" x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="{colour}" stroke-width="2"/>')
        if ratio is not None and ratio > 0:
            parts.append(f'<circle class="point" cx="{x(ratio):.1f}" cy="{y:.1f}" r="5" fill="{colour}">'
                         f'<title>{escape(label)}: {ratio:.2f}</title></circle>')
        else:
            parts.append(f'<text x="{left + 4}" y="{y + 4:.1f}" font-size="11" fill="#777">no estimate</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(labels: Sequence[str], series: dict[str, Sequence[float | None]], title: str, percent: bool = True) -> str:
    """Vertical grouped bars: one group of bars per label, one bar per series."""
    width, height, left, bottom, top = 720, 260, 50, 40, 50
    values = [v for vals in series.values() for v in vals if v is not None]
    vmax = max([*values, 1e-9]) * 1.15
    slot = (width - left - 20) / max(len(labels), 1)
    bar = slot * 0.8 / max(len(series), 1)

    def y(v: float) -> float:
        return top + (1 - v / vmax) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="10" y="18" font-weight="bold" font-size="14">{escape(title)}</text>',
             f'<line x1="{left}" x2="{width - 20}" y1="{height - bottom}" y2="{height - bottom}" stroke="#444"/>']
    for j, name in enumerate(series):
        parts.append(f'<rect x="{left + j * 170}" y="28" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
                     f'<text x="{left + j * 170 + 14}" y="37" font-size="11">{escape(name)}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for j, vals in enumerate(series.values()):
            v = vals[i]
            if v is None:
                continue
            text = f"{v:.1%}" if percent else f"{v:,.0f}"
            parts.append(f'<rect class="bar" x="{x0 + j * bar:.1f}" y="{y(v):.1f}" width="{bar - 2:.1f}" '
                         f'height="{height - bottom - y(v):.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)}: '
                         f'{text}</title></rect>')
        parts.append(f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
                     f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
