"""`riskrank learnability`: a plain LightGBM learns one world's truth and ranks another world it never saw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from riskrank.simulation import generate
from riskrank.training.learnability import top_hit_rate
from riskrank.world import write_world

RISKRANK = Path(sys.executable).with_name("riskrank")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(RISKRANK), "learnability", *args], capture_output=True, text=True, timeout=300,
                          env=None if env is None else os.environ | env)


def test_top_hit_rate_by_hand() -> None:
    labels = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    scores = np.linspace(1, 0, 10)
    assert top_hit_rate(labels, scores, 0.2) == 0.5
    assert top_hit_rate(labels, scores, 0.01) == 1.0  # at least one case
    assert top_hit_rate(labels, scores, 1.0) == pytest.approx(0.3)


@pytest.fixture(scope="module")
def two_worlds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folders = []
    for seed in (7, 8):
        folder = tmp_path_factory.mktemp(f"world{seed}")
        write_world(generate(0.003, seed), folder)
        folders.append(folder)
    return folders[0], folders[1]


def test_learnability_ranks_another_world_better_than_chance(two_worlds) -> None:
    train, other = two_worlds
    result = run("--world", str(train), "--other-world", str(other))
    assert result.returncode == 0, result.stderr
    figures = json.loads((other / "learnability.json").read_text())
    assert figures["test_rows"] > 1000 and 0 < figures["base_rate"] < 0.2
    assert figures["roc_auc"] > 0.6
    assert figures["top_1_pct_hit_rate"] > 2 * figures["base_rate"]
    assert "top 1% hit rate" in (other / "learnability.md").read_text()


def test_learnability_refuses_the_same_world_or_seed(two_worlds, tmp_path) -> None:
    train, _ = two_worlds
    same = run("--world", str(train), "--other-world", str(train))
    assert same.returncode == 2 and "another world" in same.stderr and "Traceback" not in same.stderr
    twin = tmp_path / "twin"
    write_world(generate(0.003, 7), twin)
    seed = run("--world", str(train), "--other-world", str(twin))
    assert seed.returncode == 2 and "seed 7" in seed.stderr
    assert not (twin / "learnability.json").exists()
    missing = run("--world", str(train), "--other-world", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "nowhere" in missing.stderr and "Traceback" not in missing.stderr


def test_a_registered_model_ranks_the_same_cases_beside_the_bound(two_worlds, model_registry) -> None:
    train, other = two_worlds
    env = {"RISKRANK_MLFLOW_TRACKING_URI": model_registry.tracking_uri}
    result = run("--world", str(train), "--other-world", str(other), "--version", "1", env=env)
    assert result.returncode == 0, result.stderr
    figures = json.loads((other / "learnability.json").read_text())
    model = figures["model"]
    assert model["version"] == 1 and 0 <= model["top_1_pct_hit_rate"] <= 1
    assert model["share_of_bound_top_1_pct"] == pytest.approx(model["top_1_pct_hit_rate"] / figures["top_1_pct_hit_rate"])
    assert "model version 1" in (other / "learnability.md").read_text()
    missing = run("--world", str(train), "--other-world", str(other), "--version", "9", env=env)
    assert missing.returncode == 2 and "no version 9" in missing.stderr and "Traceback" not in missing.stderr
