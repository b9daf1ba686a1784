"""What the dashboard shows, as JSON-ready dicts: pure functions over an outcomes-like frame."""

from __future__ import annotations

import pandas as pd

from riskrank.fairness import policy
from riskrank.fairness.policy import SENSITIVE_REFERENCES
from riskrank.monitoring.drift import score_drift_from_outcomes
from riskrank.monitoring.kpis import TOTAL, fairness_by_group, fairness_by_sex, hit_rate_table, lift, records
from riskrank.monitoring.numbers import BROWSER_LOCALE

NOTICE = "The score is a ranking aid for investigators, never a decision about a case."
FAIRNESS_NOTE = ("Measured on closed investigations (outcomes), reference M as in the promotion gate. The precision "
                 "ratio is the gate's and the audit's definition (share with action among model-selected cases); parity "
                 "compares a sex's share of model selections with its share of the random sample, which the gate does "
                 "not measure. Intervals: 95 % bootstrap, as the audit; the gate reads 99 % bootstrap intervals on the "
                 "evaluation population.")
GROUP_FAIRNESS_NOTE = ("Every group the promotion gate judges (sex, born abroad, age band), against its reference (men, "
                       "born in Sweden, the largest age band of the random sample), on closed model-selected and "
                       "random-sample investigations: selection rate (model selections per random-sample investigation), "
                       "false-positive rate (model selections without action per random-sample investigation without "
                       "action) and precision (hit rate of model selections). 95 % bootstrap intervals. A ratio resting "
                       "on fewer than four persons, in the group or its reference, is suppressed (*). The groups are "
                       "recorded for this measurement only and never used in scoring.")
SELECTION_ORDER = ("model", "random", "impulse", "fk_initiated")


def lift_by_quarter(frame: pd.DataFrame) -> list[dict]:
    if frame.empty:
        return []
    quarter = pd.to_datetime(frame["closed_date"]).dt.to_period("Q").astype(str)
    rows = []
    for period, part in frame.groupby(quarter, sort=True):
        result = lift(part)
        if result["model_closed"] and result["random_closed"]:
            rows.append({"period": str(period), **result})
    return rows


def dashboard_payload(frame: pd.DataFrame, benefit: str | None, benefits: list[str], cost_per_investigation: float,
                      feature_drift: dict | None = None, model: dict | None = None, number_locale: str = "sv") -> dict:
    """Everything the page draws for one benefit (None: all benefits), with the locale the page formats numbers in."""
    if benefit is not None:
        frame = frame[frame["benefit"] == benefit]
    summary = records(hit_rate_table(frame, by=[], cost_per_investigation=cost_per_investigation))[0]
    by_month_selection = hit_rate_table(frame, by=["month", "selection"], cost_per_investigation=cost_per_investigation)
    by_month_selection = by_month_selection[(by_month_selection["month"] != TOTAL) & (by_month_selection["selection"] != TOTAL)]
    by_month = hit_rate_table(frame, by=["month"], cost_per_investigation=cost_per_investigation)
    by_month = by_month[by_month["month"] != TOTAL]
    selections = [s for s in SELECTION_ORDER if s in set(by_month_selection["selection"])]
    return {
        "notice": NOTICE,
        "number_locale": BROWSER_LOCALE[number_locale],
        "benefit": benefit,
        "benefits": benefits,
        "cost_per_investigation_sek": cost_per_investigation,
        "summary": summary,
        "selections": selections,
        "hit_rate_by_month": records(by_month_selection[[
            "month", "selection", "closed", "hit_rate", "hit_rate_low", "hit_rate_high", "suppressed"]]),
        "detected_by_month": records(by_month[["month", "closed", "detected_sek", "prevented_sek", "suppressed"]]),
        "lift": lift(frame),
        "lift_by_quarter": lift_by_quarter(frame),
        "fairness": fairness_by_sex(frame, reference=SENSITIVE_REFERENCES["sex"]),
        "fairness_note": FAIRNESS_NOTE,
        "group_fairness": fairness_by_group(frame),
        "group_fairness_note": GROUP_FAIRNESS_NOTE,
        "fairness_policy": policy.as_dict(),
        "drift": {"score": score_drift_from_outcomes(frame), **(feature_drift or {"features": [], "note": None})},
        "model": model or {"serving_version": None, "source": None},
    }
