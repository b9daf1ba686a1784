"""Strict JSON: what we print or store as JSON never holds NaN or Infinity (strict parsers reject them).

A value that could not be computed is `null`, as in the HTTP responses.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd


def clean(value: Any) -> Any:
    """The value with non-finite floats as None, numpy and pandas scalars as Python ones, dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps of `clean(value)`, refusing anything that would still not be strict JSON."""
    return json.dumps(clean(value), allow_nan=False, ensure_ascii=False, **kwargs)
