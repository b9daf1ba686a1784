"""Fit the LightGBM action model: binary objective, early stopping on the validation months, monotone
constraints where the registry knows the direction of risk, native categoricals with a stored mapping."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from riskrank.errors import UserError
from riskrank.model.scoring import prepare
from riskrank.training.dataset import LABEL, VALUE

DEFAULT_PARAMS: dict = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "num_threads": 2,  # the machine is shared; never take more than two cores
    "verbose": -1,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
}
NUM_BOOST_ROUND = 2000
EARLY_STOPPING_ROUNDS = 50


def model_inputs(extra: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[str]:
    """The registry's model inputs, plus `extra` registry columns (e.g. sensitive ones, for the fairness-gate test),
    less `exclude` (e.g. features a data scientist judged to act as proxies for a protected group)."""
    from riskrank.features import registry

    names = list(registry.MODEL_FEATURES)
    known = {f.name for f in registry.FEATURES}
    for col in extra:
        if col not in known:
            raise UserError(f"--with-sensitive/extra column {col!r} is not a registry feature; known: {sorted(known)}")
        if col not in names:
            names.append(col)
    for col in exclude:
        if col not in names:
            raise UserError(f"--exclude {col!r} is not a model input; model inputs: {', '.join(names)}")
    excluded = set(exclude)
    names = [n for n in names if n not in excluded]
    if not names:
        raise UserError("--exclude leaves no model input")
    return names


def monotone_constraints(feature_names: Sequence[str], frame: pd.DataFrame) -> list[int]:
    """Registry direction per input; 0 for categoricals (LightGBM cannot constrain them) and unknown columns."""
    from riskrank.features import registry

    known = {f.name: f for f in registry.FEATURES}
    out = []
    for name in feature_names:
        feature = known.get(name)
        categorical = isinstance(frame[name].dtype, pd.CategoricalDtype)
        out.append(0 if feature is None or categorical else int(feature.monotone))
    return out


def category_mapping(frame: pd.DataFrame, feature_names: Sequence[str]) -> dict[str, list[str]]:
    """{column: categories in code order} for every categorical input, taken from the frame's dtype."""
    out = {}
    for name in feature_names:
        dtype = frame[name].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            out[name] = [str(c) for c in dtype.categories]
        elif pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            out[name] = sorted(str(v) for v in frame[name].dropna().unique())
    return out


@dataclass
class FitResult:
    booster: Any  # lightgbm.Booster
    feature_names: list[str]
    categories: dict[str, list[str]]
    best_iteration: int
    params: dict = field(default_factory=dict)
    valid_auc: float = float("nan")


def fit(train: pd.DataFrame, valid: pd.DataFrame, feature_names: Sequence[str], params: dict | None = None,
        num_boost_round: int = NUM_BOOST_ROUND, early_stopping_rounds: int = EARLY_STOPPING_ROUNDS,
        weight: str | None = None, objective: Callable | None = None) -> FitResult:
    """`objective`: a callable LightGBM objective bound to `train`'s rows (e.g. fairness.objective.FairLogloss); None
    for the built-in binary logloss. Row weights (`weight`, a column of both frames: the unlabelled rows' weight)
    weigh the built-in objective and the validation metric; a callable objective must have been built with the same
    weights (LightGBM hands its gradients through unweighted)."""
    import lightgbm as lgb

    from riskrank.fairness.objective import as_probability_model, fold_start_score, start_score

    if train[LABEL].nunique() < 2:
        raise UserError("the training months hold only one outcome class; a model cannot be fitted")
    if weight and objective is not None:
        held = getattr(objective, "sample_weight", None)
        if held is None or not np.array_equal(np.asarray(held, dtype=float), train[weight].to_numpy(dtype=float)):
            raise ValueError("a callable objective ignores the Dataset's row weights: build it with the same weights")
    feature_names = list(feature_names)
    categories = category_mapping(train, feature_names)
    X_train = prepare(train, feature_names, categories)
    X_valid = prepare(valid, feature_names, categories)
    merged = DEFAULT_PARAMS | (params or {}) | {"metric": ["auc", "binary_logloss"]}
    if objective is not None:
        # LightGBM computes metrics on raw scores under a callable objective: AUC (rank-based) stays right, logloss not.
        merged |= {"objective": objective, "metric": ["auc"]}
    merged["monotone_constraints"] = monotone_constraints(feature_names, X_train)
    cat_cols = list(categories)
    dtrain = lgb.Dataset(X_train, train[LABEL].to_numpy(), weight=train[weight].to_numpy() if weight else None,
                         categorical_feature=cat_cols or "auto", free_raw_data=False)
    dvalid = lgb.Dataset(X_valid, valid[LABEL].to_numpy(), weight=valid[weight].to_numpy() if weight else None,
                         reference=dtrain, categorical_feature=cat_cols or "auto")
    start = 0.0
    if objective is not None:  # a callable objective does not boost from the average: start there explicitly
        start = getattr(objective, "start_score", lambda: start_score(train[LABEL].to_numpy()))()
        dtrain.set_init_score(np.full(len(X_train), start))
        dvalid.set_init_score(np.full(len(X_valid), start))
    evals: dict = {}
    booster = lgb.train(merged, dtrain, num_boost_round=num_boost_round, valid_sets=[dvalid], valid_names=["valid"],
                        callbacks=[lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False),
                                   lgb.record_evaluation(evals)])
    best = int(booster.best_iteration or booster.current_iteration())
    # Keep only the trees up to the best iteration, so every consumer (serving, SHAP) sees the same model.
    booster = lgb.Booster(model_str=as_probability_model(booster.model_to_string(num_iteration=best)))
    if start:
        booster = fold_start_score(booster, start)
    auc_curve = evals.get("valid", {}).get("auc", [])
    valid_auc = float(auc_curve[best - 1]) if auc_curve else float("nan")
    if objective is not None:
        merged["objective"] = getattr(objective, "name", "custom")  # a name, so the params can be logged
    return FitResult(booster, feature_names, categories, best, merged, valid_auc)


PREDICT_ROWS = 500_000  # rows prepared (as float64) and scored at a time: the evaluation population is millions


def predict(result: FitResult, frame: pd.DataFrame) -> np.ndarray:
    parts = [result.booster.predict(prepare(frame.iloc[start:start + PREDICT_ROWS], result.feature_names, result.categories))
             for start in range(0, len(frame), PREDICT_ROWS)]
    return np.concatenate(parts) if parts else np.empty(0)


def expected_value_by_benefit(train: pd.DataFrame) -> dict[str, float]:
    """Mean detected + prevented SEK of training investigations with action, per benefit (0 where none)."""
    hits = train.loc[train[LABEL] == 1]
    means = hits.groupby(hits["benefit"].astype(str), observed=True)[VALUE].mean()
    benefits = sorted(train["benefit"].astype(str).unique())
    return {b: float(means.get(b, 0.0)) for b in benefits}


def build_meta(result: FitResult, feature_set_version: str, data_hash: str, metrics: dict[str, float],
               expected_value: dict[str, float], calibration: dict | None = None) -> dict:
    """META as docs/INTERFACES.md "Model" defines it; serving's ScoringModel reads exactly these keys."""
    return {
        **({"calibration": calibration} if calibration else {}),
        "feature_names": list(result.feature_names),
        "categories": {k: list(v) for k, v in result.categories.items()},
        "feature_set_version": feature_set_version,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_data_hash": data_hash,
        "metrics": {k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)},
        "expected_value_sek_by_benefit": expected_value,
    }
