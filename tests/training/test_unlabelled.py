"""Positive-unlabelled training rows: what they may hold, when their labels were known, which split they join,
and that learning from them ranks a population better when the investigated were chosen by a feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskrank.features.pipeline import compute_features
from riskrank.training.dataset import LABEL, SPLIT, WEIGHT, build_training_set
from riskrank.training.train import fit, predict
from riskrank.training.unlabelled import (
    UNLABELLED,
    UnlabelledConfig,
    month_ends_before,
    month_ends_between,
)
from riskrank.world import active_cases, under_open_investigation
from tests.features.test_point_in_time import truncate

CONFIG = UnlabelledConfig(rows=1200, weight=0.3, snapshots=6)


@pytest.fixture(scope="module")
def training(tiny_world):
    return build_training_set(tiny_world, unlabelled=CONFIG)


def _investigated(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[frame["selection"] != UNLABELLED]


def test_no_training_label_comes_from_an_investigation_closed_after_the_cutoff(tiny_world, training):
    inv = tiny_world.investigations.set_index("investigation_id")
    rows = _investigated(training.frame)
    closed = inv["closed_date"].reindex(rows["investigation_id"].astype("int64")).to_numpy()
    cutoff = training.bounds.valid_start
    in_train = (rows[SPLIT] == "train").to_numpy()
    assert in_train.sum() > 50
    assert (closed[in_train] < cutoff).all()
    # the validation rows' labels, that early stopping reads, were known before the test months
    in_valid = (rows[SPLIT] == "valid").to_numpy()
    assert (closed[in_valid] < training.bounds.test_start).all()
    # and the world does hold investigations that opened before the cutoff and closed after it
    straddling = (inv["opened_date"] < cutoff) & (inv["closed_date"] >= cutoff)
    assert straddling.any()


def _check_features_as_known_then(world, frame: pd.DataFrame, dates) -> None:
    features = [c for c in frame.columns if c in compute_features(world, frame[["case_id", "as_of"]].head(1)).columns]
    for date in dates:
        rows = frame.loc[frame["as_of"] == date]
        keys = rows[["case_id", "as_of"]].drop_duplicates().reset_index(drop=True)
        known_then = compute_features(truncate(world, pd.Timestamp(date)), keys)
        mine = rows.drop_duplicates(["case_id", "as_of"])[features].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, known_then[features], check_exact=True, check_dtype=False)


def test_rows_have_the_features_of_the_world_truncated_at_their_date(tiny_world, training):
    """Every snapshot date of the unlabelled rows and a sample of the investigations' opening dates (all of them:
    the slow test below)."""
    frame = training.frame
    assert frame["selection"].eq(UNLABELLED).sum() > 500 and _investigated(frame).shape[0] > 100
    snapshots = frame.loc[frame["selection"] == UNLABELLED, "as_of"].unique()
    opened = pd.Series(_investigated(frame)["as_of"].unique()).sample(15, random_state=0)
    _check_features_as_known_then(tiny_world, frame, [*snapshots, *opened])


@pytest.mark.slow
def test_every_row_has_the_features_of_the_world_truncated_at_its_date(tiny_world, training):
    _check_features_as_known_then(tiny_world, training.frame, training.frame["as_of"].unique())


def test_rows_of_one_case_stay_in_one_split(tiny_world):
    """A case investigated in the training months and again in the test months goes wholly to the test split (its
    later label may not move before its cutoff), and is no unlabelled row in the training months."""
    import dataclasses

    inv = tiny_world.investigations
    bounds = build_training_set(tiny_world, unlabelled=UnlabelledConfig(rows=0)).bounds
    # a training row of its own: closed after the burn-in (whose investigations are history, not rows)
    start = pd.Timestamp(tiny_world.meta["start_date"])
    early = inv.loc[(inv["closed_date"] >= start) & (inv["closed_date"] < bounds.valid_start - pd.Timedelta(days=200))
                    & ~inv["case_id"].duplicated(keep=False)].iloc[0]
    again = early.copy()
    again["investigation_id"] = inv["investigation_id"].max() + 1
    again["opened_date"] = bounds.test_start + pd.Timedelta(days=10)
    again["closed_date"] = bounds.test_start + pd.Timedelta(days=40)
    world = dataclasses.replace(tiny_world, investigations=pd.concat([inv, again.to_frame().T.astype(inv.dtypes)],
                                                                     ignore_index=True))
    training = build_training_set(world, unlabelled=UnlabelledConfig(rows=20_000, snapshots=6))
    per_case = training.frame.groupby("case_id")[SPLIT].nunique()
    assert (per_case == 1).all(), per_case[per_case > 1]
    mine = training.frame.loc[training.frame["case_id"] == early["case_id"]]
    assert len(mine) == 2 and (mine[SPLIT] == "test").all() and (mine["selection"] != UNLABELLED).all()


def test_unlabelled_rows_are_uninvestigated_active_cases_at_month_ends(tiny_world, training):
    bounds = training.bounds
    rows = training.frame.loc[training.frame["selection"] == UNLABELLED]
    assert (rows[LABEL] == 0).all() and (rows[WEIGHT] == CONFIG.weight).all()
    assert (_investigated(training.frame)[WEIGHT] == 1.0).all()
    train_dates = sorted(rows.loc[rows[SPLIT] == "train", "as_of"].unique())
    assert [pd.Timestamp(d) for d in train_dates] == month_ends_before(bounds.valid_start, CONFIG.snapshots)
    assert (rows.loc[rows[SPLIT] == "train"].groupby("as_of").size() == CONFIG.per_snapshot).all()
    valid_dates = sorted(rows.loc[rows[SPLIT] == "valid", "as_of"].unique())
    assert [pd.Timestamp(d) for d in valid_dates] == month_ends_between(bounds.valid_start, bounds.test_start)
    assert set(rows[SPLIT]) == {"train", "valid"}
    inv = tiny_world.investigations
    for date, at in rows.groupby("as_of"):
        date = pd.Timestamp(date)
        ids = at["case_id"].to_numpy()
        assert at["case_id"].is_unique
        assert np.isin(ids, active_cases(tiny_world.cases, date)["case_id"]).all()
        assert not under_open_investigation(inv, ids, date).any()
        cutoff = bounds.valid_start if date < bounds.valid_start else bounds.test_start
        soon = inv.loc[(inv["opened_date"] > date) & (inv["opened_date"] < min(date + pd.Timedelta(days=180), cutoff))]
        assert not np.isin(ids, soon["case_id"]).any()


def test_no_unlabelled_rows_gives_the_investigations_alone_as_of_their_opening(tiny_world, training):
    plain = build_training_set(tiny_world, unlabelled=UnlabelledConfig(rows=0))
    assert not plain.weighted and (plain.frame["selection"] != UNLABELLED).all()
    assert (plain.frame["as_of"] == plain.frame["opened_date"]).all()
    same = ["investigation_id", "case_id", "opened_date", "closed_date", "selection", LABEL, SPLIT]
    mine = _investigated(training.frame)[same].reset_index(drop=True)
    pd.testing.assert_frame_equal(plain.frame[same], mine, check_dtype=False)
    assert build_training_set(tiny_world, unlabelled=CONFIG).data_hash == training.data_hash


def test_with_unlabelled_rows_investigations_are_seen_at_the_month_end_before_they_opened(tiny_world, training):
    rows = _investigated(training.frame)
    month_end = (rows["opened_date"].dt.to_period("M") - 1).dt.to_timestamp(how="end").dt.normalize()
    start = tiny_world.cases.set_index("case_id")["start_date"].reindex(rows["case_id"]).to_numpy()
    expected = np.maximum(month_end.to_numpy(dtype="datetime64[ns]"), start.astype("datetime64[ns]"))
    np.testing.assert_array_equal(rows["as_of"].to_numpy(dtype="datetime64[ns]"), expected)
    assert (rows["as_of"] < rows["opened_date"]).mean() > 0.9  # the rest: cases that started in the opening month


def test_bad_unlabelled_options_are_refused(tiny_world):
    from riskrank.errors import UserError

    for bad in (UnlabelledConfig(rows=-1), UnlabelledConfig(weight=0.0), UnlabelledConfig(weight=float("nan"))):
        with pytest.raises(UserError, match="unlabelled"):
            build_training_set(tiny_world, unlabelled=bad)


def _population(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Two signals of error, x1 and s, in a population with a few per cent in error."""
    x1, s = rng.normal(size=n), rng.normal(size=n)
    error = rng.random(n) < 1 / (1 + np.exp(-(-3.5 + 1.0 * x1 + 1.0 * s)))
    return pd.DataFrame({"x1": x1, "s": s, "noise": rng.normal(size=n), "truth": error.astype(int)})


