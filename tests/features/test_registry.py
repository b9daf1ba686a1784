from pathlib import Path

import pytest

from riskrank.features import registry
from riskrank.features.registry import FEATURE_SET_VERSION, FEATURES, MODEL_FEATURES, SENSITIVE, Feature, get


def test_registry_has_forty_or_more_described_features_with_valid_dtypes():
    assert len(FEATURES) >= 40
    for f in FEATURES:
        assert f.dtype in ("float", "int", "bool", "category")
        assert f.description_en and f.description_sv and f.sources
        assert f.monotone in (-1, 0, 1)


def test_sensitive_attributes_are_registered_but_never_model_inputs():
    for name in SENSITIVE:
        assert not get(name).model_input
        assert name not in MODEL_FEATURES
    assert "benefit" in MODEL_FEATURES and get("benefit").dtype == "category"
    assert tuple(f.name for f in FEATURES if f.model_input) == MODEL_FEATURES


def test_get_unknown_feature_names_it():
    with pytest.raises(KeyError, match="no_such_feature"):
        get("no_such_feature")


def test_bad_feature_definitions_are_refused():
    with pytest.raises(ValueError, match="dtype"):
        Feature("x", "text", "a", "b", ("fk",))
    with pytest.raises(ValueError, match="monotone"):
        Feature("x", "int", "a", "b", ("fk",), monotone=2)


def test_version_follows_names_dtypes_and_definitions(monkeypatch):
    assert registry._version() == FEATURE_SET_VERSION
    monkeypatch.setattr(registry, "DEFINITIONS_VERSION", registry.DEFINITIONS_VERSION + 1)
    assert registry._version() != FEATURE_SET_VERSION
    monkeypatch.undo()
    renamed = (Feature("renamed", "int", "a", "b", ("fk",)),) + FEATURES[1:]
    monkeypatch.setattr(registry, "FEATURES", renamed)
    assert registry._version() != FEATURE_SET_VERSION


def test_docs_catalog_is_generated_from_the_registry():
    docs = Path(__file__).resolve().parents[2] / "docs" / "features.md"
    assert docs.read_text() == registry.markdown_catalog(), "regenerate with: python -m riskrank.features.catalog"
