"""A small family of models, one per fairness penalty weight, and the choice among them.

Each member is fitted with fairness.objective.FairLogloss at its weight (weight 0: LightGBM's own binary logloss, the
unconstrained model), scored on the evaluation population, and judged exactly as `riskrank promote` will judge it
(top k per benefit, fairness ratios within benefits, the fairness gate). It is also judged at a deeper cut, the
top 1 % of active cases (evaluate.top_share_selection), where its ratios for women vs men and born abroad vs not
rest on thousands of selected cases rather than the few hundred at capacity.

The choice: among the members that pass the gate, prefer those whose ratios at the deeper cut all lie within
the band, and of those take the one with the highest hit rate at capacity. On small worlds the gate has too little
power to refuse most members that a world they never saw shows outside the band; the deeper cut's ratios tell
those apart better (measured in docs/training.md). Without a deeper cut (no truth: the fallback population) the preference
falls away. If no member passes, the one that fails the gate least clearly (fairness.gate.beyond_noise) is registered,
and the run says it will be refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.fairness.gate import GateResult, beyond_noise, fairness_gate
from riskrank.fairness.measure import GroupRatio, selection_fairness
from riskrank.fairness.objective import FairLogloss, group_codes
from riskrank.fairness.policy import FAIR_HIGH, FAIR_LOW, MIN_SUPPORT, N_BOOT, OVERALL, band_text
from riskrank.features.registry import SENSITIVE
from riskrank.training.dataset import LABEL
from riskrank.training.evaluate import selection, top_share_selection
from riskrank.training.train import FitResult, fit, predict

# Penalty weights of the default family. The penalty is a share-weighted squared calibration gap (0.0025 for a
# group overstated by 5 points), against a mean logloss of ~0.6, so weights in the tens make it count; beyond the
# largest the fits stop early and lose hit rate (measured in docs/training.md).
DEFAULT_WEIGHTS: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 30.0)
# The ratios the deeper cut judges: the attributes with two groups. Over all benefits, the age bands' ratios mostly
# say which benefits each band draws (pensions at 65+); the gate judges age within benefits.
TOP_SHARE_ATTRIBUTES = ("sex", "born_abroad")


def farthest_from_one(ratios: Sequence[GroupRatio]) -> GroupRatio | None:
    """The ratio farthest from 1 on the log scale (so 0.8 and 1.25 are equally far); None without a usable one."""
    usable = [r for r in ratios if np.isfinite(r.ratio) and r.ratio > 0]
    return max(usable, key=lambda r: abs(math.log(r.ratio)), default=None)


@dataclass(frozen=True)
class TopShare:
    """A member at the deeper cut: its hit rate and its overall ratios for TOP_SHARE_ATTRIBUTES (point estimates)."""
    hit_rate: float
    ratios: list[GroupRatio]

    def in_band(self) -> bool:
        """Every ratio within the band; as in the gate, ratios on fewer than MIN_SUPPORT cases are not judged."""
        judged = [r for r in self.ratios if r.support >= MIN_SUPPORT]
        return bool(judged) and all(FAIR_LOW <= r.ratio <= FAIR_HIGH for r in judged)

    def worst(self) -> GroupRatio | None:
        return farthest_from_one(self.ratios)


NO_TOP_SHARE = TopShare(float("nan"), [])


@dataclass
class Member:
    weight: float
    fit: FitResult
    hit_rate: float
    ratios: list[GroupRatio]
    gate: GateResult
    seconds: float
    top_share: TopShare = NO_TOP_SHARE

    def excess(self) -> float:
        """How clearly the member fails the gate: its failing judged ratio whose interval lies farthest from 1
        (gates.beyond_noise); 0 when it passes."""
        scope = self.gate.numbers.get("scope")
        return max((beyond_noise(r) for r in self.ratios if r.scope == scope and r.support >= MIN_SUPPORT), default=0.0)

    def worst(self) -> GroupRatio | None:
        """The judged ratio (the gate's scope, enough support) farthest from 1."""
        scope = self.gate.numbers.get("scope")
        return farthest_from_one([r for r in self.ratios if r.scope == scope and r.support >= MIN_SUPPORT])

    def row(self) -> dict:
        worst, top_worst = self.worst(), self.top_share.worst()
        return {"weight": self.weight, "cap_hit_rate": self.hit_rate, "passes_fairness_gate": self.gate.passed,
                "worst_ratio": worst.ratio if worst else float("nan"),
                "worst_ratio_is": f"{worst.attribute}={worst.group} {worst.metric} ({worst.scope})" if worst else "",
                "top_share_hit_rate": self.top_share.hit_rate, "top_share_in_band": self.top_share.in_band(),
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
          n_boot: int = N_BOOT) -> tuple[float, list[GroupRatio], GateResult, TopShare]:
    """Hit rate at capacity, fairness ratios and the fairness gate, as `riskrank promote` computes them; and the
    same member at the deeper cut (NO_TOP_SHARE where the population has none)."""
    scores = predict(result, population)
    chosen = selection(population, scores, capacity)
    y = population[LABEL].to_numpy(dtype=float)
    ratios = selection_fairness(population, chosen, LABEL, n_boot=n_boot)
    return (float(y[chosen].mean()) if chosen.any() else float("nan"), ratios, fairness_gate(ratios),
            top_share(population, scores))


def top_share(population: pd.DataFrame, scores: np.ndarray) -> TopShare:
    top = top_share_selection(population, scores)
    if top is None or not top.any():
        return NO_TOP_SHARE
    columns = [c for c in (*TOP_SHARE_ATTRIBUTES, LABEL) if c in population.columns]
    ratios = selection_fairness(population[columns], top, LABEL, n_boot=0)  # the choice reads point estimates
    y = population[LABEL].to_numpy(dtype=float)
    return TopShare(float(y[top].mean()), [r for r in ratios if r.scope == OVERALL])


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
        hit_rate, ratios, gate, deeper = judge(result, population, capacity)
        members.append(Member(weight, result, hit_rate, ratios, gate, seconds, deeper))
    return members


def choose(members: Sequence[Member]) -> tuple[Member, str]:
    """Of the members that pass the fairness gate (those within the band at the deeper cut, if any), the most
    accurate at capacity (ties: the smaller weight); if none passes, the one that fails least clearly."""
    if not members:
        raise ValueError("no family members to choose from")
    passing = [m for m in members if m.gate.passed]
    if passing:
        in_band = [m for m in passing if m.top_share.in_band()]
        best = max(in_band or passing, key=lambda m: (m.hit_rate, -m.weight))
        return best, _why(best, members, passing, in_band)

    # The fairest failing member: judged by its clearest failure, not by its worst point estimate, which a ratio
    # on a dozen cases (age band 65+) dominates.
    fairest = min(members, key=lambda m: (m.excess(), -m.hit_rate))
    return fairest, (f"no member passes the fairness gate; weight {fairest.weight:g} fails it least clearly (its "
                     f"failing ratios' 99 % intervals lie nearest to 1) and is registered for inspection: "
                     "`riskrank promote` will refuse it")


def _why(best: Member, members: Sequence[Member], passing: list[Member], in_band: list[Member]) -> str:
    among = f"the {len(passing)} of {len(members)} members that pass the fairness gate"
    if in_band:
        among = (f"the {len(in_band)} of {len(members)} members that pass the fairness gate and whose ratios for sex and "
                 f"born abroad in the top 1 % of active cases lie within {band_text()}")
    elif np.isfinite(best.top_share.hit_rate):
        among += f" (none has all its ratios for sex and born abroad in the top 1 % of active cases within {band_text()})"
    name = "the unconstrained model (weight 0)" if best.weight == 0 else f"weight {best.weight:g}"
    why = f"{name} is the most accurate (hit rate at capacity {best.hit_rate:.3f}) of {among}"
    unconstrained = next((m for m in members if m.weight == 0), None)
    if best.weight != 0 and unconstrained is not None:
        why += f"; the unconstrained model's hit rate is {unconstrained.hit_rate:.3f}"
        if not unconstrained.gate.passed:
            why += " and it fails the gate"
        elif in_band and not unconstrained.top_share.in_band():
            why += f" and its ratios in the top 1 % lie outside {band_text()}"
    return why


def trade_off(members: Sequence[Member]) -> pd.DataFrame:
    return pd.DataFrame([m.row() for m in members])
