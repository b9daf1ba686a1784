"""Promotion gates: pure decisions over numbers, so they can be tested on hand-made metrics.

- Hit-rate gate: the challenger's hit rate at capacity must not be worse than the champion's beyond noise.
  On the same evaluation rows (paired) the difference is bootstrapped over the cases either model selects;
  without shared rows a normal approximation for two independent proportions is used. The gate fails only
  when the one-sided upper bound (95 %) of challenger - champion is below zero.
- Fairness gate: every group ratio within benefits (selection rate, false-positive rate, precision; see
  fairness.py; the overall ratios where no within-benefit ones are given) must lie within [0.8, 1.25]. A ratio
  fails when its point estimate is outside the band AND its 99 % bootstrap interval excludes 1 (the disparity is
  not explained by sampling noise; 99 % because ~15 ratios are judged at once).
  Ratios resting on fewer than MIN_SUPPORT selected cases (false positives for the FPR) are listed, not judged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskrank.errors import UserError
from riskrank.training.fairness import OVERALL, STRATUM, GroupRatio

FAIR_LOW, FAIR_HIGH = 0.8, 1.25
MIN_SUPPORT = 10
CONFIDENCE = 0.95
JUDGED_SCOPE = f"within_{STRATUM}"  # the scope the gate judges


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str
    numbers: dict = field(default_factory=dict)


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


def _outside(r: GroupRatio, low: float, high: float) -> bool:
    return not (low <= r.ratio <= high)


def _fails(r: GroupRatio, low: float, high: float) -> bool:
    """Outside the band and beyond noise: the 99 % interval excludes 1."""
    return _outside(r, low, high) and not (r.gate_low <= 1.0 <= r.gate_high)


def beyond_noise(r: GroupRatio) -> float:
    """How far a failing ratio's gate interval lies from 1, in log units (0 for a ratio that does not fail): the
    measure of how clearly a model is unfair, which a few cases' wide interval cannot inflate."""
    if not _fails(r, FAIR_LOW, FAIR_HIGH):
        return 0.0
    return float(min(abs(np.log(r.gate_low)), abs(np.log(r.gate_high))))


def fairness_gate(ratios: Iterable[GroupRatio], low: float = FAIR_LOW, high: float = FAIR_HIGH,
                  min_support: int = MIN_SUPPORT) -> GateResult:
    """Fails when a judged ratio with enough support lies outside [low, high] and its gate interval excludes 1.

    Judged are the ratios within benefits where the list has them (JUDGED_SCOPE), else the overall ones. Capacity
    per benefit is the agency's allocation, not the model's choice: a group that is over-represented in a heavily
    investigated benefit is selected more often overall even by a model that ranks it fairly within each benefit
    (docs/training.md, age band 45-64). Overall ratios that would fail are named in the detail, not judged."""
    ratios = list(ratios)
    scope = JUDGED_SCOPE if any(r.scope == JUDGED_SCOPE for r in ratios) else OVERALL
    failing, judged, skipped, reported, unsure = [], 0, [], [], []
    for r in ratios:
        if r.support < min_support or not np.isfinite(r.ratio):
            skipped.append(r.key)
            continue
        if r.scope != scope:
            if _fails(r, low, high):
                reported.append(r)
            continue
        judged += 1
        if _fails(r, low, high):
            failing.append(r)
        elif _outside(r, low, high):
            unsure.append(r)

    def describe(r: GroupRatio) -> str:
        return (f"{r.attribute}={r.group} vs {r.reference}: {r.metric} ratio {r.ratio:.2f} "
                f"(99 % interval {r.gate_low:.2f}..{r.gate_high:.2f}) outside {low}..{high}")

    what = "within-benefit" if scope == JUDGED_SCOPE else "overall"
    if failing:
        detail = f"{what}: " + "; ".join(describe(r) for r in failing)
    else:
        detail = f"none of {judged} judged {what} ratios outside {low}..{high} beyond noise"
    if unsure:
        # A pass on a small evaluation population is no evidence of fairness: say which ratios it could not judge.
        detail += (" [outside the band but within noise, so not refused: "
                   + "; ".join(f"{r.attribute}={r.group} {r.metric} {r.ratio:.2f} ({r.gate_low:.2f}..{r.gate_high:.2f})"
                               for r in unsure) + "]")
    if reported:
        detail += (" [not judged, overall across benefits: " + "; ".join(describe(r) for r in reported)
                   + "; the gate judges ratios within benefits, as capacity per benefit is not the model's choice]")
    if skipped:
        detail += f" ({len(skipped)} ratios with support < {min_support} not judged)"
    numbers = {r.key: r.ratio for r in failing} | {"judged": judged, "not_judged": len(skipped), "scope": scope,
                                                   "within_noise": len(unsure)}
    return GateResult("fairness", not failing, detail, numbers)


class PromotionRefused(UserError):
    """Raised when one or more gates fail; carries the gate results."""

    def __init__(self, version: int, results: list[GateResult]):
        self.version = version
        self.results = results
        failing = [r for r in results if not r.passed]
        lines = "\n".join(f"  - {r.name}: {r.detail}" for r in failing)
        super().__init__(f"promotion of version {version} refused; failing gates:\n{lines}")
