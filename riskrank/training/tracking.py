"""MLflow plumbing: tracking URI, the experiment (artifacts under settings.mlflow_artifact_root), registry aliases."""

from __future__ import annotations

from pathlib import Path

from riskrank.settings import Settings, get_settings

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
    from mlflow.tracking import MlflowClient

    settings = settings or get_settings()
    uri = settings.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        db_path = Path(uri.removeprefix("sqlite:///"))
        db_path.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    root = _resolve(settings.mlflow_artifact_root, settings)
    root.mkdir(parents=True, exist_ok=True)
    return client.create_experiment(settings.experiment_name, artifact_location=str(root))


def client(settings: Settings | None = None):
    from mlflow.tracking import MlflowClient

    settings = settings or get_settings()
    configure(settings)
    return MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)


def alias_version(mlflow_client, model_name: str, alias: str) -> int | None:
    """The version an alias points to, or None when the alias (or the model) does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return int(mlflow_client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None
