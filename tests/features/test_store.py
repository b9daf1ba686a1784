"""The feature store on real SQLite and real PostgreSQL."""

import datetime as dt
import math
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from riskrank.db import get_engine
from riskrank.features.pipeline import features_as_of
from riskrank.features.registry import FEATURE_NAMES, FEATURES
from riskrank.features.store import FeatureStore
from tests.features.random_world import random_world


@pytest.fixture(scope="module")
def world():
    return random_world(n_persons=150, seed=21)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        engine = get_engine(f"sqlite:///{tmp_path / 'store.db'}")
    else:  # a fresh database per test, so other parts' tables on the shared server are never touched
        server = sa.make_url(request.getfixturevalue("postgres_url"))
        name = f"features_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine = sa.create_engine(server.set(database=name))
    yield FeatureStore(engine)
    engine.dispose()
    if request.param == "postgresql":
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}"'))
        admin.dispose()


def test_empty_store_answers_none_and_empty_frame(store):
    assert store.latest_as_of() is None
    assert store.get(123) is None
    empty = store.latest_frame()
    assert list(empty.columns) == ["case_id", "as_of", *FEATURE_NAMES] and len(empty) == 0


def test_round_trip_keeps_values_and_dtypes(store, world):
    frame = features_as_of(world, "2023-06-30")
    assert store.write(frame, "2023-06-30") == len(frame)
    assert store.latest_as_of() == dt.date(2023, 6, 30)
    back = store.latest_frame()
    expected = frame.sort_values("case_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected, check_exact=False, rtol=1e-12)
    one = expected.iloc[3]
    row = store.get(int(one["case_id"]))
    assert row["as_of"] == dt.date(2023, 6, 30) and row["benefit"] == one["benefit"]
    for f in FEATURES:
        value = row[f.name]
        if f.dtype == "float":
            assert type(value) is float and (math.isnan(value) if pd.isna(one[f.name]) else value == pytest.approx(one[f.name]))
        else:
            assert type(value) is {"int": int, "bool": bool, "category": str}[f.dtype], f.name
            assert value == one[f.name], f.name


def test_latest_as_of_wins_and_rewrites_replace_a_date(store, world):
    june, july = features_as_of(world, "2023-06-30"), features_as_of(world, "2023-07-31")
    store.write(july, "2023-07-31")
    store.write(june, "2023-06-30")
    assert store.latest_as_of() == dt.date(2023, 7, 31)
    case_id = int(june["case_id"].iloc[0])
    expected_as_of = dt.date(2023, 7, 31) if case_id in set(july["case_id"]) else dt.date(2023, 6, 30)
    assert store.get(case_id)["as_of"] == expected_as_of
    store.write(july.head(5), "2023-07-31")  # replaces July entirely
    assert len(store.latest_frame()) == 5
    benefit = str(july["benefit"].iloc[0])
    only = store.latest_frame(benefit=benefit)
    assert set(only["benefit"].astype(str)) == {benefit}
    assert len(only) == int((july.head(5)["benefit"] == benefit).sum())


def test_failed_write_changes_nothing(store, world):
    june = features_as_of(world, "2023-06-30")
    store.write(june, "2023-06-30")
    broken = june.copy()
    broken.loc[broken.index[-1], "case_id"] = broken["case_id"].iloc[0]  # duplicate key
    with pytest.raises(ValueError, match="unique"):
        store.write(broken, "2023-06-30")
    bad_type = june.astype({"monthly_amount_sek": object})
    bad_type.loc[bad_type.index[-1], "monthly_amount_sek"] = "not a number"
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error; what matters is the rollback below
        store.write(bad_type, "2023-06-30")
    assert len(store.latest_frame()) == len(june)


def test_frame_with_wrong_columns_or_dates_is_refused(store, world):
    june = features_as_of(world, "2023-06-30")
    with pytest.raises(ValueError, match="lacks columns"):
        store.write(june.drop(columns=["notifications_ubm"]), "2023-06-30")
    with pytest.raises(ValueError, match="as_of"):
        store.write(june, "2023-07-01")
    assert store.latest_as_of() is None


def test_values_is_get_narrowed_to_the_names_asked_for(store, world):
    """values() (the read behind an explanation on request) finds the row get() finds, only the columns named, in
    their order, and None for a name this feature set lacks."""
    june, july = features_as_of(world, "2023-06-30"), features_as_of(world, "2023-07-31")
    store.write(june, "2023-06-30")
    store.write(july.head(3), "2023-07-31")
    names = tuple(f.name for f in FEATURES[::-1] if f.name != "benefit") + ("benefit", "not_a_feature")
    assert store.values(987_654_321, names) is None
    for case_id in [int(c) for c in july["case_id"].head(2)] + [int(c) for c in june["case_id"].tail(2)]:
        row = store.get(case_id)
        as_of, benefit, values = store.values(case_id, names)
        assert as_of == row["as_of"] and benefit == row["benefit"]
        assert values[-1] is None and len(values) == len(names)
        for name, value in zip(names[:-1], values[:-1], strict=True):
            expected = row[name]
            if isinstance(expected, float) and math.isnan(expected):
                assert value is None, name
            else:
                assert value == expected, name
