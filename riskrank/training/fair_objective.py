"""A fairness-penalised LightGBM objective: logloss on the investigations plus a penalty on how unequally the
top of the ranking is shared between groups of cases without error (in the spirit of FairGBM's constrained
boosting, with a fixed penalty weight instead of a Lagrange multiplier; the weight is swept, see fair_sweep.py).

A worklist takes the top ~1 % of all active cases, and investigations are not a sample of them, so the penalty
is computed on "reference rows": active cases on dates of the validation months (features only; no outcome is used, and
with errors rare, ~4 %, they stand for the cases without error), or, without them, the investigations closed
without action. On those rows, with t the raw-score quantile at 1 - TAIL_SHARE and tau a temperature,

    s_i = sigmoid((f_i - t) / tau)          a soft "in the top" indicator
    S_g = mean of s_i over group g,  S = mean over all reference rows
    penalty = weight * sum over attributes, groups g of pi_g * (S_g / S - 1)^2      (pi_g: share of rows in g)

so the loss falls when every group is as likely to reach the top as any other: a feature that tells about the
group beyond what it tells about the label stops paying. Mean loss = mean logloss + penalty.

The sensitive attributes enter only here, as group codes held by the objective: they are never model inputs, so
the booster, its feature names and everything that scores with it are unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

TAIL_SHARE = 0.02
TEMPERATURE = 0.5


def group_codes(frame: pd.DataFrame, attributes: Sequence[str]) -> dict[str, np.ndarray]:
    """{attribute: int codes per row}; a missing attribute value gets code -1 (left out of the penalty)."""
    out = {}
    for attribute in attributes:
        if attribute in frame.columns:
            out[attribute] = pd.Categorical(frame[attribute].astype("string")).codes.astype(np.int64)
    return out


def _sigmoid(raw: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(raw)


class FairLogloss:
    """Callable LightGBM objective `(raw_scores, dataset) -> (grad, hess)` for `params["objective"]`.

    `labels`: 0/1 for rows in the logloss, anything (ignored) for reference-only rows; `reference`: mask of the
    rows the penalty is computed on (default: the labelled negatives); `in_logloss`: mask of labelled rows
    (default: all rows not in `reference`, or all rows when `reference` is the default)."""

    def __init__(self, labels: np.ndarray, groups: Mapping[str, np.ndarray], weight: float,
                 reference: np.ndarray | None = None, in_logloss: np.ndarray | None = None,
                 tail_share: float = TAIL_SHARE, temperature: float = TEMPERATURE):
        if weight < 0:
            raise ValueError("the fairness penalty weight must be zero or more")
        self.labels = np.nan_to_num(np.asarray(labels, dtype=float))
        self.groups = {a: np.asarray(c, dtype=np.int64) for a, c in groups.items()}
        self.weight = float(weight)
        if reference is None:
            self.in_logloss = np.ones(len(self.labels), bool) if in_logloss is None else np.asarray(in_logloss, bool)
            self.reference = self.in_logloss & (self.labels == 0)
        else:
            self.reference = np.asarray(reference, bool)
            self.in_logloss = ~self.reference if in_logloss is None else np.asarray(in_logloss, bool)
        self.tail_share, self.temperature = tail_share, temperature

    @property
    def name(self) -> str:
        return f"fair_logloss(weight={self.weight:g})"

    def _soft_top(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Soft top indicator and its slope for every row, at the reference rows' tail threshold."""
        threshold = np.quantile(raw[self.reference], 1 - self.tail_share)
        soft = _sigmoid((raw - threshold) / self.temperature)
        return soft, soft * (1 - soft) / self.temperature

    def penalty(self, raw: np.ndarray) -> float:
        """The penalty term of the mean loss, at these raw scores."""
        soft, _ = self._soft_top(np.asarray(raw, dtype=float))
        overall = soft[self.reference].mean()
        total = 0.0
        for codes in self.groups.values():
            valid = self.reference & (codes >= 0)
            by_group = pd.Series(soft[valid]).groupby(codes[valid])
            shares = by_group.size() / valid.sum()
            total += float((shares * (by_group.mean() / overall - 1) ** 2).sum())
        return self.weight * total

    def penalty_gradient(self, raw: np.ndarray) -> np.ndarray:
        """d(penalty)/d(raw score) per row, times the number of logloss rows (LightGBM sums per-row gradients, so
        this puts the penalty on the scale of the mean logloss). The overall means and the threshold are held
        fixed within an iteration."""
        grad = np.zeros(len(raw))
        if not self.weight or not self.reference.any():
            return grad
        soft, slope = self._soft_top(raw)
        overall = soft[self.reference].mean()
        for codes in self.groups.values():
            valid = self.reference & (codes >= 0)
            sums = np.bincount(codes[valid], weights=soft[valid])
            counts = np.maximum(np.bincount(codes[valid]), 1)
            gap = sums / counts / overall - 1
            grad[valid] += 2.0 * gap[codes[valid]] / (overall * valid.sum())
        return self.weight * self.in_logloss.sum() * grad * slope

    def __call__(self, raw: np.ndarray, dataset=None) -> tuple[np.ndarray, np.ndarray]:
        raw = np.asarray(raw, dtype=float)
        prob = _sigmoid(raw)
        slope = prob * (1.0 - prob)
        grad = np.where(self.in_logloss, prob - self.labels, 0.0) + self.penalty_gradient(raw)
        # Reference-only rows carry no logloss curvature; give them a share of the labelled rows' total, so that
        # all of them together weigh as much as the labelled rows: a damped Newton step for the penalty.
        n_ref_only = int((~self.in_logloss).sum())
        filler = slope[self.in_logloss].sum() / n_ref_only if n_ref_only else 0.0
        hess = np.maximum(np.where(self.in_logloss, slope, filler), 1e-6)
        return grad, hess

    def start_score(self) -> float:
        return start_score(self.labels[self.in_logloss])


