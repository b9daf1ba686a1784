"""compute_features / features_as_of: the feature frame for (case, as-of) keys, on pandas or Dask.

Both engines run the same family functions; the Dask engine splits keys and the world's per-person
tables by person and runs each part on a worker, with the cross-person aggregates computed once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskrank.features.context import Context, build_context
from riskrank.features.events import to_days
from riskrank.features.families import FAMILIES
from riskrank.features.inputs import Prepared, check_keys, key_frame, prepare
from riskrank.features.registry import CATEGORIES, FEATURE_NAMES, FEATURES
from riskrank.world import World, active_cases

ENGINES = ("pandas", "dask")
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


def _with_keys(keys: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    result = pd.concat([keys[["case_id", "as_of"]].reset_index(drop=True), features.reset_index(drop=True)], axis=1)
    return result


def compute_features(world: World, keys: pd.DataFrame, engine: str = "pandas", client: Any = None) -> pd.DataFrame:
    """One row per key: case_id, as_of, then every registry feature (benefit first) with registered dtypes."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    prepared = prepare(world)
    checked = check_keys(keys, prepared.cases)
    ctx = build_context(prepared, to_days(checked["as_of"]))
    key_persons = np.unique(prepared.cases.set_index("case_id")["person_id"].reindex(checked["case_id"]).to_numpy())
    # Few keys (training: one per investigation) need only their own persons' events indexed.
    own = prepared.for_persons(key_persons) if len(key_persons) < len(prepared.persons) // 4 else prepared
    if engine == "pandas":
        features = compute_block(checked, own, ctx)
    else:
        from riskrank.features.dask_engine import compute_on_dask

        features = compute_on_dask(checked, own, ctx, client=client)
    return _with_keys(checked, features)


def active_keys(world: World, as_of: pd.Timestamp | str) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of).normalize()
    active = active_cases(world.cases, as_of).sort_values("case_id")
    as_of_column = np.full(len(active), as_of.to_datetime64(), dtype="datetime64[us]")
    return pd.DataFrame({"case_id": active["case_id"].to_numpy(np.int64), "as_of": as_of_column})


def features_as_of(world: World, as_of: pd.Timestamp | str, engine: str = "pandas", client: Any = None) -> pd.DataFrame:
    """Features of every case active on `as_of` (started on or before it, not ended by it), ordered by case_id."""
    return compute_features(world, active_keys(world, as_of), engine=engine, client=client)
