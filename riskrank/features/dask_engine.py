"""The Dask engine: the same feature functions, run per person partition on a dask.distributed cluster.

Keys and every per-person table are split by a hash of person_id, so each partition holds all events of
its persons; the cross-person context (peer amounts, network occupancy) is computed once, scattered to
the workers and shared. Results come back in key order, identical to the pandas engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from riskrank.features.context import Context
from riskrank.features.inputs import Prepared
from riskrank.features.pipeline import compute_block

ROWS_PER_PARTITION = 100_000
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing spreads consecutive ids evenly


def partition_of(person_id: np.ndarray, n_partitions: int) -> np.ndarray:
    mixed = (np.asarray(person_id).astype(np.uint64) * _HASH_MULTIPLIER) >> np.uint64(32)
    return (mixed % np.uint64(n_partitions)).astype(np.int64)


def _split(frame: pd.DataFrame, n_partitions: int) -> list[pd.DataFrame]:
    part = partition_of(frame["person_id"].to_numpy(), n_partitions)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(n_partitions + 1))
    return [frame.iloc[order[bounds[i]:bounds[i + 1]]].reset_index(drop=True) for i in range(n_partitions)]


def split_by_person(prepared: Prepared, n_partitions: int) -> list[Prepared]:
    """Every per-person table cut into partitions by person hash, each table scanned once."""
    persons, cases, investigations = (
        _split(table, n_partitions) for table in (prepared.persons, prepared.cases, prepared.investigations)
    )
    signals = {kind: _split(frame, n_partitions) for kind, frame in prepared.signals.items()}
    return [
        Prepared(
            persons=persons[i], cases=cases[i], signals={kind: parts[i] for kind, parts in signals.items()},
            investigations=investigations[i],
        )
        for i in range(n_partitions)
    ]


@contextlib.contextmanager
def cluster_client(scheduler: str | None = None, n_workers: int = 2) -> Iterator[Any]:
    """A client of the scheduler at `scheduler`, or of a LocalCluster with `n_workers` started (and closed) here."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="10s") as client:
            yield client
        return
    with (
        LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        yield client


def _run_partition(
    keys: pd.DataFrame, positions: np.ndarray, prepared: Prepared, ctx: Context
) -> tuple[np.ndarray, pd.DataFrame]:
    return positions, compute_block(keys, prepared, ctx)


def compute_on_dask(keys: pd.DataFrame, prepared: Prepared, ctx: Context, client: Any = None,
                    n_partitions: int | None = None) -> pd.DataFrame:
    """Feature block for validated keys, computed on `client` (a LocalCluster is started when None)."""
    if client is None:
        with cluster_client() as own_client:
            return compute_on_dask(keys, prepared, ctx, client=own_client, n_partitions=n_partitions)
    if n_partitions is None:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        n_partitions = max(workers, -(-len(keys) // ROWS_PER_PARTITION))
    person_of_case = pd.Series(prepared.cases["person_id"].to_numpy(), index=prepared.cases["case_id"].to_numpy())
    key_person = person_of_case.reindex(keys["case_id"].to_numpy()).to_numpy(np.int64)
    key_part = partition_of(key_person, n_partitions)
    ctx_future = client.scatter(ctx, broadcast=True)
    tables: list[Prepared | None] = list(split_by_person(prepared, n_partitions))
    futures = []
    for part in range(n_partitions):
        positions = np.flatnonzero(key_part == part)
        if len(positions) == 0:
            continue
        # Scatter the partition's data rather than embedding it in the task graph.
        part_keys, part_tables = client.scatter([keys.iloc[positions].reset_index(drop=True), tables[part]])
        tables[part] = None  # the workers hold it now; free the driver's copy
        futures.append(client.submit(_run_partition, part_keys, positions, part_tables, ctx_future, pure=False))
    if not futures:
        return compute_block(keys, prepared, ctx)  # no keys: the empty frame with the right dtypes
    results = client.gather(futures)
    order = np.concatenate([positions for positions, _ in results])
    block = pd.concat([frame for _, frame in results], ignore_index=True)
    block.index = order
    return block.sort_index().reset_index(drop=True)
