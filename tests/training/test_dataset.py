"""Training-set assembly: time split, hash, closed investigations only, features as of the opening date."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from riskrank.errors import UserError
from riskrank.model.scoring import prepare
from riskrank.training.dataset import (
    LABEL,
    SPLIT,
    VALUE,
    SplitConfig,
    assign_split,
    build_training_set,
    data_hash,
    split_bounds,
)
from riskrank.training.train import category_mapping, monotone_constraints


def test_split_bounds_count_whole_months_back_from_the_last_opening():
    opened = pd.Series(pd.to_datetime(["2022-01-03", "2023-12-31", "2024-01-01", "2024-06-30", "2024-07-01", "2024-12-20"]))
    bounds = split_bounds(opened, SplitConfig(test_months=6, valid_months=6))
    assert bounds.test_start == pd.Timestamp("2024-07-01")
    assert bounds.valid_start == pd.Timestamp("2024-01-01")
    assert assign_split(opened, bounds).tolist() == ["train", "train", "valid", "valid", "test", "test"]


def test_split_config_rejects_empty_periods():
    with pytest.raises(UserError, match="at least one month"):
        split_bounds(pd.Series(pd.to_datetime(["2024-01-01"])), SplitConfig(test_months=0))


def test_data_hash_ignores_row_and_column_order_but_not_values():
    frame = pd.DataFrame({"investigation_id": [3, 1, 2], "x": [0.1, 0.2, 0.3], "label": [1, 0, 1]})
    shuffled = frame.iloc[[2, 0, 1]][["label", "x", "investigation_id"]]
    assert data_hash(frame) == data_hash(shuffled)
    changed = frame.assign(x=[0.1, 0.2, 0.31])
    assert data_hash(frame) != data_hash(changed)


def test_training_set_on_tiny_world(tiny_world):
    from riskrank.features.pipeline import compute_features

    ts = build_training_set(tiny_world)
    inv = tiny_world.investigations
    # one row per closed investigation, open ones and the world's burn-in (closed before start_date) left out
    closed = inv.loc[inv["closed_date"] >= pd.Timestamp(tiny_world.meta["start_date"])]
    assert (inv["closed_date"] < pd.Timestamp(tiny_world.meta["start_date"])).sum() > 50
    assert len(ts.frame) == len(closed)
    assert set(ts.frame["investigation_id"]) == set(closed["investigation_id"])
    assert set(ts.frame[SPLIT]) == {"train", "valid", "test"}
    # never random: every training label was known (closed) before the validation months, every validation label
    # before the test months (a case's rows may move later, to its latest split, never earlier); a row's features
    # were seen no later than its label
    by_split = ts.frame.groupby(SPLIT)["closed_date"].agg(["min", "max"])
    assert by_split.loc["train", "max"] < ts.bounds.valid_start
    assert by_split.loc["valid", "max"] < ts.bounds.test_start
    rank = {name: i for i, name in enumerate(("train", "valid", "test"))}
    own = assign_split(ts.frame["closed_date"], ts.bounds).map(rank)
    assert (ts.frame[SPLIT].map(rank) >= own).all()
    assert (ts.frame["as_of"] <= ts.frame["closed_date"]).all()
    row = ts.frame.merge(closed, on="investigation_id", suffixes=("", "_inv")).iloc[0]
    assert row[LABEL] == int(row["action"])
    assert row[VALUE] == pytest.approx(np.nan_to_num(row["detected_sek"]) + np.nan_to_num(row["prevented_sek"]))
    # the features are those of the case on the opening date
    assert (ts.frame["as_of"] == ts.frame["opened_date"]).all()
    one = ts.frame.iloc[[5]]
    keys = pd.DataFrame({"case_id": one["case_id"].to_numpy(), "as_of": one["opened_date"].to_numpy()})
    again = compute_features(tiny_world, keys)
    assert again["days_on_benefit"].iloc[0] == one["days_on_benefit"].iloc[0]
    # the same world gives the same hash
    assert build_training_set(tiny_world).data_hash == ts.data_hash


def test_world_without_closed_investigations_is_refused(tiny_world):
    inv = tiny_world.investigations.assign(closed_date=pd.NaT)
    with pytest.raises(UserError, match="no closed investigations"):
        build_training_set(dataclasses.replace(tiny_world, investigations=inv))


def test_prepare_recodes_categories_and_turns_bools_into_floats():
    frame = pd.DataFrame({"benefit": pd.Categorical(["b", "a"], categories=["a", "b"]), "flag": [True, False], "x": [1.0, 2.0]})
    cats = category_mapping(frame, ["benefit", "flag", "x"])
    assert cats == {"benefit": ["a", "b"]}
    other = pd.DataFrame({"x": [3.0, 4.0], "benefit": ["b", "zzz"], "flag": [False, True]})
    X = prepare(other, ["benefit", "flag", "x"], cats)
    assert list(X.columns) == ["benefit", "flag", "x"]
    assert X["benefit"].cat.codes.tolist() == [1, -1]  # unknown category becomes missing
    assert X["flag"].tolist() == [0.0, 1.0]


def test_monotone_constraints_follow_the_registry():
    from riskrank.features import registry

    increasing = next(f.name for f in registry.FEATURES if f.model_input and f.monotone == 1 and f.dtype != "category")
    names = ["benefit", increasing]
    frame = pd.DataFrame({"benefit": pd.Categorical(["a"]), increasing: [1.0]})
    assert monotone_constraints(names, frame) == [0, 1]
