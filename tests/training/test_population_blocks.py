"""Training at scale (issue 23, item 5): the training set and the evaluation population computed from a world left
on disk, a block of persons at a time, equal those of the world read whole; the compact dtypes lose nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskrank.features import blocks
from riskrank.training import population
from riskrank.training.dataset import SplitBounds, build_training_set
from riskrank.training.evaluate import capacity_metrics, cuts
from riskrank.training.unlabelled import UnlabelledConfig
from riskrank.world import write_world
from riskrank.world_blocks import open_world

BOUNDS = SplitBounds(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01"), pd.Timestamp("2024-12-20"))
DATES = [pd.Timestamp("2024-07-01"), pd.Timestamp("2024-10-01")]


@pytest.fixture(scope="module")
def on_disk(tiny_world, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_world_blocks")
    write_world(tiny_world, folder, rows_per_group=5_000)  # many row groups, so blocks read only their own
    return open_world(folder, with_truth=True)


def test_the_population_from_disk_in_blocks_equals_the_whole_worlds(tiny_world, on_disk, monkeypatch) -> None:
    whole, capacity = population.truth_population(tiny_world, BOUNDS, DATES)
    monkeypatch.setattr(population, "ROWS_PER_PART", 1_500)  # many blocks of persons, each with both dates
    parts = []
    original = blocks.feature_blocks

    def counting(*args, **kwargs):
        for part in original(*args, **kwargs):
            parts.append(len(part))
            yield part

    monkeypatch.setattr(blocks, "feature_blocks", counting)
    blockwise, capacity_blocks = population.truth_population(on_disk, BOUNDS, DATES)
    assert len(parts) > 5
    assert len(whole) > 5_000 and whole[population.LABEL].sum() > 50
    pd.testing.assert_frame_equal(blockwise, whole)
    assert capacity_blocks == capacity
    scores = np.random.default_rng(0).random(len(whole))
    def metrics(pop):
        return pd.Series(capacity_metrics(pop, cuts(pop, scores, capacity), capacity)[0])

    pd.testing.assert_series_equal(metrics(blockwise), metrics(whole))


def test_the_population_matches_the_definitions_row_by_row(tiny_world, on_disk) -> None:
    from riskrank.features.pipeline import features_as_of
    from riskrank.world import in_error_on, under_open_investigation

    pop, _ = population.truth_population(on_disk, BOUNDS, DATES)
    for date in DATES:
        rows = pop.loc[pop[population.EVAL_DATE] == date].reset_index(drop=True)
        feats = features_as_of(tiny_world, date)
        feats = feats.loc[~under_open_investigation(tiny_world.investigations, feats["case_id"], date)].reset_index(drop=True)
        assert (rows["case_id"].to_numpy() == feats["case_id"].to_numpy()).all()
        pd.testing.assert_frame_equal(rows[feats.columns], feats, check_dtype=False)
        assert (rows[population.LABEL].to_numpy() == in_error_on(tiny_world.truth, feats["case_id"], date)).all()
        assert (rows[population.SLOT].astype(str) == f"{date.date()}|" + feats["benefit"].astype(str)).all()


def test_compact_dtypes_keep_every_value_and_every_score(tiny_world) -> None:
    from riskrank.features.pipeline import features_as_of

    feats = features_as_of(tiny_world, DATES[0])
    small = population.compact(feats)
    pd.testing.assert_frame_equal(small, feats, check_dtype=False)
    assert small.memory_usage(deep=True).sum() < 0.6 * feats.memory_usage(deep=True).sum()
    assert any(small[c].dtype == np.float32 for c in small.columns)
    inexact = feats.assign(monthly_amount_sek=feats["monthly_amount_sek"] + 1e-9)  # not a float32: stays float64
    assert population.compact(inexact)["monthly_amount_sek"].dtype == np.float64


def test_the_training_set_from_disk_in_blocks_equals_the_whole_worlds(tiny_world, on_disk, monkeypatch) -> None:
    config = UnlabelledConfig(rows=600, snapshots=3)
    whole = build_training_set(tiny_world, unlabelled=config)
    monkeypatch.setattr(blocks, "PERSONS_PER_PART", 2_000)
    blockwise = build_training_set(on_disk, unlabelled=config)
    pd.testing.assert_frame_equal(blockwise.frame, whole.frame)
    assert blockwise.data_hash == whole.data_hash


def test_thin_keys_are_split_into_blocks_of_bounded_persons() -> None:
    everyone = np.arange(1_000)
    keys = np.array([3, 500, 999])
    assert len(blocks.person_blocks(keys, 100)) == 1
    ranges = blocks.person_blocks(keys, 100, everyone, persons_per_part=100)
    assert len(ranges) == 10
    assert all(((everyone >= lo) & (everyone < hi)).sum() <= 100 for lo, hi in ranges)
    assert sum(((everyone >= lo) & (everyone < hi)).sum() for lo, hi in ranges) == len(everyone)


@pytest.mark.parametrize("column", [
    pd.Series(pd.Categorical(["b", "a", "c", "a"], categories=["c", "z", "b", "a"])),  # unsorted, one unused
    pd.Series([True, False, True]), pd.Series([True, True]), pd.Series(["x", "y", "x"]),
])
def test_groups_read_through_codes_are_the_groups_read_as_strings(column) -> None:
    from riskrank.fairness.measure import sorted_codes

    names, codes = sorted_codes(column)
    as_strings = pd.Categorical(column.astype(str))
    assert names == list(as_strings.categories) and (codes == as_strings.codes).all()


def test_a_capacity_selection_over_categorical_slots_is_the_one_over_strings() -> None:
    from riskrank.training.metrics import top_k_by_group

    rng = np.random.default_rng(1)
    slots = rng.choice(["2024-07-01|a", "2024-07-01|b", "2024-10-01|a"], 2_000)
    scores = rng.integers(0, 50, 2_000).astype(float)  # many ties: broken by position either way
    capacity = {"2024-07-01|a": 30, "2024-07-01|b": 5, "2024-10-01|a": 100}
    plain = top_k_by_group(pd.DataFrame({"slot": slots, "s": scores}), "s", capacity, "slot")
    coded = pd.Categorical(slots, categories=["2024-10-01|a", "2024-07-01|b", "2024-07-01|a", "unused"])
    assert plain.sum() == 135
    assert (top_k_by_group(pd.DataFrame({"slot": coded, "s": scores}), "s", capacity, "slot") == plain).all()
