"""riskrank's TreeSHAP gives LightGBM's pred_contrib numbers, for every kind of split LightGBM makes."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from riskrank.model.scoring import ScoringModel
from riskrank.model.treeshap import TreeShap


def _data(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "amount": rng.normal(size=rows),
        "days": rng.integers(0, 400, size=rows).astype(float),
        "sparse": np.where(rng.random(rows) < 0.6, 0.0, rng.exponential(size=rows)),
        "kind": pd.Categorical(rng.choice(["a", "b", "c", "d", "e"], size=rows), categories=["a", "b", "c", "d", "e"]),
    })
    frame.loc[rng.random(rows) < 0.15, "amount"] = np.nan  # NaN as the missing type
    frame.loc[rng.random(rows) < 0.1, "kind"] = None
    logit = frame["amount"].fillna(1.5) + (frame["days"] > 200) + 2 * frame["kind"].isin(["b", "d"]) - frame["sparse"]
    return frame, (rng.random(rows) < 1 / (1 + np.exp(-logit.to_numpy()))).astype(int)


def _booster(**params: object) -> lgb.Booster:
    frame, y = _data(3000, 0)
    settings = {"objective": "binary", "num_leaves": 15, "min_data_in_leaf": 20, "verbose": -1, "seed": 1, **params}
    return lgb.train(settings, lgb.Dataset(frame, y), num_boost_round=30)


def _scoring_model(booster: lgb.Booster) -> ScoringModel:
    """The booster as served, its calibration a slope of 0.8 and an intercept of -1."""
    return ScoringModel(booster=booster, meta={"feature_names": booster.feature_name(), "categories": {},
                                               "calibration": {"a": 0.8, "b": -1.0}})


def _rows(n: int) -> np.ndarray:
    frame, _ = _data(n, 7)
    X = np.column_stack([frame[c].cat.codes.replace(-1, np.nan) if c == "kind" else frame[c] for c in frame.columns])
    X = X.astype(np.float64)
    rng = np.random.default_rng(3)
    X[rng.random(X.shape) < 0.1] = np.nan  # NaN in every column, categorical included
    X[rng.random(n) < 0.1, 2] = 0.0
    if n >= 8:
        X[:5, 3] = [-1.0, 7.0, 2.4, 0.0, 4.0]  # a negative, an unseen and a fractional category code
        X[5:9, 1] = [1e-40, -1e-40, 0.0, float(np.float32(1e-35))]  # what LightGBM reads as zero
    return X


@pytest.mark.parametrize("params", [{}, {"zero_as_missing": True}, {"use_missing": False}, {"max_cat_to_onehot": 8}])
def test_same_contributions_as_pred_contrib(params: dict) -> None:
    booster = _booster(**params)
    shap = TreeShap.build(booster)
    assert shap is not None
    X = _rows(400)
    expected = booster.predict(X, pred_contrib=True)[:, :-1]
    assert np.abs(shap.contributions(X) - expected).max() < 1e-12
    assert np.abs(shap.contributions(X[:1]) - expected[:1]).max() < 1e-12


def test_models_it_does_not_cover_are_left_to_lightgbm() -> None:
    frame, y = _data(600, 0)
    multiclass = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1},
                           lgb.Dataset(frame, (y + frame["days"].to_numpy() // 200).astype(int) % 3), num_boost_round=3)
    assert TreeShap.build(multiclass) is None


def test_scoring_model_explains_a_row_with_riskranks_treeshap() -> None:
    booster = _booster()
    model = _scoring_model(booster)
    assert model.explains_fast()
    X = _rows(20)[:3]
    base, contributions = model.contributions(X)
    raw = booster.predict(X, pred_contrib=True)
    assert np.abs(contributions - 0.8 * raw[:, :-1]).max() < 1e-12
    assert base == pytest.approx(0.8 * raw[0, -1] - 1.0, abs=1e-12)
    # The sum is the calibrated logit of the score, as before.
    assert np.abs(base + contributions.sum(axis=1) - (0.8 * booster.predict(X, raw_score=True) - 1.0)).max() < 1e-9


def test_many_rows_are_explained_without_pred_contrib(monkeypatch: pytest.MonkeyPatch) -> None:
    booster = _booster()
    model = _scoring_model(booster)
    X = _rows(1000)  # beyond the few rows a request explains: a worklist, the nightly run's top share
    expected = 0.8 * booster.predict(X, pred_contrib=True)[:, :-1]
    model.base_value()
    assert model.explains_fast()

    def no_pred_contrib(*args: object, **kwargs: object) -> None:
        raise AssertionError("pred_contrib was asked although riskrank's TreeSHAP covers the model")

    monkeypatch.setattr(booster, "predict", no_pred_contrib)
    _, contributions = model.contributions(X)
    assert np.abs(contributions - expected).max() < 1e-12


def test_a_read_only_install_compiles_in_process(tmp_path) -> None:
    """Where numba finds no writable place for its cache (a read-only install without a home), the module still
    imports and explains, compiled in the process."""
    import subprocess
    import sys

    booster = _booster()
    booster.save_model(str(tmp_path / "model.txt"))
    X = _rows(50)
    np.save(tmp_path / "rows.npy", X)
    np.save(tmp_path / "expected.npy", booster.predict(X, pred_contrib=True)[:, :-1])
    code = (
        "import numba.core.caching as c, numpy as np, lightgbm as lgb, sys\n"
        "c.CacheImpl._locator_classes = []\n"  # what numba meets where nothing is writable
        "from riskrank.model.treeshap import TreeShap\n"
        f"shap = TreeShap.build(lgb.Booster(model_file={str(tmp_path / 'model.txt')!r}))\n"
        f"got = shap.contributions(np.load({str(tmp_path / 'rows.npy')!r}))\n"
        f"sys.exit(0 if np.abs(got - np.load({str(tmp_path / 'expected.npy')!r})).max() < 1e-12 else 3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
