"""Dates as int64 day numbers (days since 1970-01-01): fast to draw and compare with numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd

SIGNALS_FROM = "2021-01-01"  # signals start a year early so that 2022 features have history
# The burn-in: cases, errors, notifications and investigations from here, four years before the calibrated
# 2022-2024, so that features counting history (earlier cases, days since the last notification or
# investigation) do not grow with the world's age over the calibrated years. Other signals (income, days,
# traces) start at SIGNALS_FROM: their features look back a year, and they are most of the world's rows.
HISTORY_FROM = "2018-01-01"


def day(date: str) -> int:
    return int(np.datetime64(date, "D").astype(np.int64))


def to_datetime(days: np.ndarray) -> pd.Series | np.ndarray:
    """Day numbers to datetime64[ns]; negative sentinel (-1 or below) or NaN becomes NaT."""
    days = np.asarray(days)
    out = days.astype("int64").astype("datetime64[D]").astype("datetime64[ns]")
    if days.dtype.kind == "f":
        out[np.isnan(days)] = np.datetime64("NaT")
    return out


def year_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def month_index(days: np.ndarray, origin: str = SIGNALS_FROM) -> np.ndarray:
    """Month number counted from `origin`'s month (0 = that month)."""
    months = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months - np.datetime64(origin, "M").astype(np.int64)


def month_end_day(index: np.ndarray, origin: str = SIGNALS_FROM) -> np.ndarray:
    """Last day of month number `index` counted from `origin`'s month."""
    first_next = (np.asarray(index) + 1 + np.datetime64(origin, "M").astype(np.int64)).astype("datetime64[M]")
    return first_next.astype("datetime64[D]").astype(np.int64) - 1
