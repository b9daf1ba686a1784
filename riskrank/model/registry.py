"""The MLflow registry: the store and its experiment, the one client, the one alias lookup, loading a version,
and moving an alias (every move written to the promotion log, as MLflow keeps no history of them)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING

from riskrank.settings import Settings, get_settings

if TYPE_CHECKING:
    from riskrank.model.scoring import ScoringModel

CHAMPION, CHALLENGER = "champion", "challenger"
EVALUATION_DIR = "evaluation"  # run artifact folder with the population the gates re-score
POPULATION_FILE = "population.parquet"
CAPACITY_FILE = "capacity.json"


def _resolve(path: str, settings: Settings) -> Path:
    p = Path(path)
    return p if p.is_absolute() else (Path(settings.home) / p).resolve()


def configure(settings: Settings | None = None) -> str:
    """Point MLflow at the settings' store and return the experiment id (creating it with an absolute artifact root)."""
    import mlflow

    settings = settings or get_settings()
    uri = settings.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        db_path = Path(uri.removeprefix("sqlite:///"))
        db_path.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow_client = client(settings)
    experiment = mlflow_client.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    root = _resolve(settings.mlflow_artifact_root, settings)
    root.mkdir(parents=True, exist_ok=True)
    return mlflow_client.create_experiment(settings.experiment_name, artifact_location=str(root))


def client(settings: Settings | None = None, tracking_uri: str | None = None):
    """The MlflowClient of the settings' store (or of `tracking_uri`), registry and tracking alike."""
    from mlflow.tracking import MlflowClient

    uri = tracking_uri or (settings or get_settings()).mlflow_tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def store_exists(tracking_uri: str) -> bool:
    """False for a sqlite store whose file is missing: opening it would create an empty one."""
    return not tracking_uri.startswith("sqlite:///") or Path(tracking_uri.removeprefix("sqlite:///")).exists()


def alias_version(mlflow_client, model_name: str, alias: str) -> int | None:
    """The version an alias points to, or None when the alias (or the model) does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return int(mlflow_client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def load_model(alias: str | None = CHAMPION, version: int | None = None, tracking_uri: str | None = None,
               model_name: str | None = None) -> ScoringModel:
    """Load models:/<name>@<alias> (or /<version>) from the registry named in settings."""
    import mlflow

    from riskrank.errors import UserError
    from riskrank.model.flavour import load_uri

    settings = get_settings()
    tracking_uri = tracking_uri or settings.mlflow_tracking_uri
    model_name = model_name or settings.model_name
    mlflow.set_tracking_uri(tracking_uri)
    if not store_exists(tracking_uri):
        raise UserError(f"no MLflow store at {tracking_uri}: train a model first (riskrank train)")
    mlflow.set_registry_uri(tracking_uri)
    if version is not None:
        resolved, alias = int(version), None
        from mlflow.exceptions import MlflowException

        try:
            client(tracking_uri=tracking_uri).get_model_version(model_name, str(resolved))
        except MlflowException:
            raise UserError(f"model {model_name!r} has no version {resolved}") from None
    elif not alias:
        raise UserError("give an alias or a version")
    else:
        found = alias_version(client(tracking_uri=tracking_uri), model_name, alias)
        if found is None:
            raise UserError(f"no version of model {model_name!r} has alias {alias!r}")
        resolved = found
    # Load the resolved version, not the alias, so booster and META come from the same version even if the alias
    # moves while we load.
    model = load_uri(f"models:/{model_name}/{resolved}")
    model.version, model.alias, model.name = resolved, alias, model_name
    return model


def current_user() -> str:
    return os.environ.get("RISKRANK_USER") or getpass.getuser()


def move_alias(settings: Settings, alias: str, version: int, reason: str | None, *, user: str | None = None,
               forced: bool = False, gates: list[dict] | None = None, metrics: dict | None = None) -> int:
    """Point `alias` at `version` and write the move to the promotion log; returns the log entry's id."""
    from riskrank.db import get_engine
    from riskrank.model import promotion_log

    mlflow_client = client(settings)
    name = settings.model_name
    previous = alias_version(mlflow_client, name, alias)
    from_alias = CHALLENGER if alias != CHALLENGER and alias_version(mlflow_client, name, CHALLENGER) == version else None
    mlflow_client.set_registered_model_alias(name, alias, str(version))
    return promotion_log.record(get_engine(settings.database_url), promotion_log.AliasMove(
        model_name=name, version=version, to_alias=alias, by=user or current_user(), from_alias=from_alias,
        previous_version=previous, reason=reason, forced=forced, gates=gates, metrics=metrics,
    ))


def promotion_history(settings: Settings | None = None, limit: int | None = None):
    """The promotion log of the settings' model, newest first (a DataFrame)."""
    from riskrank.db import get_engine
    from riskrank.model import promotion_log

    settings = settings or get_settings()
    return promotion_log.read_log(get_engine(settings.database_url), settings.model_name, limit)
