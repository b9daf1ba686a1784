"""Scores that mean what they say: Platt scaling of the action model onto the population of active cases.

The model learns from closed investigations (P(action | investigated)); most started from a notification or a
tip, so their base rate (about half end with action) is far above the population's (a few per cent of active
cases are in error). With the unlabelled rows of positive-unlabelled learning (training/unlabelled.py) it learns
a mixture of the two, at a base rate set by the unlabelled rows' number and weight: a ranking, not a
probability either way. Only the random control sample is a sample of the population, so the calibration is
fitted there (label: action), on the log-odds:

    logit(score) = a * logit(p_action) + b

A monotone map keeps every ranking and percentile, and mapping base_value -> a * base_value + b and each
contribution c -> a * c keeps base_value + sum(contributions) = logit(score).

Inverse-propensity weights over all investigations were the alternative; they correct only for what the
features see, while tips carry information the features do not, so they would keep most of the inflation.
With few random-sample events a slope cannot be estimated; below MIN_EVENTS_FOR_SLOPE on either side the
slope stays 1 and only the intercept moves the base rate to the random sample's (half an event added to the
target so that a sample without any action still gives a finite intercept).

A fit with unlabelled rows is calibrated by that intercept alone (a prior shift, `free_slope=False`): its rows
already hold a sample of the population, so its log-odds differ from the population's by the class prior, not
by a slope (fitted on a world's truth: slope 0.99), while a slope fitted on the random sample's few events is
noisy (standard error 0.27 at 30 events) and, on the simulated worlds, far too flat: the held-out random-sample
investigations are ranked worse than uniform draws of the same size from the population (docs/training.md,
"Calibration of the positive-unlabelled fit"). The fitted slope is still reported beside it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from riskrank.model.scoring import logit, sigmoid

MIN_EVENTS_FOR_SLOPE = 30
METHOD_PLATT = "platt"
METHOD_INTERCEPT = "intercept_only"


@dataclass(frozen=True)
class Calibration:
    a: float
    b: float
    method: str  # platt | intercept_only
    fitted_on: str
    n: int
    events: int

    def as_meta(self) -> dict:
        return asdict(self)

    def apply(self, p_action: np.ndarray) -> np.ndarray:
        """The calibrated score for action probabilities (ScoringModel does the same on the Booster's raw score)."""
        return sigmoid(self.a * logit(p_action) + self.b)


def fit_platt(p_action: np.ndarray, labels: np.ndarray, fitted_on: str = "random control sample",
              free_slope: bool = True) -> Calibration:
    """Fit a and b on the random control sample's action probabilities and outcomes (1 = action); with
    `free_slope=False`, or too few events for a slope, b alone (a = 1)."""
    from scipy.optimize import brentq
    from scipy.special import expit

    x = logit(p_action)
    y = np.asarray(labels, dtype=np.float64)
    if len(x) == 0:
        raise ValueError("no random-sample investigations to calibrate on")
    events = int(y.sum())
    if free_slope and min(events, len(y) - events) >= MIN_EVENTS_FOR_SLOPE:
        from sklearn.linear_model import LogisticRegression

        fitted = LogisticRegression(C=1e6, max_iter=1000).fit(x.reshape(-1, 1), y)
        return Calibration(float(fitted.coef_[0, 0]), float(fitted.intercept_[0]), METHOD_PLATT, fitted_on, len(y), events)
    target = events + 0.5
    # sum(expit(x + b)) rises from 0 to n with b: one root.
    b = brentq(lambda shift: float(expit(x + shift).sum()) - target, -50.0, 50.0)
    return Calibration(1.0, float(b), METHOD_INTERCEPT, fitted_on, len(y), events)
