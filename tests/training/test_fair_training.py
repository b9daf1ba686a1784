"""Fairness-aware training on constructed data: the penalised objective, the weight family and the choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskrank.fairness.gate import GateResult
from riskrank.fairness.measure import GroupRatio
from riskrank.fairness.objective import FairLogloss, as_probability_model
from riskrank.features.registry import SENSITIVE
from riskrank.model.scoring import prepare
from riskrank.training.fair_sweep import Member, choose, fit_with_weight
from riskrank.training.train import FitResult, predict

HIT_RATE_BOUND = 0.85  # the fair model keeps at least this share of the unconstrained model's hit rate here


def _cases(n: int, seed: int, with_label: bool = True) -> pd.DataFrame:
    """A signal that predicts error equally in both groups, and a proxy that mostly says born_abroad.

    The proxy also carries a little of the label, so an unconstrained model uses it, and then innocent
    born-abroad cases reach the top more often than innocent others."""
    rng = np.random.default_rng(seed)
    group = rng.random(n) < 0.3
    signal = rng.normal(size=n)
    label = (rng.random(n) < 1 / (1 + np.exp(-(2.5 * signal - 2.0)))).astype(int)
    proxy = 2.0 * group + 0.8 * label + rng.normal(size=n)
    frame = pd.DataFrame({"signal": signal, "proxy": proxy, "noise": rng.normal(size=n),
                          "born_abroad": pd.Series(group).map({True: "True", False: "False"})})
    if with_label:
        frame["label"] = label
    else:
        frame["truth"] = label
    return frame


@pytest.fixture(scope="module")
def data():
    return _cases(3000, 1), _cases(1000, 2), _cases(20000, 4, with_label=False)


def _top_fpr_ratio_and_hit_rate(result: FitResult, population: pd.DataFrame) -> tuple[float, float]:
    scores = predict(result, population)
    top = scores >= np.quantile(scores, 0.95)
    y = population["truth"].to_numpy()
    abroad = (population["born_abroad"] == "True").to_numpy()
    fpr = [top[g & (y == 0)].mean() for g in (abroad, ~abroad)]
    return fpr[0] / fpr[1], float(y[top].mean())


@pytest.mark.slow
def test_disparity_falls_as_the_penalty_weight_rises_and_the_hit_rate_holds(data):
    train, valid, population = data
    inputs = ["signal", "proxy", "noise"]
    weights = (0.0, 5.0, 30.0)
    measured = {}
    for weight in weights:
        result = fit_with_weight(train, valid, inputs, weight, params={"min_data_in_leaf": 20})
        measured[weight] = _top_fpr_ratio_and_hit_rate(result, population)
    ratios = [measured[w][0] for w in weights]
    assert ratios[0] > 1.5, f"the unconstrained model should use the proxy: {measured}"
    assert ratios[2] < ratios[1] < ratios[0], measured
    assert abs(np.log(ratios[2])) < 0.5 * abs(np.log(ratios[0])), measured
    assert measured[30.0][1] >= HIT_RATE_BOUND * measured[0.0][1], measured


def test_sensitive_columns_never_reach_the_booster_and_contributions_sum_to_the_logit(data):
    train, valid, population = data
    result = fit_with_weight(train, valid, ["signal", "proxy", "noise"], 20.0, params={"min_data_in_leaf": 20})
    assert not set(result.booster.feature_name()) & set(SENSITIVE)
    X = prepare(population.head(200), result.feature_names, result.categories)
    score = result.booster.predict(X)
    assert ((score > 0) & (score < 1)).all()  # probabilities, not raw scores
    contributions = result.booster.predict(X, pred_contrib=True)
    np.testing.assert_allclose(contributions.sum(axis=1), np.log(score / (1 - score)), rtol=1e-9, atol=1e-9)


def test_the_penalised_model_starts_from_the_base_rate(data):
    train, valid, _ = data
    result = fit_with_weight(train, valid, ["signal", "proxy", "noise"], 10.0, params={"min_data_in_leaf": 20})
    mean_score = predict(result, train).mean()
    assert abs(mean_score - train["label"].mean()) < 0.05


def test_penalty_is_zero_when_every_group_is_calibrated_and_grows_with_the_gap():
    labels = np.array([1, 0, 0, 0, 1, 0, 0, 0], dtype=float)
    groups = {"g": np.array([0, 0, 0, 0, 1, 1, 1, 1])}
    objective = FairLogloss(labels, groups, weight=1.0)
    quarter = np.log(0.25 / 0.75)
    calibrated = np.full(8, quarter)  # each group's mean score is its rate of action, 1 in 4
    overstated = np.r_[np.full(4, quarter), np.full(4, 0.0)]  # group 1 at 0.5 against its rate 0.25
    assert objective.penalty(calibrated) == pytest.approx(0.0, abs=1e-12)
    # hand-computed: group 1's gap 0.25, share 1/2 -> 0.5 * 0.25**2
    assert objective.penalty(overstated) == pytest.approx(0.5 * 0.25**2)
    grad, hess = objective(overstated)
    assert (hess > 0).all()
    # the overstated group's rows are pushed down on top of the logloss gradient; the calibrated group's not at all
    penalty_grad = objective.penalty_gradient(overstated)
    assert (penalty_grad[4:] > 0).all() and np.allclose(penalty_grad[:4], 0.0)
    # it is the derivative of the penalty (times the number of rows), checked by finite differences
    step = np.zeros(8)
    step[5] = 1e-6
    numeric = (objective.penalty(overstated + step) - objective.penalty(overstated - step)) / 2e-6
    assert penalty_grad[5] == pytest.approx(8 * numeric, rel=1e-5)


def test_rows_without_a_group_are_left_out_of_the_penalty_and_unlabelled_rows_refused():
    objective = FairLogloss(np.array([1.0, 0.0, 0.0]), {"g": np.array([0, 0, -1])}, weight=1.0)
    assert objective.penalty_gradient(np.zeros(3))[2] == 0.0
    with pytest.raises(ValueError, match="label"):
        FairLogloss(np.array([1.0, np.nan]), {"g": np.array([0, 1])}, weight=1.0)
    with pytest.raises(ValueError, match="zero or more"):
        FairLogloss(np.array([1.0, 0.0]), {"g": np.array([0, 1])}, weight=-1.0)


def test_row_weights_weigh_the_logloss_and_the_penalty_like_repeated_rows():
    """A row of weight 2 counts as that row twice: LightGBM hands a callable objective's gradients through without
    the Dataset's weights, so the objective must apply them (the unlabelled rows of a positive-unlabelled fit)."""
    labels = np.array([1, 0, 0, 1, 0], dtype=float)
    codes = np.array([0, 0, 1, 1, 1])
    raw = np.array([0.3, -0.2, 0.5, -1.0, 0.1])
    weighted = FairLogloss(labels, {"g": codes}, weight=3.0, sample_weight=np.array([1.0, 2.0, 1.0, 1.0, 2.0]))
    repeat = np.array([0, 1, 1, 2, 3, 4, 4])
    repeated = FairLogloss(labels[repeat], {"g": codes[repeat]}, weight=3.0)
    assert weighted.penalty(raw) == pytest.approx(repeated.penalty(raw[repeat]))
    assert weighted.start_score() == pytest.approx(repeated.start_score())
    grad_w, hess_w = weighted(raw)
    grad_r, hess_r = repeated(raw[repeat])
    # the repeated row's two gradients sum to the weighted row's one
    np.testing.assert_allclose(grad_w, np.bincount(repeat, weights=grad_r), rtol=1e-12)
    np.testing.assert_allclose(hess_w, np.bincount(repeat, weights=hess_r), rtol=1e-12)
    with pytest.raises(ValueError, match="sample_weight"):
        FairLogloss(labels, {"g": codes}, weight=1.0, sample_weight=np.ones(3))


