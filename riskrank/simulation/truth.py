"""Ground truth per case: whether and when it goes wrong, why, how much, and the probability used.

risk_p is the probability the generator actually used for "this case goes wrong while it runs in the
world's window" (plus the drift pattern's chance for cases it can reach). Innocent look-alikes get a
pattern's traces without an error; their rate rises with born_abroad and sex by `proxy_strength`, which
is what lets a careless model select unfairly while the true error rate stays group-blind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.simulation import published
from riskrank.simulation.calendar import HISTORY_FROM, day, to_datetime
from riskrank.simulation.config import SimConfig
from riskrank.simulation.parameters import (
    BENEFIT_PARAMS,
    DRIFT_BENEFITS,
    DRIFT_RATE,
    DRIFT_UBM,
    ERROR_FRACTION,
    INTENTIONAL_BY_CAUSE,
    INTENTIONAL_PATTERNS,
    LOOKALIKE_RATIO,
    PATTERNS,
)
from riskrank.simulation.population import Population
from riskrank.world import BENEFITS, ERROR_CAUSES

HIDDEN_SIGMA = 0.6          # spread of unobserved propensity to go wrong (log scale)
EARLIEST_ERROR = HISTORY_FROM  # errors in long-running cases start no earlier than the burn-in


@dataclass
class Truth:
    risk_p: np.ndarray
    erroneous: np.ndarray
    error_start: np.ndarray     # day number; meaningless where not erroneous
    cause: np.ndarray           # index into ERROR_CAUSES, -1 if none
    pattern: np.ndarray         # index into PATTERNS, -1 if none
    intentional: np.ndarray
    monthly_error_sek: np.ndarray
    # traces: erroneous cases from error_start; innocent look-alikes from a pseudo start
    trace_pattern: np.ndarray   # index into PATTERNS, -1 if the case leaves no pattern traces
    trace_start: np.ndarray
    trace_strength: np.ndarray  # 1.0 for real errors, weaker for look-alikes

    def frame(self, case_ids: np.ndarray, error_end: np.ndarray, last_day: int) -> pd.DataFrame:
        """The truth table; `error_end` (day numbers) is set by the investigations, null where past `last_day`."""
        err = self.erroneous
        ended = err & (error_end <= last_day)
        return pd.DataFrame({
            "case_id": case_ids,
            "error_start": pd.Series(to_datetime(np.where(err, self.error_start, 0))).where(err),
            "error_end": pd.Series(to_datetime(np.where(ended, error_end, 0))).where(ended),
            "error_cause": pd.Series(pd.Categorical.from_codes(np.where(err, self.cause, -1), list(ERROR_CAUSES))),
            "intentional": _nullable_bool(self.intentional, err),
            "monthly_error_sek": np.where(err, self.monthly_error_sek, 0.0),
            "risk_p": self.risk_p,
            "pattern": pd.Series(pd.Categorical.from_codes(np.where(err, self.pattern, -1), list(PATTERNS))),
        })


def _nullable_bool(values: np.ndarray, present: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(values.astype(bool), ~present)


def _choose(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row from a rows x categories probability matrix."""
    cum = np.cumsum(probs, axis=1)
    return (rng.random((len(probs), 1)) * cum[:, -1:] > cum).sum(axis=1)


def _draw_pattern(rng: np.random.Generator, benefit: np.ndarray, cause: np.ndarray) -> np.ndarray:
    table = np.zeros((len(BENEFITS), len(ERROR_CAUSES), len(PATTERNS)))
    for b, name in enumerate(BENEFITS):
        for c, cause_name in enumerate(ERROR_CAUSES):
            for pattern, weight in BENEFIT_PARAMS[name].patterns[cause_name]:
                table[b, c, PATTERNS.index(pattern)] = weight
    return _choose(rng, table[benefit, cause])


