"""The case page's two pictures as SVG geometry the template draws (no script, no inline style):

- the waterfall of a score's reasons: from the average case (the model's base value, in log-odds) each row adds
  one feature's contribution, the raising ones strongest first, then the rest together, then the lowering
  ones; the last row is the case itself, so the bars add up exactly to the case's log-odds;
- the timeline of a case's recent signals: the features `days_since_*` of its latest stored row put each
  latest event at as_of - days (a date the store already holds, so no query beyond the case's row).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np

from riskrank.features import registry
from riskrank.monitoring.numbers import format_number

WIDTH = 760
LABEL_WIDTH = 330
ROW = 26
LABEL_CHARS = 50  # longer descriptions are cut; the value is always shown
TOP = 8
AXIS = 44


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low or 1.0
    step = 10 ** math.floor(math.log10(span / count))
    step *= next(m for m in (1, 2, 5, 10) if span / (step * m) <= count)
    return [float(v) for v in np.arange(math.ceil(low / step) * step, high + step / 2, step)]


def _label(reason: dict[str, Any], language: str) -> str:
    """"description: value", the description cut (never the value) to fit the label column."""
    description = reason["description_sv"] if language == "sv" else reason["description"]
    value = reason["value_text_sv"] if language == "sv" else reason["value_text"]
    room = max(LABEL_CHARS - len(value) - 2, 12)
    if len(description) > room:
        description = description[: room - 1].rstrip() + "…"
    return f"{description}: {value}"


def waterfall(body: dict[str, Any], t: dict[str, str], language: str) -> dict[str, Any]:
    base = float(body["base_value"])
    total = float(sum(body["contributions"].values()))
    steps = [(_label(r, language), float(r["contribution"]), "raise") for r in body["reasons"]]
    shown = sum(c for _, c, _ in steps) + sum(float(r["contribution"]) for r in body["reasons_lowering"])
    if abs(total - shown) > 1e-9:
        steps.append((t["other_features"], total - shown, "other"))
    steps += [(_label(r, language), float(r["contribution"]), "lower") for r in body["reasons_lowering"]]
    level, levels = base, [base]
    for _, contribution, _ in steps:
        level += contribution
        levels.append(level)
    low, high = min(levels), max(levels)
    pad = (high - low) * 0.05 or 0.5
    low, high = low - pad, high + pad
    plot = WIDTH - LABEL_WIDTH - 16

    def x(value: float) -> float:
        return round(LABEL_WIDTH + (value - low) / (high - low) * plot, 1)

    rows = [{"label": t["average_case"], "cls": "total", "x": x(base) - 2, "w": 4, "title": f"{base:+.3f}"}]
    for (label, contribution, cls), start in zip(steps, levels, strict=False):
        left, right = sorted((start, start + contribution))
        word = t["raises"] if contribution > 0 else t["lowers"]
        rows.append({"label": label, "cls": cls, "x": x(left), "w": max(round(x(right) - x(left), 1), 1.0),
                     "title": f"{label}: {word} {contribution:+.3f}"})
    rows.append({"label": t["this_case"], "cls": "total", "x": x(levels[-1]) - 2, "w": 4, "title": f"{levels[-1]:+.3f}"})
    for i, row in enumerate(rows):
        row["y"] = TOP + i * ROW
    axis_y = TOP + len(rows) * ROW + 4
    ticks = [{"x": x(v), "label": format_number(v, 1, language)} for v in _ticks(low, high)]
    return {"width": WIDTH, "height": axis_y + AXIS, "rows": rows, "ticks": ticks, "axis_y": axis_y,
            "label_x": LABEL_WIDTH - 8, "plot_left": LABEL_WIDTH, "plot_right": LABEL_WIDTH + plot,
            "title_x": LABEL_WIDTH + plot / 2, "title": t["axis_logodds"]}


def timeline(features: dict[str, Any] | None, language: str) -> dict[str, Any] | None:
    """Latest events (date, words) from the case's `days_since_*` features, and those with none on record."""
    if not features or not isinstance(features.get("as_of"), date):
        return None
    as_of: date = features["as_of"]
    events: list[dict[str, Any]] = []
    missing: list[str] = []
    for feature in registry.FEATURES:
        if not feature.name.startswith("days_since_") or feature.name not in features:
            continue
        description = feature.description_sv if language == "sv" else feature.description_en
        description = description.removeprefix("Days since ").removeprefix("Dagar sedan ")
        days = features[feature.name]
        if days is None or (isinstance(days, float) and math.isnan(days)):
            missing.append(feature.missing_sv if language == "sv" else feature.missing_en)
        else:
            events.append({"date": as_of - timedelta(days=int(round(days))), "label": description[:1].upper() + description[1:]})
    events.sort(key=lambda e: e["date"])
    if events:
        first: date = min(events[0]["date"], as_of - timedelta(days=365))
        span = max((as_of - first).days, 1)
        plot = WIDTH - 40
        for i, event in enumerate(events):
            event["x"] = round(20 + (event["date"] - first).days / span * plot, 1)
            event["y"] = 34 + (i % 3) * 16  # staggered so neighbouring labels do not overlap
            event["label_x"] = min(max(event["x"], 40), WIDTH - 40)  # a date label stays inside the picture
        ticks = [{"x": round(20 + (date(y, 1, 1) - first).days / span * plot, 1), "label": str(y)}
                 for y in range(first.year + 1, as_of.year + 1)]
    else:
        ticks = []
    return {"as_of": as_of, "events": events, "missing": missing, "width": WIDTH, "height": 100, "ticks": ticks}
