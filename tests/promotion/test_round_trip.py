"""Train -> register -> promote on the tiny world against a real MLflow sqlite store in a temp folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskrank.errors import UserError
from riskrank.model import registry
from riskrank.model.flavour import load_uri
from riskrank.model.registry import load_model, promotion_history
from riskrank.model.scoring import prepare
from riskrank.promotion.gates import PromotionRefused
from riskrank.promotion.promote import promote
from riskrank.training.dataset import SplitConfig
from riskrank.training.pipeline import TrainOptions, run_training

FAST = TrainOptions(split=SplitConfig(test_months=6, valid_months=6), n_eval_dates=1, n_boot=30)
META_KEYS = {"feature_names", "categories", "feature_set_version", "trained_at", "train_data_hash", "metrics",
             "expected_value_sek_by_benefit", "calibration"}


def test_train_register_promote_round_trip(tiny_world_dir, mlflow_env):
    import mlflow
    import mlflow.lightgbm

    from riskrank.features.registry import FEATURE_SET_VERSION, MODEL_FEATURES, SENSITIVE

    first = run_training(tiny_world_dir, FAST)
    assert first.version == 1
    client = registry.client(mlflow_env)
    assert registry.alias_version(client, mlflow_env.model_name, "challenger") == 1
    assert registry.alias_version(client, mlflow_env.model_name, "champion") is None

    # META comes back from the registry exactly as logged, and the model follows the interface contract.
    meta = mlflow.models.get_model_info("models:/riskrank/1").metadata
    assert set(meta) == META_KEYS
    assert meta == json.loads(json.dumps(first.meta))
    assert meta["feature_names"] == list(MODEL_FEATURES)
    assert not set(SENSITIVE) & set(meta["feature_names"])
    assert meta["feature_set_version"] == FEATURE_SET_VERSION
    assert meta["train_data_hash"] == first.training_set.data_hash
    assert meta["categories"]["benefit"][0] == "barnbidrag"
    assert all(v >= 0 for v in meta["expected_value_sek_by_benefit"].values())

    # The registered Booster scores pandas categoricals like the one trained in memory.
    booster = load_uri("models:/riskrank/1").booster
    test = first.training_set.part("test")
    X = prepare(test, meta["feature_names"], meta["categories"])
    np.testing.assert_allclose(booster.predict(X), first.evaluation.test_scores, rtol=1e-9)
    # ...and so does serving's loader, which reads only META and the registry.
    from riskrank.model.scoring import logit

    served = load_model(version=1)
    np.testing.assert_allclose(served.predict_action(test), first.evaluation.test_scores, rtol=1e-9)
    # The shown score is the action probability calibrated on the random control sample (META["calibration"]).
    cal = meta["calibration"]
    expected = logit(first.evaluation.test_scores) * cal["a"] + cal["b"]
    np.testing.assert_allclose(logit(served.predict(test)), expected, rtol=1e-6, atol=1e-9)
    base, contrib = served.contributions(test)
    np.testing.assert_allclose(base + contrib.sum(axis=1), expected, rtol=1e-6, atol=1e-9)

    # The run carries params, metrics, tags, plots, tables, the model card and the evaluation population.
    run = client.get_run(first.run_id)
    assert run.data.tags["train_data_hash"] == first.training_set.data_hash
    assert run.data.params["num_threads"] == "2"
    assert run.data.metrics["cap_hit_rate"] == pytest.approx(first.metrics["cap_hit_rate"])
    artifacts = {a.path for a in client.list_artifacts(first.run_id)} | {
        a.path for folder in ("plots", "evaluation", "tables") for a in client.list_artifacts(first.run_id, folder)}
    for name in ("model_card.md", "plots/roc.png", "plots/pr.png", "plots/calibration.png", "plots/hit_rate_by_capacity.png",
                 "plots/shap_importance.png", "plots/shap_summary.png",
                 "evaluation/population.parquet", "evaluation/capacity.json", "tables/fairness.csv"):
        assert name in artifacts, name
    population = pd.read_parquet(mlflow.artifacts.download_artifacts(
        run_id=first.run_id, artifact_path="evaluation/population.parquet"))
    assert "case_id" not in population.columns and "person_id" not in population.columns  # no identifiers in artifacts
    assert {"slot", "label", "sex", "born_abroad", "age_band", *meta["feature_names"]} <= set(population.columns)
    assert population["case_key"].between(0, len(population) - 1).all()  # which rows are one case, not who
    card = mlflow.artifacts.load_text(f"runs:/{first.run_id}/model_card.md")
    assert "never a" in card and "decision" in card and first.training_set.data_hash in card
    assert card.startswith("# Model card: riskrank action model version 1")
    assert "`plots/shap_summary.png` (shap's summary of LightGBM's TreeSHAP values" in card

    # No champion yet: only the fairness gate applies, and it judges the model as training did.
    result = promote(1)
    assert [g.name for g in result.gates] == ["fairness"]
    chosen = first.fairness.trade_off.set_index("weight").loc[first.fairness.weight]
    assert bool(chosen["passes_fairness_gate"]) == result.gates[0].passed
    assert registry.alias_version(client, "riskrank", "champion") == 1

    # A second version is compared with the champion on the same evaluation population.
    second = run_training(tiny_world_dir, TrainOptions(split=FAST.split, n_eval_dates=1, n_boot=30,
                                                       params={"num_leaves": 4, "learning_rate": 0.2}))
    assert second.version == 2
    assert registry.alias_version(client, "riskrank", "challenger") == 2
    with pytest.raises(UserError, match="--reason"):
        promote(2, force=True, reason="  ")
    assert registry.alias_version(client, "riskrank", "champion") == 1  # refused input changed nothing

    try:
        outcome = promote(2)
        forced = False
    except PromotionRefused as refused:
        assert registry.alias_version(client, "riskrank", "champion") == 1
        assert any(not g.passed for g in refused.results)
        outcome = promote(2, force=True, reason="round-trip test overrides the gates")
        forced = True
    assert [g.name for g in outcome.gates] == ["hit_rate", "fairness"]
    assert outcome.previous_version == 1
    assert registry.alias_version(client, "riskrank", "champion") == 2

    log = promotion_history()
    moves = list(zip(log["version"], log["to_alias"], strict=True))[::-1]  # oldest first
    assert moves == [(1, "challenger"), (1, "champion"), (2, "challenger"), (2, "champion")]
    last = log.iloc[0]
    assert last["previous_version"] == 1 and last["from_alias"] == "challenger"
    assert bool(last["forced"]) == forced
    assert last["promoted_by"] == "test-scientist"
    assert json.loads(last["metrics"])["cap_hit_rate"] == pytest.approx(second.metrics["cap_hit_rate"])
    assert {g["name"] for g in json.loads(last["gates"])} == {"hit_rate", "fairness"}

    with pytest.raises(UserError, match="already the champion"):
        promote(2)
    with pytest.raises(UserError, match="no version 9"):
        promote(9)
