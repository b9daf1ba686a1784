"""The hit-rate gates and the refusal, on hand-made data."""

import numpy as np
import pytest

from riskrank.fairness.gate import fairness_gate
from riskrank.promotion.gates import PromotionRefused, independent_hit_rate_gate, paired_hit_rate_gate
from tests.fairness.builders import hand_ratio


def test_paired_gate_refuses_clearly_worse_challenger():
    rng = np.random.default_rng(1)
    label = rng.random(2000) < 0.3
    champion = label | (rng.random(2000) < 0.05)  # selects nearly only hits
    challenger = rng.random(2000) < 0.3  # selects at random
    result = paired_hit_rate_gate(label, challenger, champion, n_boot=300)
    assert not result.passed
    assert result.numbers["difference"] < 0
    assert result.numbers["upper_bound"] < 0


def test_paired_gate_counts_a_case_on_several_dates_once():
    # A challenger 0.06 below the champion on 300 cases: within noise. The same cases on six dates are no more
    # evidence, so with case codes the gate passes as on one date; resampling the rows alone would refuse it.
    rng = np.random.default_rng(5)
    label = rng.random(600) < 0.3
    champion = np.r_[np.ones(300, bool), np.zeros(300, bool)]
    challenger = np.r_[np.zeros(300, bool), np.ones(300, bool)]
    label[:300] = np.arange(300) < 96  # champion's hit rate 0.32
    label[300:] = np.arange(300) < 78  # challenger's 0.26
    six = dict(label=np.tile(label, 6), challenger_selected=np.tile(challenger, 6), champion_selected=np.tile(champion, 6))
    once = paired_hit_rate_gate(label, challenger, champion, n_boot=2000)
    by_case = paired_hit_rate_gate(**six, n_boot=2000, clusters=np.tile(np.arange(600), 6))
    by_row = paired_hit_rate_gate(**six, n_boot=2000)
    assert once.passed and by_case.passed and not by_row.passed
    assert by_case.numbers["upper_bound"] == pytest.approx(once.numbers["upper_bound"], abs=0.01)


def test_paired_gate_passes_identical_models():
    label = np.array([1, 0, 1, 0, 1, 0, 0, 0])
    sel = np.array([1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
    result = paired_hit_rate_gate(label, sel, sel, n_boot=100)
    assert result.passed
    assert result.numbers["difference"] == 0


def test_independent_gate_by_hand():
    # 0.30 vs 0.40, n=100 each: se = sqrt(.21/100 + .24/100) = 0.0671; upper = -0.1 + 1.645*0.0671 = 0.0104 -> pass
    assert independent_hit_rate_gate(0.30, 100, 0.40, 100).passed
    # same rates with n=1000: upper = -0.1 + 1.645*0.0212 = -0.065 -> refuse
    result = independent_hit_rate_gate(0.30, 1000, 0.40, 1000)
    assert not result.passed
    assert result.numbers["upper_bound"] == pytest.approx(-0.1 + 1.6449 * np.sqrt(0.00045), abs=1e-3)


def test_refusal_message_names_each_failing_gate():
    failing = [fairness_gate([hand_ratio(2.0)]), independent_hit_rate_gate(0.1, 1000, 0.5, 1000)]
    err = PromotionRefused(3, failing)
    assert "version 3 refused" in str(err)
    assert "fairness:" in str(err) and "hit_rate:" in str(err)

