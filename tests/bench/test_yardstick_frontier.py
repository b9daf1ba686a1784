"""The group-threshold frontier of bench/bench_yardsticks.py on a tiny hand-built table, against brute force."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from yardstick_frontier import apply_shares, cell_keys, frontier  # noqa: E402

CELLS = ("F|True", "F|False", "M|True", "M|False")


def table() -> pd.DataFrame:
    """40 rows, 10 per cell, where the ranking alone would select mostly people born abroad: their scores are
    higher, innocent ones included, as the worlds' look-alike traces make them."""
    rng = np.random.default_rng(3)
    rows = []
    for cell in CELLS:
        sex, abroad = cell.split("|")
        for i in range(10):
            label = int(i % 3 == 0)
            score = label + (0.8 if abroad == "True" else 0.0) + rng.uniform(0, 0.5)
            rows.append({"sex": sex, "born_abroad": abroad == "True", "label": label, "score": score})
    return pd.DataFrame(rows)


def worst_ratio(frame: pd.DataFrame, chosen: np.ndarray) -> float:
    """max(r, 1/r) over the six ratios, counted by hand."""
    y, worst = frame["label"].to_numpy(), 1.0
    for column, group in (("sex", "F"), ("born_abroad", True)):
        rates = []
        for mine in (frame[column].to_numpy() == group, frame[column].to_numpy() != group):
            rates.append((chosen[mine].mean(), chosen[mine & (y == 0)].mean(),
                          y[mine & chosen].mean() if (mine & chosen).any() else float("nan")))
        for a, b in zip(*rates, strict=True):
            ratio = a / b if b else float("nan")
            worst = max(worst, math.exp(abs(math.log(ratio))) if ratio > 0 and np.isfinite(ratio) else math.inf)
    return worst


def brute_force(frame: pd.DataFrame, total: int, band: float) -> int:
    """The most hits of any per-cell top-k with sum k = total and every ratio within [1/band, band]."""
    keys = cell_keys(frame).to_numpy()
    order = {c: np.flatnonzero(keys == c)[np.argsort(-frame["score"].to_numpy()[keys == c], kind="stable")]
             for c in CELLS}
    best = -1
    for ks in itertools.product(range(11), repeat=3):
        last = total - sum(ks)
        if not 0 <= last <= 10:
            continue
        chosen = np.zeros(len(frame), bool)
        for c, k in zip(CELLS, (*ks, last), strict=True):
            chosen[order[c][:k]] = True
        if worst_ratio(frame, chosen) <= band + 1e-9:
            best = max(best, int(frame["label"].to_numpy()[chosen].sum()))
    return best


@pytest.mark.parametrize("band", [1.25, 1.5, math.inf])
def test_frontier_matches_brute_force_and_its_shares_reproduce_it(band):
    frame = table()
    share = 0.3  # 12 of 40
    # multipliers fine enough that every count 0..10 of each cell is a candidate
    choices = frontier(frame, frame["score"].to_numpy(), "label", share, [band], np.linspace(0, 1 / share, 400))
    expected = brute_force(frame, 12, band)
    assert len(choices) == 1
    choice = choices[0]
    assert choice.hits == expected
    assert choice.selected == 12
    chosen = apply_shares(frame, frame["score"].to_numpy(), choice.shares, share)
    assert chosen.sum() == 12
    assert int(frame["label"].to_numpy()[chosen].sum()) == expected
    assert worst_ratio(frame, chosen) == pytest.approx(choice.worst)
    assert choice.worst <= band


def test_group_thresholds_reach_at_least_the_plain_ranking_and_the_band_holds():
    frame = table()
    scores = frame["score"].to_numpy()
    tight, loose = frontier(frame, scores, "label", 0.3, [1.25, math.inf], np.linspace(0, 1 / 0.3, 400))
    top = np.zeros(len(frame), bool)
    top[np.argsort(-scores, kind="stable")[:12]] = True
    # the plain ranking is one of the combinations, and it is outside the band (mostly people born abroad)
    assert loose.hits >= int(frame["label"].to_numpy()[top].sum())
    assert worst_ratio(frame, top) > 1.25
    assert tight.worst <= 1.25
    assert tight.hits <= loose.hits


def test_the_fairest_combination_is_reported_with_the_most_hits_at_its_ratio():
    frame = table()
    choices = frontier(frame, frame["score"].to_numpy(), "label", 0.3, [], np.linspace(0, 1 / 0.3, 400), fairest=True)
    assert len(choices) == 1
    fairest = choices[0]
    assert fairest.band == pytest.approx(fairest.worst)
    assert brute_force(frame, 12, fairest.worst * (1 - 1e-6)) == -1  # nothing fairer exists
    assert brute_force(frame, 12, fairest.worst) == fairest.hits


def test_the_frontier_counts_people_without_a_sex_in_born_abroad_as_fairness_measure_does():
    from riskrank.fairness.measure import fairness_report
    from riskrank.training.fair_sweep import farthest_from_one

    frame = table()
    # innocent people born abroad without a recorded sex, scored high: they raise born abroad's FPR
    extra = pd.DataFrame({"sex": [None] * 6, "born_abroad": [True] * 6, "label": [0] * 6, "score": [2.0] * 6})
    frame = pd.concat([frame, extra], ignore_index=True)
    frame["sex"] = pd.Categorical(frame["sex"], categories=["F", "M"])
    share = 12 / len(frame)
    choices = frontier(frame, frame["score"].to_numpy(), "label", share, [2.0, 3.0],
                       np.linspace(0, 1 / share, 400), fairest=True)
    assert len(choices) == 3
    for choice in choices:
        chosen = apply_shares(frame, frame["score"].to_numpy(), choice.shares, share)
        ratios = fairness_report(frame.assign(selected=chosen.astype(int)), {"sex": "M", "born_abroad": "False"},
                                 "selected", "label", n_boot=0)
        worst = farthest_from_one(ratios)
        assert worst is not None
        assert max(worst.ratio, 1 / worst.ratio) == pytest.approx(choice.worst)