def build_truth(rng: np.random.Generator, pop: Population, config: SimConfig) -> Truth:
    n = len(pop.case_benefit)
    benefit = pop.case_benefit.astype(np.int64)
    person = pop.case_person
    female = pop.sex_code[person] == 0
    abroad = pop.born_abroad[person]
    end_day = day(config.end)

    prevalence = np.array([BENEFIT_PARAMS[b].prevalence for b in BENEFITS])[benefit]
    hidden = np.exp(HIDDEN_SIGMA * rng.normal(size=n) - HIDDEN_SIGMA**2 / 2)
    group = np.where(female, config.female_error_ratio, 1.0) * np.where(abroad, config.born_abroad_error_ratio, 1.0)
    base_p = np.clip(prevalence * hidden * group, 0.0, 0.9)

    cause_table = np.array([[published.cause_shares(b)[c] for c in ERROR_CAUSES] for b in BENEFITS])
    cause = _choose(rng, cause_table[benefit])
    pattern = _draw_pattern(rng, benefit, cause)

    # when it goes wrong: at application from the start, otherwise some time into the case
    window_lo = np.maximum(pop.case_start + 30, day(EARLIEST_ERROR))
    window_hi = np.minimum(pop.case_end, end_day)
    later = window_lo + (rng.random(n) * np.maximum(window_hi - window_lo, 0)).astype(np.int64)
    error_start = np.where(cause == ERROR_CAUSES.index("application"), pop.case_start, later)
    erroneous = (rng.random(n) < base_p) & (error_start < window_hi)

    risk_p = base_p.copy()
    if config.drift:
        drift_day = day(config.drift_start)
        eligible = np.isin(benefit, [BENEFITS.index(b) for b in DRIFT_BENEFITS]) & (pop.case_end > drift_day + 30)
        drift_lo = np.maximum(pop.case_start, drift_day)
        drift_start = drift_lo + (rng.random(n) * np.maximum(window_hi - drift_lo, 0)).astype(np.int64)
        drift_rate = np.clip(DRIFT_RATE * group, 0.0, 0.9)
        drifted = eligible & ~erroneous & (rng.random(n) < drift_rate) & (drift_start < window_hi)
        risk_p = np.where(eligible, 1 - (1 - base_p) * (1 - drift_rate), risk_p)
        erroneous |= drifted
        error_start = np.where(drifted, drift_start, error_start)
        pattern = np.where(drifted, PATTERNS.index(DRIFT_UBM), pattern)
        cause = np.where(drifted, ERROR_CAUSES.index("unreported_change"), cause)

    intent_p = np.array([INTENTIONAL_BY_CAUSE[c] for c in ERROR_CAUSES])[cause]
    pattern_intent = np.array([INTENTIONAL_PATTERNS.get(p, np.nan) for p in PATTERNS])[pattern]
    intent_p = np.where(np.isnan(pattern_intent), intent_p, pattern_intent)
    intentional = rng.random(n) < intent_p
    fraction = np.array([ERROR_FRACTION[p] for p in PATTERNS])[pattern]
    monthly_error = np.round(pop.cases["monthly_amount_sek"].to_numpy() * fraction * rng.uniform(0.7, 1.0, n), 0)

    # innocent look-alikes: same traces, no error; more common for people born abroad and for women
    proxy = (1.8 ** (config.proxy_strength * abroad)) * (1.3 ** (config.proxy_strength * female))
    lookalike = ~erroneous & (rng.random(n) < np.clip(LOOKALIKE_RATIO * prevalence * proxy, 0, 0.9))
    look_cause = _choose(rng, cause_table[benefit])
    look_pattern = _draw_pattern(rng, benefit, look_cause)
    look_lo = np.maximum(pop.case_start, day(HISTORY_FROM))
    look_start = look_lo + (rng.random(n) * np.maximum(window_hi - look_lo, 0)).astype(np.int64)

    trace_pattern = np.where(erroneous, pattern, np.where(lookalike, look_pattern, -1))
    trace_start = np.where(erroneous, error_start, look_start)
    trace_strength = np.where(erroneous, 1.0, np.where(lookalike, rng.uniform(0.3, 0.7, n), 0.0))
    return Truth(
        risk_p=risk_p, erroneous=erroneous, error_start=error_start,
        cause=np.where(erroneous, cause, -1), pattern=np.where(erroneous, pattern, -1), intentional=intentional & erroneous,
        monthly_error_sek=np.where(erroneous, monthly_error, 0.0),
        trace_pattern=trace_pattern, trace_start=trace_start, trace_strength=trace_strength,
    )
