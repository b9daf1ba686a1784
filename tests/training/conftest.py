"""Training test fixtures: a real MLflow sqlite store and operational store in a temp folder, per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskrank.settings import Settings, get_settings


@pytest.fixture
def mlflow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing MLflow (tracking, registry, artifacts) and the operational store into tmp_path."""
    import mlflow

    monkeypatch.setenv("RISKRANK_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("RISKRANK_MLFLOW_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setenv("RISKRANK_DATABASE_URL", f"sqlite:///{tmp_path}/riskrank.db")
    monkeypatch.setenv("RISKRANK_USER", "test-scientist")
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
    mlflow.set_tracking_uri(None)
