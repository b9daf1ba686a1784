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
from riskrank.world import BENEFITS, World, in_error_on, under_open_investigation
from riskrank.world_blocks import WorldOnDisk

SLOT = "slot"  # one worklist: an evaluation date and a benefit
EVAL_DATE = "eval_date"
FALLBACK_CAPACITY_SHARE = 0.5
NEW_FIND = "new_find"
# How many test dates the evaluation population ranks every active case on: one per test month; fewer leave the
# fairness ratios too noisy to judge (docs/training.md).
EVAL_DATES = 6
NEW_FIND_DAYS = 90
CHANNELS = ("fk_initiated", "impulse", "random")  # the world's selection channels, in investigations.selection
# Keys per block of persons when the population is computed from a world on disk (all dates of a person together).
ROWS_PER_PART = 200_000


def evaluation_dates(bounds: SplitBounds, n_dates: int = EVAL_DATES) -> list[pd.Timestamp]:
    """`n_dates` first-of-month dates spread evenly over the test months."""
    months = pd.period_range(bounds.test_start, bounds.last_opened, freq="M")
    picks = np.unique(np.linspace(0, len(months) - 1, num=min(n_dates, len(months))).round().astype(int))
    return [months[i].to_timestamp() for i in picks]


def _opened_in_test_months(world: World | WorldOnDisk, bounds: SplitBounds) -> tuple[pd.DataFrame, int]:
    """Investigations opened in the test months, with their case's benefit; and the number of test months."""
    inv = world.investigations.merge(world.cases[["case_id", "benefit"]], on="case_id", how="left")
    window = inv.loc[(inv["opened_date"] >= bounds.test_start) & (inv["opened_date"] <= bounds.last_opened)]
    return window, len(pd.period_range(bounds.test_start, bounds.last_opened, freq="M"))


def monthly_capacity(world: World | WorldOnDisk, bounds: SplitBounds) -> dict[str, int]:
    """Mean investigations opened per month and benefit in the test months (at least 1), by the case's benefit."""
    window, n_months = _opened_in_test_months(world, bounds)
    counts = window.groupby(window["benefit"].astype(str)).size()
    return {b: max(1, round(c / n_months)) for b, c in counts.items()}


def agency_channels(world: World | WorldOnDisk, bounds: SplitBounds) -> pd.DataFrame:
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


def notified_case_ids(signals: pd.DataFrame, date: pd.Timestamp, days: int = NEW_FIND_DAYS) -> np.ndarray:
    """Case ids with a notification in the `days` up to and including `date`."""
    notes = signals.loc[signals["kind"].astype(str) == "notification", ["case_id", "date"]]
    recent = notes.loc[(notes["date"] <= date) & (notes["date"] > date - pd.Timedelta(days=days)), "case_id"]
    return np.unique(recent.dropna().to_numpy(np.int64))


def recently_notified(signals: pd.DataFrame, case_ids: np.ndarray, date: pd.Timestamp, days: int = NEW_FIND_DAYS) -> np.ndarray:
    """Whether each case had a notification in the `days` up to and including `date`."""
    return np.isin(case_ids, notified_case_ids(signals, date, days))


def population_keys(world: World | WorldOnDisk, dates: Sequence[pd.Timestamp]) -> pd.DataFrame:
    """(case_id, as_of): every case active on each date and not under open investigation, by date, then case id."""
    from riskrank.features.pipeline import active_keys

    frames = []
    for date in dates:
        keys = active_keys(world, date)
        frames.append(keys.loc[~under_open_investigation(world.investigations, keys["case_id"], date)])
    return pd.concat(frames, ignore_index=True)


def compact(frame: pd.DataFrame) -> pd.DataFrame:
    """The same values in smaller dtypes where that loses nothing: integers in the smallest integer type that
    holds them, floats as float32 where every value is a float32 (counts, days). The evaluation population of a
    scale-1.0 world holds about 21 M rows; models read it through model.scoring.prepare, which makes float64 again,
    so scores are unchanged."""
    out = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_integer_dtype(col.dtype) and not isinstance(col.dtype, pd.CategoricalDtype) \
                and isinstance(col.dtype, np.dtype):
            out[name] = pd.to_numeric(col, downcast="integer")
        elif col.dtype == np.float64:
            values = col.to_numpy()
            single = values.astype(np.float32)
            out[name] = pd.Series(single, index=col.index) if np.array_equal(single, values, equal_nan=True) else col
        else:
            out[name] = col
    return pd.DataFrame(out, index=frame.index)


def slot_key(date, benefit: str) -> str:
    """The SLOT of one worklist: its evaluation date and benefit (the capacity dicts are keyed by it)."""
    return f"{pd.Timestamp(date).date()}|{benefit}"


