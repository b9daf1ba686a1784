"""Metric functions on examples small enough to compute by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from riskrank.training import metrics


def test_roc_auc_counts_ordered_pairs_and_half_ties():
    # positives 0.9, 0.4; negatives 0.8, 0.4, 0.1 -> pairs: (0.9 beats all 3) + (0.4: beats 0.1, ties 0.4, loses 0.8)
    # = 3 + 1 + 0.5 = 4.5 of 6
    labels = [1, 0, 1, 0, 0]
    scores = [0.9, 0.8, 0.4, 0.4, 0.1]
    assert metrics.roc_auc(labels, scores) == pytest.approx(4.5 / 6)


def test_roc_auc_is_nan_with_one_class():
    assert math.isnan(metrics.roc_auc([1, 1], [0.2, 0.3]))


def test_pr_auc_average_precision_by_hand():
    # ranking: 1 (p=1/1), 0, 1 (p=2/3), 0 -> AP = (1 + 2/3) / 2
    labels = [1, 0, 1, 0]
    scores = [0.9, 0.7, 0.5, 0.1]
    assert metrics.pr_auc(labels, scores) == pytest.approx((1 + 2 / 3) / 2)


def test_pr_auc_treats_tied_scores_as_one_threshold():
    # both rows tied: one threshold, precision 1/2, recall 1 -> AP 0.5 whatever the order
    assert metrics.pr_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert metrics.pr_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)


def test_reliability_and_ece_by_hand():
    # bin [0.1,0.2): scores 0.1, 0.1 labels 0, 1 -> mean 0.1, observed 0.5, gap 0.4
    # bin [0.9,1.0]: scores 0.9, 0.9 labels 1, 1 -> gap 0.1
    rel = metrics.reliability([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9], n_bins=10)
    assert rel.count.tolist() == [2, 2]
    np.testing.assert_allclose(rel.observed_rate, [0.5, 1.0])
    assert rel.ece == pytest.approx((2 * 0.4 + 2 * 0.1) / 4)


def test_score_of_one_falls_in_last_bin():
    rel = metrics.reliability([1], [1.0], n_bins=10)
    assert rel.ece == pytest.approx(0.0)


def test_lift_and_brier():
    assert metrics.lift(0.6, 0.2) == pytest.approx(3.0)
    assert math.isnan(metrics.lift(0.6, 0.0))
    assert metrics.brier([1, 0], [0.8, 0.4]) == pytest.approx((0.04 + 0.16) / 2)


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="same length"):
        metrics.roc_auc([1, 0], [0.1])


def test_top_k_by_group_matches_a_per_group_loop():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"benefit": rng.choice(["a", "b", "c"], 500), "score": rng.integers(0, 20, 500) / 20})
    capacity = {"a": 7, "b": 0, "c": 400}
    fast = metrics.top_k_by_group(frame, "score", capacity)
    for name, rows in frame.groupby("benefit"):
        expected = metrics.top_k_mask(rows["score"].to_numpy(), capacity[name])  # ties by position
        assert fast.loc[rows.index].tolist() == expected.tolist()
