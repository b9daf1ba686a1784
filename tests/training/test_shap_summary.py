"""The model card's global view: shap's summary drawn from LightGBM's own TreeSHAP values, which equal the shap
package's TreeExplainer values for the same model; without shap the run goes on and the card says why."""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskrank.model.scoring import prepare
from riskrank.training import model_card, plots
from riskrank.training.train import category_mapping, fit


@pytest.fixture(scope="module")
def fitted() -> tuple:
    rng = np.random.default_rng(3)
    n = 1200
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n),
                          "benefit": pd.Categorical(rng.choice(["barnbidrag", "sjukpenning", "bostadsbidrag"], n))})
    frame.loc[rng.random(n) < 0.1, "y"] = np.nan
    logit = 1.2 * frame["x"] - 0.8 * frame["y"].fillna(0) + (frame["benefit"] == "sjukpenning") * 0.7
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    train, valid = frame.iloc[:900], frame.iloc[900:]
    result = fit(train, valid, ["x", "y", "benefit"], params={"num_threads": 1, "min_data_in_leaf": 20})
    X = prepare(frame, result.feature_names, category_mapping(frame, result.feature_names))
    return result.booster, X


def test_the_summary_values_are_the_shap_packages_tree_explainer_values(fitted) -> None:
    import shap  # riskrank[train], part of the test tools' lock
    booster, X = fitted
    expected = np.asarray(shap.TreeExplainer(booster).shap_values(X))
    expected = expected[1] if expected.ndim == 3 else expected  # older shap: one array per class
    np.testing.assert_allclose(plots.tree_shap(booster, X), expected, rtol=1e-6, atol=1e-9)


def test_the_summary_is_drawn_as_an_image(fitted, tmp_path: Path) -> None:
    booster, X = fitted
    path = plots.shap_summary_plot(plots.tree_shap(booster, X), X, tmp_path / "shap_summary.png")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_without_shap_the_run_goes_on_and_the_card_says_why(fitted, tmp_path: Path, monkeypatch) -> None:
    booster, X = fitted
    real_import = builtins.__import__

    def no_shap(name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if name == "shap":
            raise ModuleNotFoundError("No module named 'shap'", name="shap")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_shap)
    assert plots.shap_summary_plot(plots.tree_shap(booster, X), X, tmp_path / "s.png") is None
    assert not (tmp_path / "s.png").exists()
    assert "riskrank[train]" in model_card._summary_note(None)