def _slot_categories(dates: Sequence[pd.Timestamp]) -> list[str]:
    return [slot_key(date, benefit) for date in dates for benefit in BENEFITS]


def _labelled(feats: pd.DataFrame, truth: pd.DataFrame, notified: dict[pd.Timestamp, np.ndarray],
              slots: list[str]) -> pd.DataFrame:
    """A part of the population: features of (case, date) keys, with EVAL_DATE, LABEL (in error on that date),
    NEW_FIND, risk_p, VALUE and SLOT, in compact dtypes. `truth`: the world's truth indexed by case_id;
    `notified`: notified_case_ids per date."""
    case_ids = feats["case_id"].to_numpy()
    when = feats["as_of"].to_numpy(dtype="datetime64[ns]")
    t = truth.reindex(case_ids)
    in_error = in_error_on(truth.reindex(np.unique(case_ids)).reset_index(), case_ids, when)
    new_find = np.ones(len(feats), dtype=bool)
    for date, cases in notified.items():
        on = when == np.datetime64(date, "ns")
        new_find[on] = ~np.isin(case_ids[on], cases)
    # slot_key, vectorised over millions of rows
    slot = pd.Series(feats["as_of"].dt.strftime("%Y-%m-%d").to_numpy(object), index=feats.index) + "|" + \
        feats["benefit"].astype(str)
    feats = feats.assign(**{
        EVAL_DATE: feats["as_of"],
        LABEL: in_error.astype(np.int8),
        NEW_FIND: new_find,
        "risk_p": t["risk_p"].to_numpy(dtype=float),
        VALUE: np.where(in_error, t["monthly_error_sek"].to_numpy(dtype=float), 0.0),
        SLOT: pd.Categorical(slot, categories=slots),
    })
    return compact(feats)


def _assemble(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame of the parts, rows by EVAL_DATE then case_id (the order of the whole-world path), built a column
    at a time so that the peak is the population plus a column, not two populations."""
    order = np.lexsort((np.concatenate([p["case_id"].to_numpy() for p in parts]),
                        np.concatenate([p[EVAL_DATE].to_numpy() for p in parts])))
    names = list(parts[0].columns)
    pieces = [{name: part[name].copy() for name in names} for part in parts]  # each column owns its values
    parts.clear()
    columns = {}
    for name in names:
        columns[name] = pd.concat([piece.pop(name) for piece in pieces], ignore_index=True).take(order).reset_index(drop=True)
    return pd.DataFrame(columns)


def truth_population(world: World | WorldOnDisk, bounds: SplitBounds, dates: Sequence[pd.Timestamp], engine: str = "pandas",
                     client=None, progress=None) -> tuple[pd.DataFrame, dict[str, int]]:
    """All active cases on each date that are not under open investigation, with features, LABEL (in error on
    that date), NEW_FIND, risk_p and the monthly erroneous SEK; plus the capacity per slot. Rows by date, then
    case id, in compact dtypes. A WorldOnDisk is read a block of persons at a time for all dates at once
    (features.blocks), and only the population is held whole, not the world's signals; the values are the same."""
    from riskrank.features.blocks import feature_blocks
    from riskrank.features.pipeline import compute_features

    if world.truth is None:
        raise ValueError("the truth population needs the world's truth table")
    dates = [pd.Timestamp(d) for d in dates]
    truth = world.truth.set_index("case_id")[["error_start", "error_end", "risk_p", "monthly_error_sek"]]
    per_month = monthly_capacity(world, bounds)
    capacity = {slot_key(date, benefit): k for date in dates for benefit, k in per_month.items()}
    slots = _slot_categories(dates)
    keys = population_keys(world, dates)
    if isinstance(world, World):
        notified = {date: notified_case_ids(world.signals, date) for date in dates}
        parts = []
        for date in dates:
            on = keys["as_of"] == date
            parts.append(_labelled(compute_features(world, keys.loc[on], engine=engine, client=client), truth,
                                   notified, slots))
            if progress is not None:
                progress()
    else:
        notes = world.signals(kinds=("notification",))
        notified = {date: notified_case_ids(notes, date) for date in dates}
        del notes
        parts = [_labelled(feats, truth, notified, slots)
                 for feats in feature_blocks(world, keys, engine=engine, client=client, rows_per_part=ROWS_PER_PART)]
    return _assemble(parts), capacity


def investigation_population(test: pd.DataFrame, share: float = FALLBACK_CAPACITY_SHARE) -> tuple[pd.DataFrame, dict[str, int]]:
    """Fallback without truth: the closed test investigations, k = ceil(share x count) per benefit."""
    pop = test.copy()
    pop[SLOT] = pop["benefit"].astype(str)
    counts = pop.groupby(SLOT).size()
    return pop, {slot: max(1, math.ceil(share * n)) for slot, n in counts.items()}
