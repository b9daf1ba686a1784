"""How a model version is logged to and loaded from MLflow: a pyfunc model whose predict is ScoringModel.predict.

A version holds the LightGBM Booster as a text file and META in the MLmodel `metadata`. Its pyfunc flavor loads
through this module (`loader_module`, no pickled code), so `mlflow.pyfunc.load_model`, `mlflow models serve`
and `mlflow.pyfunc.spark_udf` return the same probabilities as serving: every path ends in one
`ScoringModel.predict`.

The signature declares only the output. MLflow's schema enforcement refuses pandas Categoricals (the dtype the
feature pipeline writes) when a column is declared `string`, and int or bool columns when declared `double`;
ScoringModel.prepare accepts all of these, ignores extra columns and names missing ones.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskrank.model.scoring import ScoringModel

DATA_DIR = "riskrank_model"  # the model's data folder inside the logged model
BOOSTER_FILE = "booster.txt"  # LightGBM's own text format: readable by lleaves/treelite as well


class PyfuncModel:
    """What `mlflow.pyfunc.load_model` wraps: a ScoringModel behind MLflow's predict(data, params) call."""

    def __init__(self, model: ScoringModel) -> None:
        self.model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> np.ndarray:
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        return self.model.predict(frame)


def _signature():
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    return ModelSignature(outputs=Schema([ColSpec("double", "probability")]))


def log_model(booster: Any, meta: dict[str, Any], registered_model_name: str | None = None):
    """Log `booster` with `meta` in the active run (name "model"); returns MLflow's ModelInfo."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / DATA_DIR
        data.mkdir()
        booster.save_model(str(data / BOOSTER_FILE))
        return mlflow.pyfunc.log_model(
            name="model", loader_module=__name__, data_path=str(data), signature=_signature(),
            metadata=meta, registered_model_name=registered_model_name,
            pip_requirements=[f"lightgbm=={_version('lightgbm')}", f"pandas=={_version('pandas')}",
                              f"mlflow=={_version('mlflow')}"],
        )


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def load_local(model_dir: str | Path) -> ScoringModel:
    """The ScoringModel of a downloaded model folder (MLmodel + data). Versions logged before the pyfunc
    flavor (mlflow.lightgbm) load too."""
    import lightgbm as lgb
    from mlflow.models import Model

    model_dir = Path(model_dir)
    info = Model.load(str(model_dir / "MLmodel"))
    meta = dict(info.metadata or {})
    booster_file = model_dir / info.flavors.get("python_function", {}).get("data", DATA_DIR) / BOOSTER_FILE
    if booster_file.exists():
        booster = lgb.Booster(model_file=str(booster_file))
    elif "lightgbm" in info.flavors:
        import mlflow.lightgbm

        booster = mlflow.lightgbm.load_model(str(model_dir))
    else:
        raise ValueError(f"{model_dir} holds no riskrank model ({BOOSTER_FILE} or a lightgbm flavor)")
    return ScoringModel(booster=booster, meta=meta)


def load_uri(uri: str) -> ScoringModel:
    """Download `uri` (models:/name/version, runs:/...) and load it."""
    import mlflow

    return load_local(mlflow.artifacts.download_artifacts(artifact_uri=uri))


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> PyfuncModel:
    # MLflow passes the copied data folder (<model>/data/riskrank_model in MLflow 3); META is in the model's MLmodel.
    model_dir = next(p for p in Path(data_path).resolve().parents if (p / "MLmodel").exists())
    return PyfuncModel(load_local(model_dir))
