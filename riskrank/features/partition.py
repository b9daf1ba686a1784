"""Cutting keys and the world's per-person tables into parts by a hash of person_id.

Each part holds all events of its persons, so features of its keys need no other part. The Dask engine runs
one part per task.
score-all on a world on disk cuts persons into id ranges instead (riskrank.features.blocks), to read signals per range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.inputs import Prepared

ROWS_PER_PARTITION = 100_000
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing spreads consecutive ids evenly


def partition_of(person_id: np.ndarray, n_partitions: int) -> np.ndarray:
    mixed = (np.asarray(person_id).astype(np.uint64) * _HASH_MULTIPLIER) >> np.uint64(32)
    return (mixed % np.uint64(n_partitions)).astype(np.int64)


def partition_count(n_keys: int, minimum: int = 1, rows_per_partition: int = ROWS_PER_PARTITION) -> int:
    return max(minimum, -(-n_keys // rows_per_partition))


def key_partitions(keys: pd.DataFrame, prepared: Prepared, n_partitions: int) -> np.ndarray:
    """The partition of each key's person."""
    person_of_case = pd.Series(prepared.cases["person_id"].to_numpy(), index=prepared.cases["case_id"].to_numpy())
    key_person = person_of_case.reindex(keys["case_id"].to_numpy()).to_numpy(np.int64)
    return partition_of(key_person, n_partitions)


def _split(frame: pd.DataFrame, n_partitions: int) -> list[pd.DataFrame]:
    part = partition_of(frame["person_id"].to_numpy(), n_partitions)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(n_partitions + 1))
    return [frame.iloc[order[bounds[i]:bounds[i + 1]]].reset_index(drop=True) for i in range(n_partitions)]


def split_by_person(prepared: Prepared, n_partitions: int, consume: bool = False) -> list[Prepared]:
    """Every per-person table cut into partitions by person hash, each table scanned once.

    With `consume`, each kind of signals (the bulk of the data) is dropped from `prepared` once it is split, so the
    whole and the parts are never both held; `prepared` must not be used afterwards."""
    persons, cases, investigations = (
        _split(table, n_partitions) for table in (prepared.persons, prepared.cases, prepared.investigations)
    )
    signals = {}
    for kind in list(prepared.signals):
        signals[kind] = _split(prepared.signals.pop(kind) if consume else prepared.signals[kind], n_partitions)
    return [
        Prepared(
            persons=persons[i], cases=cases[i], signals={kind: parts[i] for kind, parts in signals.items()},
            investigations=investigations[i],
        )
        for i in range(n_partitions)
    ]
