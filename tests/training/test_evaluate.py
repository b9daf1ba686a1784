"""Capacity metrics, random and oracle rates on a population small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskrank.training.dataset import SplitBounds
from riskrank.training.evaluate import (
    capacity_curve,
    capacity_metrics,
    channel_metrics,
    cuts,
    gate_ratios,
    investigation_metrics,
    random_rate,
    top_share_selection,
)
from riskrank.training.population import evaluation_dates, investigation_population


def _population() -> pd.DataFrame:
    # slot d|a: 4 cases, 2 in error; slot d|b: 4 cases, 1 in error. k = 2 in a, 1 in b.
    return pd.DataFrame({
        "slot": ["d|a"] * 4 + ["d|b"] * 4,
        "benefit": ["a"] * 4 + ["b"] * 4,
        "label": [1, 0, 1, 0, 0, 0, 1, 0],
        "risk_p": [0.9, 0.8, 0.1, 0.2, 0.5, 0.1, 0.2, 0.3],
        "value_sek": [100.0, 0, 50.0, 0, 0, 0, 70.0, 0],
    })


CAPACITY = {"d|a": 2, "d|b": 1}


def test_random_rate_weights_slot_base_rates_by_capacity():
    # (2 x 2/4 + 1 x 1/4) / 3 = 1.25 / 3
    assert random_rate(_population(), CAPACITY) == pytest.approx(1.25 / 3)


def _capacity_metrics(pop, scores, capacity=CAPACITY):
    return capacity_metrics(pop, cuts(pop, scores, capacity), capacity)


def test_capacity_metrics_by_hand():
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.1, 0.2, 0.9, 0.3])  # model picks both errors in a, the error in b
    metrics, per_benefit = _capacity_metrics(_population(), scores)
    assert metrics["cap_selected"] == 3
    assert metrics["cap_hit_rate"] == 1.0
    assert metrics["cap_value_sek"] == 220.0
    # oracle (risk_p): a -> 0.9 (hit), 0.8 (miss); b -> 0.5 (miss) = 1/3
    assert metrics["cap_oracle_hit_rate"] == pytest.approx(1 / 3)
    assert metrics["cap_oracle_ratio"] == pytest.approx(3.0)
    assert metrics["cap_lift"] == pytest.approx(1.0 / (1.25 / 3))
    assert per_benefit.set_index("benefit").loc["b", "random_rate"] == pytest.approx(0.25)


def test_the_model_against_each_channel_at_that_channels_capacity():
    # two dates of the same two benefits; FK-initiated chose 1 a month in a and in b (1 of 4 opened in error), random 1
    # in a (1 of 2 in error). The model's top 1 per slot: rows 0 (hit, notified) and 6 (hit, new find) on each date.
    one = _population().assign(new_find=[False, True, True, True, True, True, True, True])
    pop = pd.concat([one.assign(eval_date=pd.Timestamp(d), slot=[f"{d}|{b}" for b in one["benefit"]])
                     for d in ("2024-07-01", "2024-08-01")], ignore_index=True)
    scores = np.tile([0.9, 0.1, 0.8, 0.2, 0.1, 0.2, 0.9, 0.3], 2)
    channels = pd.DataFrame({"channel": ["fk_initiated", "fk_initiated", "random"], "benefit": ["a", "b", "a"],
                             "opened": [2, 2, 2], "in_error": [1, 0, 1], "per_month": [1, 1, 1]})
    metrics, table = channel_metrics(pop, scores, channels)
    fk = table.set_index("channel").loc["fk_initiated"]
    assert (fk["opened"], fk["model_selected"], fk["model_new_finds"]) == (4, 4, 2)
    assert (fk["agency_hit_rate"], fk["model_hit_rate"], fk["ratio"]) == (0.25, 1.0, 4.0)
    assert metrics["channel_fk_initiated_new_finds_vs_random"] == pytest.approx(1.0 / 0.5)
    random = table.set_index("channel").loc["random"]
    assert (random["model_selected"], random["model_hit_rate"], random["agency_hit_rate"]) == (2, 1.0, 0.5)
    assert np.isnan(random["model_new_find_hit_rate"])  # its one pick per date in a had a notification


def test_capacity_hit_rate_for_new_finds():
    # the model picks rows 0, 2 (a) and 6 (b); rows 0 and 6 had a recent notification, so row 2 is the only new find
    pop = _population().assign(new_find=[False, True, True, True, True, True, False, True])
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.1, 0.2, 0.9, 0.3])
    metrics, _ = _capacity_metrics(pop, scores)
    assert metrics["cap_new_find_share"] == pytest.approx(1 / 3)
    assert metrics["cap_hit_rate_new_finds"] == 1.0
    pop["label"] = [1, 0, 0, 0, 0, 0, 1, 0]
    metrics, _ = _capacity_metrics(pop, scores)
    assert metrics["cap_hit_rate"] == pytest.approx(2 / 3) and metrics["cap_hit_rate_new_finds"] == 0.0


def test_top_share_ranks_all_benefits_together_on_each_date():
    # 200 rows on each of two dates; the top 1 % is 2 rows per date, whatever their benefit
    rng = np.random.default_rng(0)
    pop = pd.DataFrame({"eval_date": np.repeat(["2024-05-01", "2024-06-01"], 200),
                        "benefit": rng.choice(["a", "b"], 400), "label": 0})
    scores = rng.random(400)
    chosen = top_share_selection(pop, scores)
    for day in ("2024-05-01", "2024-06-01"):
        on_day = (pop["eval_date"] == day).to_numpy()
        assert chosen[on_day].sum() == 2
        assert scores[chosen & on_day].min() > scores[~chosen & on_day].max()
    pop.loc[chosen, "label"] = 1
    metrics, _ = _capacity_metrics(pop.assign(slot="d|a"), scores, {"d|a": 4})
    assert metrics["top_share_hit_rate"] == 1.0


def test_without_evaluation_dates_there_is_no_top_share():
    assert top_share_selection(_population(), np.linspace(1, 0, 8)) is None
    assert "top_share_hit_rate" not in _capacity_metrics(_population(), np.linspace(1, 0, 8))[0]


def test_the_gate_reads_the_capacity_selection_and_the_top_share_for_sex_and_born_abroad():
    rng = np.random.default_rng(3)
    n = 4000
    pop = pd.DataFrame({"eval_date": np.repeat(["2024-05-01", "2024-06-01"], n // 2),
                        "benefit": rng.choice(["a", "b"], n), "sex": rng.choice(["F", "M"], n),
                        "born_abroad": rng.random(n) < 0.2, "age_band": rng.choice(["30-44", "45-64"], n),
                        "label": (rng.random(n) < 0.1).astype(int), "case_key": np.arange(n) % (n // 2)})
    pop["slot"] = pop["eval_date"] + "|" + pop["benefit"]
    scores = rng.random(n) + 0.005 * pop["born_abroad"]  # the top favours born abroad, whatever the label
    capacity = {f"{d}|{b}": 20 for d in ("2024-05-01", "2024-06-01") for b in "ab"}
    ratios = gate_ratios(pop, cuts(pop, scores.to_numpy(), capacity), n_boot=200)
    top = [r for r in ratios if r.scope == "top_share"]
    assert {r.attribute for r in top} == {"sex", "born_abroad"} and {r.metric for r in top} == {"selection_rate", "fpr",
                                                                                                 "precision"}
    chosen = top_share_selection(pop, scores.to_numpy())
    ba = pop["born_abroad"].to_numpy()
    rate = next(r for r in top if r.attribute == "born_abroad" and r.metric == "selection_rate")
    assert rate.ratio == pytest.approx(chosen[ba].mean() / chosen[~ba].mean()) and rate.ratio > 1.5
    assert {r.scope for r in ratios} == {"overall", "within_benefit", "top_share"}
    # without evaluation dates (the fallback population) only the capacity selection is judged
    fallback = pop.drop(columns="eval_date")
    assert {r.scope for r in gate_ratios(fallback, cuts(fallback, scores.to_numpy(), capacity), n_boot=50)} == {
        "overall", "within_benefit"}


def test_capacity_curve_grows_the_selection():
    curve = capacity_curve(_population(), np.linspace(1, 0, 8), CAPACITY, multipliers=(1.0, 2.0))
    assert curve["selected"].tolist() == [3, 6]


def test_investigation_metrics_split_random_sample():
    test = pd.DataFrame({"label": [1, 0, 1, 0, 1], "selection": ["impulse", "impulse", "random", "random", "fk_initiated"]})
    metrics = investigation_metrics(test.iloc[:4], np.array([0.9, 0.1, 0.2, 0.8]))
    # positives 0.9, 0.2 vs negatives 0.1, 0.8: 0.9 beats both, 0.2 beats 0.1 only -> 3/4
    assert metrics["test_auc"] == pytest.approx(0.75)
    assert metrics["test_auc_random"] == 0.0
    assert metrics["random_sample_hit_rate"] == 0.5
    assert metrics["test_n_random"] == 2
    # the agency's own selections of the same months, next to which the model is read
    assert metrics["test_hit_rate_impulse"] == 0.5
    assert np.isnan(metrics["test_hit_rate_fk_initiated"])
    metrics = investigation_metrics(test, np.array([0.9, 0.1, 0.2, 0.8, 0.5]))
    assert metrics["test_hit_rate_fk_initiated"] == 1.0 and metrics["test_n_fk_initiated"] == 1


def test_fallback_population_takes_half_of_each_benefits_investigations():
    test = pd.DataFrame({"benefit": ["a", "a", "a", "b"], "label": [1, 0, 0, 1]})
    pop, capacity = investigation_population(test)
    assert capacity == {"a": 2, "b": 1}
    assert (pop["slot"] == pop["benefit"]).all()


def test_evaluation_dates_spread_over_the_test_months():
    bounds = SplitBounds(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01"), pd.Timestamp("2024-12-20"))
    assert evaluation_dates(bounds, 3) == [pd.Timestamp("2024-07-01"), pd.Timestamp("2024-09-01"), pd.Timestamp("2024-12-01")]
    assert evaluation_dates(bounds, 1) == [pd.Timestamp("2024-07-01")]
