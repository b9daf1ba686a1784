"""The fairness gate: a pure decision over group ratios, so it can be tested on hand-made numbers.

The band binds (the product decision of issue 24): a model whose selection reaches investigators has its ratios
within the band of policy.py, or it is refused. Judged are two selections of the evaluation population:
- at capacity, every group ratio within benefits (selection rate, false-positive rate, precision; see measure.py;
  the overall ratios where no within-benefit ones are given): capacity per benefit is the agency's allocation;
- at the deeper cut (policy.TOP_SCOPE), the top 1 % of all active cases, one ranking over all benefits: the ratios
  for sex and born abroad, resting on thousands of selections where capacity has a few hundred.

A ratio is refused when its point estimate lies outside the band and its GATE_LEVEL bootstrap interval excludes 1
(the disparity is not explained by sampling noise). Power: each ratio carries the smallest ratio the gate could have
told from 1 with the cases it had (detectable_ratio). Where that lies within the band, a point outside the band is
always beyond noise (the interval is that narrow), so there the gate takes the point at its word. Where it lies
outside the band the ratio is "not judged": a point outside the band within noise does not refuse (a disparity beyond
noise is evidence, its absence is not), and a point inside it is not shown fair; both are said in the gate's output
and on the model card, so a pass on a small evaluation never reads as shown fair. Ratios resting on fewer than
MIN_SUPPORT selected cases (false positives for the FPR) are listed, not judged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from riskrank.fairness.measure import GroupRatio
from riskrank.fairness.policy import FAIR_HIGH, FAIR_LOW, GATE_LEVEL, JUDGED_SCOPE, MIN_SUPPORT, OVERALL, POWER, TOP_SCOPE

# A ratio's verdict (see verdict): the words the gate's output, the model card and the training tables use.
IN_BAND = "in band"
OUTSIDE = "outside the band"
WITHIN_NOISE = "not judged: outside the band, within noise"
NOT_JUDGED = "not judged"  # too little power: a ratio at the band's edge could not have been told from 1
THIN = "not judged: too few cases"  # support below MIN_SUPPORT


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str
    numbers: dict = field(default_factory=dict)


def _outside(r: GroupRatio, low: float, high: float) -> bool:
    return not (low <= r.ratio <= high)


def _fails(r: GroupRatio, low: float, high: float) -> bool:
    """Outside the band and beyond noise: the 99 % interval excludes 1."""
    return _outside(r, low, high) and not (r.gate_low <= 1.0 <= r.gate_high)


def detectable_ratio(r: GroupRatio, level: float = GATE_LEVEL, power: float = POWER) -> float:
    """The smallest ratio (above 1; its reciprocal below) that the gate would find beyond noise with probability
    `power`, given the cases behind `r`: exp((z_level + z_power) * se), se the standard error of log(ratio) read off
    the width of r's gate interval (gate_low..gate_high at `level`), which the bootstrap drew over the evaluation's own
    cases, clusters and benefit strata. A normal approximation on the log-ratio from the cell counts would ignore
    those, so the interval's width is used. NaN where the interval is undefined or reaches 0 (nothing is known)."""
    low, high = r.gate_low, r.gate_high
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0:
        return float("nan")
    z_level = NormalDist().inv_cdf(1 - (1 - level) / 2)
    se = (np.log(high) - np.log(low)) / (2 * z_level)
    return float(np.exp((z_level + NormalDist().inv_cdf(power)) * se))


def has_power(r: GroupRatio, low: float = FAIR_LOW, high: float = FAIR_HIGH) -> bool:
    """Whether the evaluation could tell ratios at the band's edges from 1 (detectable ratio within the band)."""
    detectable = detectable_ratio(r)
    return bool(np.isfinite(detectable) and detectable <= high and 1 / detectable >= low)


def verdict(r: GroupRatio, low: float = FAIR_LOW, high: float = FAIR_HIGH, min_support: int = MIN_SUPPORT) -> str:
    """What the gate makes of one ratio: OUTSIDE (refused), IN_BAND (judged fair), or one of the not-judged kinds."""
    if r.support < min_support or not np.isfinite(r.ratio):
        return THIN
    if _fails(r, low, high):
        return OUTSIDE
    if _outside(r, low, high):
        return WITHIN_NOISE
    return IN_BAND if has_power(r, low, high) else NOT_JUDGED


def power_table(ratios: Iterable[GroupRatio], low: float = FAIR_LOW, high: float = FAIR_HIGH,
                min_support: int = MIN_SUPPORT) -> dict[str, dict]:
    """Per ratio (by key): its point, gate interval, detectable ratio and verdict, as the gate's numbers carry them."""
    return {r.key: {"ratio": r.ratio, "low": r.gate_low, "high": r.gate_high, "detectable": detectable_ratio(r),
                    "verdict": verdict(r, low, high, min_support)} for r in ratios}


