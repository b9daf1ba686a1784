"""Every command checks its arguments before it acts: given an invalid one it prints one line, exits 2 and leaves
the working folder as it was (no database, MLflow store, world or file created)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RISKRANK = [sys.executable, "-c", "from riskrank.cli import main; main()"]
MISSING = "no-such-world"

INVALID: list[tuple[str, list[str], str]] = [
    ("scale-not-a-number", ["simulate", "--scale", "abc", "--out", "w"], "--scale"),
    ("scale-negative", ["simulate", "--scale", "-1", "--out", "w"], "--scale"),
    ("features-missing-world", ["features", "--world", MISSING, "--as-of", "2024-06-30", "--out", "f.parquet"], MISSING),
    ("features-unknown-engine", ["features", "--world", MISSING, "--as-of", "2024-06-30", "--out", "f.parquet",
                                 "--engine", "spark"], "--engine"),
    ("train-missing-world", ["train", "--world", MISSING], MISSING),
    ("train-unknown-fairness", ["train", "--world", MISSING, "--fairness", "maybe"], "--fairness"),
    ("promote-negative-version", ["promote", "--version", "-3"], "--version"),
    ("promote-without-a-registry", ["promote", "--version", "2"], "no MLflow store"),
    ("backtest-bad-date", ["backtest", "--world", MISSING, "--from", "2024-07-01", "--to", "yesterday"], "--to"),
    ("score-all-unknown-engine", ["score-all", "--world", MISSING, "--as-of", "2024-06-30", "--engine", "ray"], "--engine"),
    ("score-all-missing-world", ["score-all", "--world", MISSING, "--as-of", "2024-06-30"], MISSING),
    ("serve-bad-port", ["serve", "--port", "70000"], "--port"),
    ("rank-negative-k", ["rank", "--benefit", "bostadsbidrag", "--k", "-3"], "--k"),
    ("rank-unknown-benefit", ["rank", "--benefit", "pension", "--k", "5"], "--benefit"),
    ("rank-unknown-objective", ["rank", "--benefit", "bostadsbidrag", "--k", "5", "--objective", "money"], "--objective"),
    ("audit-missing-file", ["audit", "missing.csv", "--population", "10", "--group", "sex"], "missing.csv"),
    ("audit-unknown-missing-outcome", ["audit", "missing.csv", "--population", "10", "--group", "sex",
                                       "--missing-outcome", "ignore"], "--missing-outcome"),
    ("report-not-xlsx", ["report", "--out", "report.txt"], "--out"),
    ("report-unknown-language", ["report", "--out", "report.xlsx", "--lang", "de"], "--lang"),
    ("learnability-missing-world", ["learnability", "--world", MISSING, "--other-world", "another-world"], MISSING),
    ("users-unknown-role", ["users", "add", "bob", "--role", "boss"], "--role"),
    ("users-deactivate-without-a-store", ["users", "deactivate", "bob"], "no database"),
    ("audit-log-verify-without-a-store", ["audit-log", "verify"], "no database"),
    ("db-current-without-a-store", ["db", "current"], "no database"),
    ("demo-scale-not-a-number", ["demo", "--scale", "abc", "--no-serve"], "--scale"),
    ("unknown-command", ["retrain"], "retrain"),
]


def _env(folder: Path) -> dict[str, str]:
    """Every store at its default place inside `folder`, the working folder of the command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RISKRANK_", "MLFLOW_"))}
    return env | {"COLUMNS": "300", "RISKRANK_HOME": str(folder), "RISKRANK_DATABASE_URL": f"sqlite:///{folder}/riskrank.db",
                  "RISKRANK_MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlruns/mlflow.db",
                  "RISKRANK_MLFLOW_ARTIFACT_ROOT": str(folder / "mlruns" / "artifacts"),
                  "RISKRANK_PSEUDONYM_KEY": "tests-only-pseudonym-key"}


@pytest.mark.parametrize("args, mentions", [pytest.param(a, m, id=i) for i, a, m in INVALID])
def test_an_invalid_argument_is_one_line_exit_2_and_changes_nothing(tmp_path: Path, args: list[str], mentions: str) -> None:
    result = subprocess.run([*RISKRANK, *args], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert mentions in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "the command left files in the working folder"


def test_version() -> None:
    from importlib.metadata import version

    result = subprocess.run([*RISKRANK, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"riskrank {version('riskrank')}"
