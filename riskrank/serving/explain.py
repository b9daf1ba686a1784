"""Reasons in words: a model's per-feature contributions joined with the feature registry's descriptions.

Everything that depends only on the model (names, descriptions, how to show a value) is built once per
model version in `Explainer`, so a request only sorts F numbers and formats a few of them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from riskrank.training.model import ScoringModel


def _registry_entries(names: list[str]) -> dict[str, Any]:
    try:
        from riskrank.features import registry
    except ImportError:
        return {}
    entries = {}
    for name in names:
        try:
            entries[name] = registry.get(name)
        except (KeyError, ValueError):
            continue
    return entries


class Explainer:
    def __init__(self, model: ScoringModel) -> None:
        self.names = model.feature_names
        entries = _registry_entries(self.names)
        self.description_en = [getattr(entries.get(n), "description_en", n) for n in self.names]
        self.description_sv = [getattr(entries.get(n), "description_sv", n) for n in self.names]
        self.dtypes = [getattr(entries.get(n), "dtype", "category" if n in model.categories else "float") for n in self.names]
        self.categories = [model.categories.get(n) for n in self.names]

    def display_value(self, j: int, raw: float) -> Any:
        """The value as an investigator would read it: category name, whole number, true/false, or null."""
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

    def reasons(self, row: np.ndarray, contributions: np.ndarray, top: int) -> list[dict[str, Any]]:
        """The `top` features with the largest absolute contribution, largest first (zero contributions never count)."""
        if top <= 0:
            return []
        order = np.argsort(-np.abs(contributions), kind="stable")[:top]
        out = []
        for j in order.tolist():
            c = float(contributions[j])
            if c == 0.0:
                break
            out.append(
                {
                    "feature": self.names[j],
                    "value": self.display_value(j, float(row[j])),
                    "contribution": c,
                    "direction": "raises" if c > 0 else "lowers",
                    "description": self.description_en[j],
                    "description_sv": self.description_sv[j],
                }
            )
        return out
