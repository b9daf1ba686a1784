"""Worklists (random share recorded, not shown) and outcomes (selection from the worklist, idempotency, 409)."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from riskrank.db import outcomes
from riskrank.serving.tables import worklist_items
from tests.serving.conftest import LiveServer


def _selections(live: LiveServer, worklist_id: str) -> dict[int, str]:
    with live.engine.connect() as conn:
        rows = conn.execute(sa.select(worklist_items.c.case_id, worklist_items.c.selection).where(
            worklist_items.c.worklist_id == worklist_id))
        return {r.case_id: r.selection for r in rows}


def test_worklist_picks_the_best_cases_and_hides_the_random_share(live: LiveServer) -> None:
    with live.client() as client:
        response = client.post("/v1/worklists", json={"benefit": "sjukpenning", "k": 100, "objective": "hit_rate", "top": 3})
    assert response.status_code == 201, response.text
    body = response.json()
    items = body["items"]
    assert body["k"] == len(items) == 100
    assert all(item["benefit"] == "sjukpenning" for item in items)
    assert [item["position"] for item in items] == list(range(1, 101))
    selections = _selections(live, body["worklist_id"])
    assert sorted(selections.values()).count("random") == 5  # 100 x 5%
    # Nothing in an item differs between random and model cases: same fields, no score, no reasons.
    shapes = {selections[item["case_id"]]: {k: v for k, v in item.items() if k not in ("position", "case_id")} for item in items}
    assert shapes["random"] == shapes["model"] == {"benefit": "sjukpenning", "score": None, "percentile": None,
                                                   "expected_sek": None, "reasons": [], "reasons_lowering": []}
    # The model's picks are the top-scoring sjukpenning cases not drawn at random.
    snapshot = live.app.state.holder.current
    rows = snapshot.active_rows("sjukpenning")
    random_cases = {c for c, s in selections.items() if s == "random"}
    by_score = snapshot.case_ids[rows][np.argsort(-snapshot.scores[rows], kind="stable")]
    ranked = [int(c) for c in by_score if int(c) not in random_cases]
    model_cases = {c for c, s in selections.items() if s == "model"}
    assert model_cases == set(ranked[:95])


def test_random_cases_are_spread_over_positions_like_model_cases(live: LiveServer) -> None:
    from scipy.stats import mannwhitneyu

    from riskrank.serving.worklist import make_worklist

    snapshot = live.app.state.holder.current
    rng = np.random.default_rng(13)
    positions: dict[str, list[int]] = {"random": [], "model": []}
    for _ in range(150):
        body = make_worklist(live.engine, snapshot, user="stats", benefit="sjukpenning", k=20, objective="hit_rate",
                             share=0.2, top=0, pseudonym_key="k", rng=rng)
        selections = _selections(live, body["worklist_id"])
        for item in body["items"]:
            positions[selections[item["case_id"]]].append(item["position"])
        with live.engine.begin() as conn:  # as if investigated: the next worklist may hand the same cases out
            conn.execute(worklist_items.delete())
    assert len(positions["random"]) == 150 * 4
    # Ordered by score, the random cases sat at the end (p ~ 0); handed out at random, their places are like the rest.
    assert mannwhitneyu(positions["random"], positions["model"]).pvalue > 0.01
    assert np.mean(positions["random"]) == pytest.approx(10.5, abs=0.6)


def test_scores_are_shown_in_worklists_only_when_the_setting_asks(
    tmp_path, shared_model_registry, serve_app
) -> None:
    from tests.serving.conftest import start_live

    live = start_live(tmp_path, shared_model_registry, serve_app, worklist_show_scores=True)
    with live.client() as client:
        body = client.post("/v1/worklists", json={"benefit": "all", "k": 30, "objective": "expected_sek"}).json()
    values = {"barnbidrag": 20000.0, "bostadsbidrag": 35000.0, "sjukpenning": 60000.0}
    for item in body["items"]:
        assert item["expected_sek"] == pytest.approx(item["score"] * values[item["benefit"]])
        assert item["percentile"] is not None and (item["reasons"] or item["reasons_lowering"])
    assert len({item["benefit"] for item in body["items"]}) >= 2 or body["items"][0]["benefit"] == "sjukpenning"


def test_worklist_bad_input_is_422(live: LiveServer) -> None:
    with live.client() as client:
        unknown = client.post("/v1/worklists", json={"benefit": "lottery", "k": 5})
        zero = client.post("/v1/worklists", json={"benefit": "all", "k": 0})
        objective = client.post("/v1/worklists", json={"benefit": "all", "k": 5, "objective": "fun"})
    assert unknown.status_code == 422 and "lottery" in unknown.json()["detail"]
    assert zero.status_code == 422 and zero.json()["errors"][0]["loc"] == ["body", "k"]
    assert objective.status_code == 422 and objective.json()["errors"][0]["loc"] == ["body", "objective"]


def _report(case_id: int, investigation_id: str = "inv-1", **changes) -> dict:
    report = {
        "investigation_id": investigation_id, "case_id": case_id, "opened_date": "2024-07-01", "closed_date": "2024-08-15",
        "action": True, "action_type": "reduced", "detected_sek": 12000.0, "prevented_sek": 30000.0, "police_report": False,
        "disagreed_with_score": True, "disagreement_reason": "the move was reported on paper",
    }
    return {**report, **changes}


def test_outcome_takes_selection_from_worklist_and_is_idempotent(live: LiveServer) -> None:
    with live.client() as client:
        worklist = client.post("/v1/worklists", json={"benefit": "bostadsbidrag", "k": 4}).json()
        case_id = worklist["items"][0]["case_id"]
        first = client.post("/v1/outcomes", json=_report(case_id))
        again = client.post("/v1/outcomes", json=_report(case_id))
        conflict = client.post("/v1/outcomes", json=_report(case_id, detected_sek=1.0, police_report=True))
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["recorded_at"] == first.json()["recorded_at"]
    assert conflict.status_code == 409
    assert "detected_sek" in conflict.json()["detail"] and "police_report" in conflict.json()["detail"]
    assert "selection" not in first.json()
    with live.engine.connect() as conn:
        stored = conn.execute(sa.select(outcomes)).mappings().all()
    assert len(stored) == 1
    frame = live.frame
    assert stored[0]["selection"] == _selections(live, worklist["worklist_id"])[case_id]
    assert stored[0]["sex"] == frame.loc[frame["case_id"] == case_id, "sex"].iloc[0]
    assert stored[0]["benefit"] == "bostadsbidrag"
    assert stored[0]["model_version"] == "1"
    assert stored[0]["detected_sek"] == 12000.0  # the refused conflicting report changed nothing


def test_outcome_outside_worklists_needs_selection(live: LiveServer) -> None:
    case_id = int(live.frame["case_id"].iloc[-1])
    with live.client() as client:
        without = client.post("/v1/outcomes", json=_report(case_id, "inv-2"))
        model_claimed = client.post("/v1/outcomes", json={**_report(case_id, "inv-2"), "selection": "model"})
        with_impulse = client.post("/v1/outcomes", json={**_report(case_id, "inv-2"), "selection": "impulse"})
    assert without.status_code == 422 and "impulse or fk_initiated" in without.json()["detail"]
    assert model_claimed.status_code == 422
    assert with_impulse.status_code == 201
    with live.engine.connect() as conn:
        assert conn.execute(sa.select(outcomes.c.selection, outcomes.c.score)).one() == ("impulse", None)


def test_outcome_consistency_rules_are_422(live: LiveServer) -> None:
    with live.client() as client:
        responses = [
            client.post("/v1/outcomes", json=_report(1000, "x1", closed_date="2024-06-01")),
            client.post("/v1/outcomes", json=_report(1000, "x2", action=False)),
            client.post("/v1/outcomes", json=_report(1000, "x3", disagreement_reason=None)),
            client.post("/v1/outcomes", json=_report(1000, "x4", detected_sek=-5)),
        ]
    messages = [r.json()["errors"][0]["msg"] for r in responses]
    assert all(r.status_code == 422 for r in responses)
    assert "closed_date is before opened_date" in messages[0]
    assert "action_type must be empty" in messages[1]
    assert "disagreement_reason is required" in messages[2]
    assert "greater than or equal to 0" in messages[3]
    with live.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar_one() == 0


def test_no_worklist_holds_a_case_under_open_investigation(live: LiveServer) -> None:
    with live.client() as client:
        first = client.post("/v1/worklists", json={"benefit": "sjukpenning", "k": 20}).json()
        second = client.post("/v1/worklists", json={"benefit": "sjukpenning", "k": 20}).json()
        handed_out = {item["case_id"] for item in first["items"]}
        assert first["left_out_under_investigation"] == 0
        # the first list's cases are being investigated: the next list leaves them out and says how many
        assert second["left_out_under_investigation"] == 20
        assert not handed_out & {item["case_id"] for item in second["items"]}
        # once an outcome is recorded, the case's investigation is closed and it may be ranked again
        done = first["items"][0]["case_id"]
        assert client.post("/v1/outcomes", json=_report(done, "closed-1")).status_code == 201
        third = client.post("/v1/worklists", json={"benefit": "all", "k": 5}).json()
    assert third["left_out_under_investigation"] == 39
    open_now = (handed_out | {item["case_id"] for item in second["items"]}) - {done}
    assert not open_now & {item["case_id"] for item in third["items"]}
