"""The Dask engine: the same feature functions, run per person partition on a dask.distributed cluster.

Keys and every per-person table are split by a hash of person_id (riskrank.features.partition), so each
partition holds all events of its persons; the cross-person context (peer amounts, network occupancy) is
computed once, scattered to the workers and shared. Results come back in key order, identical to the pandas
engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from riskrank.extras import needs_extra
from riskrank.features.block import compute_block
from riskrank.features.context import Context
from riskrank.features.inputs import Prepared
from riskrank.features.partition import ROWS_PER_PARTITION, key_partitions, partition_count, split_by_person


def distributed() -> ModuleType:
    """dask.distributed, or MissingExtra naming `riskrank[dask]` when the Dask extra is not installed."""
    with needs_extra("dask", "the Dask engine (--engine dask)"):
        import dask.distributed
    return dask.distributed


@contextlib.contextmanager
def cluster_client(scheduler: str | None = None, n_workers: int = 2) -> Iterator[Any]:
    """A client of the scheduler at `scheduler`, or of a LocalCluster with `n_workers` started (and closed) here."""
    dd = distributed()
    if scheduler:
        with dd.Client(scheduler, timeout="10s") as client:
            yield client
        return
    with (
        dd.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        dd.Client(cluster) as client,
    ):
        yield client


def run_partition(
    keys: pd.DataFrame, positions: np.ndarray, prepared: Prepared, ctx: Context
) -> tuple[np.ndarray, pd.DataFrame]:
    return positions, compute_block(keys, prepared, ctx)


def iter_on_dask(
    keys: pd.DataFrame, prepared: Prepared, ctx: Context, client: Any, n_partitions: int | None = None,
    rows_per_partition: int = ROWS_PER_PARTITION, consume: bool = False,
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    """(positions in `keys`, feature block) per partition, as the workers finish them (`consume`: see split_by_person)."""
    if n_partitions is None:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        n_partitions = partition_count(len(keys), workers, rows_per_partition)
    key_part = key_partitions(keys, prepared, n_partitions)
    ctx_future = client.scatter(ctx, broadcast=True)
    tables: list[Prepared | None] = list(split_by_person(prepared, n_partitions, consume))
    futures = []
    for part in range(n_partitions):
        positions = np.flatnonzero(key_part == part)
        if len(positions) == 0:
            continue
        # Scatter the partition's data rather than embedding it in the task graph.
        part_keys, part_tables = client.scatter([keys.iloc[positions].reset_index(drop=True), tables[part]])
        tables[part] = None  # the workers hold it now; free the driver's copy
        futures.append(client.submit(run_partition, part_keys, positions, part_tables, ctx_future, pure=False))
    for future in distributed().as_completed(futures):
        yield future.result()
        future.release()


def compute_on_dask(keys: pd.DataFrame, prepared: Prepared, ctx: Context, client: Any = None,
                    n_partitions: int | None = None) -> pd.DataFrame:
    """Feature block for validated keys, computed on `client` (a LocalCluster is started when None)."""
    if client is None:
        with cluster_client() as own_client:
            return compute_on_dask(keys, prepared, ctx, client=own_client, n_partitions=n_partitions)
    results = list(iter_on_dask(keys, prepared, ctx, client, n_partitions))
    if not results:
        return compute_block(keys, prepared, ctx)  # no keys: the empty frame with the right dtypes
    order = np.concatenate([positions for positions, _ in results])
    block = pd.concat([frame for _, frame in results], ignore_index=True)
    block.index = order
    return block.sort_index().reset_index(drop=True)
