"""riskrank.world_blocks: a world's signals read a range of persons at a time give exactly read_world's rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskrank.world import ContractError, read_world, write_world
from riskrank.world_blocks import open_world, row_groups_overlapping


@pytest.fixture(scope="module")
def small_groups_dir(tiny_world, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_world_small_groups")
    write_world(tiny_world, folder, rows_per_group=5_000)
    return folder


def test_simulated_signals_are_sorted_by_person_then_date(tiny_world):
    s = tiny_world.signals
    person, day = s["person_id"].to_numpy(), s["date"].to_numpy()
    assert (np.diff(person) >= 0).all()
    same = person[1:] == person[:-1]
    assert (day[1:][same] >= day[:-1][same]).all()


def test_a_range_of_persons_is_read_from_its_own_row_groups_with_read_worlds_rows(small_groups_dir):
    whole = read_world(small_groups_dir, with_truth=False).signals
    world = open_world(small_groups_dir)
    metadata = pq.ParquetFile(world.signals_file).metadata
    assert metadata.num_row_groups > 20
    persons = np.sort(whole["person_id"].unique())
    lo, hi = int(persons[len(persons) // 3]), int(persons[len(persons) // 2])
    assert len(row_groups_overlapping(metadata, lo, hi)) < metadata.num_row_groups // 4
    got = world.signals(lo, hi)
    want = whole.loc[(whole["person_id"] >= lo) & (whole["person_id"] < hi)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(world.signals(), whole)


def test_kinds_are_read_across_all_persons_in_file_order(small_groups_dir):
    whole = read_world(small_groups_dir, with_truth=False).signals
    kinds = ("address_change", "provider_report")
    got = open_world(small_groups_dir).signals(kinds=kinds)
    want = whole.loc[whole["kind"].astype(str).isin(kinds)].reset_index(drop=True)
    assert len(want) > 0
    pd.testing.assert_frame_equal(got, want)


def test_small_tables_are_read_and_checked_like_read_world(small_groups_dir, tmp_path):
    world = open_world(small_groups_dir)
    whole = read_world(small_groups_dir, with_truth=False)
    for name in ("persons", "cases", "investigations"):
        pd.testing.assert_frame_equal(getattr(world, name), getattr(whole, name))
    assert world.meta == whole.meta
    assert world.last_signal_date() == whole.signals["date"].max()  # the span of a world without world.json
    bad = whole.cases.copy()
    bad["benefit"] = bad["benefit"].astype(str).where(bad.index > 0, "lottery")
    folder = tmp_path / "bad"
    write_world(whole.__class__(persons=whole.persons, cases=bad, signals=whole.signals.head(10),
                                investigations=whole.investigations, meta=whole.meta), folder)
    with pytest.raises(ContractError, match="table cases, column benefit"):
        open_world(folder)
    (folder / "signals.parquet").unlink()
    with pytest.raises(ContractError, match="signals is missing"):
        open_world(folder, validate=False)
