"""A fairness-penalised LightGBM objective: logloss on the investigations plus a penalty on how differently the
model is calibrated for each group (group calibration, "multiaccuracy"; in the spirit of FairGBM's constrained
boosting, with a fixed penalty weight instead of a Lagrange multiplier; the weight is swept, see fair_sweep.py).

For each sensitive attribute and each group g of it, over the labelled rows with p_i = sigmoid(raw score):

    gap_g = mean over g of (p_i - y_i)          how much the model overstates (> 0) the group's rate of action
    penalty = weight * sum over attributes, groups g of pi_g * gap_g^2      (pi_g: share of rows in g)

Mean loss = mean logloss + penalty. Why calibration and not the groups' share of the top: a score that never sees
the group, applied to groups with more innocent look-alikes (traces, tips), overstates those groups' risk; the
training investigations show it (people born abroad investigated end with action less often; figures in
docs/training.md), and precision and false-positive rate at the top follow. The penalty pushes an overstated group's
rows down, and trees can move them only through inputs, so what changes is the weight of the inputs that carry
the group beyond the label (its proxies). Unlike parity of the top share, it does not ask the model to select
groups equally where their errors differ, and it costs no accuracy where the group tells nothing about the label.
The penalty on the groups' share of the top that came first, and the other methods measured, are in
docs/training.md.

The sensitive attributes enter only here, as group codes held by the objective: they are never model inputs, so
the booster, its feature names and everything that scores with it are unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.special import expit


def group_codes(frame: pd.DataFrame, attributes: Sequence[str]) -> dict[str, np.ndarray]:
    """{attribute: int codes per row}; a missing attribute value gets code -1 (left out of the penalty)."""
    out = {}
    for attribute in attributes:
        if attribute in frame.columns:
            out[attribute] = pd.Categorical(frame[attribute].astype("string")).codes.astype(np.int64)
    return out


class FairLogloss:
    """Callable LightGBM objective `(raw_scores, dataset) -> (grad, hess)` for `params["objective"]`, bound to
    the rows' 0/1 `labels` and their `groups` ({attribute: codes}, as from `group_codes`)."""

    def __init__(self, labels: np.ndarray, groups: Mapping[str, np.ndarray], weight: float,
                 sample_weight: np.ndarray | None = None):
        if weight < 0:
            raise ValueError("the fairness penalty weight must be zero or more")
        self.labels = np.asarray(labels, dtype=float)
        if np.isnan(self.labels).any():
            raise ValueError("every row of a penalised fit needs a 0/1 label")
        self.groups = {a: np.asarray(c, dtype=np.int64) for a, c in groups.items()}
        self.weight = float(weight)
        # Row weights (the unlabelled rows of a positive-unlabelled fit): LightGBM does not apply a Dataset's weights
        # to a callable objective's gradients, so the objective applies them, to the logloss and to the penalty.
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if self.sample_weight is not None and (len(self.sample_weight) != len(self.labels) or (self.sample_weight < 0).any()):
            raise ValueError("sample_weight needs one weight of 0 or more per row")
        self._w = np.ones(len(self.labels)) if self.sample_weight is None else self.sample_weight

    @property
    def name(self) -> str:
        return f"fair_logloss(weight={self.weight:g})"

    def _gaps(self, prob: np.ndarray):
        """(attribute codes, valid rows, gap per group, share per group) for each attribute; means and shares are
        weighted by the row weights."""
        residual = prob - self.labels
        for codes in self.groups.values():
            valid = codes >= 0
            counts = np.bincount(codes[valid], weights=self._w[valid])
            sums = np.bincount(codes[valid], weights=(self._w * residual)[valid], minlength=len(counts))
            yield codes, valid, sums / np.where(counts > 0, counts, 1.0), counts / max(self._w[valid].sum(), 1e-12)

    def penalty(self, raw: np.ndarray) -> float:
        """The penalty term of the mean loss, at these raw scores."""
        prob = expit(np.asarray(raw, dtype=float))
        return self.weight * sum(float((share * gap**2).sum()) for _, _, gap, share in self._gaps(prob))

    def penalty_gradient(self, raw: np.ndarray) -> np.ndarray:
        """d(penalty)/d(raw score) per row, times the total row weight W (LightGBM sums per-row gradients, so this
        puts the penalty on the scale of the weighted mean logloss): 2 * weight * gap_g * w_i * p (1 - p) * W / W_valid
        (unweighted: n / n_valid)."""
        grad = np.zeros(len(raw))
        if not self.weight:
            return grad
        prob = expit(np.asarray(raw, dtype=float))
        for codes, valid, gap, _ in self._gaps(prob):
            grad[valid] += 2.0 * gap[codes[valid]] * self._w.sum() / self._w[valid].sum()
        return self.weight * grad * self._w * prob * (1.0 - prob)

    def __call__(self, raw: np.ndarray, dataset=None) -> tuple[np.ndarray, np.ndarray]:
        raw = np.asarray(raw, dtype=float)
        prob = expit(raw)
        grad = self._w * (prob - self.labels) + self.penalty_gradient(raw)
        return grad, np.maximum(self._w * prob * (1.0 - prob), 1e-6)

    def start_score(self) -> float:
        return start_score(self.labels, self._w)


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


def start_score(labels: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Log-odds of the (weighted) base rate: where a callable objective's boosting starts (LightGBM's
    boost_from_average)."""
    rate = float(np.clip(np.average(labels, weights=sample_weight), 1e-6, 1 - 1e-6))
    return float(np.log(rate / (1 - rate)))


def fold_start_score(booster, start: float):
    """Add the start score to every leaf of the first tree, so the booster alone predicts start + trees and its
    TreeSHAP base value takes the start in (base + contributions = raw score still holds)."""
    n_leaves = booster.dump_model(num_iteration=1)["tree_info"][0]["num_leaves"]
    for leaf in range(n_leaves):
        booster.set_leaf_output(0, leaf, booster.get_leaf_output(0, leaf) + start)
    return booster
