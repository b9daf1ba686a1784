"""A small family of models, one per fairness penalty weight, and the choice among them.

Each member is fitted with fair_objective.FairLogloss at its weight (weight 0: LightGBM's own binary logloss, the
unconstrained model), scored on the evaluation population, and judged exactly as `riskrank promote` will judge it
(top k per benefit, fairness ratios within benefits, the fairness gate). The chosen member is the one with the
highest hit rate at capacity among those that pass the gate; if none passes, the one that fails it least clearly
(gates.beyond_noise), and the run says it will be refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.features.registry import SENSITIVE
from riskrank.training.dataset import LABEL
from riskrank.training.evaluate import selection
from riskrank.training.fair_objective import FairLogloss, group_codes
from riskrank.training.fairness import GroupRatio, selection_fairness
from riskrank.training.gates import MIN_SUPPORT, GateResult, beyond_noise, fairness_gate
from riskrank.training.train import FitResult, fit, predict

# Penalty weights of the default family. The penalty is a share-weighted squared calibration gap (0.0025 for a
# group overstated by 5 points), against a mean logloss of ~0.6, so weights in the tens make it count; at 30 the
# fits on scale-0.05 worlds began to stop early and lose hit rate, beyond it they collapsed (docs/training.md).
DEFAULT_WEIGHTS: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 30.0)


@dataclass
class Member:
    weight: float
    fit: FitResult
    hit_rate: float
    ratios: list[GroupRatio]
    gate: GateResult
    seconds: float

    def excess(self) -> float:
        """How clearly the member fails the gate: its failing judged ratio whose interval lies farthest from 1
        (gates.beyond_noise); 0 when it passes."""
        scope = self.gate.numbers.get("scope")
        return max((beyond_noise(r) for r in self.ratios if r.scope == scope and r.support >= MIN_SUPPORT), default=0.0)

    def worst(self) -> GroupRatio | None:
        """The judged ratio (the gate's scope, enough support) farthest from 1."""
        scope = self.gate.numbers.get("scope")
        judged = [r for r in self.ratios if r.scope == scope and r.support >= MIN_SUPPORT
                  and np.isfinite(r.ratio) and r.ratio > 0]
        return max(judged, key=lambda r: abs(math.log(r.ratio)), default=None)

    def row(self) -> dict:
        worst = self.worst()
        return {"weight": self.weight, "cap_hit_rate": self.hit_rate, "passes_fairness_gate": self.gate.passed,
                "worst_ratio": worst.ratio if worst else float("nan"),
                "worst_ratio_is": f"{worst.attribute}={worst.group} {worst.metric} ({worst.scope})" if worst else "",
                "best_iteration": self.fit.best_iteration, "valid_auc": self.fit.valid_auc, "fit_seconds": self.seconds}


def fit_with_weight(train: pd.DataFrame, valid: pd.DataFrame, inputs: Sequence[str], weight: float,
                    params: dict | None = None) -> FitResult:
    """One member: the plain binary objective at weight 0, the group-calibration penalty above it."""
    if weight == 0:
        return fit(train, valid, inputs, params=params)
    objective = FairLogloss(train[LABEL].to_numpy(), group_codes(train, SENSITIVE), weight)
    return fit(train, valid, inputs, params=params, objective=objective)


def judge(result: FitResult, population: pd.DataFrame, capacity: dict[str, int],
          n_boot: int = 2000) -> tuple[float, list[GroupRatio], GateResult]:
    """Hit rate at capacity, fairness ratios and the fairness gate, as `riskrank promote` computes them."""
    chosen = selection(population, predict(result, population), capacity)
    y = population[LABEL].to_numpy(dtype=float)
    ratios = selection_fairness(population, chosen, LABEL, n_boot=n_boot)
    return float(y[chosen].mean()) if chosen.any() else float("nan"), ratios, fairness_gate(ratios)


def sweep(train: pd.DataFrame, valid: pd.DataFrame, inputs: Sequence[str], population: pd.DataFrame,
          capacity: dict[str, int], weights: Sequence[float] = DEFAULT_WEIGHTS, params: dict | None = None,
          step: Callable[[str], None] | None = None) -> list[Member]:
    members = []
    for weight in weights:
        if step is not None:
            step(f"fitting family member with fairness weight {weight:g}")
        start = time.perf_counter()
        result = fit_with_weight(train, valid, inputs, weight, params)
        seconds = time.perf_counter() - start
        hit_rate, ratios, gate = judge(result, population, capacity)
        members.append(Member(weight, result, hit_rate, ratios, gate, seconds))
    return members


def choose(members: Sequence[Member]) -> tuple[Member, str]:
    """The most accurate member that passes the fairness gate (ties: the smaller weight); else the fairest."""
    if not members:
        raise ValueError("no family members to choose from")
    passing = [m for m in members if m.gate.passed]
    if passing:
        best = max(passing, key=lambda m: (m.hit_rate, -m.weight))
        unconstrained = next((m for m in members if m.weight == 0), None)
        if best.weight == 0:
            return best, "the unconstrained model (weight 0) already passes the fairness gate; it is the most accurate"
        cost = (f"; the unconstrained model's hit rate is {unconstrained.hit_rate:.3f} and it fails the gate"
                if unconstrained is not None and not unconstrained.gate.passed else "")
        return best, (f"weight {best.weight:g} is the most accurate of the {len(passing)} of {len(members)} members "
                      f"that pass the fairness gate (hit rate at capacity {best.hit_rate:.3f}){cost}")

    # The fairest failing member: judged by its clearest failure, not by its worst point estimate, which a ratio
    # on a dozen cases (age band 65+) dominates.
    fairest = min(members, key=lambda m: (m.excess(), -m.hit_rate))
    return fairest, (f"no member passes the fairness gate; weight {fairest.weight:g} fails it least clearly (its "
                     f"failing ratios' 99 % intervals lie nearest to 1) and is registered for inspection: "
                     "`riskrank promote` will refuse it")


def trade_off(members: Sequence[Member]) -> pd.DataFrame:
    return pd.DataFrame([m.row() for m in members])
