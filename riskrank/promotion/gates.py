"""Promotion gates: pure decisions over numbers, so they can be tested on hand-made metrics.

- Hit-rate gate: the challenger's hit rate at capacity must not be worse than the champion's beyond noise.
  On the same evaluation rows (paired) the difference is bootstrapped over the cases either model selects;
  without shared rows a normal approximation for two independent proportions is used. The gate fails only
  when the one-sided upper bound (95 %) of challenger - champion is below zero.
- Fairness gate: riskrank.fairness.gate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.errors import UserError
from riskrank.fairness.gate import GateResult

CONFIDENCE = 0.95


def paired_hit_rate_gate(label, challenger_selected, champion_selected, n_boot: int = 1000, seed: int = 0,
                         confidence: float = CONFIDENCE, clusters=None) -> GateResult:
    """Both models select from the same rows; bootstrap the hit-rate difference over rows either one selected, or
    over `clusters` (one code per case): a case selected on several evaluation dates is one observation."""
    y = np.asarray(label, dtype=float)
    a = np.asarray(challenger_selected, dtype=bool)
    b = np.asarray(champion_selected, dtype=bool)
    if not a.any() or not b.any():
        raise ValueError("both models must select at least one row")
    union = a | b
    y, a, b = y[union], a[union], b[union]
    rate_a, rate_b = y[a].mean(), y[b].mean()
    diff = float(rate_a - rate_b)
    unit = pd.factorize(np.asarray(clusters)[union])[0] if clusters is not None else np.arange(len(y))
    sums = [np.bincount(unit, weights=w) for w in (y * a, a, y * b, b)]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(sums[0]), (n_boot, len(sums[0])))
    hits_a, n_a, hits_b, n_b = (s[idx].sum(1) for s in sums)
    with np.errstate(invalid="ignore", divide="ignore"):
        diffs = hits_a / n_a - hits_b / n_b
    diffs = diffs[np.isfinite(diffs)]
    upper = float(np.quantile(diffs, confidence)) if len(diffs) else diff
    return _hit_gate(float(rate_a), float(rate_b), diff, upper, "paired bootstrap", int(a.sum()), int(b.sum()))


def independent_hit_rate_gate(challenger_rate: float, challenger_n: int, champion_rate: float, champion_n: int,
                              confidence: float = CONFIDENCE) -> GateResult:
    """Fallback when the models cannot be scored on the same rows: two independent binomial proportions."""
    from statistics import NormalDist

    if challenger_n <= 0 or champion_n <= 0:
        raise ValueError("both hit rates need a positive number of selected cases")
    diff = challenger_rate - champion_rate
    se = np.sqrt(challenger_rate * (1 - challenger_rate) / challenger_n + champion_rate * (1 - champion_rate) / champion_n)
    upper = float(diff + NormalDist().inv_cdf(confidence) * se)
    return _hit_gate(challenger_rate, champion_rate, float(diff), upper, "independent binomial", challenger_n, champion_n)


def _hit_gate(rate_a: float, rate_b: float, diff: float, upper: float, method: str, n_a: int, n_b: int) -> GateResult:
    passed = upper >= 0
    verdict = "not worse beyond noise" if passed else "worse beyond noise"
    detail = (f"challenger hit rate {rate_a:.3f} vs champion {rate_b:.3f}: difference {diff:+.3f}, "
              f"upper {CONFIDENCE:.0%} bound {upper:+.3f} ({method}) -> {verdict}")
    numbers = {"challenger_hit_rate": rate_a, "champion_hit_rate": rate_b, "difference": diff, "upper_bound": upper,
               "challenger_selected": n_a, "champion_selected": n_b}
    return GateResult("hit_rate", passed, detail, numbers)


class PromotionRefused(UserError):
    """Raised when one or more gates fail; carries the gate results."""

    def __init__(self, version: int, results: list[GateResult]):
        self.version = version
        self.results = results
        failing = [r for r in results if not r.passed]
        lines = "\n".join(f"  - {r.name}: {r.detail}" for r in failing)
        super().__init__(f"promotion of version {version} refused; failing gates:\n{lines}")
