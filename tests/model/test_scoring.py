"""ScoringModel against a real MLflow registry: loading by alias and version, META, prepared inputs."""

from __future__ import annotations

import numpy as np
import pytest

from riskrank.errors import UserError
from riskrank.model.registry import load_model
from riskrank.model.scoring import ScoringModel, logit
from tests.fixtures.models import FIXTURE_FEATURES, ModelRegistry


@pytest.fixture(scope="module")
def champion(shared_model_registry: ModelRegistry) -> ScoringModel:
    return load_model(
        alias="champion", tracking_uri=shared_model_registry.tracking_uri, model_name=shared_model_registry.model_name
    )


def test_loads_champion_with_meta(champion: ScoringModel) -> None:
    assert champion.version == 1
    assert champion.alias == "champion"
    assert champion.feature_names == list(FIXTURE_FEATURES)
    assert champion.categories["benefit"][0] == "barnbidrag"
    assert champion.expected_value_sek_by_benefit["sjukpenning"] == 60000.0


def test_prepared_matrix_scores_like_the_frame(champion: ScoringModel, shared_model_registry: ModelRegistry) -> None:
    frame = shared_model_registry.frame.head(200)
    from_frame = np.asarray(champion.booster.predict(champion.prepare(frame)))
    assert np.allclose(champion.predict(champion.prepare_array(frame)), from_frame, rtol=0, atol=1e-12)
    rows = [champion.row_array(r) for r in frame.to_dict("records")[:20]]
    assert np.allclose(champion.predict(np.vstack(rows)), from_frame[:20], rtol=0, atol=1e-12)


def test_contributions_sum_to_logit(champion: ScoringModel, shared_model_registry: ModelRegistry) -> None:
    frame = shared_model_registry.frame.head(100)
    base, contrib = champion.contributions(frame)
    assert contrib.shape == (100, len(FIXTURE_FEATURES))
    assert np.allclose(base + contrib.sum(axis=1), logit(champion.predict(frame)), atol=1e-6)


def test_expected_sek_uses_benefit_value(champion: ScoringModel, shared_model_registry: ModelRegistry) -> None:
    frame = shared_model_registry.frame.head(50)
    values = frame["benefit"].astype(str).map({"barnbidrag": 20000.0, "bostadsbidrag": 35000.0, "sjukpenning": 60000.0})
    assert np.allclose(champion.expected_sek(frame), champion.predict(frame) * values.to_numpy())


def test_unknown_alias_is_a_user_error(shared_model_registry: ModelRegistry) -> None:
    with pytest.raises(UserError, match="challenger"):
        load_model(
            alias="challenger", tracking_uri=shared_model_registry.tracking_uri, model_name=shared_model_registry.model_name
        )


def test_meta_must_match_booster(champion: ScoringModel) -> None:
    with pytest.raises(ValueError, match="differ"):
        ScoringModel(booster=champion.booster, meta={**champion.meta, "feature_names": ["a", "b"]})


def test_row_from_values_is_row_array(champion: ScoringModel, shared_model_registry: ModelRegistry) -> None:
    """The row from values as a database returns them (None missing, categories as strings, bools) is the row
    `row_array` builds from a mapping, missing and unknown categories included."""
    records = shared_model_registry.frame.head(30).to_dict("records")
    names = champion.feature_names
    records[0] = {**records[0], "benefit": "a benefit the model never saw"}
    records[1] = {**records[1], **{n: None for n in names}}
    for record in records:
        values = [None if isinstance(record[n], float) and np.isnan(record[n]) else record[n] for n in names]
        np.testing.assert_array_equal(champion.row_from_values(values), champion.row_array(record))
    assert np.isnan(champion.row_from_values([records[0][n] for n in names])[0, names.index("benefit")])
