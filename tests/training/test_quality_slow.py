"""Quality and fairness-gate tests on worlds of --scale 0.05 (slow: each trains on ~4,000 investigations and
ranks ~180,000 active cases per evaluation date)."""

from __future__ import annotations

import pytest

from riskrank.model.registry import promotion_history
from riskrank.promotion.gates import PromotionRefused
from riskrank.promotion.promote import promote
from riskrank.training.pipeline import TrainOptions, run_training

pytestmark = pytest.mark.slow


def test_model_beats_random_also_on_new_finds(small_world_dir, mlflow_env):
    out = run_training(small_world_dir, TrainOptions(n_eval_dates=1))
    m = out.metrics
    # Same label for both: the truth table says the case is in error on the evaluation date. In an honest
    # world (notifications before investigations, errors that end, no re-finding) a model trained on outcomes
    # stays well below the oracle, but beats a random pick, also among cases no notification pointed at.
    assert m["cap_selected"] >= 100
    assert m["cap_hit_rate"] >= 2 * m["cap_random_rate"], m
    assert m["cap_hit_rate_new_finds"] >= 1.5 * m["cap_random_rate"], m
    assert 0 < m["cap_new_find_share"] < 1
    # On the closed test investigations the ranking is informative as well.
    assert m["test_auc"] > 0.6


def test_model_fed_born_abroad_is_refused_in_a_world_that_makes_it_unfair(tmp_path, mlflow_env):
    from riskrank.simulation import SimConfig, generate
    from riskrank.world import write_world

    world_dir = tmp_path / "unfair_world"
    write_world(generate(0.05, 11, SimConfig(born_abroad_error_ratio=2.5)), world_dir)
    out = run_training(world_dir, TrainOptions(extra_inputs=("born_abroad",), n_eval_dates=1, fairness="off"))
    assert "born_abroad" in out.meta["feature_names"]
    with pytest.raises(PromotionRefused) as refused:
        promote(out.version)
    fairness = next(g for g in refused.value.results if g.name == "fairness")
    assert not fairness.passed
    failing_keys = [k for k in fairness.numbers if k.startswith("fair_born_abroad_True")]
    assert failing_keys, fairness.detail
    assert any(fairness.numbers[k] > 1.25 for k in failing_keys)
    assert "born_abroad=True" in str(refused.value)
    assert promotion_history()["to_alias"].tolist() == ["challenger"]  # the refusal moved nothing


def test_without_proxies_born_abroad_passes_the_fairness_gate(tmp_path, mlflow_env):
    """The counterpart of the refusals: with the world's proxies switched off, no born_abroad ratio of the
    unconstrained model (--fairness off, as in the refusal below) fails, on the same six evaluation dates that
    catch the proxies in the default world. (On issue 9's final generator
    sex and age band fail there too, for the unconstrained model as well: F FPR 1.27, precision 0.59; see
    bench/RESULTS.md.)"""
    from riskrank.simulation import SimConfig, generate
    from riskrank.world import write_world

    world_dir = tmp_path / "fair_world"
    write_world(generate(0.05, 11, SimConfig(proxy_strength=0.0)), world_dir)
    out = run_training(world_dir, TrainOptions(n_eval_dates=6, fairness="off"))
    try:
        result = promote(out.version)
        gates = result.gates
    except PromotionRefused as refused:
        gates = refused.results
    fairness = next(g for g in gates if g.name == "fairness")
    assert fairness.numbers["judged"] >= 5  # enough ratios had the support to be judged
    failing = [k for k in fairness.numbers if k.startswith("fair_")]
    assert not [k for k in failing if k.startswith("fair_born_abroad_")], fairness.detail


def test_proxy_discrimination_is_refused_even_without_sensitive_inputs(small_world_dir, mlflow_env):
    """The default world's error rates do not depend on sex or born_abroad, but its innocent traces and tips do
    (proxies): a model that never sees either still flags innocent people of those groups more often, and the
    gate must catch that, as the published audits of welfare risk models did. (The unconstrained model:
    --fairness off. Which of the two groups it fails on depends on the inputs: with person-level notification
    counts only it was born abroad on this world; with the case's own counts beside them it is women, FPR ratio
    1.53 within benefits.)"""
    out = run_training(small_world_dir, TrainOptions(n_eval_dates=6, fairness="off"))
    assert not any(name in out.meta["feature_names"] for name in ("sex", "born_abroad", "age_band"))
    with pytest.raises(PromotionRefused) as refused:
        promote(out.version)
    fairness = next(g for g in refused.value.results if g.name == "fairness")
    proxied = ("fair_born_abroad_True", "fair_sex_F")
    assert any(k.startswith(proxied) and fairness.numbers[k] > 1.25 for k in fairness.numbers), fairness.detail


def test_default_model_is_judged_by_the_sweep_exactly_as_promote_judges_it(small_world_dir, mlflow_env):
    """The default `riskrank train` fits the family of penalty weights and judges each member as `riskrank
    promote` will: the chosen member passes promote without force exactly when the sweep says it passes the
    gate. (Whether any member passes is the benchmark's question, bench/RESULTS.md: on this world none did.)"""
    out = run_training(small_world_dir, TrainOptions(n_eval_dates=6))
    assert not any(name in out.meta["feature_names"] for name in ("sex", "born_abroad", "age_band"))
    assert out.fairness is not None and len(out.fairness.trade_off) > 1
    table = out.fairness.trade_off
    row = table.set_index("weight").loc[out.fairness.weight]
    # the registered member is the run's (same top-1 % hit rate), and the most accurate at capacity of the passing
    # members (the gate judges the top 1 % as well)
    assert row["top_share_hit_rate"] == pytest.approx(out.metrics["top_share_hit_rate"])
    passing = table[table["passes_fairness_gate"]]
    if len(passing):
        assert row["cap_hit_rate"] == passing["cap_hit_rate"].max()
    if row["passes_fairness_gate"]:
        result = promote(out.version)
        assert not result.forced and all(g.passed for g in result.gates)
    else:
        assert not out.fairness.trade_off["passes_fairness_gate"].any()  # the chosen one passes if any does
        assert "will refuse" in out.fairness.reason
        with pytest.raises(PromotionRefused):
            promote(out.version)
