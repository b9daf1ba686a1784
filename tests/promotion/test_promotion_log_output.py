"""`riskrank promote --log`: strict JSON lines, and a table that survives a pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from riskrank.cli import app
from riskrank.db import get_engine
from riskrank.model.promotion_log import AliasMove, record

LONG_REASON = "first champion after the quarterly review of the sjukpenning gates, signed off by the controller on duty"


def _two_moves(settings) -> None:
    engine = get_engine(settings.database_url)
    # The first move has no previous version and a metric that could not be computed (NaN).
    record(engine, AliasMove(settings.model_name, 1, "challenger", by="anna", metrics={"test_auc": 0.7, "lift": float("nan")}))
    record(engine, AliasMove(settings.model_name, 1, "champion", by="anna", from_alias="challenger", reason=LONG_REASON,
                             gates=[{"name": "auc", "passed": True, "value": float("inf")}]))


def _strict(value: str) -> object:
    def refuse(constant: str) -> object:
        raise ValueError(f"not strict JSON: {constant}")
    return json.loads(value, parse_constant=refuse)


def test_promote_log_json_is_strict_json(mlflow_env) -> None:
    _two_moves(mlflow_env)
    result = CliRunner().invoke(app, ["promote", "--log", "--json"])
    assert result.exit_code == 0, result.output
    rows = [_strict(line) for line in result.output.splitlines()]
    assert [r["to_alias"] for r in rows] == ["champion", "challenger"]
    assert rows[1]["previous_version"] is None
    assert rows[1]["metrics"] == {"test_auc": 0.7, "lift": None}  # parsed, not JSON text inside JSON
    assert rows[0]["gates"] == [{"name": "auc", "passed": True, "value": None}]


def test_promote_log_in_a_pipe_keeps_whole_rows(mlflow_env, tmp_path: Path) -> None:
    _two_moves(mlflow_env)
    exe = Path(sys.executable).with_name("riskrank")
    proc = subprocess.run([str(exe), "promote", "--log"], capture_output=True, text=True, env=os.environ.copy(),
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["promoted_at", "promoted_by", "version"]
    champion = next(line for line in lines if "\tchampion\t" in line)
    assert LONG_REASON in champion  # whole, on one line
    assert all(len(line.split("\t")) == len(lines[0].split("\t")) for line in lines)
