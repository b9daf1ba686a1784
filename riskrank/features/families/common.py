"""Small helpers shared by the feature families."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.events import EventIndex, sort_order
from riskrank.features.inputs import Prepared, signals_of

YEAR_DAYS = 365
QUARTER_DAYS = 90  # three month-end declarations fall in any 90-day window ending on a month end
MONTH_DAYS = 30.4375


def index_by_person(prepared: Prepared, kind: str, positive_only: bool = False) -> EventIndex:
    def build() -> EventIndex:
        s = signals_of(prepared, kind)
        if positive_only:
            s = s.loc[s["value"] > 0]
        return EventIndex(s["person_id"].to_numpy(), s["day"].to_numpy(), s["value"].to_numpy())

    return prepared.memo(("person", kind, positive_only), build)


def index_by_case(prepared: Prepared, kind: str) -> EventIndex:
    def build() -> EventIndex:
        s = signals_of(prepared, kind)
        s = s.loc[s["case_id"] >= 0]
        return EventIndex(s["case_id"].to_numpy(), s["day"].to_numpy(), s["value"].to_numpy())

    return prepared.memo(("case", kind), build)


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


def month_of(day: np.ndarray) -> np.ndarray:
    return np.asarray(day, dtype="datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_groups(entity: np.ndarray, day: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ordered by entity, day and value, and where each run of one entity's month starts."""
    codes = pd.factorize(entity)[0].astype(np.int64)
    order = sort_order((codes << 20) + day, value)
    sorted_group = (codes[order] << 20) + month_of(day[order])
    change = np.r_[True, sorted_group[1:] != sorted_group[:-1]] if len(order) else np.array([], bool)
    return order, np.flatnonzero(change)


def monthly_income(prepared: Prepared) -> pd.DataFrame:
    """Declared income per person and month; known from the latest declaration day of that month."""
    return prepared.memo("monthly_income", lambda: _monthly_income(prepared))


def _monthly_income(prepared: Prepared) -> pd.DataFrame:
    s = signals_of(prepared, "income_declaration")
    s = s.loc[s["value"] > 0]
    person, day, income = s["person_id"].to_numpy(), s["day"].to_numpy(), s["value"].to_numpy()
    month = month_of(day)
    order, starts = _month_groups(person, day, income)  # a fixed order within the month keeps sums identical
    first = order[starts]
    return pd.DataFrame({
        "person_id": person[first], "month": month[first],
        "income": np.add.reduceat(income[order], starts) if len(starts) else np.array([], np.float64),
        "income_day": np.maximum.reduceat(day[order], starts) if len(starts) else np.array([], np.int64),
    })
