"""feature_blocks: the features of keys a block of persons at a time, from a world left on disk (score-all at scale).

Preparing the whole world's signals (riskrank.features.pipeline) makes the peak grow with the country. Here
only the cross-person context reads signals of every person, and
only of the few kinds it needs (riskrank.features.context.CONTEXT_SIGNAL_KINDS); every other signal is read
and prepared for one block of persons (a person-id range with about `rows_per_part` keys) while that block's
features are computed, then freed. Values are identical to the whole-world path: the same family functions
see the same rows of the same persons, in the same order, and the same context.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from riskrank.features.block import compute_block
from riskrank.features.context import CONTEXT_SIGNAL_KINDS, Context, build_context
from riskrank.features.events import to_days
from riskrank.features.inputs import Prepared, check_keys, prepare, split_signals
from riskrank.features.pipeline import ENGINES, with_keys
from riskrank.world import World
from riskrank.world_blocks import WorldOnDisk

Block = tuple[int, int]  # person ids first <= id < end
# features_of: persons per block (about 28 signals each, so about 4 M signals, as score-all's blocks at scale 1.0).
PERSONS_PER_PART = 150_000


def person_blocks(key_persons: np.ndarray, rows_per_part: int, all_persons: np.ndarray | None = None,
                  persons_per_part: int | None = None) -> list[Block]:
    """Person-id ranges with about `rows_per_part` keys each (all keys of a person in one), together covering
    every person id, so every signal belongs to exactly one block. With `persons_per_part`, a range also holds at
    most that many of `all_persons`: keys spread thinly over the country (training's, one per investigation) would
    otherwise make ranges whose signals are a large part of the world's."""
    persons = np.sort(np.asarray(key_persons, dtype=np.int64))
    starts = persons[rows_per_part::rows_per_part]
    if persons_per_part is not None and all_persons is not None:
        starts = np.r_[starts, np.sort(np.asarray(all_persons, dtype=np.int64))[persons_per_part::persons_per_part]]
    starts = np.unique(starts).tolist()
    edges = [int(np.iinfo(np.int64).min), *starts, int(np.iinfo(np.int64).max)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _rows_of(frame: pd.DataFrame, block: Block) -> pd.DataFrame:
    person = frame["person_id"].to_numpy()
    return frame.loc[(person >= block[0]) & (person < block[1])].reset_index(drop=True)


def _block_inputs(world: WorldOnDisk, base: Prepared, block: Block, key_persons: np.ndarray | None = None) -> Prepared:
    """The block's persons' tables, its signals read from disk now; only those of `key_persons` when they are
    few of the block's persons (as compute_features does: families read only the key person's own events, and
    indexing everyone's would cost more than the keys' features)."""
    prepared = Prepared(persons=_rows_of(base.persons, block), cases=_rows_of(base.cases, block),
                        signals=split_signals(world.signals(*block)), investigations=_rows_of(base.investigations, block))
    if key_persons is not None:
        persons = np.unique(key_persons)
        if len(persons) < len(prepared.persons) // 4:
            return prepared.for_persons(persons)
    return prepared


def feature_blocks(
    world: WorldOnDisk, keys: pd.DataFrame, engine: str = "pandas", client: Any = None, rows_per_part: int = 100_000,
    persons_per_part: int | None = None,
) -> Iterator[pd.DataFrame]:
    """compute_features of `keys` in parts (same columns and values, each key once, parts in no particular order),
    reading the world's signals one block of persons at a time (at most `persons_per_part` persons, when given)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    # The small tables whole, with only the signals the cross-person context needs.
    base = prepare(World(persons=world.persons, cases=world.cases, investigations=world.investigations,
                         signals=world.signals(kinds=CONTEXT_SIGNAL_KINDS)))
    checked = check_keys(keys, base.cases)
    ctx = build_context(base, to_days(checked["as_of"]))
    base.signals.clear()  # the context holds what it needs of them; blocks read their own
    base.cache.clear()
    person_of_case = pd.Series(base.cases["person_id"].to_numpy(), index=base.cases["case_id"].to_numpy())
    key_person = person_of_case.reindex(checked["case_id"].to_numpy()).to_numpy(np.int64)
    blocks = []
    for block in person_blocks(key_person, rows_per_part, base.persons["person_id"].to_numpy(), persons_per_part):
        positions = np.flatnonzero((key_person >= block[0]) & (key_person < block[1]))
        if len(positions):
            blocks.append((block, positions))
    if engine == "dask":
        parts = _on_dask(world, base, checked, ctx, blocks, client)
    else:
        parts = ((positions, compute_block(checked.iloc[positions].reset_index(drop=True),
                                           _block_inputs(world, base, block, key_person[positions]), ctx))
                 for block, positions in blocks)
    for positions, features in parts:
        yield with_keys(checked.iloc[positions], features)


def features_of(world: World | WorldOnDisk, keys: pd.DataFrame, engine: str = "pandas", client: Any = None) -> pd.DataFrame:
    """compute_features of distinct `keys`, in their order: a World in memory whole, a WorldOnDisk a block of persons at a
    time (a block of at most PERSONS_PER_PART persons, so the peak follows the block, not the world)."""
    from riskrank.features.pipeline import compute_features

    if isinstance(world, World):
        return compute_features(world, keys, engine=engine, client=client)
    checked = check_keys(keys, world.cases)
    parts = list(feature_blocks(world, checked, engine=engine, client=client, persons_per_part=PERSONS_PER_PART))
    if not parts:
        return compute_features(World(persons=world.persons, cases=world.cases, signals=world.signals(0, 0),
                                      investigations=world.investigations), checked, engine=engine, client=client)
    frame = pd.concat(parts, ignore_index=True)
    del parts
    # back to the keys' order (keys are distinct, so each is once in the parts)
    position = pd.MultiIndex.from_frame(frame[["case_id", "as_of"]]).get_indexer(pd.MultiIndex.from_frame(checked))
    return frame.take(position).reset_index(drop=True)


def _on_dask(world: WorldOnDisk, base: Prepared, keys: pd.DataFrame, ctx: Context,
             blocks: list[tuple[Block, np.ndarray]], client: Any) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    """One task per block; the driver reads the next blocks while workers compute, at most one per worker ahead
    (so the driver never holds more than a few blocks' signals)."""
    from riskrank.features.dask_engine import run_partition

    ctx_future = client.scatter(ctx, broadcast=True)  # once for all blocks
    window = max(1, len(client.scheduler_info().get("workers", {})))
    running: deque = deque()
    for block, positions in blocks:
        part_keys, part_tables = client.scatter([keys.iloc[positions].reset_index(drop=True),
                                                 _block_inputs(world, base, block)])
        running.append(client.submit(run_partition, part_keys, positions, part_tables, ctx_future, pure=False))
        while len(running) > window:
            yield _take(running.popleft())
    while running:
        yield _take(running.popleft())


def _take(future: Any) -> tuple[np.ndarray, pd.DataFrame]:
    result = future.result()
    future.release()
    return result
