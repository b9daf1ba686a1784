"""An operational period: the world continues past training, and the champion's worklists drive part of the
investigations. Imports training and serving (it sits beside demo.py, not in riskrank/simulation)."""

from __future__ import annotations

import numpy as np
import pandas as pd

try:  # issue 9 adds the "in error on a date" label to the world contract
    from riskrank.world import in_error_on
except ImportError:
    def in_error_on(truth: pd.DataFrame, case_ids: np.ndarray, dates: np.ndarray) -> np.ndarray:
        """Whether each case was in error on its date: error_start <= date < error_end (or error_end null)."""
        t = truth.drop_duplicates("case_id").set_index("case_id").reindex(np.asarray(case_ids))
        dates = pd.to_datetime(pd.Series(np.asarray(dates)))
        start = pd.to_datetime(t["error_start"]).reset_index(drop=True)
        end = (pd.to_datetime(t["error_end"]).reset_index(drop=True) if "error_end" in t.columns
               else pd.Series(pd.NaT, index=start.index))
        started = start.notna() & (start <= dates)
        return (started & (end.isna() | (dates < end))).to_numpy(dtype=bool)
