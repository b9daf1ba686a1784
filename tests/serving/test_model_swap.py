"""The model holder: an alias move is picked up under load with no failed request; a broken version never serves."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

from tests.fixtures.models import ModelRegistry
from tests.serving.conftest import start_live

CASES = list(range(1000, 1040))


def test_alias_swap_under_load(tmp_path, model_registry: ModelRegistry, serve_app) -> None:
    live = start_live(tmp_path, model_registry, serve_app)
    stop = threading.Event()
    seen: list[list[tuple[int, int, float]]] = [[] for _ in range(4)]
    failures: list[str] = []

    def hammer(slot: int) -> None:
        with live.client() as client:
            i = slot
            while not stop.is_set():
                case_id = CASES[i % len(CASES)]
                try:
                    response = client.get(f"/v1/cases/{case_id}/score")
                except Exception as exc:  # a dropped connection counts as a failed request
                    failures.append(repr(exc))
                    continue
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    continue
                body = response.json()
                seen[slot].append((body["model"]["version"], case_id, body["score"]))
                i += 4

    threads = [threading.Thread(target=hammer, args=(slot,)) for slot in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        new_version = model_registry.register_version(seed=1, alias="champion")
        deadline = time.monotonic() + 60
        while not all(s and s[-1][0] == new_version for s in seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)

    assert failures == []
    for per_thread in seen:
        versions = [v for v, _, _ in per_thread]
        assert versions[0] == 1 and versions[-1] == new_version
        # Each client switches once and never goes back: the swap is a single reference change.
        assert versions == sorted(versions)
    new_model = live.app.state.holder.current.model
    assert new_model.version == new_version
    frame = model_registry.frame.set_index("case_id")
    for version, case_id, score in (entry for s in seen for entry in s[-3:]):
        assert version == new_version
        assert score == pytest.approx(float(new_model.predict(frame.loc[[case_id]].reset_index())[0]), abs=1e-12)
    old_scores = np.array([s for v, _, s in seen[0] if v == 1])
    assert len(old_scores) > 0


def test_broken_version_keeps_the_old_one_serving(tmp_path, model_registry: ModelRegistry, serve_app, caplog) -> None:
    live = start_live(tmp_path, model_registry, serve_app)

    def drop_feature_names(meta: dict) -> dict:
        return {k: v for k, v in meta.items() if k != "feature_names"}

    with caplog.at_level(logging.ERROR, logger="riskrank.serving.holder"):
        broken = model_registry.register_version(seed=2, alias="champion", meta_override=drop_feature_names)
        with live.client(role=None) as client:
            deadline = time.monotonic() + 60
            ready = client.get("/ready").json()
            while ready["failed_version"] is None and time.monotonic() < deadline:
                time.sleep(0.1)
                ready = client.get("/ready").json()
    assert ready["ready"] is True and ready["model_version"] == 1
    # /ready names what failed without the raw exception text; data scientists see the error in /v1/model.
    assert ready["failed_version"]["version"] == broken and "error" not in ready["failed_version"]
    assert f"model version {broken} could not be loaded" in ready["failed_version"]["reason"]
    assert f"version {broken} failed to load" in ready["warning"]
    assert any(f"could not load model version {broken}" in r.getMessage() for r in caplog.records)
    with live.client() as client:
        assert client.get("/v1/cases/1000/score").json()["model"]["version"] == 1
    with live.client("data_scientist") as client:
        info = client.get("/v1/model").json()
        assert info["version"] == 1 and info["failed_version"]["version"] == broken
        assert "feature_names" in info["failed_version"]["error"]
        # Moving the alias back to a good version clears the warning.
        model_registry.set_alias(1)
        status = client.post("/v1/model/reload").json()
    assert status["model_version"] == 1 and status["failed_version"] is None


def test_newer_features_are_picked_up(tmp_path, shared_model_registry: ModelRegistry, serve_app) -> None:
    """Writing a later as-of date to the feature store moves the snapshot: scores follow the new features."""
    import pandas as pd

    from tests.serving.conftest import fill_feature_store

    live = start_live(tmp_path, shared_model_registry, serve_app)
    with live.client() as client:
        before = client.get("/v1/cases/1000/score").json()
        later = live.frame.copy()
        later["as_of"] = pd.Timestamp("2024-07-31")
        later.loc[later["case_id"] == 1000, ["address_changes_12m", "emigration_registered"]] = [5, True]
        fill_feature_store(live.settings, later)
        deadline = time.monotonic() + 30
        after = client.get("/v1/cases/1000/score").json()
        while after["features_as_of"] != "2024-07-31" and time.monotonic() < deadline:
            time.sleep(0.1)
            after = client.get("/v1/cases/1000/score").json()
    assert before["features_as_of"] == "2024-06-30" and after["features_as_of"] == "2024-07-31"
    expected = live.app.state.holder.current.model.predict(later[later["case_id"] == 1000])[0]
    assert after["score"] == pytest.approx(float(expected), abs=1e-12) and after["score"] != before["score"]


def test_no_model_store_means_not_ready(tmp_path, serve_app) -> None:
    from riskrank.serving.app import create_app
    from riskrank.settings import Settings

    missing = tmp_path / "nowhere" / "mlflow.db"
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ops.db'}", mlflow_tracking_uri=f"sqlite:///{missing}",
                        model_poll_seconds=0)
    url = serve_app(create_app(settings))
    import httpx

    ready = httpx.get(f"{url}/ready", timeout=10)
    assert ready.status_code == 503
    body = ready.json()
    assert body["model_loaded"] is False and body["ready"] is False
    assert body["reasons"] == ["no model is loaded: the model registry could not be reached, or it has no champion alias"]
    assert "no MLflow store" not in ready.text and str(missing) not in ready.text  # no raw exception text
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    assert not missing.exists()
