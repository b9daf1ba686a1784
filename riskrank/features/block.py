"""compute_block: the registry's features for keys whose persons' tables are all at hand (one engine-free step).

Both engines call it: pandas on the whole world or on one chunk of persons, Dask on one partition per task.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.context import Context
from riskrank.features.families import FAMILIES
from riskrank.features.inputs import Prepared, key_frame
from riskrank.features.registry import CATEGORIES, FEATURE_NAMES, FEATURES

_NUMPY_DTYPES = {"float": np.float64, "int": np.int64, "bool": np.bool_}


def compute_block(keys: pd.DataFrame, prepared: Prepared, ctx: Context) -> pd.DataFrame:
    """Features for validated keys (case_id, as_of) whose persons' tables are all in `prepared`.

    Returns the registry's features in order, one row per key, index 0..n-1 in key order."""
    frame = key_frame(keys, prepared)
    # Rows in (person, day) order: every index lookup then walks its sorted arrays forwards (cache friendly).
    by_person = np.lexsort((frame["day"].to_numpy(), frame["person_id"].to_numpy()))
    frame = frame.iloc[by_person].reset_index(drop=True)
    back = np.empty_like(by_person)
    back[by_person] = np.arange(len(by_person))
    columns: dict[str, np.ndarray] = {}
    for family in FAMILIES:
        produced = family(frame, prepared, ctx)
        overlap = set(produced) & set(columns)
        if overlap:
            raise RuntimeError(f"features produced twice: {sorted(overlap)}")
        columns.update(produced)
    if set(columns) != set(FEATURE_NAMES):
        missing, extra = set(FEATURE_NAMES) - set(columns), set(columns) - set(FEATURE_NAMES)
        raise RuntimeError(f"families do not match the registry: missing {sorted(missing)}, unregistered {sorted(extra)}")
    out = {}
    for feature in FEATURES:
        values = np.asarray(columns[feature.name])[back]
        if feature.dtype == "category":
            out[feature.name] = pd.Categorical(values, categories=list(CATEGORIES[feature.name]))
        else:
            out[feature.name] = np.asarray(values).astype(_NUMPY_DTYPES[feature.dtype])
    return pd.DataFrame(out)