def test_a_weighted_fit_refuses_an_objective_that_ignores_the_weights(data):
    from riskrank.fairness.objective import group_codes
    from riskrank.training.train import fit

    train, valid, _ = data
    train, valid = train.assign(w=np.where(train.index % 2, 0.5, 1.0)), valid.assign(w=1.0)
    blind = FairLogloss(train["label"].to_numpy(), group_codes(train, SENSITIVE), 10.0)
    with pytest.raises(ValueError, match="weights"):
        fit(train, valid, ["signal", "proxy", "noise"], weight="w", objective=blind)
    result = fit_with_weight(train, valid, ["signal", "proxy", "noise"], 10.0, params={"min_data_in_leaf": 20}, row_weight="w")
    assert result.best_iteration >= 1


def test_as_probability_model_adds_the_objective_once():
    head = "tree\nversion=v4\nnum_class=1\nmax_feature_idx=0\nfeature_names=x\n\nTree=0\n"
    once = as_probability_model(head)
    assert once.count("objective=binary sigmoid:1") == 1
    assert as_probability_model(once) == once


def _member(weight: float, hit_rate: float, passed: bool, ratio: float, top_hit_rate: float = float("nan"),
            detail: str = "") -> Member:
    r = GroupRatio("sex", "F", "M", "fpr", ratio, ratio, ratio, ratio, ratio, 50, 0.1, 0.1, "within_benefit")
    gate = GateResult("fairness", passed, detail, {"scope": "within_benefit"})
    return Member(weight, None, hit_rate, [r], gate, 1.0, top_hit_rate)  # type: ignore[arg-type]


