import pandas as pd
import pytest

from riskrank.world import ContractError, validate_table


def _persons(**overrides):
    frame = pd.DataFrame(
        {
            "person_id": pd.Series([1, 2], dtype="int64"),
            "sex": pd.Series(["F", None], dtype="string"),
            "birth_year": pd.Series([1980, 1990], dtype="int64"),
            "county": pd.Series(["01", "12"], dtype="string"),
            "born_abroad": pd.Series([False, True]),
            "household_id": pd.Series([10, 11], dtype="int64"),
        }
    )
    for column, value in overrides.items():
        if value is None:
            frame = frame.drop(columns=column)
        else:
            frame[column] = value
    return frame


def test_valid_table_passes():
    validate_table("persons", _persons())


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"county": None}, "missing column 'county'"),
        ({"birth_year": ["1980", "1990"]}, "column birth_year: expected integer"),
        ({"person_id": pd.Series([1, 1], dtype="int64")}, "duplicate keys in column(s) person_id"),
        ({"sex": ["F", "X"]}, "column sex: unknown values ['X']"),
    ],
)
def test_contract_errors_name_table_and_column(overrides, message):
    with pytest.raises(ContractError) as err:
        validate_table("persons", _persons(**overrides))
    assert "persons" in str(err.value) and message in str(err.value)


def test_future_dates_are_refused():
    cases = pd.DataFrame(
        {
            "case_id": pd.Series([1], dtype="int64"),
            "person_id": pd.Series([1], dtype="int64"),
            "benefit": ["barnbidrag"],
            "start_date": pd.to_datetime(["2025-03-01"]),
            "end_date": pd.to_datetime([None]),
            "monthly_amount_sek": [1250.0],
        }
    )
    with pytest.raises(ContractError, match="cases, column start_date: date 2025-03-01 is in the future"):
        validate_table("cases", cases, today=pd.Timestamp("2024-12-31"))
