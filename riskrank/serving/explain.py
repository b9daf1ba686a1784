"""Reasons in words: a model's per-feature contributions joined with the feature registry's descriptions.

A case's reasons come in two lists: the features that raise its score, strongest first, and apart from
them the strongest that lower it, so the first reason an investigator reads is one that points to the case.
Each reason carries its value in words with its unit (English and Swedish, missing values as what they
mean) and its share of the distance from the average case: contribution / (logit(score) - base_value),
so the shares of all features add up to 1.

Everything that depends only on the model (names, descriptions, units) is built once per model version in
`Explainer`, so a request only sorts F numbers and formats a few of them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from riskrank.features import registry
from riskrank.model.scoring import ScoringModel
from riskrank.monitoring.numbers import format_number

# Below this distance from the average case (in log-odds) shares would be ratios of near-zero numbers.
_MIN_DISTANCE = 1e-6
_DECIMALS = {"SEK": 0, "days": 0, "months": 0, "count": 0, "hours": 1, "sd": 2, None: 2}
_YES_NO = {"en": ("yes", "no"), "sv": ("ja", "nej")}


def _entry(name: str, model: ScoringModel) -> registry.Feature:
    try:
        return registry.get(name)
    except KeyError:  # a model input the registry does not know (older model): describe it by its name
        dtype = "category" if name in model.categories else "float"
        return registry.Feature(name, dtype, name, name, ())


class Explainer:
    def __init__(self, model: ScoringModel) -> None:
        self.names = model.feature_names
        self.entries = [_entry(n, model) for n in self.names]
        self.dtypes = [e.dtype for e in self.entries]
        self.categories = [model.categories.get(n) for n in self.names]

    def display_value(self, j: int, raw: float) -> Any:
        """The value as data: category name, whole number, true/false, or None when missing."""
        if raw is None or math.isnan(raw):
            return None
        cats = self.categories[j]
        if cats is not None:
            return cats[int(raw)]
        dtype = self.dtypes[j]
        if dtype == "int":
            return int(raw)
        if dtype == "bool":
            return bool(raw)
        return float(raw)

    def value_text(self, j: int, value: Any, language: str) -> str:
        """The value as an investigator reads it: "612 days", "12 000 kr", "no notification on record"."""
        entry = self.entries[j]
        if value is None:
            return entry.missing_sv if language == "sv" else entry.missing_en
        if isinstance(value, bool):
            return _YES_NO[language][0 if value else 1]
        if isinstance(value, str):
            return value
        number = format_number(value, _DECIMALS.get(entry.unit, 2), language)
        word = registry.UNITS[entry.unit][1 if language == "sv" else 0] if entry.unit else ""
        return f"{number} {word}" if word else number

    def _reason(self, j: int, raw: float, contribution: float, distance: float) -> dict[str, Any]:
        value = self.display_value(j, raw)
        entry = self.entries[j]
        return {
            "feature": self.names[j],
            "value": value,
            "value_text": self.value_text(j, value, "en"),
            "value_text_sv": self.value_text(j, value, "sv"),
            "unit": entry.unit,
            "contribution": contribution,
            "share": contribution / distance if abs(distance) > _MIN_DISTANCE else None,
            "direction": "raises" if contribution > 0 else "lowers",
            "description": entry.description_en,
            "description_sv": entry.description_sv,
        }

    def explain(self, row: np.ndarray, contributions: np.ndarray, top: int) -> dict[str, list[dict[str, Any]]]:
        """`reasons`: up to `top` features raising the score, strongest first; `reasons_lowering`: up to `top`
        lowering it, strongest first. Zero contributions are never reasons."""
        if top <= 0:
            return {"reasons": [], "reasons_lowering": []}
        distance = float(contributions.sum())
        order = np.argsort(-contributions, kind="stable")
        raising = [j for j in order[:top].tolist() if contributions[j] > 0]
        lowering = [j for j in order[::-1][:top].tolist() if contributions[j] < 0]
        return {
            key: [self._reason(j, float(row[j]), float(contributions[j]), distance) for j in chosen]
            for key, chosen in (("reasons", raising), ("reasons_lowering", lowering))
        }
