"""The evaluation population: every case active on a few test dates, with the ground truth of the world.

Investigations are not a random sample of cases, so the honest test of a ranking is to let it choose among
ALL active cases, as a worklist would, and ask the world's truth table whether the chosen cases were in error
on that date (`riskrank.world.in_error_on`: started on or before it, not yet corrected by an action nor ended
with the case). Capacity k per benefit is the number of investigations the world opened per month for that
benefit during the test months: what the agency actually had hands for. Cases under open investigation on the
date are left out, as a worklist leaves them out: finding them again would be no find. NEW_FIND marks cases
without a notification in the NEW_FIND_DAYS before the date, which an impulse would not have brought in.

Without a truth table (real data) the population falls back to the closed test investigations themselves,
labelled by action, with k = half of each benefit's test investigations (a triage view; see docs/training.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskrank.training.dataset import LABEL, VALUE, SplitBounds
from riskrank.world import World, in_error_on, under_open_investigation

SLOT = "slot"  # one worklist: an evaluation date and a benefit
EVAL_DATE = "eval_date"
FALLBACK_CAPACITY_SHARE = 0.5
NEW_FIND = "new_find"
# How many test dates the evaluation population ranks every active case on: one per test month; fewer leave the
# fairness ratios too noisy to judge (docs/training.md).
EVAL_DATES = 6
NEW_FIND_DAYS = 90
CHANNELS = ("fk_initiated", "impulse", "random")  # the world's selection channels, in investigations.selection


def evaluation_dates(bounds: SplitBounds, n_dates: int = EVAL_DATES) -> list[pd.Timestamp]:
    """`n_dates` first-of-month dates spread evenly over the test months."""
    months = pd.period_range(bounds.test_start, bounds.last_opened, freq="M")
    picks = np.unique(np.linspace(0, len(months) - 1, num=min(n_dates, len(months))).round().astype(int))
    return [months[i].to_timestamp() for i in picks]


def _opened_in_test_months(world: World, bounds: SplitBounds) -> tuple[pd.DataFrame, int]:
    """Investigations opened in the test months, with their case's benefit; and the number of test months."""
    inv = world.investigations.merge(world.cases[["case_id", "benefit"]], on="case_id", how="left")
    window = inv.loc[(inv["opened_date"] >= bounds.test_start) & (inv["opened_date"] <= bounds.last_opened)]
    return window, len(pd.period_range(bounds.test_start, bounds.last_opened, freq="M"))


def monthly_capacity(world: World, bounds: SplitBounds) -> dict[str, int]:
    """Mean investigations opened per month and benefit in the test months (at least 1), by the case's benefit."""
    window, n_months = _opened_in_test_months(world, bounds)
    counts = window.groupby(window["benefit"].astype(str)).size()
    return {b: max(1, round(c / n_months)) for b, c in counts.items()}


def agency_channels(world: World, bounds: SplitBounds) -> pd.DataFrame:
    """What each channel of the world's agency (CHANNELS) chose in the test months, per benefit: investigations
    opened, the monthly capacity that makes (at least 1), and how many were in error on the day they opened (the
    truth, as the evaluation population's label): the yardstick the model is held against at the same capacity."""
    if world.truth is None:
        raise ValueError("the agency's channels are judged by the world's truth table")
    window, n_months = _opened_in_test_months(world, bounds)
    window = window.assign(in_error=in_error_on(world.truth, window["case_id"].to_numpy(),
                                                window["opened_date"].to_numpy(dtype="datetime64[ns]")),
                           channel=window["selection"].astype(str), benefit=window["benefit"].astype(str))
    out = window.groupby(["channel", "benefit"]).agg(opened=("in_error", "size"), in_error=("in_error", "sum"))
    out = out.reset_index()
    out["per_month"] = np.maximum(1, (out["opened"] / n_months).round()).astype(int)
    return out.loc[out["channel"].isin(CHANNELS)].reset_index(drop=True)


def recently_notified(signals: pd.DataFrame, case_ids: np.ndarray, date: pd.Timestamp, days: int = NEW_FIND_DAYS) -> np.ndarray:
    """Whether each case had a notification in the `days` up to and including `date`."""
    notes = signals.loc[signals["kind"].astype(str) == "notification", ["case_id", "date"]]
    recent = notes.loc[(notes["date"] <= date) & (notes["date"] > date - pd.Timedelta(days=days)), "case_id"]
    return np.isin(case_ids, recent.dropna().to_numpy())


def truth_population(world: World, bounds: SplitBounds, dates: Sequence[pd.Timestamp], engine: str = "pandas",
                     client=None, progress=None) -> tuple[pd.DataFrame, dict[str, int]]:
    """All active cases on each date that are not under open investigation, with features, LABEL (in error on
    that date), NEW_FIND, risk_p and the monthly erroneous SEK; plus the capacity per slot."""
    from riskrank.features.pipeline import features_as_of

    if world.truth is None:
        raise ValueError("the truth population needs the world's truth table")
    truth = world.truth.set_index("case_id")
    per_month = monthly_capacity(world, bounds)
    frames, capacity = [], {}
    for date in dates:
        feats = features_as_of(world, date, engine=engine, client=client)
        feats = feats.loc[~under_open_investigation(world.investigations, feats["case_id"], date)].reset_index(drop=True)
        case_ids = feats["case_id"].to_numpy()
        t = truth.reindex(case_ids)
        in_error = in_error_on(world.truth, case_ids, date)
        feats = feats.assign(**{
            EVAL_DATE: date,
            LABEL: in_error.astype(int),
            NEW_FIND: ~recently_notified(world.signals, case_ids, date),
            "risk_p": t["risk_p"].to_numpy(dtype=float),
            VALUE: np.where(in_error, t["monthly_error_sek"].to_numpy(dtype=float), 0.0),
        })
        feats[SLOT] = str(date.date()) + "|" + feats["benefit"].astype(str)
        for benefit, k in per_month.items():
            capacity[f"{date.date()}|{benefit}"] = k
        frames.append(feats)
        if progress is not None:
            progress()
    return pd.concat(frames, ignore_index=True), capacity


def investigation_population(test: pd.DataFrame, share: float = FALLBACK_CAPACITY_SHARE) -> tuple[pd.DataFrame, dict[str, int]]:
    """Fallback without truth: the closed test investigations, k = ceil(share x count) per benefit."""
    pop = test.copy()
    pop[SLOT] = pop["benefit"].astype(str)
    counts = pop.groupby(SLOT).size()
    return pop, {slot: max(1, math.ceil(share * n)) for slot, n in counts.items()}
