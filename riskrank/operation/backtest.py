"""`riskrank backtest`: replay the champion's worklists on months it never saw, scored against the world's truth.

The operational period of riskrank/operation/operate.py runs into a throw-away operational store (a temporary SQLite
file, so the real outcomes table is never touched); the managers' indicators are computed from what it
recorded, and logged to the champion's MLflow run as `backtest_*` metrics plus `backtest/<from>_<to>.json`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from riskrank.errors import UserError

RANDOM_SHARE_HELP = "Share of each worklist drawn at random (default: the service's RISKRANK_RANDOM_SHARE)."


@dataclass(frozen=True)
class BacktestResult:
    version: int
    run_id: str
    start: str
    end: str
    summary: dict[str, Any]

    def metrics(self) -> dict[str, float]:
        """Flat numeric metrics for MLflow (None left out)."""
        out = {}
        for key, value in self.summary.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
                out[f"backtest_{key}"] = float(value)
        return out


def summarise(frame: pd.DataFrame, operation) -> dict[str, Any]:
    """Hit rates of model and random-sample worklist cases, lift with its interval, fairness ratios by sex."""
    from riskrank.monitoring.kpis import fairness_by_sex, lift

    result = lift(frame)
    summary: dict[str, Any] = {
        "worklists": operation.worklists, "handed_out": operation.handed_out, "closed": operation.recorded,
        "still_open": operation.still_open, "model_closed": result["model_closed"],
        "model_hit_rate": result["model_hit_rate"], "random_closed": result["random_closed"],
        "random_hit_rate": result["random_hit_rate"], "lift": result["lift"], "lift_low": result["low"],
        "lift_high": result["high"],
        "detected_sek_model": float(frame.loc[frame["selection"] == "model", "detected_sek"].sum()),
    }
    for row in fairness_by_sex(frame):
        if row["suppressed"]:
            continue
        summary[f"parity_{row['sex']}"] = row["parity"]
        if not row["reference"]:
            summary[f"precision_ratio_{row['sex']}"] = row["precision_ratio"]
    return summary


def _parse_dates(start: str, end: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    from riskrank.features.commands import parse_date

    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if first > last:
        raise UserError(f"--from ({first.date()}) is after --to ({last.date()})")
    return first, last


def _dates(first: pd.Timestamp, last: pd.Timestamp, world_meta: dict, trained_until: str | None) -> None:
    world_end = pd.Timestamp(world_meta.get("end_date", last))
    if last > world_end:
        raise UserError(f"--to ({last.date()}) is after the world's last day ({world_end.date()})")
    if trained_until is not None and first <= pd.Timestamp(trained_until):
        raise UserError(f"the model saw investigations opened up to {trained_until}; a backtest starts after that "
                        f"(--from {first.date()} is too early)")


def run_backtest(world_dir: Path, start: str, end: str, random_share: float | None = None, seed: int = 0,
                 progress=None) -> BacktestResult:
    import mlflow

    from riskrank import jsonsafe
    from riskrank.db import get_engine
    from riskrank.model import registry
    from riskrank.model.registry import CHAMPION, load_model
    from riskrank.monitoring.sources import outcomes_from_db
    from riskrank.operation.operate import OperationConfig, operate
    from riskrank.settings import get_settings
    from riskrank.world import is_world, read_world

    settings = get_settings()
    share = settings.random_share if random_share is None else random_share
    if not 0.0 <= share <= 1.0:
        raise UserError(f"--random-share must be between 0 and 1, got {share}")
    first, last = _parse_dates(start, end)  # before the registry is touched: a bad date changes nothing
    if not is_world(world_dir):
        raise UserError(f"{world_dir} is not a world folder (expected cases.parquet and world.json)")
    if not registry.store_exists(settings.mlflow_tracking_uri):
        raise UserError(f"no MLflow store at {settings.mlflow_tracking_uri}: train and promote a model first")
    model = load_model(alias=CHAMPION)
    client = registry.client(settings)
    run_id = client.get_model_version(settings.model_name, str(model.version)).run_id
    trained_until = client.get_run(run_id).data.params.get("split_last_opened") if run_id else None
    world = read_world(world_dir)
    _dates(first, last, world.meta or {}, trained_until)
    if world.truth is None:
        raise UserError(f"{world_dir} has no truth table: a backtest scores worklists against the truth")
    with tempfile.TemporaryDirectory(prefix="riskrank-backtest-") as tmp:
        engine = get_engine(f"sqlite:///{Path(tmp) / 'backtest.db'}")
        operation = operate(world, model, engine, OperationConfig(first, last, random_share=share, seed=seed),
                            settings.pseudonym_key, progress=progress)
        summary = summarise(outcomes_from_db(engine), operation)
        engine.dispose()
    result = BacktestResult(int(model.version or 0), run_id or "", str(first.date()), str(last.date()), summary)
    if run_id:
        mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
        with mlflow.start_run(run_id=run_id):
            mlflow.log_metrics(result.metrics())
            mlflow.log_text(jsonsafe.dumps({"from": result.start, "to": result.end, "random_share": share, **summary},
                                           indent=1), f"backtest/{result.start}_{result.end}.json")
    return result
