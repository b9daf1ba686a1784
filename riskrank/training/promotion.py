"""Moving the `champion` alias: gates first, then the move, then the promotion log.

The gates re-score the challenger's evaluation population (logged with its run) with both the challenger and
the champion, so the two hit rates come from the same cases. If the champion cannot score that population
(its inputs are not all there, e.g. an older feature set), the hit rates logged with each version are compared
as independent proportions instead.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskrank.errors import UserError
from riskrank.settings import Settings, get_settings
from riskrank.training import promotion_log, tracking
from riskrank.training.dataset import LABEL
from riskrank.training.evaluate import selection
from riskrank.training.fairness import CLUSTER, selection_fairness
from riskrank.training.gates import GateResult, PromotionRefused, fairness_gate, independent_hit_rate_gate, paired_hit_rate_gate
from riskrank.training.train import prepare


@dataclass(frozen=True)
class LoadedVersion:
    version: int
    run_id: str
    booster: Any  # lightgbm.Booster
    meta: dict

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        X = prepare(frame, self.meta["feature_names"], self.meta.get("categories", {}))
        return np.asarray(self.booster.predict(X))

    def can_score(self, frame: pd.DataFrame) -> bool:
        return all(name in frame.columns for name in self.meta["feature_names"])


@dataclass(frozen=True)
class PromotionResult:
    version: int
    previous_version: int | None
    forced: bool
    gates: list[GateResult]
    log_id: int


def current_user() -> str:
    return os.environ.get("RISKRANK_USER") or getpass.getuser()


def load_version(client, model_name: str, version: int) -> LoadedVersion:
    import mlflow
    from mlflow.exceptions import MlflowException

    from riskrank.training.mlflow_model import load_uri

    try:
        mv = client.get_model_version(model_name, str(version))
    except MlflowException:
        raise UserError(f"model {model_name!r} has no version {version}") from None
    uri = f"models:/{model_name}/{version}"
    meta = mlflow.models.get_model_info(uri).metadata or {}
    if "feature_names" not in meta:
        raise UserError(f"version {version} of {model_name!r} carries no riskrank metadata; it was not logged by riskrank train")
    return LoadedVersion(int(version), mv.run_id, load_uri(uri).booster, meta)


def load_evaluation(tracking_uri: str, run_id: str) -> tuple[pd.DataFrame, dict[str, int]]:
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no progress bar in CLI output
    local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=tracking.EVALUATION_DIR,
                                                     tracking_uri=tracking_uri))
    population = pd.read_parquet(local / tracking.POPULATION_FILE)
    capacity = json.loads((local / tracking.CAPACITY_FILE).read_text())
    return population, capacity


def check_gates(challenger: LoadedVersion, champion: LoadedVersion | None, population: pd.DataFrame,
                capacity: dict[str, int], n_boot: int = 1000) -> list[GateResult]:
    chosen = selection(population, challenger.score(population), capacity)
    results = [fairness_gate(selection_fairness(population, chosen, LABEL))]
    if champion is None:
        return results
    if champion.can_score(population):
        champion_chosen = selection(population, champion.score(population), capacity)
        cases = population[CLUSTER].to_numpy() if CLUSTER in population.columns else None  # older runs: rows
        results.insert(0, paired_hit_rate_gate(population[LABEL].to_numpy(), chosen, champion_chosen, n_boot=n_boot,
                                               clusters=cases))
    else:
        a, b = challenger.meta.get("metrics", {}), champion.meta.get("metrics", {})
        if "cap_hit_rate" not in b or "cap_selected" not in b:
            raise UserError(f"champion version {champion.version} can neither score the evaluation population nor "
                            "carries a logged cap_hit_rate; compare by hand and use --force with a reason")
        results.insert(0, independent_hit_rate_gate(a["cap_hit_rate"], int(a["cap_selected"]), b["cap_hit_rate"],
                                                     int(b["cap_selected"])))
    return results


def promote(version: int, force: bool = False, reason: str | None = None, user: str | None = None,
            settings: Settings | None = None) -> PromotionResult:
    """Point `champion` at `version` if every gate passes (or `force` with a reason); log the move either way it happens."""
    settings = settings or get_settings()
    if force and not (reason and reason.strip()):
        raise UserError("--force needs a --reason saying why the gates are overridden")
    client = tracking.client(settings)
    name = settings.model_name
    challenger = load_version(client, name, version)
    previous = tracking.alias_version(client, name, tracking.CHAMPION)
    if previous == version:
        raise UserError(f"version {version} is already the {tracking.CHAMPION}")
    champion = load_version(client, name, previous) if previous is not None else None
    population, capacity = load_evaluation(settings.mlflow_tracking_uri, challenger.run_id)
    gates = check_gates(challenger, champion, population, capacity)
    if not all(g.passed for g in gates) and not force:
        raise PromotionRefused(version, gates)
    from_alias = tracking.CHALLENGER if tracking.alias_version(client, name, tracking.CHALLENGER) == version else None
    client.set_registered_model_alias(name, tracking.CHAMPION, str(version))
    engine = _engine(settings)
    log_id = promotion_log.record(engine, promotion_log.AliasMove(
        model_name=name, version=version, to_alias=tracking.CHAMPION, by=user or current_user(), from_alias=from_alias,
        previous_version=previous, reason=reason, forced=force,
        gates=[{"name": g.name, "passed": g.passed, "detail": g.detail} for g in gates],
        metrics=challenger.meta.get("metrics", {}),
    ))
    return PromotionResult(version, previous, force, gates, log_id)


def _engine(settings: Settings):
    from riskrank.db import get_engine

    return get_engine(settings.database_url)


def record_challenger(client, settings: Settings, version: int, run_id: str, metrics: dict[str, float],
                      user: str | None = None) -> None:
    """Point `challenger` at a freshly registered version and log the move."""
    name = settings.model_name
    previous = tracking.alias_version(client, name, tracking.CHALLENGER)
    client.set_registered_model_alias(name, tracking.CHALLENGER, str(version))
    promotion_log.record(_engine(settings), promotion_log.AliasMove(
        model_name=name, version=version, to_alias=tracking.CHALLENGER, by=user or current_user(),
        previous_version=previous, reason=f"new version from training run {run_id}", metrics=metrics,
    ))


def promotion_history(settings: Settings | None = None, limit: int | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    return promotion_log.read_log(_engine(settings), settings.model_name, limit)
