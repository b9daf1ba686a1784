"""The fairness gate's power: per ratio, the smallest ratio it could have told from 1 with the cases it had, and
"not judged" where that lies outside the band (a pass on too few cases is no evidence of fairness)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from riskrank.fairness.gate import NOT_JUDGED, detectable_ratio, fairness_gate, verdict
from riskrank.fairness.measure import group_ratios
from riskrank.fairness.policy import FAIR_HIGH, GATE_LEVEL, POWER
from tests.fairness.builders import hand_ratio


def _evaluation(times: int) -> pd.DataFrame:
    """born_abroad True selected 1.1x as often as False (in band), hits and misses alike: `times` copies."""
    def group(name: str, n: int, selected: int) -> pd.DataFrame:
        sel = np.r_[np.ones(selected), np.zeros(n - selected)].astype(int)
        lab = np.r_[np.arange(selected) % 2, np.arange(n - selected) % 10 == 0].astype(int)
        return pd.DataFrame({"born_abroad": name, "selected": sel, "label": lab})

    base = pd.concat([group("True", 200, 22), group("False", 400, 40)], ignore_index=True)
    return pd.concat([base] * times, ignore_index=True)


def _selection(frame: pd.DataFrame):
    ratios = group_ratios(frame, "born_abroad", reference="False", n_boot=1000)
    return ratios, next(r for r in ratios if r.metric == "selection_rate")


def test_detectable_ratio_is_the_normal_power_formula_on_the_gate_interval():
    r = hand_ratio(1.0, width=0.2)  # gate interval 0.8..1.2
    z = norm.ppf(1 - (1 - GATE_LEVEL) / 2)
    se = (np.log(1.2) - np.log(0.8)) / (2 * z)
    assert detectable_ratio(r) == pytest.approx(np.exp((z + norm.ppf(POWER)) * se))
    assert np.isnan(detectable_ratio(hand_ratio(0.1, width=0.1)))  # an interval reaching 0: nothing known


def test_the_gate_reports_not_judged_on_a_small_evaluation_and_judges_the_same_ratio_on_a_larger_one():
    small, ratio_small = _selection(_evaluation(1))
    large, ratio_large = _selection(_evaluation(40))
    assert ratio_small.ratio == pytest.approx(1.1) and ratio_large.ratio == pytest.approx(1.1)
    assert ratio_small.support >= 10  # enough support: what is missing is power, not cases to count

    assert detectable_ratio(ratio_small) > FAIR_HIGH and verdict(ratio_small) == NOT_JUDGED
    gate = fairness_gate(small)
    assert gate.passed  # not judged is reported, not refused
    assert gate.numbers["underpowered"] >= 1
    assert "not judged for want of power" in gate.detail
    assert "born_abroad=True selection_rate 1.10" in gate.detail.split("not judged for want of power")[1]
    assert gate.numbers["power"][ratio_small.key]["verdict"] == NOT_JUDGED

    assert detectable_ratio(ratio_large) < FAIR_HIGH and verdict(ratio_large) == "in band"
    judged = fairness_gate(large)
    assert judged.passed and "born_abroad=True selection_rate" not in judged.detail
    assert judged.numbers["power"][ratio_large.key] == pytest.approx(
        {"ratio": 1.1, "low": ratio_large.gate_low, "high": ratio_large.gate_high,
         "detectable": detectable_ratio(ratio_large), "verdict": "in band"})


def test_a_disparity_beyond_noise_is_refused_whatever_the_power():
    wide_but_clear = hand_ratio(3.0, width=1.5)  # 1.5..4.5: excludes 1, though the interval is wide
    assert detectable_ratio(wide_but_clear) > FAIR_HIGH
    gate = fairness_gate([wide_but_clear])
    assert not gate.passed and verdict(wide_but_clear) == "outside the band"
