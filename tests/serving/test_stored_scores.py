"""The server starts from the nightly scores of `riskrank score-all` instead of scoring every case itself."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from riskrank.batch import score_store
from riskrank.batch.score_all import score_all
from riskrank.db import get_engine
from riskrank.features.store import FeatureStore
from riskrank.model.registry import load_model
from riskrank.model.scoring import logit
from riskrank.world_blocks import open_world
from tests.fixtures.models import ModelRegistry
from tests.serving.conftest import LiveServer, add_role_users, make_settings

AS_OF = pd.Timestamp("2024-06-30")
TAMPERED = 0.123456789


@pytest.fixture
def nightly(tmp_path, tiny_world_dir, shared_model_registry: ModelRegistry, serve_app) -> LiveServer:
    """score-all on the tiny world, one stored score then changed by hand, then the server started."""
    from riskrank.serving.app import create_app

    # Worklists show scores here (a setting; off by default) so the test can compare them with the stored ones.
    settings = make_settings(tmp_path, shared_model_registry, model_poll_seconds=0, worklist_show_scores=True)
    tokens = add_role_users(settings)
    engine = get_engine(settings.database_url)
    model = load_model(alias="champion", tracking_uri=settings.mlflow_tracking_uri,
                                       model_name=settings.model_name)
    score_all(engine, model, open_world(tiny_world_dir), AS_OF, reasons_share=0.02, rows_per_part=5000)
    with engine.begin() as conn:
        first_plain = conn.execute(sa.select(sa.func.min(score_store.case_scores.c.case_id))
                                   .where(score_store.case_scores.c.explanation.is_(None))).scalar()
        conn.execute(sa.update(score_store.case_scores).where(score_store.case_scores.c.case_id == first_plain)
                     .values(score=TAMPERED))
    app = create_app(settings, worklist_seed=1)
    return LiveServer(serve_app(app), settings, app, tokens, FeatureStore(engine).latest_frame())


def stored_rows(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.select(score_store.case_scores), conn)


def test_ready_says_how_many_cases_are_scored_and_as_of_when(nightly: LiveServer) -> None:
    rows = stored_rows(nightly.engine)
    with nightly.client(role=None) as client:
        ready = client.get("/ready").json()
    scores = ready["scores"]
    assert ready["ready"] is True
    assert scores["source"] == "nightly" and scores["cases"] == len(rows) and scores["as_of"] == "2024-06-30"
    assert scores["scored_at"] is not None and scores["with_reasons"] == int(rows["explanation"].notna().sum())
    run = score_store.latest_run(nightly.engine)
    assert run is not None and scores["run_id"] == run.run_id


def test_scores_come_from_the_store_not_from_scoring_at_start(nightly: LiveServer) -> None:
    rows = stored_rows(nightly.engine)
    tampered = int(rows.loc[rows["score"] == TAMPERED, "case_id"].iloc[0])
    with nightly.client() as client:
        body = client.get(f"/v1/cases/{tampered}/score").json()
    assert body["score"] == TAMPERED  # the stored value, which no model computed
    assert nightly.app.state.holder.current.run is not None


def test_top_ranked_case_is_answered_from_its_stored_explanation(nightly: LiveServer) -> None:
    rows = stored_rows(nightly.engine)
    top = rows[rows["explanation"].notna()].iloc[0]
    model = nightly.app.state.holder.current.model
    frame = nightly.frame.loc[nightly.frame["case_id"] == top["case_id"]]
    base, contributions = model.contributions(frame)
    with nightly.client() as client:
        body = client.get(f"/v1/cases/{int(top['case_id'])}/score?top=3").json()
    assert body["score"] == top["score"] and body["percentile"] == pytest.approx(top["percentile"])
    assert body["base_value"] == pytest.approx(base, abs=1e-12)
    assert list(body["contributions"].values()) == pytest.approx(contributions[0].tolist(), abs=1e-12)
    assert body["base_value"] + sum(body["contributions"].values()) == pytest.approx(float(logit(body["score"])), abs=1e-9)
    assert len(body["reasons"]) == 3 and body["features_as_of"] == "2024-06-30"


def test_case_missing_from_the_nightly_run_is_scored_on_request(nightly: LiveServer) -> None:
    """A case with stored features of another date (not active on the run's date) is scored from them."""
    frame = nightly.frame.head(1).copy()
    frame["case_id"] = 99_999_999
    frame["as_of"] = pd.Timestamp("2024-05-31")
    store = FeatureStore(nightly.engine)
    with nightly.engine.begin() as conn:
        store.append(conn, frame, frame["as_of"].iloc[0])
    model = nightly.app.state.holder.current.model
    with nightly.client() as client:
        body = client.get("/v1/cases/99999999/score").json()
        assert client.get("/v1/cases/99999998/score").status_code == 404
    assert body["score"] == pytest.approx(float(model.predict(frame)[0]), abs=1e-12)
    assert body["features_as_of"] == "2024-05-31"


def test_worklist_reads_rows_of_ranked_cases(nightly: LiveServer) -> None:
    rows = stored_rows(nightly.engine)
    benefit = rows["benefit"].value_counts().index[0]
    with nightly.client() as client:
        answer = client.post("/v1/worklists", json={"benefit": benefit, "k": 30, "objective": "hit_rate", "top": 2})
    assert answer.status_code == 201, answer.text
    items = answer.json()["items"]
    by_case = rows.set_index("case_id")
    assert len(items) == 30
    assert all(item["score"] == by_case.loc[item["case_id"], "score"] for item in items)
    # Up to two raising reasons and, apart, up to two lowering ones: explained from the rows read for the list.
    assert all(len(item["reasons"]) <= 2 and len(item["reasons_lowering"]) <= 2 for item in items)
    assert all(len(item["reasons"]) + len(item["reasons_lowering"]) >= 2 for item in items)
    # The model's part of the list are the highest stored scores; at most ceil(30 x share) are random.
    share = nightly.settings.random_share
    top_scores = np.sort(rows.loc[rows["benefit"] == benefit, "score"].to_numpy())[::-1][:30]
    assert sum(item["score"] in set(top_scores.tolist()) for item in items) >= 30 - math.ceil(30 * share)


def test_cases_not_ranked_are_explained_as_from_all_their_stored_features(nightly: LiveServer) -> None:
    """A case the nightly run did not explain is read narrowly (only the model's columns) and explained on request:
    the body equals the one built the old way from every stored feature (get, row_array), its score is the stored
    one and the model's prediction, and the contributions sum to logit(score)."""
    from riskrank.serving.scoring import score_payload

    rows = stored_rows(nightly.engine)
    plain = rows[rows["explanation"].isna() & (rows["score"] != TAMPERED)].sample(12, random_state=3)
    snapshot = nightly.app.state.holder.current
    store = FeatureStore(nightly.engine)
    with nightly.client() as client:
        bodies = [client.get(f"/v1/cases/{int(c)}/score", params={"top": 5}).json() for c in plain["case_id"]]
    for stored, body in zip(plain.itertuples(), bodies, strict=True):
        features = store.get(int(stored.case_id))
        old = score_payload(snapshot, snapshot.model.row_array(features), str(features["benefit"]), 5, float(stored.score))
        assert {key: body[key] for key in old} == old
        assert body["reasons"] or body["reasons_lowering"]
        frame = nightly.frame.loc[nightly.frame["case_id"] == stored.case_id]
        assert body["score"] == stored.score
        assert body["score"] == pytest.approx(float(snapshot.model.predict(frame)[0]), abs=1e-12)
        assert body["base_value"] + sum(body["contributions"].values()) == pytest.approx(float(logit(body["score"])), abs=1e-9)
