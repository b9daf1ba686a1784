"""The point-in-time event index every feature is built on."""

import numpy as np
import pandas as pd
import pytest

from riskrank.features.events import NO_DAY, EventIndex, sort_order, to_days


@pytest.mark.parametrize("ids", [np.array([5, 5, 5, 9]), np.array([5, 5, 5, 9]) + (1 << 50), np.array([-5, -5, -5, 9])])
def test_counts_sums_and_latest_up_to_a_day(ids):
    index = EventIndex(ids, np.array([10, 20, 20, 15]), np.array([1.0, 2.0, 4.0, 8.0]))
    who = np.array([ids[0]] * 4 + [ids[3], 12345])
    day = np.array([9, 10, 20, 30, 15, 30])
    np.testing.assert_array_equal(index.count(who, day), [0, 1, 3, 3, 1, 0])
    np.testing.assert_array_equal(index.total(who, day), [0.0, 1.0, 7.0, 7.0, 8.0, 0.0])
    np.testing.assert_array_equal(index.total(who, day, since=day - 10), [0.0, 1.0, 6.0, 0.0, 8.0, 0.0])
    np.testing.assert_array_equal(index.last_day(who, day), [np.nan, 10, 20, 20, 15, np.nan])
    # Ties on a day resolve to the larger value, whatever the input order.
    np.testing.assert_array_equal(index.last_value(who, day), [np.nan, 1.0, 4.0, 4.0, 8.0, np.nan])
    swapped = EventIndex(ids[[0, 2, 1, 3]], np.array([10, 20, 20, 15]), np.array([1.0, 4.0, 2.0, 8.0]))
    np.testing.assert_array_equal(swapped.last_value(who, day), index.last_value(who, day))


def test_pair_entities_and_empty_indexes():
    index = EventIndex((np.array([1, 1, 2]), np.array([7, 8, 7])), np.array([3, 3, 3]))
    np.testing.assert_array_equal(index.count((np.array([1, 1, 2, 2]), np.array([7, 8, 8, 7])), np.array([5, 5, 5, 2])),
                                  [1, 1, 0, 0])
    empty = EventIndex(np.array([], np.int64), np.array([], np.int64))
    np.testing.assert_array_equal(empty.count(np.array([1]), np.array([5])), [0])
    assert np.isnan(empty.last_value(np.array([1]), np.array([5]))[0])


def test_pairs_beyond_the_combined_code_limit_as_at_national_scale():
    """2.2 M addresses x 2.2 M households pass 2**42 combined codes (scale 1.0 has 1.3 M x 3.4 M); only pairs seen count."""
    n = 2_200_000
    first, second = np.arange(n, dtype=np.int64) * 3, np.arange(n, dtype=np.int64)[::-1] + 10
    index = EventIndex((first, second), np.full(n, 100), np.arange(n, dtype=np.float64))
    who = (first[[0, 5, n - 1, 0]], second[[0, 5, n - 1, 1]])  # the last pair: both parts known, never together
    np.testing.assert_array_equal(index.count(who, np.array([100, 100, 99, 100])), [1, 1, 0, 0])
    np.testing.assert_array_equal(index.total(who, np.array([100, 100, 100, 100])), [0.0, 5.0, n - 1.0, 0.0])
    empty = EventIndex((np.array([], np.int64), np.array([], np.int64)), np.array([], np.int64))
    np.testing.assert_array_equal(empty.count((np.array([1]), np.array([2])), np.array([5])), [0])


def test_missing_dates_never_match():
    days = to_days(pd.Series(pd.to_datetime(["2024-01-01", None])))
    assert days[1] == NO_DAY
    index = EventIndex(np.array([1]), days[:1])
    np.testing.assert_array_equal(index.count(np.array([1, 1]), days), [1, 0])


def test_sort_order_breaks_ties_by_value():
    key = np.array([3, 1, 3, 1, 2, 3])
    value = np.array([9.0, 5.0, 1.0, 2.0, 0.0, 4.0])
    order = sort_order(key, value)
    assert list(zip(key[order], value[order], strict=True)) == [(1, 2.0), (1, 5.0), (2, 0.0), (3, 1.0), (3, 4.0), (3, 9.0)]
