"""The registered model through MLflow's own paths: pyfunc.load_model, `mlflow models serve`, spark_udf.

Each returns the probabilities ScoringModel.predict returns for the same features, whether categoricals
arrive as pandas Categoricals (the frame `riskrank features` writes) or as plain strings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskrank.model.registry import load_model
from riskrank.model.scoring import ScoringModel
from tests.fixtures.models import FIXTURE_FEATURES, ModelRegistry


@pytest.fixture(scope="module")
def champion(shared_model_registry: ModelRegistry) -> ScoringModel:
    return load_model(
        alias="champion", tracking_uri=shared_model_registry.tracking_uri, model_name=shared_model_registry.model_name
    )


@pytest.fixture(scope="module")
def pyfunc_model(shared_model_registry: ModelRegistry):
    import mlflow

    mlflow.set_tracking_uri(shared_model_registry.tracking_uri)
    mlflow.set_registry_uri(shared_model_registry.tracking_uri)
    return mlflow.pyfunc.load_model(f"models:/{shared_model_registry.model_name}@champion")


def test_pyfunc_scores_the_feature_frame_with_extra_columns(pyfunc_model, champion, shared_model_registry) -> None:
    frame = shared_model_registry.frame.head(200)  # case_id, as_of, sex, label beyond the inputs; benefit categorical
    assert isinstance(frame["benefit"].dtype, pd.CategoricalDtype)
    predicted = np.asarray(pyfunc_model.predict(frame), dtype=np.float64).ravel()
    np.testing.assert_array_equal(predicted, champion.predict(frame))
    assert ((predicted > 0) & (predicted < 1)).all()  # probabilities, not labels
    assert len(np.unique(predicted)) > 2


def test_pyfunc_scores_plain_strings(pyfunc_model, champion, shared_model_registry) -> None:
    frame = shared_model_registry.frame.head(100)
    plain = frame[list(FIXTURE_FEATURES)].astype({"benefit": "object"})
    predicted = np.asarray(pyfunc_model.predict(plain), dtype=np.float64).ravel()
    np.testing.assert_array_equal(predicted, champion.predict(frame))


def test_pyfunc_names_missing_features(pyfunc_model, shared_model_registry) -> None:
    frame = shared_model_registry.frame.head(5).drop(columns=["monthly_amount_sek"])
    with pytest.raises(Exception, match="monthly_amount_sek"):
        pyfunc_model.predict(frame)
