"""A small family of models, one per fairness penalty weight, and the choice among them.

Each member is fitted with fairness.objective.FairLogloss at its weight (weight 0: LightGBM's own binary logloss, the
unconstrained model), scored on the evaluation population, and judged exactly as `riskrank promote` will judge it:
the fairness gate over its selection at capacity (ratios within benefits) and at the deeper cut, the top 1 % of
active cases (evaluate.gate_ratios).

The choice: the member with the highest hit rate at capacity among those the gate passes. The band binds and the hit
rate is what gives (issue 24), so a member the gate refuses is never chosen over one it passes, and the trade-off table
shows what the band costs against the unconstrained member. If no member passes, the one that fails the gate least
clearly (fairness.gate.beyond_noise) is registered, and the run says that `riskrank promote` will refuse it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.fairness.gate import GateResult, beyond_noise, fairness_gate, judged
from riskrank.fairness.measure import GroupRatio
from riskrank.fairness.objective import FairLogloss, group_codes
from riskrank.fairness.policy import N_BOOT, TOP_SCOPE, band_text
from riskrank.features.registry import SENSITIVE
from riskrank.training.dataset import LABEL
from riskrank.training.evaluate import cuts, gate_ratios
from riskrank.training.train import FitResult, fit, predict

# Penalty weights of the default family. The penalty is a share-weighted squared calibration gap (0.0025 for a
# group overstated by 5 points), against a mean logloss of ~0.6, so weights in the tens make it count; beyond the
# largest the fits stop early and lose hit rate (measured in docs/training.md).
DEFAULT_WEIGHTS: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 30.0)


def farthest_from_one(ratios: Sequence[GroupRatio]) -> GroupRatio | None:
    """The ratio farthest from 1 on the log scale (so 0.8 and 1.25 are equally far); None without a usable one."""
    usable = [r for r in ratios if np.isfinite(r.ratio) and r.ratio > 0]
    return max(usable, key=lambda r: abs(math.log(r.ratio)), default=None)


@dataclass
class Member:
    weight: float
    fit: FitResult
    hit_rate: float
    ratios: list[GroupRatio]
    gate: GateResult
    seconds: float
    top_share_hit_rate: float = float("nan")  # hit rate in the top 1 % of active cases (NaN without that cut)

    def excess(self) -> float:
        """How clearly the member fails the gate: its most clearly refused judged ratio (gate.beyond_noise); 0 when
        it passes."""
        return max((beyond_noise(r) for r in judged(self.ratios)), default=0.0)

    def worst(self, scope: str | None = None) -> GroupRatio | None:
        """The judged ratio (of one scope, if given) farthest from 1."""
        return farthest_from_one([r for r in judged(self.ratios) if scope is None or r.scope == scope])

    def row(self) -> dict:
        worst, top_worst = self.worst(), self.worst(TOP_SCOPE)
        return {"weight": self.weight, "cap_hit_rate": self.hit_rate, "top_share_hit_rate": self.top_share_hit_rate,
                "passes_fairness_gate": self.gate.passed,
                "worst_ratio": worst.ratio if worst else float("nan"),
                "worst_ratio_is": f"{worst.attribute}={worst.group} {worst.metric} ({worst.scope})" if worst else "",
                "top_share_worst_ratio": top_worst.ratio if top_worst else float("nan"),
                "top_share_worst_ratio_is": f"{top_worst.attribute}={top_worst.group} {top_worst.metric}" if top_worst else "",
                "best_iteration": self.fit.best_iteration, "valid_auc": self.fit.valid_auc, "fit_seconds": self.seconds}


def fit_with_weight(train: pd.DataFrame, valid: pd.DataFrame, inputs: Sequence[str], weight: float,
                    params: dict | None = None, row_weight: str | None = None) -> FitResult:
    """One member: the plain binary objective at weight 0, the group-calibration penalty above it. `row_weight`: a
    column of row weights (the unlabelled rows'), honoured by both objectives."""
    if weight == 0:
        return fit(train, valid, inputs, params=params, weight=row_weight)
    objective = FairLogloss(train[LABEL].to_numpy(), group_codes(train, SENSITIVE), weight,
                            sample_weight=train[row_weight].to_numpy(dtype=float) if row_weight else None)
    return fit(train, valid, inputs, params=params, objective=objective, weight=row_weight)


def judge(result: FitResult, population: pd.DataFrame, capacity: dict[str, int],
          n_boot: int = N_BOOT) -> tuple[float, list[GroupRatio], GateResult, float]:
    """Hit rate at capacity, the ratios the gate judges and the fairness gate, as `riskrank promote` computes them;
    and the hit rate in the top 1 % (NaN where the population has no such cut)."""
    cut = cuts(population, predict(result, population), capacity)
    y = population[LABEL].to_numpy(dtype=float)
    ratios = gate_ratios(population, cut, n_boot=n_boot)
    chosen, top = cut.capacity, cut.top_share
    return (float(y[chosen].mean()) if chosen.any() else float("nan"), ratios, fairness_gate(ratios),
            float(y[top].mean()) if top is not None and top.any() else float("nan"))


def sweep(train: pd.DataFrame, valid: pd.DataFrame, inputs: Sequence[str], population: pd.DataFrame,
          capacity: dict[str, int], weights: Sequence[float] = DEFAULT_WEIGHTS, params: dict | None = None,
          step: Callable[[str], None] | None = None, row_weight: str | None = None) -> list[Member]:
    members = []
    for weight in weights:
        if step is not None:
            step(f"fitting family member with fairness weight {weight:g}")
        start = time.perf_counter()
        result = fit_with_weight(train, valid, inputs, weight, params, row_weight)
        seconds = time.perf_counter() - start
        hit_rate, ratios, gate, top_hit_rate = judge(result, population, capacity)
        members.append(Member(weight, result, hit_rate, ratios, gate, seconds, top_hit_rate))
    return members


def choose(members: Sequence[Member]) -> tuple[Member, str]:
    """Of the members that pass the fairness gate, the most accurate at capacity (ties: the smaller weight); if none
    passes, the one that fails least clearly."""
    if not members:
        raise ValueError("no family members to choose from")
    passing = [m for m in members if m.gate.passed]
    if passing:
        best = max(passing, key=lambda m: (m.hit_rate, -m.weight))
        return best, _why(best, members, passing)

    # The fairest failing member: judged by its clearest failure, not by its worst point estimate, which a ratio
    # on a dozen cases (age band 65+) dominates.
    fairest = min(members, key=lambda m: (m.excess(), -m.hit_rate))
    return fairest, (f"no member's ratios lie within {band_text()} where the gate judges them; weight "
                     f"{fairest.weight:g} fails it least clearly and is registered for inspection: `riskrank promote` "
                     "will refuse it" + _cost(fairest, members))


def _cost(best: Member, members: Sequence[Member]) -> str:
    """What the band costs: the chosen member's hit rates against the unconstrained member's."""
    free = next((m for m in members if m.weight == 0), None)
    if free is None or best is free:
        return ""
    cost = f"; the unconstrained model's hit rate at capacity is {free.hit_rate:.3f} against {best.hit_rate:.3f}"
    if np.isfinite(free.top_share_hit_rate) and np.isfinite(best.top_share_hit_rate):
        cost += f", in the top 1 % {free.top_share_hit_rate:.3f} against {best.top_share_hit_rate:.3f}"
    return cost + ("" if free.gate.passed else f" (it fails the gate: {free.gate.detail.split(';')[0]})")


def _why(best: Member, members: Sequence[Member], passing: list[Member]) -> str:
    name = "the unconstrained model (weight 0)" if best.weight == 0 else f"weight {best.weight:g}"
    return (f"{name} is the most accurate (hit rate at capacity {best.hit_rate:.3f}) of the {len(passing)} of "
            f"{len(members)} members whose ratios lie within {band_text()} where the fairness gate judges them"
            + _cost(best, members))


def trade_off(members: Sequence[Member]) -> pd.DataFrame:
    return pd.DataFrame([m.row() for m in members])
