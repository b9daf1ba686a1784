"""Small helpers shared by the feature families."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.events import EventIndex
from riskrank.features.inputs import Prepared, signals_of

YEAR_DAYS = 365
QUARTER_DAYS = 90  # three month-end declarations fall in any 90-day window ending on a month end
MONTH_DAYS = 30.4375


def index_by_person(prepared: Prepared, kind: str, positive_only: bool = False) -> EventIndex:
    s = signals_of(prepared, kind)
    if positive_only:
        s = s.loc[s["value"] > 0]
    return EventIndex(s["person_id"].to_numpy(), s["day"].to_numpy(), s["value"].to_numpy())


def index_by_case(prepared: Prepared, kind: str) -> EventIndex:
    s = signals_of(prepared, kind)
    s = s.loc[s["case_id"] >= 0]
    return EventIndex(s["case_id"].to_numpy(), s["day"].to_numpy(), s["value"].to_numpy())


def days_since(day: np.ndarray, last: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(last), np.nan, day - last)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def ids_or_missing(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float-stored ids as int64 (with -1 where unknown) and the mask of known ones."""
    known = ~np.isnan(values)
    return np.where(known, values, -1).astype(np.int64), known


def person_days(keys: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return keys["person_id"].to_numpy(np.int64), keys["day"].to_numpy(np.int64)
