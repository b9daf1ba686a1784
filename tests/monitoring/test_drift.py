"""PSI by hand on small frames; status thresholds; score drift from random-sample outcomes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskrank.monitoring.drift import drift_table, psi_categorical, psi_numeric, score_drift_from_outcomes, status


def test_categorical_psi_by_hand() -> None:
    reference = pd.Series(["a"] * 50 + ["b"] * 50)
    current = pd.Series(["a"] * 80 + ["b"] * 20)
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi_categorical(reference, current) == pytest.approx(expected)


def test_numeric_psi_uses_reference_quantile_bins() -> None:
    reference = pd.Series(np.arange(100, dtype=float))  # deciles at 9.9, 19.8, ...: ten bins of ten
    current = pd.Series(np.r_[np.arange(50, dtype=float), [np.nan] * 50])  # half in the lower five bins, half missing
    # current: bins 0-4 hold 10 each (0.1), bins 5-9 are empty (floor 1e-4), missing bin 0.5 against 1e-4 in the reference
    expected = 5 * ((1e-4 - 0.1) * math.log(1e-4 / 0.1)) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert psi_numeric(reference, current) == pytest.approx(expected, rel=1e-6)
    assert psi_numeric(reference, reference.sample(frac=1, random_state=1)) == pytest.approx(0.0)


def test_status_thresholds() -> None:
    assert [status(0.05), status(0.1), status(0.25), status(0.3), status(None)] == ["stable", "moderate", "moderate", "shift",
                                                                                      "unknown"]


def test_drift_table_flags_the_moved_feature_only() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"case_id": range(2000), "income": rng.normal(0, 1, 2000), "abroad": rng.random(2000) < 0.1,
                              "benefit": pd.Categorical(rng.choice(["x", "y"], 2000))})
    current = pd.DataFrame({"case_id": range(2000), "income": rng.normal(0, 1, 2000), "abroad": rng.random(2000) < 0.4,
                            "benefit": pd.Categorical(rng.choice(["x", "y"], 2000))})
    table = drift_table(reference, current).set_index("feature")
    assert list(table.index)[0] == "abroad" and table.loc["abroad", "status"] == "shift"
    assert table.loc["income", "status"] == "stable" and table.loc["income", "kind"] == "numeric"
    assert table.loc["benefit", "kind"] == "categorical" and "case_id" not in table.index
    with pytest.raises(ValueError, match="nope"):
        drift_table(reference, current, features=["nope"])


def test_score_drift_from_random_sample_outcomes() -> None:
    rng = np.random.default_rng(1)
    months = pd.date_range("2024-01-15", periods=12, freq="MS") + pd.Timedelta(days=14)
    rows = []
    for i, month in enumerate(months):
        shift = 0.3 if i >= 9 else 0.0
        for score in rng.beta(2, 8, 40) + shift:
            rows.append({"selection": "random", "score": min(score, 1.0), "closed_date": month})
        rows.append({"selection": "model", "score": 0.99, "closed_date": month})
    result = score_drift_from_outcomes(pd.DataFrame(rows))
    assert result["status"] == "shift" and result["reference_rows"] == 9 * 40 and result["current_rows"] == 3 * 40
    stable = score_drift_from_outcomes(pd.DataFrame([r | {"score": r["score"] % 0.3} for r in rows]))
    assert stable is not None and stable["psi"] < result["psi"]
