"""Scores over HTTP against a real uvicorn server: SHAP equality, the sum identity, percentiles, reasons, 404/422."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskrank.model.scoring import ScoringModel
from tests.serving.conftest import LiveServer


def _model(live: LiveServer) -> ScoringModel:
    return live.app.state.holder.current.model


def test_case_score_matches_shap_tree_explainer(live: LiveServer) -> None:
    import shap

    frame = live.frame
    case_ids = frame["case_id"].head(8).tolist()
    with live.client() as client:
        bodies = [client.get(f"/v1/cases/{c}/score", params={"top": 3}).json() for c in case_ids]
    model = _model(live)
    X = model.prepare(frame.head(8))
    explainer = shap.TreeExplainer(model.booster)
    expected = np.asarray(explainer.shap_values(X))
    assert expected.shape == (8, len(model.feature_names))
    for i, body in enumerate(bodies):
        got = np.array([body["contributions"][name] for name in model.feature_names])
        assert np.allclose(got, expected[i], rtol=0, atol=1e-6)
        assert body["base_value"] == pytest.approx(float(np.ravel(explainer.expected_value)[-1]), abs=1e-6)
        assert body["base_value"] + got.sum() == pytest.approx(math.log(body["score"] / (1 - body["score"])), abs=1e-6)
        assert body["score"] == pytest.approx(float(model.predict(frame.iloc[[i]])[0]), abs=1e-12)


def test_case_score_body(live: LiveServer) -> None:
    frame = live.frame
    row = frame.iloc[3]
    with live.client() as client:
        response = client.get(f"/v1/cases/{int(row['case_id'])}/score", params={"top": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["case_id"] == int(row["case_id"])
    assert body["benefit"] == row["benefit"]
    assert body["model"] == {"name": "riskrank", "version": 1, "alias": "champion"}
    assert "never a decision" in body["notice"]
    assert body["features_as_of"] == "2024-06-30"
    same = frame[frame["benefit"] == row["benefit"]]
    scores = _model(live).predict(same)
    assert body["percentile"] == pytest.approx(100.0 * (scores <= body["score"] + 1e-15).mean())
    raising = sorted(((n, c) for n, c in body["contributions"].items() if c > 0), key=lambda kv: -kv[1])[:2]
    lowering = sorted(((n, c) for n, c in body["contributions"].items() if c < 0), key=lambda kv: kv[1])[:2]
    assert [r["feature"] for r in body["reasons"]] == [name for name, _ in raising]
    assert [r["feature"] for r in body["reasons_lowering"]] == [name for name, _ in lowering]
    for reason in body["reasons"] + body["reasons_lowering"]:
        assert reason["description"] and reason["value_text"] and reason["value_text_sv"]
        assert (reason["contribution"] > 0) == (reason["direction"] == "raises")


def test_reason_values_read_like_the_features(live: LiveServer) -> None:
    frame = live.frame
    row = frame.iloc[0]
    with live.client() as client:
        body = client.get(f"/v1/cases/{int(row['case_id'])}/score", params={"top": 10}).json()
    for reason in body["reasons"] + body["reasons_lowering"]:
        value = row[reason["feature"]]
        if reason["feature"] == "benefit":
            assert reason["value"] == str(value)
        elif reason["feature"] == "emigration_registered":
            assert reason["value"] is bool(value)
        elif isinstance(value, float) and math.isnan(value):
            assert reason["value"] is None
        else:
            assert reason["value"] == pytest.approx(float(value))


def test_unknown_case_is_404(live: LiveServer) -> None:
    with live.client() as client:
        response = client.get("/v1/cases/99999999/score")
    assert response.status_code == 404
    assert "99999999" in response.json()["detail"]


def test_body_score_equals_case_score(live: LiveServer) -> None:
    frame = live.frame
    row = frame.iloc[5]
    features = {name: _json_value(row[name]) for name in _model(live).feature_names}
    with live.client() as client:
        by_case = client.get(f"/v1/cases/{int(row['case_id'])}/score").json()
        by_body = client.post("/v1/score", json={"features": features})
    assert by_body.status_code == 200, by_body.text
    body = by_body.json()
    assert body["score"] == pytest.approx(by_case["score"], abs=1e-12)
    assert body["contributions"] == pytest.approx(by_case["contributions"], abs=1e-12)
    assert body["percentile"] == pytest.approx(by_case["percentile"])


def _json_value(value):
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value if isinstance(value, int | float) else str(value)


def test_body_score_names_every_problem(live: LiveServer) -> None:
    features = {
        "monthly_amount_sek": "a lot",  # wrong type
        "address_changes_12m": None,  # int may not be null
        "emigration_registered": 1,  # bool must be true/false
        "benefit": "lottery",  # unknown category
        "shoe_size": 44,  # unknown feature
        # declared_to_application_income missing
    }
    with live.client() as client:
        response = client.post("/v1/score", json={"features": features})
        nan_response = client.post(
            "/v1/score", content=b'{"features": {"monthly_amount_sek": NaN, "address_changes_12m": 1.5}}',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 422
    problems = {tuple(p["loc"])[-1]: p["msg"] for p in response.json()["errors"]}
    assert set(problems) == {
        "monthly_amount_sek", "address_changes_12m", "emigration_registered", "benefit", "shoe_size",
        "declared_to_application_income",
    }
    assert "number" in problems["monthly_amount_sek"]
    assert "may not be null" in problems["address_changes_12m"]
    assert "true or false" in problems["emigration_registered"]
    assert "lottery" in problems["benefit"]
    assert "unknown feature" in problems["shoe_size"]
    assert "missing feature" in problems["declared_to_application_income"]
    assert nan_response.status_code == 422
    nan_problems = {tuple(p["loc"])[-1]: p["msg"] for p in nan_response.json()["errors"]}
    assert "whole number" in nan_problems["address_changes_12m"]
    assert "monthly_amount_sek" not in nan_problems  # NaN is missing, allowed for float features


def test_scores_are_audited_with_pseudonyms(live: LiveServer) -> None:
    from riskrank.serving import audit_chain
    from riskrank.serving.pseudonym import pseudonymise

    case_id = int(live.frame["case_id"].iloc[7])
    with live.client() as client:
        score = client.get(f"/v1/cases/{case_id}/score").json()["score"]
    entries = audit_chain.read_entries(live.engine)
    assert entries[-1]["action"] == "score"
    assert entries[-1]["actor"] == "investigator-user"
    assert entries[-1]["subject"] == pseudonymise(case_id, "test-key") != str(case_id)
    assert entries[-1]["score"] == pytest.approx(score)
    assert entries[-1]["model_version"] == "1"
    assert len(entries[-1]["details"]["reasons"]) == 5
