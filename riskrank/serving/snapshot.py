"""A model version with the scores of every active case: what each request reads, never mutated.

Scores come from the nightly run of `riskrank score-all` for that version (riskrank.batch.score_store), with the
precomputed explanations of each benefit's top share; where no run of that version is as new as the feature
store, they are computed here from the store's latest as-of date, a part at a time. Either way the snapshot
holds per case only its id, benefit and score (about 20 bytes), not its features: a swap builds the next
snapshot aside without a second copy of the features, and rows for explanations are read when asked for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from riskrank.batch import score_store
from riskrank.model.scoring import ScoringModel
from riskrank.serving.explain import Explainer
from riskrank.serving.featuresource import FeatureSource

_PART_ROWS = 100_000
log = logging.getLogger("riskrank.serving.snapshot")


class StoredRows:
    """Prepared model rows of the snapshot's cases on demand: `rows[positions]` -> len(positions) x F matrix.

    Top-ranked cases come from their stored explanations; others from the feature store (one query per
    900 cases), so worklists read the rows they show and nothing is held for the other millions."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def __getitem__(self, positions: Any) -> np.ndarray:
        snap = self._snapshot
        case_ids = np.atleast_1d(snap.case_ids[positions])
        out = np.full((len(case_ids), len(snap.model.feature_names)), np.nan)
        missing = []
        for i, case_id in enumerate(case_ids.tolist()):
            stored = snap.explanations.get(case_id)
            if stored is not None:
                out[i] = score_store.decode_explanation(stored)[0]
            else:
                missing.append(i)
        if missing:
            if snap.feature_source is None or snap.as_of is None:
                raise LookupError("the feature store is not available for these cases' features")
            where = {c: i for i, c in enumerate(case_ids.tolist())}
            for frame in snap.feature_source.frames(snap.as_of, case_ids=case_ids[missing]):
                rows = [where[c] for c in frame["case_id"].tolist()]
                out[rows] = snap.model.prepare_array(frame)
        return out


@dataclass(frozen=True)
class Snapshot:
    model: ScoringModel
    explainer: Explainer
    as_of: date | None
    case_ids: np.ndarray  # int64, ascending
    benefits: np.ndarray  # object (str)
    scores: np.ndarray  # float64
    sorted_scores: dict[str, np.ndarray] = field(repr=False)
    base_value: float = 0.0
    run: score_store.ScoreRun | None = None  # the nightly run served, or None when scored from the feature store
    explanations: dict[int, bytes] = field(default_factory=dict, repr=False)  # case_id -> stored row + contributions
    feature_source: FeatureSource | None = field(default=None, repr=False)

    @property
    def version(self) -> int | None:
        return self.model.version

    @property
    def X(self) -> StoredRows:  # noqa: N802 - the name worklists use for the prepared matrix
        return StoredRows(self)

    def position(self, case_id: int) -> int | None:
        i = int(np.searchsorted(self.case_ids, case_id))
        return i if i < len(self.case_ids) and int(self.case_ids[i]) == case_id else None

    def stored_explanation(self, case_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        blob = self.explanations.get(case_id)
        return score_store.decode_explanation(blob) if blob is not None else None

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


def _snapshot(model: ScoringModel, as_of: date | None, case_ids: np.ndarray, benefits: np.ndarray, scores: np.ndarray,
              feature_source: FeatureSource | None, run: score_store.ScoreRun | None = None,
              explanations: dict[int, bytes] | None = None) -> Snapshot:
    order = np.argsort(case_ids, kind="stable")
    case_ids, benefits, scores = case_ids[order], benefits[order], scores[order]
    sorted_scores = {str(b): np.sort(scores[benefits == b]) for b in pd.unique(benefits)}
    base = run.base_value if run is not None else model.base_value()
    # The TreeSHAP arrays are built here, while the snapshot is made aside, never by the first request to explain.
    if not model.explains_fast():
        log.warning("model version %s: its trees are not covered by riskrank's TreeSHAP; cases are explained by "
                    "LightGBM's pred_contrib (slower)", model.version)
    return Snapshot(model, Explainer(model), as_of, case_ids, benefits, scores, sorted_scores, base, run,
                    explanations or {}, feature_source)


def from_run(model: ScoringModel, stored: score_store.StoredScores, explanations: dict[int, bytes],
             feature_source: FeatureSource | None) -> Snapshot:
    """The snapshot of a finished nightly run of this model version: no scoring at all."""
    if stored.run.model_version != model.version:
        raise ValueError(f"run {stored.run.run_id} was scored by version {stored.run.model_version}, not {model.version}")
    return _snapshot(model, stored.run.as_of, stored.case_ids, stored.benefits, stored.scores, feature_source,
                     stored.run, explanations)


def from_features(model: ScoringModel, feature_source: FeatureSource | None, as_of: date | None) -> Snapshot:
    """Scores of the feature store's `as_of` rows, read and scored a part at a time (for a version with no run yet)."""
    ids, benefits, scores = [], [], []
    if feature_source is not None and as_of is not None:
        for frame in feature_source.frames(as_of, rows=_PART_ROWS):
            ids.append(frame["case_id"].to_numpy(np.int64))
            benefits.append(frame["benefit"].astype(str).to_numpy(object))
            scores.append(model.predict(model.prepare_array(frame)))
    if not ids:
        return _snapshot(model, as_of, np.empty(0, np.int64), np.empty(0, object), np.empty(0), feature_source)
    return _snapshot(model, as_of, np.concatenate(ids), np.concatenate(benefits), np.concatenate(scores), feature_source)