def as_probability_model(model_str: str) -> str:
    """A booster trained with a callable objective predicts raw scores; declaring its objective binary makes
    `predict` return probabilities (sigmoid of the same raw score), so the booster works like any other:
    TreeSHAP's base value + contributions still sum to the raw score = logit(score)."""
    if "\nobjective=" in model_str.split("\nTree=", 1)[0]:
        return model_str
    head, sep, rest = model_str.partition("\nfeature_names=")
    if not sep:
        raise ValueError("not a LightGBM model string: no feature_names line")
    return f"{head}\nobjective=binary sigmoid:1{sep}{rest}"


def start_score(labels: np.ndarray) -> float:
    """Log-odds of the base rate: where a callable objective's boosting starts (LightGBM's boost_from_average)."""
    rate = float(np.clip(np.mean(labels), 1e-6, 1 - 1e-6))
    return float(np.log(rate / (1 - rate)))


def fold_start_score(booster, start: float):
    """Add the start score to every leaf of the first tree, so the booster alone predicts start + trees and its
    TreeSHAP base value takes the start in (base + contributions = raw score still holds)."""
    n_leaves = booster.dump_model(num_iteration=1)["tree_info"][0]["num_leaves"]
    for leaf in range(n_leaves):
        booster.set_leaf_output(0, leaf, booster.get_leaf_output(0, leaf) + start)
    return booster


def reweighing(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Kamiran and Calders' reweighing: weight = P(group) P(label) / P(group, label), so that in the weighted
    data the label is independent of the group. Rows with a missing group (code -1) get weight 1."""
    labels = np.asarray(labels, dtype=np.int64)
    groups = np.asarray(groups, dtype=np.int64)
    out = np.ones(len(labels))
    valid = groups >= 0
    frame = pd.DataFrame({"g": groups[valid], "y": labels[valid]})
    p_g = frame["g"].map(frame["g"].value_counts(normalize=True))
    p_y = frame["y"].map(frame["y"].value_counts(normalize=True))
    p_gy = frame.groupby(["g", "y"])["y"].transform("size") / len(frame)
    out[valid] = (p_g * p_y / p_gy).to_numpy()
    return out
