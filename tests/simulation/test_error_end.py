"""Truth with an end: an error ends when an action corrects it or the case ends; the label follows it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskrank.world import in_error_on


def _truth() -> pd.DataFrame:
    return pd.DataFrame({
        "case_id": [1, 2, 3],
        "error_start": pd.to_datetime(["2023-01-01", "2023-06-01", None]),
        "error_end": pd.to_datetime(["2023-03-01", None, None]),
    })


def test_in_error_on_is_start_inclusive_end_exclusive() -> None:
    truth = _truth()
    ids = np.array([1, 1, 1, 1, 2, 2, 3, 99])
    dates = pd.to_datetime(["2022-12-31", "2023-01-01", "2023-02-28", "2023-03-01", "2023-05-31", "2030-01-01",
                            "2023-06-01", "2023-06-01"])
    got = in_error_on(truth, ids, dates)
    assert got.dtype == bool
    assert got.tolist() == [False, True, True, False, False, True, False, False]


def test_in_error_on_takes_one_date_for_all_cases() -> None:
    assert in_error_on(_truth(), [1, 2, 3], pd.Timestamp("2023-07-01")).tolist() == [False, True, False]


def test_every_error_end_is_after_its_start_and_null_only_while_it_runs(tiny_world) -> None:
    truth = tiny_world.truth.merge(tiny_world.cases[["case_id", "end_date"]], on="case_id")
    erroneous = truth["error_start"].notna()
    assert truth.loc[~erroneous, "error_end"].isna().all()
    ended = truth["error_end"].notna()
    assert (truth.loc[ended, "error_end"] > truth.loc[ended, "error_start"]).all()
    # an error never outlives its case; it runs on (null) only where the case runs past the world's end
    closed_case = truth["end_date"].notna()
    assert (truth.loc[erroneous & closed_case, "error_end"] <= truth.loc[erroneous & closed_case, "end_date"]).all()
    assert truth.loc[erroneous & ~closed_case & ~ended].shape[0] > 0


def test_a_case_corrected_by_an_action_is_not_in_error_after_the_correction(tiny_world) -> None:
    inv = tiny_world.investigations
    acted = inv[inv["action"].fillna(False).astype(bool)]
    assert len(acted) > 0
    truth = tiny_world.truth.set_index("case_id")
    # the action corrected the error on its closing day at the latest
    assert (truth.loc[acted["case_id"], "error_end"].to_numpy() <= acted["closed_date"].to_numpy()).all()
    before = in_error_on(tiny_world.truth, acted["case_id"], acted["opened_date"])
    after = in_error_on(tiny_world.truth, acted["case_id"], acted["closed_date"])
    later = in_error_on(tiny_world.truth, acted["case_id"], acted["closed_date"] + pd.Timedelta(days=30))
    assert before.all()
    assert not after.any() and not later.any()


@pytest.mark.parametrize("column", ["error_start", "error_end"])
def test_in_error_on_needs_the_truth_columns(column: str) -> None:
    with pytest.raises(KeyError, match=column):
        in_error_on(_truth().drop(columns=column), [1], pd.Timestamp("2023-01-01"))
