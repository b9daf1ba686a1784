"""`mlflow models serve` of the champion gives a case the probability that GET /v1/cases/{id}/score gives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.fixtures.models import FIXTURE_FEATURES
from tests.serving.conftest import LiveServer, free_port


@pytest.fixture
def mlflow_server(live: LiveServer, tmp_path: Path):
    port = free_port()
    # mlflow runs `uvicorn` from PATH: the one of this environment.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": live.settings.mlflow_tracking_uri}
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{live.settings.model_name}@champion",
               "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    log = (tmp_path / "mlflow-serve.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow models serve exited: {(tmp_path / 'mlflow-serve.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow models serve did not answer /ping within 120 s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_mlflow_serve_answers_the_same_probability(live: LiveServer, mlflow_server: str) -> None:
    frame = live.frame
    assert frame is not None
    cases = frame.iloc[[0, 1, int(np.flatnonzero(frame["declared_to_application_income"].isna())[0])]]
    inputs = cases[list(FIXTURE_FEATURES)].astype({"benefit": "object", "emigration_registered": "bool"})
    # As an outside client sends it: JSON, categoricals as strings, missing values as null.
    body = {"dataframe_split": json.loads(inputs.to_json(orient="split", index=False))}
    answer = httpx.post(f"{mlflow_server}/invocations", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    from_mlflow = answer.json()["predictions"]
    with live.client() as client:
        from_riskrank = [client.get(f"/v1/cases/{int(c)}/score").json()["score"] for c in cases["case_id"]]
    np.testing.assert_allclose(from_mlflow, from_riskrank, rtol=1e-12, atol=0)
