"""The train and promote commands: output, bad input, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskrank.cli import app
from riskrank.errors import UserError

runner = CliRunner()


def test_train_then_promote_then_log_through_the_cli(tiny_world_dir, mlflow_env):
    result = runner.invoke(app, ["train", "--world", str(tiny_world_dir), "--eval-dates", "1"])
    assert result.exit_code == 0, result.output
    assert "run id:" in result.output
    assert "registered version 1 with alias challenger" in result.output
    assert "cap_hit_rate" in result.output and "cap_lift" in result.output

    result = runner.invoke(app, ["promote", "--version", "1"])
    if result.exit_code == 0:
        assert "version 1 is now champion (no champion before)" in result.output
        # The gate's whole detail is shown (tests/promotion/test_gate_output.py: its [...] lists included).
        rows = [json.loads(line) for line in runner.invoke(app, ["promote", "--log", "--json"]).output.splitlines()]
        fairness = next(g for g in rows[0]["gates"] if g["name"] == "fairness")
        assert " ".join(fairness["detail"].split()) in " ".join(result.output.split())
    else:  # a refusal is a UserError naming the failing gate
        assert isinstance(result.exception, UserError) and "fairness" in str(result.exception)
        result = runner.invoke(app, ["promote", "--version", "1", "--force", "--reason", "cli test"])
        assert result.exit_code == 0, result.output
        assert "FORCED" in result.output

    result = runner.invoke(app, ["promote", "--log", "--json"])
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["version"], r["to_alias"]) for r in rows] == [(1, "champion"), (1, "challenger")]


@pytest.mark.parametrize(("args", "message"), [
    (["promote"], "--version N"),
    (["promote", "--version", "4"], "no version 4"),
    (["promote", "--version", "1", "--force"], "--reason"),
])
def test_promote_bad_input(args, message, mlflow_env):
    from riskrank.model import registry

    registry.configure(mlflow_env)  # a store without that version (without a store: tests/test_cli_checks.py)
    result = runner.invoke(app, args)
    assert isinstance(result.exception, UserError)
    assert message in str(result.exception)


def test_train_rejects_unknown_sensitive_column_and_missing_world(tiny_world_dir, tmp_path, mlflow_env):
    result = runner.invoke(app, ["train", "--world", str(tiny_world_dir), "--with-sensitive", "religion"])
    assert isinstance(result.exception, UserError) and "religion" in str(result.exception)
    result = runner.invoke(app, ["train", "--world", str(tmp_path / "nowhere")])
    assert isinstance(result.exception, UserError) and "not a world folder" in str(result.exception)
    assert not (tmp_path / "artifacts").exists()  # nothing was logged


def test_excluded_inputs_are_left_out_of_the_model_and_recorded(tiny_world_dir, mlflow_env):
    import mlflow

    from riskrank.settings import get_settings

    proxies = ["mail_returned_12m", "address_changes_12m"]
    args = ["train", "--world", str(tiny_world_dir), "--eval-dates", "1"]
    result = runner.invoke(app, args + [arg for p in proxies for arg in ("--exclude", p)])
    assert result.exit_code == 0, result.output
    settings = get_settings()
    info = mlflow.models.get_model_info(f"models:/{settings.model_name}/1")
    assert not set(proxies) & set(info.metadata["feature_names"])
    assert "benefit" in info.metadata["feature_names"]
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    run = mlflow.get_run(info.run_id)
    assert run.data.params["excluded_inputs"] == ",".join(proxies)


def test_excluding_an_unknown_input_is_refused_before_any_work(tiny_world_dir, tmp_path, mlflow_env):
    result = runner.invoke(app, ["train", "--world", str(tiny_world_dir), "--exclude", "shoe_size"])
    assert isinstance(result.exception, UserError) and "--exclude 'shoe_size' is not a model input" in str(result.exception)
    result = runner.invoke(app, ["train", "--world", str(tiny_world_dir), "--exclude", "sex"])  # never an input anyway
    assert isinstance(result.exception, UserError) and "'sex'" in str(result.exception)
    assert not (tmp_path / "artifacts").exists()


def test_refusal_exits_non_zero_without_a_traceback(mlflow_env, tmp_path: Path):
    from riskrank.model import registry

    registry.configure(mlflow_env)  # a store without that version (without a store: tests/test_cli_checks.py)
    exe = Path(sys.executable).with_name("riskrank")
    proc = subprocess.run([str(exe), "promote", "--version", "3"], capture_output=True, text=True, env=os.environ.copy(),
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "no version 3" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_train_refuses_an_unknown_fairness_mode_before_any_work(tiny_world_dir, mlflow_env):
    result = runner.invoke(app, ["train", "--world", str(tiny_world_dir), "--fairness", "maybe"])
    assert result.exit_code == 2 and "'maybe' is not one of 'auto', 'off'" in " ".join(result.output.replace("│", " ").split())
    assert not Path(mlflow_env.mlflow_tracking_uri.removeprefix("sqlite:///")).exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--fairness-weight", "-1"], "--fairness-weight must be a number >= 0"),
    (["--fairness", "off", "--fairness-weight", "2"], "cannot be combined with --fairness off"),
])
def test_train_rejects_bad_fairness_flags_before_any_work(args, message, tiny_world_dir, mlflow_env):
    result = runner.invoke(app, ["train", "--world", str(tiny_world_dir), *args])
    assert isinstance(result.exception, UserError) and message in str(result.exception)


def test_fixed_fairness_weight_is_recorded_with_the_run(tiny_world_dir, mlflow_env):
    import mlflow

    result = runner.invoke(app, ["train", "--world", str(tiny_world_dir), "--eval-dates", "1", "--fairness-weight", "1",
                                 "--no-register"])
    assert result.exit_code == 0, result.output
    assert "fairness-aware training (fixed)" in result.output
    run = mlflow.get_run(result.output.split("run id:")[1].split()[0])
    assert run.data.params["fairness"] == "fixed" and float(run.data.params["fairness_weight"]) == 1.0
    assert run.data.metrics["fairness_weight"] == 1.0
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "fairness")}
    assert {"fairness/trade_off.csv", "fairness/trade_off.png", "fairness/proxies.csv"} <= artifacts


@pytest.mark.parametrize(("args", "message"), [
    (["--unlabelled-rows", "-5"], "--unlabelled-rows must be 0 or more"),
    (["--unlabelled-weight", "0"], "--unlabelled-weight must be a number above 0"),
    (["--unlabelled-weight", "nan"], "--unlabelled-weight must be a number above 0"),
])
def test_train_rejects_bad_unlabelled_options_before_any_work(args, message, tiny_world_dir, mlflow_env):
    result = runner.invoke(app, ["train", "--world", str(tiny_world_dir), *args])
    assert isinstance(result.exception, UserError) and message in str(result.exception)


def test_unlabelled_rows_and_weight_are_recorded_with_the_run(tiny_world_dir, mlflow_env):
    import mlflow

    result = runner.invoke(app, ["train", "--world", str(tiny_world_dir), "--eval-dates", "1", "--fairness", "off",
                                 "--unlabelled-rows", "6000", "--unlabelled-weight", "0.3", "--no-register"])
    assert result.exit_code == 0, result.output
    run = mlflow.get_run(result.output.split("run id:")[1].split()[0])
    assert int(run.data.params["unlabelled_rows"]) == 6000 and float(run.data.params["unlabelled_weight"]) == 0.3
    assert run.data.metrics["n_train_unlabelled"] == 6000
    assert 0 < run.data.metrics["n_train"] < 1000  # the closed investigations, counted apart
