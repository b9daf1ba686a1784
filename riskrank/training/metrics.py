"""Pure ranking and calibration metrics over arrays of labels and scores.

Hit rate is the agency's own indicator (share of closed investigations with action); here it is the
share of hits among the k cases a ranking puts on top, k being the capacity (see docs/training.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.fairness.measure import sorted_codes


def _as_arrays(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"labels and scores must be 1-d arrays of the same length, got {y.shape} and {s.shape}")
    return y, s


def roc_auc(labels, scores) -> float:
    """scikit-learn's ROC-AUC; NaN with one class only (where scikit-learn refuses)."""
    from sklearn.metrics import roc_auc_score

    y, s = _as_arrays(labels, scores)
    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def pr_auc(labels, scores) -> float:
    """scikit-learn's average precision (the step-wise PR area); NaN without a positive."""
    from sklearn.metrics import average_precision_score

    y, s = _as_arrays(labels, scores)
    return float(average_precision_score(y, s)) if y.sum() > 0 else float("nan")


def top_k_mask(scores, k: int) -> np.ndarray:
    """Boolean mask of the k highest scores; ties broken by position so exactly min(k, n) are chosen."""
    s = np.asarray(scores, dtype=float)
    k = max(0, min(int(k), len(s)))
    mask = np.zeros(len(s), dtype=bool)
    if k:
        mask[np.argsort(-s, kind="mergesort")[:k]] = True
    return mask


def top_k_by_group(frame: pd.DataFrame, score: str, capacity: Mapping[str, int], group: str = "benefit") -> pd.Series:
    """Selection mask: the `capacity[g]` highest `score` rows within each group g (groups without capacity get none).

    Ties are broken by row position, as in `top_k_mask`; one sort for all groups instead of a loop over them.
    """
    n = len(frame)
    names, codes = sorted_codes(frame[group])  # a categorical read through its codes, not as strings
    cap = np.array([int(capacity.get(name, 0)) for name in names], dtype=np.int64)
    scores = frame[score].to_numpy(dtype=float)
    order = np.lexsort((np.arange(n), -scores, codes))  # by group, then score descending, then position
    codes_in_order = codes[order]
    first = np.searchsorted(codes_in_order, np.arange(len(cap)))
    rank = np.arange(n) - first[codes_in_order]
    mask = np.zeros(n, dtype=bool)
    mask[order] = rank < cap[codes_in_order]
    return pd.Series(mask, index=frame.index)


@dataclass(frozen=True)
class CapacityResult:
    hits: int
    selected: int
    hit_rate: float
    value_sek: float


def lift(model_hit_rate: float, random_hit_rate: float) -> float:
    return float(model_hit_rate / random_hit_rate) if random_hit_rate > 0 else float("nan")


@dataclass(frozen=True)
class Reliability:
    """Reliability curve: per score bin, the mean score, the observed rate and the row count."""

    mean_score: np.ndarray
    observed_rate: np.ndarray
    count: np.ndarray
    ece: float


def reliability(labels, scores, n_bins: int = 10) -> Reliability:
    """Equal-width bins on [0, 1]; ECE is the count-weighted mean |observed rate - mean score| over non-empty bins."""
    y, s = _as_arrays(labels, scores)
    if len(y) == 0:
        empty = np.array([])
        return Reliability(empty, empty, empty.astype(int), float("nan"))
    bins = np.clip((s * n_bins).astype(int), 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    sum_score = np.bincount(bins, weights=s, minlength=n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    used = count > 0
    mean_score = sum_score[used] / count[used]
    observed = sum_y[used] / count[used]
    ece = float((count[used] * np.abs(observed - mean_score)).sum() / count.sum())
    return Reliability(mean_score, observed, count[used], ece)


def expected_calibration_error(labels, scores, n_bins: int = 10) -> float:
    return reliability(labels, scores, n_bins).ece


def brier(labels, scores) -> float:
    from sklearn.metrics import brier_score_loss

    y, s = _as_arrays(labels, scores)
    return float(brier_score_loss(y, s)) if len(y) else float("nan")