def _investigated_and_unlabelled(rng: np.random.Generator, n: int, weight: float) -> pd.DataFrame:
    """The agency's channels: a profile that investigates cases whose feature s stands out, whatever their truth,
    and tips that bring in cases in error (and a few innocent ones) whatever their s. Among the investigated, a high
    s then means a profile pick, less often in error than a tip: the investigated rows alone teach that s lowers
    the risk, while in the population it raises it."""
    pop = _population(n, rng)
    profile = (pop["s"] > 1.5) & (rng.random(n) < 0.3)
    tip = rng.random(n) < np.where(pop["truth"] == 1, 0.3, 0.003)
    chosen = profile | tip
    investigated = pop.loc[chosen].assign(**{LABEL: pop.loc[chosen, "truth"], WEIGHT: 1.0, "kind": "investigated"})
    rest = pop.loc[~chosen].sample(n=len(investigated) * 5, random_state=int(rng.integers(1 << 30)))
    unlabelled = rest.assign(**{LABEL: 0, WEIGHT: weight, "kind": UNLABELLED})
    return pd.concat([investigated, unlabelled], ignore_index=True)


def test_selection_aware_fit_ranks_a_fully_labelled_population_better_than_the_plain_fit():
    from sklearn.metrics import roc_auc_score

    from riskrank.training.learnability import top_hit_rate

    rng = np.random.default_rng(5)
    train, valid = _investigated_and_unlabelled(rng, 60_000, 0.2), _investigated_and_unlabelled(rng, 20_000, 0.2)
    held_out = _population(50_000, rng)
    inputs = ["x1", "s", "noise"]
    params = {"min_data_in_leaf": 20}
    plain = fit(train.loc[train["kind"] == "investigated"], valid.loc[valid["kind"] == "investigated"], inputs, params=params)
    pu = fit(train, valid, inputs, params=params, weight=WEIGHT)
    y = held_out["truth"].to_numpy()
    s_plain, s_pu = predict(plain, held_out), predict(pu, held_out)
    auc_plain, auc_pu = roc_auc_score(y, s_plain), roc_auc_score(y, s_pu)
    assert auc_pu > auc_plain + 0.05, (auc_pu, auc_plain)
    assert top_hit_rate(y, s_pu, 0.05) > top_hit_rate(y, s_plain, 0.05), (auc_pu, auc_plain)
