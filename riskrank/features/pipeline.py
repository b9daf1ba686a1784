"""compute_features / features_as_of / feature_parts: the feature frame for (case, as-of) keys, on pandas or Dask.

Both engines run the same family functions (riskrank.features.block); the Dask engine splits keys and the
world's per-person tables by person and runs each part on a worker, with the cross-person aggregates
computed once. feature_parts yields the frame a part at a time, from a world prepared whole (bounded by the
world); riskrank.features.blocks does the same from a world left on disk (bounded by the part).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from riskrank.features.block import compute_block
from riskrank.features.context import Context, build_context
from riskrank.features.events import to_days
from riskrank.features.inputs import Prepared, check_keys, prepare
from riskrank.features.partition import key_partitions, partition_count, split_by_person
from riskrank.world import World, active_cases
from riskrank.world_blocks import WorldOnDisk

ENGINES = ("pandas", "dask")


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


def feature_parts(
    world: World, keys: pd.DataFrame, engine: str = "pandas", client: Any = None, rows_per_part: int = 100_000
) -> Iterator[pd.DataFrame]:
    """compute_features a part at a time: frames of about `rows_per_part` keys (all keys of a person in one part),
    with the same columns and values; parts come in no particular order and together hold every key once."""
    checked, own, ctx = _inputs(world, keys, engine)
    del world  # not needed any more: if the caller let go of it too, its tables are freed before the parts are cut
    if engine == "dask":
        from riskrank.features.dask_engine import iter_on_dask

        parts = iter_on_dask(checked, own, ctx, client=client, rows_per_partition=rows_per_part, consume=True)
    else:
        parts = _pandas_parts(checked, own, ctx, partition_count(len(checked), rows_per_partition=rows_per_part))
    del own  # the parts take over its tables (consumed as they are split); each part's go once it is computed
    for positions, features in parts:
        yield with_keys(checked.iloc[positions], features)


def _pandas_parts(
    keys: pd.DataFrame, prepared: Prepared, ctx: Context, n_partitions: int
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    key_part = key_partitions(keys, prepared, n_partitions)
    tables: list[Prepared | None] = list(split_by_person(prepared, n_partitions, consume=True))
    del prepared
    for part in range(n_partitions):
        data, tables[part] = tables[part], None
        positions = np.flatnonzero(key_part == part)
        if len(positions) and data is not None:
            yield positions, compute_block(keys.iloc[positions].reset_index(drop=True), data, ctx)


def active_keys(world: World | WorldOnDisk, as_of: pd.Timestamp | str) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of).normalize()
    active = active_cases(world.cases, as_of).sort_values("case_id")
    as_of_column = np.full(len(active), as_of.to_datetime64(), dtype="datetime64[us]")
    return pd.DataFrame({"case_id": active["case_id"].to_numpy(np.int64), "as_of": as_of_column})


def features_as_of(world: World, as_of: pd.Timestamp | str, engine: str = "pandas", client: Any = None) -> pd.DataFrame:
    """Features of every case active on `as_of` (started on or before it, not ended by it), ordered by case_id."""
    return compute_features(world, active_keys(world, as_of), engine=engine, client=client)
