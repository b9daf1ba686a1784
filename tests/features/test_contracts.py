"""Inputs the feature pipeline refuses, with messages that name the table and column."""

import pandas as pd
import pytest

from riskrank.features.pipeline import compute_features
from riskrank.world import ContractError
from tests.features.builders import WorldBuilder, keys


@pytest.fixture
def world():
    return WorldBuilder().person(1).case(10, 1, "barnbidrag", "2022-01-01").build()


def test_keys_with_unknown_cases_are_refused_without_naming_them(world):
    with pytest.raises(ContractError, match=r"keys, column case_id: 1 of 2 case ids are not in table cases") as info:
        compute_features(world, keys((10, "2023-01-01"), (987654, "2023-01-01")))
    assert "987654" not in str(info.value)


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"case_id": [10]}), "missing column 'as_of'"),
    (pd.DataFrame({"as_of": pd.to_datetime(["2023-01-01"])}), "missing column 'case_id'"),
    (pd.DataFrame({"case_id": [10.5], "as_of": pd.to_datetime(["2023-01-01"])}), "case_id: expected integer"),
    (pd.DataFrame({"case_id": [10], "as_of": ["not a date"]}), "as_of: not dates"),
    (pd.DataFrame({"case_id": [10, 10], "as_of": pd.to_datetime(["2023-01-01", None])}), "as_of: 1 missing dates"),
])
def test_malformed_keys_are_refused(world, frame, message):
    with pytest.raises(ContractError, match=message):
        compute_features(world, frame)


def test_cases_of_unknown_persons_are_refused():
    w = WorldBuilder().person(1).case(10, 1, "barnbidrag", "2022-01-01").case(11, 2, "barnbidrag", "2022-01-01").build()
    with pytest.raises(ContractError, match="table cases, column person_id"):
        compute_features(w, keys((10, "2023-01-01")))


def test_investigations_of_unknown_cases_are_refused():
    w = WorldBuilder().person(1).case(10, 1, "barnbidrag", "2022-01-01").investigation(1, 77, "2022-05-01").build()
    with pytest.raises(ContractError, match="table investigations, column case_id"):
        compute_features(w, keys((10, "2023-01-01")))


def test_empty_keys_give_an_empty_frame_with_every_column(world):
    frame = compute_features(world, pd.DataFrame({"case_id": pd.Series([], dtype="int64"),
                                                  "as_of": pd.Series([], dtype="datetime64[us]")}))
    assert len(frame) == 0 and "persons_sharing_address" in frame.columns
