"""A small family of models, one per fairness penalty weight, and the choice among them.

Each member is fitted with fair_objective.FairLogloss at its weight (weight 0: LightGBM's own binary logloss, the
unconstrained model), scored on the evaluation population, and judged exactly as `riskrank promote` will judge it
(top k per benefit, fairness ratios within benefits, the fairness gate). The chosen member is the one with the
highest hit rate at capacity among those that pass the gate; if none passes, the one whose worst judged ratio
lies closest to 1, and the run says it will be refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.features.registry import SENSITIVE
from riskrank.training.dataset import LABEL, SplitBounds
from riskrank.training.evaluate import selection
from riskrank.training.fair_objective import FairLogloss, group_codes
from riskrank.training.fairness import GroupRatio, selection_fairness
from riskrank.training.gates import MIN_SUPPORT, GateResult, fairness_gate
from riskrank.training.train import FitResult, fit, predict

# Penalty weights of the default family. The penalty is a share-weighted squared relative gap in the groups'
# chance of reaching the top (0.09 for one group 30 % above the mean), against a mean logloss of ~0.6; beyond ~3
# the fits got unstable and less fair on the worlds tried (docs/training.md).
DEFAULT_WEIGHTS: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 3.0)
REFERENCE_DATES = 3
REFERENCE_ROWS = 20_000


@dataclass
class Member:
    weight: float
    fit: FitResult
    hit_rate: float
    ratios: list[GroupRatio]
    gate: GateResult
    seconds: float

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


def reference_dates(bounds: SplitBounds, n_dates: int = REFERENCE_DATES) -> list[pd.Timestamp]:
    """`n_dates` first-of-month dates spread over the validation months: the latest population before the test
    months, which is what the model will rank. Dates in the training months misrepresent it: history features
    (notification counts, earlier findings) grow with the years the world has run, and on training-month dates
    from 2022 the unconstrained model's top 2 % per benefit held women as often as men (ratio 1.01) where the
    2024 population's held them 1.19 times as often; on validation-month dates it was 1.19 (bench/RESULTS.md)."""
    first = bounds.valid_start.to_period("M")
    if bounds.valid_start != first.to_timestamp():
        first += 1  # the first whole month: a date before valid_start would be a training-month date
    months = pd.period_range(first, (bounds.test_start - pd.Timedelta(days=1)).to_period("M"), freq="M")
    if not len(months):
        return []
    picks = np.unique(np.linspace(0, len(months) - 1, num=min(n_dates, len(months))).round().astype(int))
    return [months[i].to_timestamp() for i in picks]


def reference_rows(world, bounds: SplitBounds, n_dates: int = REFERENCE_DATES, rows_per_date: int = REFERENCE_ROWS,
                   engine: str = "pandas", seed: int = 0) -> pd.DataFrame:
    """Active cases on the reference dates (features only, no outcome), a random `rows_per_date` of each: the
    population whose top the fairness penalty shares out equally."""
    from riskrank.features.pipeline import features_as_of

    frames = []
    for date in reference_dates(bounds, n_dates):
        feats = features_as_of(world, date, engine=engine)
        frames.append(feats.sample(n=min(rows_per_date, len(feats)), random_state=seed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def fit_with_weight(train: pd.DataFrame, valid: pd.DataFrame, inputs: Sequence[str], weight: float,
                    params: dict | None = None, reference: pd.DataFrame | None = None) -> FitResult:
    """One member: the plain binary objective at weight 0, the penalised one above it (on `reference` rows where
    given, else on the investigations closed without action)."""
    if weight == 0:
        return fit(train, valid, inputs, params=params)
    if reference is None or reference.empty:
        objective = FairLogloss(train[LABEL].to_numpy(), group_codes(train, SENSITIVE), weight)
        return fit(train, valid, inputs, params=params, objective=objective)
    combined = pd.concat([train, reference.assign(**{LABEL: 0})], ignore_index=True)
    is_reference = np.r_[np.zeros(len(train), bool), np.ones(len(reference), bool)]
    objective = FairLogloss(combined[LABEL].to_numpy(), group_codes(combined, SENSITIVE), weight, reference=is_reference)
    return fit(combined, valid, inputs, params=params, objective=objective)


def judge(result: FitResult, population: pd.DataFrame, capacity: dict[str, int],
          n_boot: int = 2000) -> tuple[float, list[GroupRatio], GateResult]:
    """Hit rate at capacity, fairness ratios and the fairness gate, as `riskrank promote` computes them."""
    chosen = selection(population, predict(result, population), capacity)
    y = population[LABEL].to_numpy(dtype=float)
    ratios = selection_fairness(population, chosen, LABEL, n_boot=n_boot)
    return float(y[chosen].mean()) if chosen.any() else float("nan"), ratios, fairness_gate(ratios)


def sweep(train: pd.DataFrame, valid: pd.DataFrame, inputs: Sequence[str], population: pd.DataFrame,
          capacity: dict[str, int], weights: Sequence[float] = DEFAULT_WEIGHTS, params: dict | None = None,
          reference: pd.DataFrame | None = None, step: Callable[[str], None] | None = None) -> list[Member]:
    members = []
    for weight in weights:
        if step is not None:
            step(f"fitting family member with fairness weight {weight:g}")
        start = time.perf_counter()
        result = fit_with_weight(train, valid, inputs, weight, params, reference)
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

    def distance(m: Member) -> float:
        worst = m.worst()
        return abs(math.log(worst.ratio)) if worst else math.inf

    fairest = min(members, key=lambda m: (distance(m), -m.hit_rate))
    return fairest, (f"no member passes the fairness gate; weight {fairest.weight:g} has the worst judged ratio "
                     "closest to 1 and is registered for inspection: `riskrank promote` will refuse it")


def trade_off(members: Sequence[Member]) -> pd.DataFrame:
    return pd.DataFrame([m.row() for m in members])
