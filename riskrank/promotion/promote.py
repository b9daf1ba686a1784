"""Moving the `champion` alias: gates first, then the move, then the promotion log.

The gates re-score the challenger's evaluation population (logged with its run) with both the challenger and
the champion, so the two hit rates come from the same cases. If the champion cannot score that population
(its inputs are not all there, e.g. an older feature set), the hit rates logged with each version are compared
as independent proportions instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskrank.errors import UserError
from riskrank.fairness.gate import GateResult, fairness_gate
from riskrank.fairness.measure import CLUSTER
from riskrank.model import registry
from riskrank.model.flavour import load_uri
from riskrank.model.scoring import ScoringModel
from riskrank.promotion.gates import PromotionRefused, independent_hit_rate_gate, paired_hit_rate_gate
from riskrank.settings import Settings, get_settings
from riskrank.training.dataset import LABEL
from riskrank.training.evaluate import cuts, gate_ratios, selection


@dataclass(frozen=True)
class PromotionResult:
    version: int
    previous_version: int | None
    forced: bool
    gates: list[GateResult]
    log_id: int


def load_version(client, model_name: str, version: int) -> tuple[ScoringModel, str]:
    """A registered version and the run that logged it; a UserError if it is not a riskrank model."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version(model_name, str(version))
    except MlflowException:
        raise UserError(f"model {model_name!r} has no version {version}") from None
    uri = f"models:/{model_name}/{version}"
    if "feature_names" not in (mlflow.models.get_model_info(uri).metadata or {}):
        raise UserError(f"version {version} of {model_name!r} carries no riskrank metadata; it was not logged by riskrank train")
    model = load_uri(uri)
    model.version, model.name = int(version), model_name
    return model, mv.run_id


def _can_score(model: ScoringModel, frame: pd.DataFrame) -> bool:
    return all(name in frame.columns for name in model.feature_names)


def load_evaluation(tracking_uri: str, run_id: str) -> tuple[pd.DataFrame, dict[str, int]]:
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no progress bar in CLI output
    local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=registry.EVALUATION_DIR,
                                                     tracking_uri=tracking_uri))
    population = pd.read_parquet(local / registry.POPULATION_FILE)
    capacity = json.loads((local / registry.CAPACITY_FILE).read_text())
    return population, capacity


def check_gates(challenger: ScoringModel, champion: ScoringModel | None, population: pd.DataFrame,
                capacity: dict[str, int], n_boot: int = 1000) -> list[GateResult]:
    scores = challenger.predict_action(population)
    cut = cuts(population, scores, capacity)
    chosen = cut.capacity
    results = [fairness_gate(gate_ratios(population, cut))]
    if champion is None:
        return results
    if _can_score(champion, population):
        champion_chosen = selection(population, champion.predict_action(population), capacity)
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
    if not registry.store_exists(settings.mlflow_tracking_uri):
        raise UserError(f"no MLflow store at {settings.mlflow_tracking_uri}: train a model first (riskrank train)")
    registry.configure(settings)
    client = registry.client(settings)
    name = settings.model_name
    challenger, run_id = load_version(client, name, version)
    previous = registry.alias_version(client, name, registry.CHAMPION)
    if previous == version:
        raise UserError(f"version {version} is already the {registry.CHAMPION}")
    champion = load_version(client, name, previous)[0] if previous is not None else None
    population, capacity = load_evaluation(settings.mlflow_tracking_uri, run_id)
    gates = check_gates(challenger, champion, population, capacity)
    if not all(g.passed for g in gates) and not force:
        raise PromotionRefused(version, gates)
    log_id = registry.move_alias(settings, registry.CHAMPION, version, reason, user=user, forced=force,
                                 gates=[{"name": g.name, "passed": g.passed, "detail": g.detail} for g in gates],
                                 metrics=challenger.meta.get("metrics", {}))
    return PromotionResult(version, previous, force, gates, log_id)
