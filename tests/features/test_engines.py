"""The Dask engine runs the same feature functions on a real dask.distributed LocalCluster and gives the
same frame as pandas."""

import numpy as np
import pandas as pd
import pytest

from riskrank.features.block import compute_block
from riskrank.features.context import build_context
from riskrank.features.dask_engine import cluster_client, compute_on_dask
from riskrank.features.events import to_days
from riskrank.features.inputs import check_keys, prepare
from riskrank.features.partition import partition_of
from riskrank.features.pipeline import compute_features, features_as_of
from tests.features.random_world import random_world


@pytest.fixture(scope="module")
def client():
    with cluster_client(n_workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def world():
    return random_world(n_persons=500, seed=11)


def test_dask_equals_pandas_for_one_date(world, client):
    pandas_frame = features_as_of(world, "2023-09-30")
    dask_frame = features_as_of(world, "2023-09-30", engine="dask", client=client)
    assert len(pandas_frame) > 200
    pd.testing.assert_frame_equal(pandas_frame, dask_frame, check_exact=False, rtol=1e-9)


def test_dask_equals_pandas_for_many_dates_across_many_partitions(world, client):
    rng = np.random.default_rng(5)
    cases = world.cases.sample(400, random_state=2)
    offsets = rng.integers(0, 600, len(cases))
    keys = pd.DataFrame({"case_id": cases["case_id"].to_numpy(),
                         "as_of": cases["start_date"].to_numpy() + pd.to_timedelta(offsets, unit="D").to_numpy()})
    expected = compute_features(world, keys)
    prepared = prepare(world)
    checked = check_keys(keys, prepared.cases)
    ctx = build_context(prepared, to_days(checked["as_of"]))
    got = compute_on_dask(checked, prepared, ctx, client=client, n_partitions=7)
    pd.testing.assert_frame_equal(expected.drop(columns=["case_id", "as_of"]), got, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(compute_block(checked, prepared, ctx), got, check_exact=False, rtol=1e-9)


def test_partitions_spread_persons_and_keep_each_person_in_one_place():
    ids = np.arange(1, 10_001) * 7
    parts = partition_of(ids, 4)
    counts = np.bincount(parts, minlength=4)
    assert counts.min() > 2000
    np.testing.assert_array_equal(parts, partition_of(ids, 4))


def test_dask_engine_starts_and_closes_its_own_cluster_when_given_none(world):
    keys = features_as_of(world, "2022-03-31")[["case_id", "as_of"]].head(20)
    frame = compute_features(world, keys, engine="dask")
    pd.testing.assert_frame_equal(frame, compute_features(world, keys), check_exact=False, rtol=1e-9)


def test_unknown_engine_is_refused(world):
    with pytest.raises(ValueError, match="engine"):
        features_as_of(world, "2023-01-01", engine="spark")


def test_few_keys_computed_on_their_own_persons_match_the_whole_world(world):
    keys = features_as_of(world, "2023-09-30")[["case_id", "as_of"]].head(15)
    prepared = prepare(world)
    checked = check_keys(keys, prepared.cases)
    ctx = build_context(prepared, to_days(checked["as_of"]))
    whole = compute_block(checked, prepared, ctx)
    persons = prepared.cases.set_index("case_id").loc[checked["case_id"], "person_id"].to_numpy()
    own = prepared.for_persons(persons)
    assert len(own.persons) < len(prepared.persons) // 4
    pd.testing.assert_frame_equal(compute_block(checked, own, ctx), whole, check_exact=True)
    pd.testing.assert_frame_equal(compute_features(world, keys).drop(columns=["case_id", "as_of"]), whole, check_exact=True)


def test_dask_engine_and_pipeline_import_without_a_circle():
    """Each module imports on its own in a fresh interpreter, and the engine does not need the pipeline."""
    import subprocess
    import sys

    code = ("import sys, riskrank.features.dask_engine; "
            "assert 'riskrank.features.pipeline' not in sys.modules, 'dask_engine imports pipeline'")
    subprocess.run([sys.executable, "-c", code], check=True)