def test_choose_takes_the_member_most_accurate_at_capacity_that_passes_and_says_what_the_band_costs():
    members = [_member(0, 0.80, False, 1.6, 0.50, detail="sex=F vs M in the top 1 %: fpr ratio 1.60"),
               _member(1, 0.70, True, 1.2, 0.45), _member(3, 0.75, True, 1.1, 0.40)]
    chosen, why = choose(members)
    assert chosen.weight == 3 and "at capacity 0.750" in why and "the 2 of 3 members whose ratios lie within" in why
    # the cost of the band, against the unconstrained member, at capacity and in the top 1 %, and why it was refused
    assert "the unconstrained model's hit rate at capacity is 0.800 against 0.750" in why
    assert "in the top 1 % 0.500 against 0.400" in why and "fails the gate: sex=F vs M in the top 1 %" in why


def test_choose_takes_the_unconstrained_model_when_it_passes_and_is_most_accurate():
    chosen, why = choose([_member(0, 0.80, True, 1.1), _member(1, 0.80, True, 1.0)])
    assert chosen.weight == 0 and why.startswith("the unconstrained model (weight 0) is the most accurate")
    assert "against" not in why  # nothing is given up


def test_a_member_the_gate_refuses_is_never_chosen_over_one_it_passes():
    members = [_member(0, 0.45, False, 1.6), _member(5, 0.30, True, 1.1), _member(10, 0.44, False, 1.3)]
    assert choose(members)[0].weight == 5


def _ratio(point: float, low: float, high: float) -> GroupRatio:
    return GroupRatio("sex", "F", "M", "fpr", point, low, high, low, high, 40, 0.1, 0.1, "within_benefit")


def test_without_a_passing_member_the_one_that_fails_least_clearly_is_chosen():
    clear = Member(0, None, 0.8, [_ratio(1.4, 1.3, 1.5)], GateResult("fairness", False, "", {"scope": "within_benefit"}),
                   1.0)  # type: ignore[arg-type]
    # a wild point estimate on a wide interval does not fail; only the narrow 1.3 (1.05..1.6) does, barely
    barely = Member(5, None, 0.7, [_ratio(3.0, 0.9, 9.0), _ratio(1.3, 1.05, 1.6)],
                    GateResult("fairness", False, "", {"scope": "within_benefit"}), 1.0)  # type: ignore[arg-type]
    assert clear.excess() == pytest.approx(np.log(1.3)) and barely.excess() == pytest.approx(np.log(1.05))
    chosen, why = choose([clear, barely])
    assert chosen.weight == 5 and "least clearly" in why and "will refuse" in why


def test_the_deeper_cut_counts_in_how_clearly_a_member_fails():
    top = GroupRatio("born_abroad", "True", "False", "fpr", 1.8, 1.6, 2.0, 1.5, 2.1, 900, 0.02, 0.01, "top_share")
    member = Member(0, None, 0.8, [_ratio(1.0, 0.9, 1.1), top], GateResult("fairness", False, "", {}), 1.0)  # type: ignore[arg-type]
    assert member.excess() == pytest.approx(np.log(1.5)) and member.worst("top_share") is top


def test_choose_without_a_passing_member_says_it_will_be_refused():
    chosen, why = choose([_member(0, 0.80, False, 1.9), _member(1, 0.70, False, 1.4), _member(3, 0.6, False, 0.6)])
    assert chosen.weight == 1 and "will refuse" in why


def test_proxy_screening_ranks_the_proxy_first_and_the_label_signal_near_nothing(data):
    from riskrank.fairness.proxies import proxy_report

    train = data[0]
    report = proxy_report(train, ["signal", "proxy", "noise"], "label", {"born_abroad": "False"})
    assert report.iloc[0]["input"] == "proxy" and report.iloc[0]["auc_within_label"] > 0.8
    # the signal predicts the label, not the group: within each label class it tells nothing about the group
    signal = report.set_index("input").loc["signal", "auc_within_label"]
    assert signal < 0.56
    assert len(report) == 3  # two groups: one row per input, not two


def test_proxy_screening_within_benefits_sets_apart_what_only_the_benefit_mix_tells():
    from riskrank.fairness.proxies import proxy_report

    # Pensioners (65+) are nearly all in one benefit, whose amounts are high: overall the amount "tells" the age
    # band, but within each benefit it tells nothing, so the report within benefits puts it near 0.5.
    rng = np.random.default_rng(5)
    n = 6000
    benefit = np.where(rng.random(n) < 0.5, "pension", "child")
    old = np.where(benefit == "pension", rng.random(n) < 0.9, rng.random(n) < 0.05)
    frame = pd.DataFrame({"benefit": benefit, "age_band": np.where(old, "65+", "30-44"),
                          "amount": np.where(benefit == "pension", 10.0, 1.0) + rng.normal(size=n),
                          "label": (rng.random(n) < 0.1).astype(int)})
    overall = proxy_report(frame, ["amount"], "label", {"age_band": None})
    within = proxy_report(frame, ["amount"], "label", {"age_band": None}, stratum="benefit")
    assert overall["auc_within_label"].max() > 0.85
    assert within["auc_within_label"].max() < 0.56
