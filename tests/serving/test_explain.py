"""Reasons an investigator can use: raising reasons first, lowering ones apart, values in words with units,
each contribution as a share of the distance from the average case."""

from __future__ import annotations

import numpy as np
import pytest

from riskrank.model.scoring import ScoringModel, logit
from riskrank.serving.explain import Explainer
from tests.fixtures.models import fixture_meta, synthetic_feature_frame, train_booster


@pytest.fixture(scope="module")
def scored():
    frame = synthetic_feature_frame(n=800, seed=3)
    model = ScoringModel(booster=train_booster(frame, seed=3), meta=fixture_meta(frame))
    X = model.prepare_array(frame)
    base, contributions = model.contributions(X)
    return frame, model, X, model.predict(X), base, contributions


def test_top_cases_list_raising_reasons_first_and_lowering_ones_apart(scored) -> None:
    frame, model, X, scores, _, contributions = scored
    explainer = Explainer(model)
    top_rows = np.argsort(-scores)[:40]
    some_lowering = 0
    for i in top_rows:
        explained = explainer.explain(X[i], contributions[i], top=3)
        raising, lowering = explained["reasons"], explained["reasons_lowering"]
        assert raising and raising[0]["direction"] == "raises"
        assert all(r["direction"] == "raises" for r in raising) and all(r["direction"] == "lowers" for r in lowering)
        assert [r["contribution"] for r in raising] == sorted((r["contribution"] for r in raising), reverse=True)
        assert [r["contribution"] for r in lowering] == sorted(r["contribution"] for r in lowering)
        positive = np.sort(contributions[i][contributions[i] > 0])[::-1][:3]
        assert [r["contribution"] for r in raising] == pytest.approx(positive.tolist())
        some_lowering += bool(lowering)
    assert some_lowering  # the fixture has top cases held back by something: they are shown, apart


def test_shares_are_parts_of_the_distance_from_the_average_case(scored) -> None:
    _, model, X, scores, base, contributions = scored
    explainer = Explainer(model)
    i = int(np.argmax(scores))
    explained = explainer.explain(X[i], contributions[i], top=len(model.feature_names))
    shown = explained["reasons"] + explained["reasons_lowering"]
    distance = float(logit(scores[i])) - base
    assert sum(r["share"] for r in shown) == pytest.approx(1.0)
    for r in shown:
        assert r["share"] == pytest.approx(r["contribution"] / distance)


def test_values_read_with_units_and_missing_values_in_words(scored) -> None:
    frame, model, X, _, _, contributions = scored
    explainer = Explainer(model)
    everything = len(model.feature_names)
    j_ratio = model.feature_names.index("declared_to_application_income")
    missing_row = int(np.flatnonzero(np.isnan(X[:, j_ratio]))[0])
    amount_row = int(np.flatnonzero(frame["monthly_amount_sek"].to_numpy() > 1000)[0])
    by_feature = {}
    for row in (missing_row, amount_row):
        explained = explainer.explain(X[row], contributions[row], top=everything)
        by_feature[row] = {r["feature"]: r for r in explained["reasons"] + explained["reasons_lowering"]}
    ratio = by_feature[missing_row]["declared_to_application_income"]
    assert ratio["value"] is None
    assert ratio["value_text"] == "cannot be computed: an income is missing"
    assert ratio["value_text_sv"] == "kan inte beräknas: en inkomst saknas"
    amount = by_feature[amount_row]["monthly_amount_sek"]
    sek = round(float(frame["monthly_amount_sek"].iloc[amount_row]))
    assert amount["unit"] == "SEK"
    assert amount["value_text"] == f"{sek:,} SEK"
    assert amount["value_text_sv"] == f"{sek:,} kr".replace(",", "\u00a0")
    moves = by_feature[amount_row]["address_changes_12m"]
    assert moves["unit"] == "count" and moves["value_text"] == str(int(frame["address_changes_12m"].iloc[amount_row]))
    emigrated = by_feature[amount_row]["emigration_registered"]
    assert emigrated["value_text"] in ("yes", "no") and emigrated["value_text_sv"] in ("ja", "nej")
