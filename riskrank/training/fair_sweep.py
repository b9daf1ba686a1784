"""A small family of models, one per fairness penalty weight, and the choice among them.

Each member is fitted with fair_objective.FairLogloss at its weight (weight 0: LightGBM's own binary logloss, the
unconstrained model), scored on the evaluation population, and judged exactly as `riskrank promote` will judge it
(top k per benefit, fairness ratios within benefits, the fairness gate). It is judged again at a deeper cut, the
top DEEP_SHARE of each benefit's active cases (about 15x the cases of capacity at scale 0.05): capacity selects a
few hundred cases, too few for the gate to see much beyond noise, and the deeper cut is the steadier read of the
ranking's fairness. The chosen member is the one with the highest hit rate at capacity among those that pass the
gate at both depths; if only some pass at capacity, the one of those that is fairest at the deeper cut; if none
passes, the one that fails least clearly (gates.beyond_noise), and the run says it will be refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskrank.features.registry import SENSITIVE
from riskrank.training.dataset import LABEL
from riskrank.training.evaluate import selection
from riskrank.training.fair_objective import FairLogloss, group_codes
from riskrank.training.fairness import GroupRatio, selection_fairness
from riskrank.training.gates import MIN_SUPPORT, GateResult, beyond_noise, fairness_gate
from riskrank.training.population import SLOT
from riskrank.training.train import FitResult, fit, predict

# Penalty weights of the default family. The penalty is a share-weighted squared calibration gap (0.0025 for a
# group overstated by 5 points), against a mean logloss of ~0.6, so weights in the tens make it count; at 30 the
# fits on scale-0.05 worlds began to stop early and lose hit rate, beyond it they collapsed (docs/training.md).
DEFAULT_WEIGHTS: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 30.0)
# The deeper cut the choice also reads. Over 18 fits (3 training worlds x 6 LightGBM seeds) choosing with it put
# 11 of 18 chosen models within the band on a held-out world, against 8 of 18 with capacity alone (RESULTS.md).
DEEP_SHARE = 0.01


@dataclass
class Member:
    weight: float
    fit: FitResult
    hit_rate: float
    ratios: list[GroupRatio]
    gate: GateResult
    seconds: float
    deep_ratios: list[GroupRatio] = field(default_factory=list)  # the same at the top DEEP_SHARE of each benefit
    deep_gate: GateResult | None = None

    def excess(self) -> float:
        """How clearly the member fails the gate: its failing judged ratio whose interval lies farthest from 1
        (gates.beyond_noise); 0 when it passes."""
        scope = self.gate.numbers.get("scope")
        return max((beyond_noise(r) for r in self.ratios if r.scope == scope and r.support >= MIN_SUPPORT), default=0.0)

    def worst(self) -> GroupRatio | None:
        """The judged ratio (the gate's scope, enough support) farthest from 1."""
        return _worst(self.ratios, self.gate)

    def deep_worst(self) -> GroupRatio | None:
        return _worst(self.deep_ratios, self.deep_gate) if self.deep_gate is not None else None

    def row(self) -> dict:
        worst, deep = self.worst(), self.deep_worst()
        return {"weight": self.weight, "cap_hit_rate": self.hit_rate, "passes_fairness_gate": self.gate.passed,
                "worst_ratio": worst.ratio if worst else float("nan"),
                "worst_ratio_is": f"{worst.attribute}={worst.group} {worst.metric} ({worst.scope})" if worst else "",
                "passes_at_top_1pct": self.deep_gate.passed if self.deep_gate is not None else None,
                "worst_ratio_top_1pct": deep.ratio if deep else float("nan"),
                "best_iteration": self.fit.best_iteration, "valid_auc": self.fit.valid_auc, "fit_seconds": self.seconds}


def _worst(ratios: Sequence[GroupRatio], gate: GateResult | None) -> GroupRatio | None:
    scope = gate.numbers.get("scope") if gate is not None else None
    judged = [r for r in ratios if r.scope == scope and r.support >= MIN_SUPPORT and np.isfinite(r.ratio) and r.ratio > 0]
    return max(judged, key=lambda r: abs(math.log(r.ratio)), default=None)


def _distance(ratio: GroupRatio | None) -> float:
    return abs(math.log(ratio.ratio)) if ratio is not None else 0.0


def fit_with_weight(train: pd.DataFrame, valid: pd.DataFrame, inputs: Sequence[str], weight: float,
                    params: dict | None = None) -> FitResult:
    """One member: the plain binary objective at weight 0, the group-calibration penalty above it."""
    if weight == 0:
        return fit(train, valid, inputs, params=params)
    objective = FairLogloss(train[LABEL].to_numpy(), group_codes(train, SENSITIVE), weight)
    return fit(train, valid, inputs, params=params, objective=objective)


def judge(scores: np.ndarray, population: pd.DataFrame, capacity: dict[str, int],
          n_boot: int = 2000) -> tuple[float, list[GroupRatio], GateResult]:
    """Hit rate at capacity, fairness ratios and the fairness gate, as `riskrank promote` computes them."""
    chosen = selection(population, scores, capacity)
    y = population[LABEL].to_numpy(dtype=float)
    ratios = selection_fairness(population, chosen, LABEL, n_boot=n_boot)
    return float(y[chosen].mean()) if chosen.any() else float("nan"), ratios, fairness_gate(ratios)


def deep_capacity(population: pd.DataFrame, capacity: dict[str, int]) -> dict[str, int]:
    """The top DEEP_SHARE of each slot's cases (a benefit on an evaluation date), and never less than capacity."""
    sizes = population[SLOT].astype(str).value_counts()
    return {slot: max(capacity.get(slot, 0), round(DEEP_SHARE * n)) for slot, n in sizes.items()}


def sweep(train: pd.DataFrame, valid: pd.DataFrame, inputs: Sequence[str], population: pd.DataFrame,
          capacity: dict[str, int], weights: Sequence[float] = DEFAULT_WEIGHTS, params: dict | None = None,
          step: Callable[[str], None] | None = None) -> list[Member]:
    members, deep = [], deep_capacity(population, capacity)
    for weight in weights:
        if step is not None:
            step(f"fitting family member with fairness weight {weight:g}")
        start = time.perf_counter()
        result = fit_with_weight(train, valid, inputs, weight, params)
        seconds = time.perf_counter() - start
        scores = predict(result, population)
        hit_rate, ratios, gate = judge(scores, population, capacity)
        _, deep_ratios, deep_gate = judge(scores, population, deep)
        members.append(Member(weight, result, hit_rate, ratios, gate, seconds, deep_ratios, deep_gate))
    return members


def choose(members: Sequence[Member]) -> tuple[Member, str]:
    """The most accurate member that passes the fairness gate at capacity and at the deeper cut (ties: the smaller
    weight); else the member passing at capacity that is fairest at the deeper cut; else the fairest."""
    if not members:
        raise ValueError("no family members to choose from")
    passing = [m for m in members if m.gate.passed]
    steady = [m for m in passing if m.deep_gate is None or m.deep_gate.passed]
    top = f"the top {DEEP_SHARE * 100:g} %"
    deep = f" and at {top} of each benefit" if any(m.deep_gate is not None for m in members) else ""
    if steady:
        best = max(steady, key=lambda m: (m.hit_rate, -m.weight))
        unconstrained = next((m for m in members if m.weight == 0), None)
        if best.weight == 0:
            return best, (f"the unconstrained model (weight 0) already passes the fairness gate at capacity{deep}; "
                          "it is the most accurate")
        cost = ""
        if unconstrained is not None and unconstrained not in steady:
            where = f" at {top}" if unconstrained.gate.passed else ""
            cost = f"; the unconstrained model's hit rate is {unconstrained.hit_rate:.3f} and it fails the gate{where}"
        return best, (f"weight {best.weight:g} is the most accurate of the {len(steady)} of {len(members)} members "
                      f"that pass the fairness gate at capacity{deep} (hit rate at capacity {best.hit_rate:.3f}){cost}")
    if passing:
        # Every member that capacity's few hundred cases let through fails where there are more cases to see.
        fairest = min(passing, key=lambda m: (_distance(m.deep_worst()), -m.hit_rate))
        worst = fairest.deep_worst()
        at = f" (worst ratio there {worst.ratio:.2f}, {worst.attribute}={worst.group} {worst.metric})" if worst else ""
        return fairest, (f"{len(passing)} of {len(members)} members pass the fairness gate at capacity but none{deep}; "
                         f"weight {fairest.weight:g} is the one of them fairest at {top}{at}")

    # The fairest failing member: judged by its clearest failure, not by its worst point estimate, which a ratio
    # on a dozen cases (age band 65+) dominates.
    fairest = min(members, key=lambda m: (m.excess(), -m.hit_rate))
    return fairest, (f"no member passes the fairness gate; weight {fairest.weight:g} fails it least clearly (its "
                     f"failing ratios' 99 % intervals lie nearest to 1) and is registered for inspection: "
                     "`riskrank promote` will refuse it")


def trade_off(members: Sequence[Member]) -> pd.DataFrame:
    return pd.DataFrame([m.row() for m in members])
