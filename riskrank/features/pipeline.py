"""compute_features / features_as_of: the feature frame for (case, as-of) keys, on pandas or Dask.

Both engines run the same family functions (riskrank.features.block); the Dask engine splits keys and the
world's per-person tables by person and runs each part on a worker, with the cross-person aggregates
computed once. riskrank.features.blocks computes the frame a block of persons at a time from a world left on
disk, so that its peak memory is bounded by the block, not the world.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from riskrank.features.block import compute_block
from riskrank.features.context import Context, build_context
from riskrank.features.events import to_days
from riskrank.features.inputs import Prepared, check_keys, prepare
from riskrank.world import World, active_cases
from riskrank.world_blocks import WorldOnDisk


class Engine(StrEnum):
    """The feature engines (the CLI's --engine choices)."""

    pandas = "pandas"
    dask = "dask"  # a dask.distributed cluster


ENGINES: tuple[str, ...] = tuple(Engine)


def with_keys(keys: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([keys[["case_id", "as_of"]].reset_index(drop=True), features.reset_index(drop=True)], axis=1)


def _inputs(world: World, keys: pd.DataFrame, engine: str) -> tuple[pd.DataFrame, Prepared, Context]:
    """Validated keys, the tables their persons need, and the cross-person context."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    prepared = prepare(world)
    checked = check_keys(keys, prepared.cases)
    ctx = build_context(prepared, to_days(checked["as_of"]))
    key_persons = np.unique(prepared.cases.set_index("case_id")["person_id"].reindex(checked["case_id"]).to_numpy())
    # Few keys (training: one per investigation) need only their own persons' events indexed.
    own = prepared.for_persons(key_persons) if len(key_persons) < len(prepared.persons) // 4 else prepared
    return checked, own, ctx


def compute_features(world: World, keys: pd.DataFrame, engine: str = "pandas", client: Any = None) -> pd.DataFrame:
    """One row per key: case_id, as_of, then every registry feature (benefit first) with registered dtypes."""
    checked, own, ctx = _inputs(world, keys, engine)
    if engine == "pandas":
        features = compute_block(checked, own, ctx)
    else:
        from riskrank.features.dask_engine import compute_on_dask

        features = compute_on_dask(checked, own, ctx, client=client)
    return with_keys(checked, features)


def active_keys(world: World | WorldOnDisk, as_of: pd.Timestamp | str) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of).normalize()
    active = active_cases(world.cases, as_of).sort_values("case_id")
    as_of_column = np.full(len(active), as_of.to_datetime64(), dtype="datetime64[us]")
    return pd.DataFrame({"case_id": active["case_id"].to_numpy(np.int64), "as_of": as_of_column})


def features_as_of(world: World, as_of: pd.Timestamp | str, engine: str = "pandas", client: Any = None) -> pd.DataFrame:
    """Features of every case active on `as_of` (started on or before it, not ended by it), ordered by case_id."""
    return compute_features(world, active_keys(world, as_of), engine=engine, client=client)
