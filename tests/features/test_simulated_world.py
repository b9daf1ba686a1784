"""The pipeline on the simulation's tiny world: point-in-time, engines, and the training-style keys
(every investigation as of the day it opened)."""

import numpy as np
import pandas as pd
import pytest

from riskrank.features.dask_engine import cluster_client
from riskrank.features.pipeline import active_keys, compute_features, features_as_of
from tests.features.test_point_in_time import truncate

AS_OF = pd.Timestamp("2023-10-31")


@pytest.fixture(scope="module")
def training_keys(tiny_world):
    inv = tiny_world.investigations
    return pd.DataFrame({"case_id": inv["case_id"].to_numpy(), "as_of": inv["opened_date"].to_numpy()})


def test_features_of_every_active_case_are_sane(tiny_world):
    frame = features_as_of(tiny_world, AS_OF)
    assert len(frame) == len(active_keys(tiny_world, AS_OF)) > 1000
    assert frame["case_id"].is_unique
    assert (frame["days_on_benefit"] >= 0).all()
    assert frame["amount_to_benefit_median"].median() == pytest.approx(1.0, abs=0.05)
    counts = [c for c in frame.columns if frame[c].dtype == "int64" and c != "case_id"]
    assert (frame[counts] >= 0).all().all()
    assert frame["months_with_declared_income_12m"].between(0, 12).all()


def test_point_in_time_on_the_simulated_world(tiny_world):
    keys = active_keys(tiny_world, AS_OF)
    pd.testing.assert_frame_equal(compute_features(tiny_world, keys), compute_features(truncate(tiny_world, AS_OF), keys),
                                  check_exact=True)


def test_training_keys_never_see_their_own_investigation(tiny_world, training_keys):
    frame = compute_features(tiny_world, training_keys)
    assert len(frame) == len(training_keys) and frame["as_of"].nunique() > 50
    inv = tiny_world.investigations
    own_case = frame["earlier_investigations_this_case"].to_numpy()
    # An investigation that opened and closed the same day is not among its own "earlier" ones.
    earlier_on_case = np.array([
        ((inv["case_id"] == c) & (inv["opened_date"] < d) & (inv["closed_date"] <= d)).sum()
        for c, d in zip(inv["case_id"], inv["opened_date"], strict=True)
    ])
    np.testing.assert_array_equal(own_case, earlier_on_case)


def test_dask_equals_pandas_on_the_simulated_world(tiny_world, training_keys):
    keys = pd.concat([active_keys(tiny_world, AS_OF), training_keys], ignore_index=True)
    with cluster_client(n_workers=2) as client:
        got = compute_features(tiny_world, keys, engine="dask", client=client)
    pd.testing.assert_frame_equal(compute_features(tiny_world, keys), got, check_exact=False, rtol=1e-9)
