"""The operational period and `riskrank backtest`: worklists past training, outcomes recorded as the service
records them, results logged to the model's MLflow run; bad input refused before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from riskrank.cli import app
from riskrank.errors import UserError
from riskrank.operation.operate import world_as_of
from riskrank.training.dataset import SplitConfig
from riskrank.training.pipeline import TrainOptions, run_training
from riskrank.world import REVEALED_BY_ACTION, validate_table, write_world

CUTOFF = pd.Timestamp("2024-06-30")
runner = CliRunner()


def test_world_as_of_knows_nothing_after_the_cutoff(tiny_world) -> None:
    known = world_as_of(tiny_world, CUTOFF)
    assert known.signals["date"].max() <= CUTOFF
    assert known.investigations["opened_date"].max() <= CUTOFF
    assert (known.investigations["closed_date"].dropna() <= CUTOFF).all()
    still_open = known.investigations["closed_date"].isna()
    for column in ("action", *REVEALED_BY_ACTION):  # what an investigation establishes is not known before it closes
        assert known.investigations.loc[still_open, column].isna().all(), column
    validate_table("investigations", known.investigations)  # the world contract holds for the world as known
    assert (known.cases["end_date"].dropna() <= CUTOFF).all() and (known.cases["start_date"] <= CUTOFF).all()
    assert (known.truth["error_start"].dropna() <= CUTOFF).all()


@pytest.mark.slow
def test_backtest_replays_worklists_and_logs_to_the_model_run(tiny_world, tmp_path, mlflow_env) -> None:
    import mlflow
    from mlflow import MlflowClient

    write_world(world_as_of(tiny_world, CUTOFF), tmp_path / "known")
    write_world(tiny_world, tmp_path / "world")
    options = TrainOptions(split=SplitConfig(test_months=6, valid_months=6), n_eval_dates=1, n_boot=30)
    outcome = run_training(tmp_path / "known", options, settings=mlflow_env)
    result = runner.invoke(app, ["promote", "--version", "1", "--force", "--reason", "backtest test"])
    assert result.exit_code == 0, result.output

    early = runner.invoke(app, ["backtest", "--world", str(tmp_path / "world"), "--from", "2024-05-01", "--to", "2024-12-31"])
    assert isinstance(early.exception, UserError) and "saw investigations opened up to" in str(early.exception)
    inverted = runner.invoke(app, ["backtest", "--world", str(tmp_path / "world"), "--from", "2024-12-01", "--to", "2024-08-01"])
    assert isinstance(inverted.exception, UserError) and "is after --to" in str(inverted.exception)

    done = runner.invoke(app, ["backtest", "--world", str(tmp_path / "world"), "--from", "2024-07-01", "--to", "2024-12-31",
                               "--random-share", "0.3"])
    assert done.exit_code == 0, done.output
    run = MlflowClient(tracking_uri=mlflow_env.mlflow_tracking_uri).get_run(outcome.run_id)
    metrics = run.data.metrics
    assert metrics["backtest_model_closed"] > 0 and metrics["backtest_random_closed"] > 0
    assert 0.0 <= metrics["backtest_model_hit_rate"] <= 1.0
    path = mlflow.artifacts.download_artifacts(run_id=outcome.run_id, artifact_path="backtest/2024-07-01_2024-12-31.json",
                                               tracking_uri=mlflow_env.mlflow_tracking_uri)
    summary = json.loads(Path(path).read_text())
    assert summary["random_share"] == 0.3 and summary["model_closed"] == metrics["backtest_model_closed"]
    # The replay wrote nothing to the operational store: its worklists and outcomes lived in a temporary one. (The
    # store itself exists, made whole by the migrations when train and promote wrote the promotion log.)
    engine = sa.create_engine(mlflow_env.database_url)
    with engine.connect() as conn:
        for table in ("outcomes", "worklists", "worklist_items", "audit_log"):
            assert conn.execute(sa.text(f"select count(*) from {table}")).scalar() == 0, table
