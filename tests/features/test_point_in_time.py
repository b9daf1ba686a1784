"""Features as of T use events dated on or before T and nothing later."""

import numpy as np
import pandas as pd
import pytest

from riskrank.features.pipeline import active_keys, compute_features
from riskrank.world import SIGNAL_KINDS, World
from tests.features.random_world import random_world

CUTOFF = pd.Timestamp("2023-06-30")


def truncate(world: World, cutoff: pd.Timestamp) -> World:
    """The world as the agency knew it on `cutoff`: later events deleted, later endings and outcomes unknown."""
    cases = world.cases.loc[world.cases["start_date"] <= cutoff].copy()
    cases["end_date"] = cases["end_date"].where(cases["end_date"] <= cutoff)
    inv = world.investigations.loc[world.investigations["opened_date"] <= cutoff].copy()
    still_open = ~(inv["closed_date"] <= cutoff)
    inv["closed_date"] = inv["closed_date"].where(~still_open)
    for column in ("action", "action_type", "detected_sek", "prevented_sek", "police_report"):
        inv[column] = inv[column].where(~still_open)
    signals = world.signals.loc[world.signals["date"] <= cutoff]
    return World(persons=world.persons, cases=cases, signals=signals, investigations=inv, meta=world.meta)


@pytest.fixture(scope="module")
def world() -> World:
    return random_world(n_persons=400, seed=3)


def _keys_up_to(world: World, cutoff: pd.Timestamp) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    at_cutoff = active_keys(world, cutoff)
    earlier = world.cases.sample(150, random_state=1)
    days = rng.integers(0, 500, len(earlier))
    earlier_keys = pd.DataFrame({"case_id": earlier["case_id"].to_numpy(),
                                 "as_of": (cutoff - pd.to_timedelta(days, unit="D")).astype("datetime64[us]")})
    keys = pd.concat([at_cutoff, earlier_keys], ignore_index=True)
    start = world.cases.set_index("case_id")["start_date"].reindex(keys["case_id"]).to_numpy()
    return keys.loc[start <= keys["as_of"].to_numpy()].reset_index(drop=True)


def test_deleting_every_later_event_changes_no_feature(world):
    keys = _keys_up_to(world, CUTOFF)
    assert len(keys) > 200 and keys["as_of"].nunique() > 50
    full = compute_features(world, keys)
    known_then = compute_features(truncate(world, CUTOFF), keys)
    pd.testing.assert_frame_equal(full, known_then, check_exact=True)


def test_truncation_really_removes_information(world):
    later = pd.Timestamp("2024-06-30")
    keys = active_keys(world, later)
    keys = keys.loc[keys["case_id"].isin(truncate(world, CUTOFF).cases["case_id"])]
    assert not compute_features(world, keys).equals(compute_features(truncate(world, CUTOFF), keys))


@pytest.mark.parametrize("kind", sorted(SIGNAL_KINDS))
def test_one_event_after_as_of_changes_nothing_before_it(world, kind):
    keys = active_keys(world, CUTOFF).head(40)
    case = world.cases.set_index("case_id").loc[int(keys["case_id"].iloc[0])]
    before = compute_features(world, keys)
    event = pd.DataFrame({"person_id": [case["person_id"]], "case_id": pd.array([keys["case_id"].iloc[0]], dtype="Int64"),
                          "date": [CUTOFF + pd.Timedelta(days=1)], "source": [SIGNAL_KINDS[kind][0][0]], "kind": [kind],
                          "value": [1.0]})
    signals = pd.concat([world.signals, event.astype({"date": world.signals["date"].dtype})], ignore_index=True)
    changed = World(persons=world.persons, cases=world.cases, signals=signals, investigations=world.investigations,
                    meta=world.meta)
    pd.testing.assert_frame_equal(before, compute_features(changed, keys), check_exact=True)


def test_one_investigation_after_as_of_changes_nothing_before_it_but_is_seen_later(world):
    keys = active_keys(world, CUTOFF).head(40)
    case_id = int(keys["case_id"].iloc[0])
    extra = world.investigations.iloc[:1].copy()
    extra["investigation_id"] = world.investigations["investigation_id"].max() + 1
    extra["case_id"] = case_id
    extra["opened_date"] = CUTOFF
    extra["closed_date"] = CUTOFF + pd.Timedelta(days=2)
    extra["action"] = pd.array([True], dtype="boolean")
    changed = World(persons=world.persons, cases=world.cases, signals=world.signals,
                    investigations=pd.concat([world.investigations, extra], ignore_index=True), meta=world.meta)
    pd.testing.assert_frame_equal(compute_features(world, keys), compute_features(changed, keys), check_exact=True)
    later = pd.DataFrame({"case_id": [case_id], "as_of": [CUTOFF + pd.Timedelta(days=2)]})
    assert (compute_features(changed, later)["earlier_investigations_this_case"].iloc[0]
            == compute_features(world, later)["earlier_investigations_this_case"].iloc[0] + 1)
