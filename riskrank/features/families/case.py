"""The case itself: benefit, payment size against peers, time on the benefit, other benefits; and the
sensitive attributes kept for fairness measurement only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.context import Context, month_start
from riskrank.features.events import NO_DAY, EventIndex
from riskrank.features.families.common import person_days, ratio
from riskrank.features.inputs import Prepared
from riskrank.features.registry import AGE_BANDS

_AGE_EDGES = np.array([30, 45, 65])  # lower bounds of the bands after the first


def age_band(birth_year: np.ndarray, day: np.ndarray) -> np.ndarray:
    year = np.asarray(day, dtype="datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    age = year - np.asarray(birth_year, dtype=np.int64)
    return np.asarray(AGE_BANDS, dtype=object)[np.searchsorted(_AGE_EDGES, age, side="right")]


def _peer_stats(keys: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    wanted = pd.DataFrame({"benefit": keys["benefit"].astype("str"), "month_day": month_start(keys["day"].to_numpy())})
    return wanted.merge(ctx.peers, on=["benefit", "month_day"], how="left", validate="many_to_one")


def case_features(keys: pd.DataFrame, prepared: Prepared, ctx: Context) -> dict[str, np.ndarray]:
    person, day = person_days(keys)
    amount = keys["monthly_amount_sek"].to_numpy(np.float64)
    peers = _peer_stats(keys, ctx)
    std = peers["std"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        zscore = np.where(std > 0, (amount - peers["mean"].to_numpy(np.float64)) / np.where(std > 0, std, 1.0), np.nan)

    cases = prepared.cases
    starts = EventIndex(cases["person_id"].to_numpy(), cases["start_day"].to_numpy())
    ended = cases["end_day"].to_numpy() != NO_DAY
    ends = EventIndex(cases["person_id"].to_numpy()[ended], cases["end_day"].to_numpy()[ended])
    own_start, own_end = keys["start_day"].to_numpy(), keys["end_day"].to_numpy()
    own_active = (own_start <= day) & (own_end > day)
    own_ended = own_end <= day
    ended_count = ends.count(person, day)
    active_count = starts.count(person, day) - ended_count
    return {
        "benefit": keys["benefit"].to_numpy(),
        "sex": keys["sex"].to_numpy(),
        "age_band": age_band(keys["birth_year"].to_numpy(), day),
        "born_abroad": keys["born_abroad"].to_numpy(bool),
        "monthly_amount_sek": amount,
        "amount_to_benefit_median": ratio(amount, peers["median"].to_numpy(np.float64)),
        "amount_zscore_in_benefit": zscore,
        "days_on_benefit": day - own_start,
        "other_active_benefits": active_count - own_active.astype(np.int64),
        "earlier_cases": ended_count - own_ended.astype(np.int64),
    }
