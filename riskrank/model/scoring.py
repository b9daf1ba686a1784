"""ScoringModel: a registered LightGBM model version with its META, ready to score and explain.

Training logs models that follow the META contract in docs/INTERFACES.md ("Model"); serving and
monitoring load them here. Everything that depends only on the model (column order, category codes,
the sigmoid) is worked out once at load so that scoring a prepared row is a single Booster call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.special import logit as scipy_logit

from riskrank.errors import UserError
from riskrank.model.treeshap import TreeShap

# Up to this many rows LightGBM predicts on one thread: for a single row, starting OpenMP threads costs several
# times the prediction itself (and more on a busy machine).
_SINGLE_THREAD_ROWS = 256

# Probabilities are clipped away from 0 and 1 before taking the logit so the identity check stays finite.
_EPS = 1e-15


def logit(p: np.ndarray | float) -> np.ndarray:
    return scipy_logit(np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS))


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return expit(np.asarray(x, dtype=np.float64))


def _is_missing(value: Any) -> bool:
    """None, NaN, pd.NA and NaT all mean "no value" (LightGBM's missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def prepare(frame: pd.DataFrame, feature_names: Sequence[str], categories: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Model inputs as LightGBM reads them, in training and in scoring alike: columns in `feature_names` order,
    categoricals with the stored categories (a value the model never saw is missing to it), the rest float64."""
    missing = [c for c in feature_names if c not in frame.columns]
    if missing:
        raise UserError(f"frame lacks model inputs: {', '.join(missing)}")
    columns = {}
    for name in feature_names:
        col = frame[name]
        if name in categories:
            values, known = col.astype("string").astype(object), list(categories[name])
            # Unknown values become missing explicitly (pandas 4 will refuse to do it silently).
            columns[name] = pd.Categorical(values.where(values.isin(known), None), categories=known)
        elif col.dtype == bool or str(col.dtype) == "boolean":
            columns[name] = col.astype("float64")
        else:
            columns[name] = pd.to_numeric(col, errors="raise").astype("float64")
    return pd.DataFrame(columns, index=frame.index)


@dataclass
class ScoringModel:
    """A LightGBM Booster plus its META (feature_names, categories, expected_value_sek_by_benefit, ...)."""

    booster: Any
    meta: dict[str, Any]
    version: int | None = None
    alias: str | None = None
    name: str | None = None
    # column -> {category value: code}, built once from META["categories"]
    _codes: dict[str, dict[str, int]] = field(init=False, repr=False)
    _names: tuple[str, ...] = field(init=False, repr=False)
    _coded: list[tuple[int, dict[str, int]]] = field(init=False, repr=False)  # (position, codes) of each categorical
    # logit(score) = a * logit(p_action) + b, from META["calibration"] (training/calibration.py); 1, 0 without it
    _slope: float = field(init=False, repr=False, default=1.0)
    _intercept: float = field(init=False, repr=False, default=0.0)

    def __post_init__(self) -> None:
        missing = [k for k in ("feature_names", "categories") if k not in self.meta]
        if missing:
            raise ValueError(f"model META lacks {', '.join(missing)} (see docs/INTERFACES.md, Model)")
        self.meta.setdefault("expected_value_sek_by_benefit", {})
        booster_names = list(self.booster.feature_name())
        if booster_names != list(self.feature_names):
            raise ValueError(f"META feature_names {self.feature_names} differ from the booster's {booster_names}")
        self._codes = {col: {str(v): i for i, v in enumerate(values)} for col, values in self.categories.items()}
        self._names = tuple(self.feature_names)
        self._coded = [(j, self._codes[n]) for j, n in enumerate(self.feature_names) if n in self._codes]
        calibration = self.meta.get("calibration") or {}
        self._slope, self._intercept = float(calibration.get("a", 1.0)), float(calibration.get("b", 0.0))

    # -- loading -------------------------------------------------------------------------------
    # -- META views ----------------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        return list(self.meta["feature_names"])

    @property
    def input_names(self) -> tuple[str, ...]:
        """`feature_names` as a tuple built once (a key for statements prepared per model)."""
        return self._names

    @property
    def categories(self) -> dict[str, list]:
        return {k: list(v) for k, v in (self.meta.get("categories") or {}).items()}

    @property
    def expected_value_sek_by_benefit(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.meta["expected_value_sek_by_benefit"].items()}

    # -- preparing inputs ----------------------------------------------------------------------
    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Model inputs as a DataFrame (see `prepare`)."""
        return prepare(frame, self.feature_names, self.categories)

    def prepare_array(self, frame: pd.DataFrame) -> np.ndarray:
        """Model inputs as a float64 matrix: categoricals as their stored codes (NaN if unknown).

        LightGBM trained on pandas categoricals splits on these same codes, so the matrix scores exactly
        like `prepare(frame)`; it skips pandas' per-call conversion, which dominates for single rows.
        """
        prepared = self.prepare(frame)
        out = np.empty((len(prepared), len(self.feature_names)), dtype=np.float64)
        for j, name in enumerate(self.feature_names):
            col = prepared[name]
            if name in self.categories:
                codes = col.cat.codes.to_numpy().astype(np.float64)
                codes[codes < 0] = np.nan
                out[:, j] = codes
            else:
                out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def row_array(self, values: Mapping[str, Any]) -> np.ndarray:
        """One row (1 x F float64) from a {feature: value} mapping, without pandas."""
        row = np.empty((1, len(self.feature_names)), dtype=np.float64)
        for j, name in enumerate(self.feature_names):
            value: Any = values.get(name)
            missing = _is_missing(value)
            if name in self._codes:
                code = None if missing else self._codes[name].get(str(value))
                row[0, j] = np.nan if code is None else code
            else:
                row[0, j] = np.nan if missing else float(value)
        return row

    def row_from_values(self, values: Sequence[Any]) -> np.ndarray:
        """One row (1 x F float64) from the inputs' values in `feature_names` order as a database returns them
        (None or NaN for missing, categories as strings): the same row as `row_array`, with no mapping built."""
        cells = list(values)
        for j, codes in self._coded:
            value = cells[j]
            cells[j] = None if _is_missing(value) else codes.get(str(value))
        # numpy reads None as NaN, LightGBM's missing; bools become 1.0 / 0.0.
        return np.array(cells, dtype=np.float64).reshape(1, -1)

    def _as_input(self, data: pd.DataFrame | np.ndarray) -> np.ndarray:
        return data if isinstance(data, np.ndarray) else self.prepare_array(data)

    @staticmethod
    def _threads(X: np.ndarray) -> dict[str, int]:
        return {"num_threads": 1} if len(X) <= _SINGLE_THREAD_ROWS else {}

    # -- scoring -------------------------------------------------------------------------------
    # The score is calibrated to the population of active cases (META["calibration"]); the Booster itself gives the
    # probability of action given an investigation. Both live here so that every consumer shows the same number.
    def predict(self, data: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated score for each row (a frame with the features, or a prepared matrix): the estimated
        probability that the case is in error, among active cases like it."""
        X = self._as_input(data)
        raw = np.asarray(self.booster.predict(X, raw_score=True, **self._threads(X)), dtype=np.float64)
        return np.asarray(sigmoid(self._slope * raw + self._intercept), dtype=np.float64)

    def predict_action(self, data: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Uncalibrated: the probability that an investigation of the case ends with action."""
        X = self._as_input(data)
        return np.asarray(self.booster.predict(X, **self._threads(X)), dtype=np.float64)

    def contributions(self, data: pd.DataFrame | np.ndarray) -> tuple[float, np.ndarray]:
        """(base_value, n x F contributions) in log-odds of the calibrated score: base + row sum = logit(score).

        Through riskrank.model.treeshap where it covers the model (the same numbers, compiled, in a fraction of
        pred_contrib's time, for one row or many), else through LightGBM."""
        X = self._as_input(data)
        fast = self._tree_shap
        if fast is not None:
            return self.base_value(), self._slope * fast.contributions(X)
        raw = np.asarray(self.booster.predict(X, pred_contrib=True, **self._threads(X)), dtype=np.float64)
        if not len(raw):
            return self.base_value(), raw[:, :-1]
        return self._slope * float(raw[0, -1]) + self._intercept, self._slope * raw[:, :-1]

    def base_value(self) -> float:
        return self._base_value

    @cached_property
    def _base_value(self) -> float:
        # The expected value of each tree, summed: the same for every row.
        zero = np.zeros((1, len(self.feature_names)))
        return self._slope * float(self.booster.predict(zero, pred_contrib=True, num_threads=1)[0, -1]) + self._intercept

    @cached_property
    def _tree_shap(self) -> TreeShap | None:
        return TreeShap.build(self.booster)

    def explains_fast(self) -> bool:
        """Builds the model's TreeSHAP arrays now (about a second for 145 trees, and the kernel's compilation the first
        time; serving calls it while loading a snapshot, off the request path) and says whether they cover this model
        (else pred_contrib explains every row)."""
        return self._tree_shap is not None

    def expected_sek(self, frame: pd.DataFrame, scores: np.ndarray | None = None) -> np.ndarray:
        """score x mean SEK found in investigations with action for the row's benefit (0 if unknown)."""
        scores = self.predict(frame) if scores is None else scores
        values = self.expected_value_sek_by_benefit
        per_row = frame["benefit"].astype("object").map(lambda b: values.get(str(b), 0.0)).to_numpy(dtype=np.float64)
        return scores * per_row
