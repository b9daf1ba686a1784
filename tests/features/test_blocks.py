"""feature_blocks (a world on disk, signals read a block of persons at a time) gives the whole-world frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskrank.features.blocks import feature_blocks, person_blocks
from riskrank.features.dask_engine import cluster_client
from riskrank.features.pipeline import active_keys, compute_features, features_as_of
from riskrank.world import write_world
from riskrank.world_blocks import open_world
from tests.features.random_world import random_world

AS_OF = "2024-06-30"


@pytest.fixture(scope="module")
def client():
    with cluster_client(n_workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def simulated_dir(tiny_world, tmp_path_factory):
    """The simulated tiny world (signals sorted by person) in row groups of 5,000 rows, so blocks cut groups."""
    folder = tmp_path_factory.mktemp("blocks_simulated")
    write_world(tiny_world, folder, rows_per_group=5_000)
    return folder


@pytest.fixture(scope="module")
def random_dir(tmp_path_factory):
    """A random world with every signal kind, its signals in no person order (every range reads every group)."""
    world = random_world(n_persons=500, seed=11)
    folder = tmp_path_factory.mktemp("blocks_random")
    write_world(world, folder, rows_per_group=1_000)
    return world, folder


def joined(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True).sort_values("case_id").reset_index(drop=True)


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_blocks_of_a_simulated_world_give_the_whole_worlds_features(tiny_world, simulated_dir, client, engine):
    whole = features_as_of(tiny_world, AS_OF)
    world = open_world(simulated_dir)
    parts = list(feature_blocks(world, active_keys(world, AS_OF), engine=engine,
                                client=client if engine == "dask" else None, rows_per_part=2_000))
    assert len(parts) >= 3
    assert all(list(p.columns) == list(whole.columns) for p in parts)
    pd.testing.assert_frame_equal(joined(parts), whole, check_exact=True)


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_blocks_of_a_random_world_in_any_order_give_the_whole_worlds_features(random_dir, client, engine):
    world, folder = random_dir
    whole = features_as_of(world, "2023-09-30")
    keys = whole[["case_id", "as_of"]]
    parts = list(feature_blocks(open_world(folder), keys, engine=engine, client=client if engine == "dask" else None,
                                rows_per_part=100))
    assert len(parts) >= 3
    pd.testing.assert_frame_equal(joined(parts), whole, check_exact=True)


def test_keys_of_many_dates_for_some_cases(random_dir):
    world, folder = random_dir
    rng = np.random.default_rng(3)
    cases = world.cases.sample(300, random_state=4)  # distinct cases, each with its own date
    offsets = pd.to_timedelta(rng.integers(0, 600, len(cases)), unit="D").to_numpy()
    keys = pd.DataFrame({"case_id": cases["case_id"].to_numpy(), "as_of": cases["start_date"].to_numpy() + offsets})
    want = compute_features(world, keys)
    got = list(feature_blocks(open_world(folder), keys, rows_per_part=50))
    assert len(got) >= 3
    pd.testing.assert_frame_equal(joined(got), want.sort_values("case_id").reset_index(drop=True), check_exact=True)


def test_person_blocks_cover_every_id_and_keep_a_persons_keys_together():
    persons = np.repeat(np.arange(1, 1001) * 3, 2)  # two keys per person
    blocks = person_blocks(persons, 150)
    assert blocks[0][0] == np.iinfo(np.int64).min and blocks[-1][1] == np.iinfo(np.int64).max
    assert all(a[1] == b[0] for a, b in zip(blocks[:-1], blocks[1:], strict=True))
    sizes = [((persons >= lo) & (persons < hi)).sum() for lo, hi in blocks]
    assert sum(sizes) == len(persons) and max(sizes) <= 151 and len(blocks) == 14
    assert person_blocks(np.array([], np.int64), 10) == [(np.iinfo(np.int64).min, np.iinfo(np.int64).max)]


def test_unknown_engine_is_refused(random_dir):
    _, folder = random_dir
    world = open_world(folder)
    with pytest.raises(ValueError, match="unknown engine"):
        next(feature_blocks(world, active_keys(world, AS_OF), engine="spark"))
