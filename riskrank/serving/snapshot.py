"""A model version together with the latest feature-store frame, scored once.

Built when the model or the feature store's latest as-of date changes, then only read: every request
finds its case's prepared row and score here, and percentiles come from sorted score arrays per benefit.
A snapshot is never mutated, so swapping in a new one is a single reference assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from riskrank.serving.explain import Explainer
from riskrank.training.model import ScoringModel


@dataclass(frozen=True)
class Snapshot:
    model: ScoringModel
    explainer: Explainer
    as_of: date | None
    case_ids: np.ndarray
    benefits: np.ndarray
    X: np.ndarray
    scores: np.ndarray
    sex: np.ndarray | None
    row_of: dict[int, int] = field(repr=False)
    sorted_scores: dict[str, np.ndarray] = field(repr=False)

    @property
    def version(self) -> int | None:
        return self.model.version

    def percentile(self, score: float, benefit: str) -> float | None:
        """Share (in %) of the benefit's active cases scoring at or below `score`; None if none are known."""
        scores = self.sorted_scores.get(benefit)
        if scores is None or len(scores) == 0:
            return None
        return 100.0 * float(np.searchsorted(scores, score, side="right")) / len(scores)

    def active_rows(self, benefit: str | None) -> np.ndarray:
        if benefit is None:
            return np.arange(len(self.case_ids))
        return np.flatnonzero(self.benefits == benefit)


def build_snapshot(model: ScoringModel, frame: pd.DataFrame | None, as_of: date | None) -> Snapshot:
    if frame is None or len(frame) == 0:
        empty = np.empty(0)
        return Snapshot(model, Explainer(model), as_of, empty.astype(np.int64), empty.astype(object),
                        np.empty((0, len(model.feature_names))), empty, None, {}, {})
    X = model.prepare_array(frame)
    scores = model.predict(X)
    case_ids = frame["case_id"].to_numpy(dtype=np.int64)
    benefits = frame["benefit"].astype("object").to_numpy()
    sex = frame["sex"].astype("object").to_numpy() if "sex" in frame.columns else None
    sorted_scores = {str(b): np.sort(scores[benefits == b]) for b in pd.unique(benefits)}
    row_of = {int(c): i for i, c in enumerate(case_ids.tolist())}
    return Snapshot(model, Explainer(model), as_of, case_ids, benefits, X, scores, sex, row_of, sorted_scores)