def beyond_noise(r: GroupRatio) -> float:
    """How far a failing ratio's gate interval lies from 1, in log units (0 for a ratio that does not fail): the
    measure of how clearly a model is unfair, which a few cases' wide interval cannot inflate."""
    if not _fails(r, FAIR_LOW, FAIR_HIGH):
        return 0.0
    return float(min(abs(np.log(r.gate_low)), abs(np.log(r.gate_high))))


def judged_scopes(ratios: Iterable[GroupRatio]) -> tuple[str, ...]:
    """The scopes the gate judges: within benefits at capacity (the overall ratios where a list has none) and the
    deeper cut."""
    scopes = {r.scope for r in ratios}
    return (JUDGED_SCOPE if JUDGED_SCOPE in scopes else OVERALL, TOP_SCOPE)


def judged(ratios: Iterable[GroupRatio], min_support: int = MIN_SUPPORT) -> list[GroupRatio]:
    """The ratios the gate judges: in its scopes, with enough support (fairness_gate's selection)."""
    ratios = list(ratios)
    scopes = judged_scopes(ratios)
    return [r for r in ratios if r.scope in scopes and verdict(r, min_support=min_support) != THIN]


SCOPE_WORDS = {JUDGED_SCOPE: "within benefits at capacity", OVERALL: "at capacity", TOP_SCOPE: "in the top 1 %"}


def fairness_gate(ratios: Iterable[GroupRatio], low: float = FAIR_LOW, high: float = FAIR_HIGH,
                  min_support: int = MIN_SUPPORT) -> GateResult:
    """Fails when a judged ratio with enough support lies outside [low, high] and its gate interval excludes 1.

    Judged are the ratios within benefits at capacity where the list has them (JUDGED_SCOPE), else the overall ones,
    and the deeper cut's (TOP_SCOPE). Capacity per benefit is the agency's allocation, not the model's choice: a
    group that is over-represented in a heavily investigated benefit is selected more often overall at capacity even
    by a model that ranks it fairly within each benefit (docs/training.md, age band 45-64). Overall ratios at capacity
    that would fail are named in the detail, not judged; the deeper cut is one ranking over all benefits, the
    model's own choice, so there its overall ratios are judged."""
    ratios = list(ratios)
    scopes = judged_scopes(ratios)
    failing: list[GroupRatio] = []
    unsure: list[GroupRatio] = []
    underpowered: list[GroupRatio] = []
    reported: list[GroupRatio] = []
    skipped: list[str] = []
    n_judged = 0
    for r in ratios:
        kind = verdict(r, low, high, min_support)
        if kind == THIN:
            skipped.append(r.key)
        elif r.scope not in scopes:
            if kind == OUTSIDE:
                reported.append(r)
        else:
            n_judged += 1
            if kind == OUTSIDE:
                failing.append(r)
            elif kind == WITHIN_NOISE:
                unsure.append(r)
            elif kind == NOT_JUDGED:
                underpowered.append(r)

    def describe(r: GroupRatio) -> str:
        return (f"{r.attribute}={r.group} vs {r.reference} {SCOPE_WORDS.get(r.scope, r.scope)}: {r.metric} ratio "
                f"{r.ratio:.2f} (99 % interval {r.gate_low:.2f}..{r.gate_high:.2f}, detectable "
                f"{detectable_ratio(r):.2f}) outside {low}..{high}")

    if failing:
        detail = "; ".join(describe(r) for r in failing)
    else:
        detail = (f"none of {n_judged} judged ratios ({', '.join(SCOPE_WORDS[s] for s in scopes)}) with enough support "
                  f"outside {low}..{high}")
    if unsure:
        # A pass on a small evaluation population is no evidence of fairness: say which ratios it could not judge.
        detail += (" [outside the band but within noise, so not refused: "
                   + "; ".join(f"{r.attribute}={r.group} {r.metric} {r.ratio:.2f} ({r.gate_low:.2f}..{r.gate_high:.2f})"
                               for r in unsure) + "]")
    if underpowered:
        detail += (" [not judged for want of power (the cases could not tell a ratio at the band's edge from 1 "
                   f"{POWER * 100:.0f} % of the time): "
                   + "; ".join(f"{r.attribute}={r.group} {r.metric} {r.ratio:.2f} (detectable {detectable_ratio(r):.2f})"
                               for r in underpowered) + "]")
    if reported:
        detail += (" [not judged, overall across benefits at capacity: " + "; ".join(describe(r) for r in reported)
                   + "; the gate judges capacity within benefits, as capacity per benefit is not the model's choice]")
    if skipped:
        detail += f" ({len(skipped)} ratios with support < {min_support} not judged)"
    numbers = {r.key: r.ratio for r in failing} | {"judged": n_judged, "not_judged": len(skipped), "scope": scopes[0],
                                                   "scopes": list(scopes), "within_noise": len(unsure),
                                                   "underpowered": len(underpowered),
                                                   "power": power_table((r for r in ratios if r.scope in scopes), low,
                                                                        high, min_support)}
    return GateResult("fairness", not failing, detail, numbers)
