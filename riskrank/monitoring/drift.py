"""Population stability index (PSI) per feature and for the score, between a reference frame (the
features the model was trained on) and a current frame (the latest as-of date).

PSI = sum over bins of (current share - reference share) * ln(current share / reference share).
Numeric features are cut at the reference's deciles (so each reference bin holds about a tenth);
categorical and boolean features use their values; missing values form a bin of their own, since a
feature that starts going missing is drift too. Thresholds, as commonly used for credit and risk
scores: below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 a shift worth investigating.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

STABLE, MODERATE = 0.1, 0.25
EPSILON = 1e-4  # share floor, so an empty bin gives a large but finite PSI
NOT_FEATURES: tuple[str, ...] = ("case_id", "person_id", "as_of", "investigation_id")


def status(psi: float | None) -> str:
    if psi is None or not np.isfinite(psi):
        return "unknown"
    if psi < STABLE:
        return "stable"
    return "moderate" if psi <= MODERATE else "shift"


def _psi_from_counts(reference: np.ndarray, current: np.ndarray) -> float:
    ref = np.maximum(reference / max(reference.sum(), 1), EPSILON)
    cur = np.maximum(current / max(current.sum(), 1), EPSILON)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _is_categorical(series: pd.Series) -> bool:
    return (isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(series)
            or pd.api.types.is_string_dtype(series) or series.dtype == object)


def psi_numeric(reference: pd.Series, current: pd.Series, bins: int = 10) -> float:
    """PSI with bins at the reference's quantiles (ties merged), plus one bin for missing values."""
    ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=float)
    cur = pd.to_numeric(current, errors="coerce").to_numpy(dtype=float)
    ref_known = ref[~np.isnan(ref)]
    cuts = np.linspace(0, 1, bins + 1)[1:-1]
    edges = np.unique(np.quantile(ref_known, cuts)) if len(ref_known) else np.array([])

    def counts(values: np.ndarray) -> np.ndarray:
        known = values[~np.isnan(values)]
        binned = np.bincount(np.searchsorted(edges, known, side="left"), minlength=len(edges) + 1)  # (e_i-1, e_i]
        return np.append(binned, np.isnan(values).sum()).astype(float)

    return _psi_from_counts(counts(ref), counts(cur))


def psi_categorical(reference: pd.Series, current: pd.Series) -> float:
    """PSI over the values seen in either frame, with missing as a value of its own."""
    ref = reference.astype(object).where(reference.notna(), "<missing>").astype(str)
    cur = current.astype(object).where(current.notna(), "<missing>").astype(str)
    values = sorted(set(ref.unique()) | set(cur.unique()))
    ref_counts = ref.value_counts().reindex(values, fill_value=0).to_numpy(dtype=float)
    cur_counts = cur.value_counts().reindex(values, fill_value=0).to_numpy(dtype=float)
    return _psi_from_counts(ref_counts, cur_counts)


def drift_table(reference: pd.DataFrame, current: pd.DataFrame, features: Sequence[str] | None = None,
                bins: int = 10) -> pd.DataFrame:
    """One row per feature (and `score`, if both frames have it): kind, PSI, status, rows on each side;
    sorted by PSI, largest first."""
    if features is None:
        features = [c for c in reference.columns if c in current.columns and c not in NOT_FEATURES]
    missing = [f for f in features if f not in reference.columns or f not in current.columns]
    if missing:
        raise ValueError(f"feature(s) {', '.join(missing)} missing from the reference or current frame")
    rows = []
    for name in features:
        categorical = _is_categorical(reference[name])
        ref, cur = reference[name], current[name]
        value = psi_categorical(ref, cur) if categorical else psi_numeric(ref, cur, bins)
        rows.append({"feature": name, "kind": "categorical" if categorical else "numeric", "psi": value,
                     "status": status(value), "reference_rows": len(reference), "current_rows": len(current)})
    table = pd.DataFrame(rows, columns=["feature", "kind", "psi", "status", "reference_rows", "current_rows"])
    return table.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)


def score_drift_from_outcomes(frame: pd.DataFrame, current_months: int = 3) -> dict | None:
    """PSI of the score among random-sample investigations: the earliest months against the latest
    `current_months`. Random-sample cases stand for the whole population, so their scores show whether
    the population the model scores has moved; model-selected cases would not (they are the top)."""
    if "score" not in frame.columns:
        return None
    scored = frame[(frame["selection"] == "random") & frame["score"].notna()]
    if scored.empty:
        return None
    month = pd.to_datetime(scored["closed_date"]).dt.to_period("M")
    cut = month.max() - current_months
    reference, current = scored[month <= cut], scored[month > cut]
    if len(reference) < 20 or len(current) < 20:
        return None
    value = psi_numeric(reference["score"], current["score"])
    return {"feature": "score", "kind": "numeric", "psi": value, "status": status(value),
            "reference_rows": len(reference), "current_rows": len(current),
            "reference_period": f"{month[month <= cut].min()} to {cut}", "current_period": f"{cut + 1} to {month.max()}"}
