"""End to end on the tiny world: a model from the real training code, features from the real FeatureStore,
served by a real uvicorn server. Checks what serving promises on a real model: SHAP equality, the sum
identity, percentiles among the benefit's active cases, worklists and outcomes taking sex from the store."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskrank.settings import Settings
from tests.serving.conftest import LiveServer, add_role_users


@pytest.fixture(scope="module")
def trained(tiny_world, tiny_world_dir, tmp_path_factory):
    """Train and register on the tiny world, make it champion, and fill the feature store as of the world's end."""
    from mlflow import MlflowClient

    from riskrank.db import get_engine
    from riskrank.features.pipeline import features_as_of
    from riskrank.features.store import FeatureStore
    from riskrank.training.dataset import SplitConfig
    from riskrank.training.pipeline import TrainOptions, run_training

    root = tmp_path_factory.mktemp("real-pipeline")
    settings = Settings(
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}", mlflow_artifact_root=str(root / "artifacts"),
        database_url=f"sqlite:///{root / 'ops.db'}", pseudonym_key="test-key", model_poll_seconds=0,
    )
    outcome = run_training(
        tiny_world_dir, TrainOptions(split=SplitConfig(test_months=6, valid_months=6), n_eval_dates=1, n_boot=10), settings
    )
    MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_tracking_uri).set_registered_model_alias(
        settings.model_name, "champion", str(outcome.version)
    )
    as_of = pd.Timestamp("2024-12-01")
    frame = features_as_of(tiny_world, as_of)
    FeatureStore(get_engine(settings.database_url)).write(frame, as_of)
    return settings, outcome.version, frame


@pytest.fixture
def real_live(trained, serve_app) -> LiveServer:
    from riskrank.serving.app import create_app

    settings, _, _ = trained
    tokens = add_role_users(settings)
    app = create_app(settings, worklist_seed=3)  # the default feature source: the real FeatureStore
    return LiveServer(serve_app(app), settings, app, tokens)


@pytest.mark.slow
def test_real_model_and_store_over_http(trained, real_live: LiveServer) -> None:
    import shap

    _, version, frame = trained
    model = real_live.app.state.holder.current.model
    assert model.version == version
    sample = frame.sample(6, random_state=0)
    with real_live.client() as client:
        bodies = [client.get(f"/v1/cases/{int(c)}/score", params={"top": 4}).json() for c in sample["case_id"]]
        worklist = client.post("/v1/worklists", json={"benefit": "all", "k": 40, "objective": "expected_sek"})
    expected = np.asarray(shap.TreeExplainer(model.booster).shap_values(model.prepare(sample)))
    scores = model.predict(frame)
    for i, body in enumerate(bodies):
        got = np.array([body["contributions"][n] for n in model.feature_names])
        assert np.allclose(got, expected[i], rtol=0, atol=1e-6)
        assert body["base_value"] + got.sum() == pytest.approx(math.log(body["score"] / (1 - body["score"])), abs=1e-6)
        same = scores[(frame["benefit"].astype(str) == body["benefit"]).to_numpy()]
        assert body["percentile"] == pytest.approx(100.0 * np.mean(same <= body["score"]))
        assert all(r["description"] != r["feature"] for r in body["reasons"])  # described by the registry
    assert worklist.status_code == 201, worklist.text
    items = worklist.json()["items"]
    assert len(items) == 40
    case_id = items[0]["case_id"]
    with real_live.client() as client:
        recorded = client.post("/v1/outcomes", json={
            "investigation_id": "real-1", "case_id": case_id, "opened_date": "2024-12-02", "closed_date": "2024-12-20",
            "action": False, "police_report": False,
        })
    assert recorded.status_code == 201, recorded.text
    import sqlalchemy as sa

    from riskrank.db import outcomes

    with real_live.engine.connect() as conn:
        stored = conn.execute(sa.select(outcomes)).mappings().one()
    assert stored["sex"] == str(frame.loc[frame["case_id"] == case_id, "sex"].iloc[0])
    assert stored["selection"] in ("model", "random") and stored["model_version"] == str(version)
