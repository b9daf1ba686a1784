"""`riskrank score-all`: every active case scored by the champion into the operational store, resumable."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from riskrank import cli
from riskrank.batch import score_store
from riskrank.batch.score_all import score_all
from riskrank.db import get_engine
from riskrank.features.pipeline import features_as_of
from riskrank.features.store import FeatureStore
from riskrank.model.registry import load_model
from riskrank.model.scoring import ScoringModel
from riskrank.settings import get_settings
from riskrank.world_blocks import open_world
from tests.fixtures.models import ModelRegistry

AS_OF = pd.Timestamp("2024-06-30")
SHARE = 0.05


@pytest.fixture(scope="module")
def champion(shared_model_registry: ModelRegistry) -> ScoringModel:
    return load_model(
        alias="champion", tracking_uri=shared_model_registry.tracking_uri, model_name=shared_model_registry.model_name)


@pytest.fixture(scope="module")
def expected(tiny_world, champion) -> pd.DataFrame:
    frame = features_as_of(tiny_world, AS_OF)
    return pd.DataFrame({"case_id": frame["case_id"], "benefit": frame["benefit"].astype(str),
                         "score": champion.predict(frame)}), frame


def stored(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.select(score_store.case_scores).order_by(score_store.case_scores.c.case_id), conn)


def stored_count(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(score_store.case_scores)).scalar_one())


def test_scores_equal_the_models_predictions_with_percentiles_and_top_reasons(tmp_path, tiny_world_dir, champion, expected):
    want, frame = expected
    engine = get_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    result = score_all(engine, champion, open_world(tiny_world_dir), AS_OF, reasons_share=SHARE, rows_per_part=2000)
    assert not result.resumed and result.scored_now == len(want) > 5000
    rows = stored(engine)
    np.testing.assert_array_equal(rows["case_id"], want["case_id"])
    np.testing.assert_array_equal(rows["score"], want["score"])  # the model's own predictions, to the bit
    assert (rows["benefit"] == want["benefit"]).all()
    run = score_store.latest_run(engine)
    assert run is not None and run.model_version == champion.version and run.cases == len(want)
    assert run.as_of == AS_OF.date()
    # Percentile: share of the benefit's cases scoring at or below.
    for _benefit, group in rows.groupby("benefit"):
        s = group["score"].to_numpy()
        np.testing.assert_allclose(group["percentile"], [100.0 * (s <= x).sum() / len(s) for x in s])
    # Explanations for each benefit's top share, and only for them.
    explained = rows[rows["explanation"].notna()]
    assert len(explained) == sum(math.ceil(SHARE * n) for n in rows.groupby("benefit").size()) == result.explained
    for benefit, group in rows.groupby("benefit"):
        k = math.ceil(SHARE * len(group))
        top = group.sort_values(["score", "case_id"], ascending=[False, True]).head(k)
        assert set(top["case_id"]) == set(explained.loc[explained["benefit"] == benefit, "case_id"])
    case = int(explained["case_id"].iloc[0])
    row, contributions = score_store.decode_explanation(explained["explanation"].iloc[0])
    X = champion.prepare_array(frame.loc[frame["case_id"] == case])
    np.testing.assert_array_equal(row, X[0])
    # The nightly run's stored explanation and one made now for the same row: riskrank/model/treeshap.py both times,
    # equal to rounding.
    np.testing.assert_allclose(contributions, champion.contributions(X)[1][0], rtol=0, atol=1e-12)
    # The computed features went to the feature store as a complete snapshot of that date.
    store = FeatureStore(engine)
    assert store.latest_as_of() == AS_OF.date()
    pd.testing.assert_frame_equal(store.latest_frame(), frame, check_exact=False, rtol=1e-12)


def test_reuses_stored_features_of_that_date(tmp_path, tiny_world_dir, champion, expected):
    want, frame = expected
    engine = get_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    FeatureStore(engine).write(frame, AS_OF)
    result = score_all(engine, champion, open_world(tiny_world_dir), AS_OF, reasons_share=SHARE, rows_per_part=3000)
    assert result.features_reused
    np.testing.assert_array_equal(stored(engine)["score"], want["score"])


def test_a_world_on_disk_read_per_block_gives_the_same_scores_and_stored_features(tmp_path, tiny_world_dir, champion,
                                                                                   expected):
    """The CLI's path: signals read a block of persons at a time (riskrank.world_blocks), the same rows stored."""
    want, frame = expected
    engine = get_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    result = score_all(engine, champion, open_world(tiny_world_dir), AS_OF, reasons_share=SHARE, rows_per_part=2000)
    assert not result.features_reused and result.scored_now == len(want)
    rows = stored(engine)
    np.testing.assert_array_equal(rows["case_id"], want["case_id"])
    np.testing.assert_array_equal(rows["score"], want["score"])
    pd.testing.assert_frame_equal(FeatureStore(engine).latest_frame(), frame, check_exact=False, rtol=1e-12)


class Interrupted(Exception):
    pass


def test_interrupted_run_resumes_with_one_score_per_active_case(tmp_path, tiny_world_dir, champion, expected):
    want, _ = expected
    engine = get_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    world = open_world(tiny_world_dir)
    seen = []

    def stop_after_two_parts(n: int) -> None:
        seen.append(n)
        if len(seen) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        score_all(engine, champion, world, AS_OF, reasons_share=SHARE, rows_per_part=2000, progress=stop_after_two_parts)
    assert score_store.latest_run(engine) is None  # an unfinished run is invisible to serving
    assert len(stored(engine)) == sum(seen)
    result = score_all(engine, champion, world, AS_OF, reasons_share=SHARE, rows_per_part=2000)
    assert result.resumed and result.scored_now == len(want) - sum(seen)
    rows = stored(engine)
    assert rows["case_id"].is_unique and len(rows) == len(want)
    np.testing.assert_array_equal(rows["score"], want["score"])
    assert rows["percentile"].notna().all()


def test_dask_engine_gives_identical_scores(tmp_path, tiny_world_dir, champion, expected):
    from riskrank.features.dask_engine import cluster_client

    want, _ = expected
    engine = get_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    world = open_world(tiny_world_dir)
    with cluster_client(n_workers=2) as client:
        score_all(engine, champion, world, AS_OF, reasons_share=SHARE, feature_engine="dask", client=client,
                  rows_per_part=3000)
    rows = stored(engine)
    np.testing.assert_array_equal(rows["case_id"], want["case_id"])
    np.testing.assert_array_equal(rows["score"], want["score"])


# -- the command ------------------------------------------------------------------------------------------------
def _env(tmp_path: Path, registry: ModelRegistry) -> dict[str, str]:
    return {"RISKRANK_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}", "RISKRANK_MLFLOW_TRACKING_URI": registry.tracking_uri,
            "RISKRANK_MODEL_NAME": registry.model_name}


def run_cli(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["riskrank", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return exit_info.value.code


@pytest.mark.parametrize(("args", "message"), [
    (["--reasons-share", "1.5"], "--reasons-share"),
    (["--engine", "spark"], "--engine"),
    (["--scheduler", "tcp://x:1"], "--scheduler needs --engine dask"),
    (["--as-of", "2031-01-01"], "outside the world"),
    (["--as-of", "soon"], "not a date"),
])
def test_bad_options_are_refused_and_change_nothing(monkeypatch, capsys, tmp_path, tiny_world_dir, shared_model_registry,
                                                    args, message):
    for key, value in _env(tmp_path, shared_model_registry).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    base = {"--world": str(tiny_world_dir), "--as-of": "2024-06-30"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    try:
        code = run_cli(monkeypatch, "score-all", *[x for kv in base.items() for x in kv])
    finally:
        get_settings.cache_clear()
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err and "Traceback" not in err
    assert score_store.latest_run(get_engine(f"sqlite:///{tmp_path / 'ops.db'}")) is None


@pytest.mark.slow
def test_killed_command_restarted_leaves_one_score_per_active_case(tmp_path, tiny_world_dir, shared_model_registry,
                                                                   tiny_world, expected):
    """A real SIGKILL of `riskrank score-all` after some parts are committed, then the same command again."""
    want, _ = expected
    env = {**os.environ, **_env(tmp_path, shared_model_registry)}
    command = [str(Path(sys.executable).parent / "riskrank"), "score-all", "--world", str(tiny_world_dir),
               "--as-of", "2024-06-30", "--rows-per-part", "1000", "--reasons-share", str(SHARE)]
    engine = get_engine(env["RISKRANK_DATABASE_URL"])
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                # Killed as soon as the first part is committed (a cheap count): polling the whole table for two
                # parts once let it run through the rest before the kill landed.
                if stored_count(engine) >= 1000:
                    break
            except sa.exc.OperationalError:
                pass  # tables not created yet
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    partial = len(stored(engine))
    assert 0 < partial < len(want)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resumed" in done.stderr
    rows = stored(engine)
    assert rows["case_id"].is_unique and len(rows) == len(want)
    np.testing.assert_array_equal(rows["score"], want["score"])


def test_score_all_on_postgres_then_read_back(postgres_url, tiny_world_dir, champion, expected):
    """The same run on PostgreSQL (features by COPY, scores and explanations as bytea), read back as serving does."""
    import uuid

    want, _ = expected
    schema = f"scores_{uuid.uuid4().hex[:8]}"
    admin = get_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine = sa.create_engine(postgres_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        result = score_all(engine, champion, open_world(tiny_world_dir), AS_OF, reasons_share=SHARE, rows_per_part=4000)
        run = score_store.latest_run(engine)
        assert run is not None and run.run_id == result.run.run_id
        stored_scores, explanations = score_store.load_scores(engine, run)
        np.testing.assert_array_equal(stored_scores.case_ids, want["case_id"])
        np.testing.assert_array_equal(stored_scores.scores, want["score"])
        assert len(explanations) == result.explained > 0
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


def test_champion_of_another_feature_set_is_refused(monkeypatch, capsys, tmp_path, tiny_world_dir, model_registry):
    version = model_registry.register_version(seed=3, meta_override=lambda meta: {**meta, "feature_set_version": "fs0-old"})
    for key, value in _env(tmp_path, model_registry).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        code = run_cli(monkeypatch, "score-all", "--world", str(tiny_world_dir), "--as-of", "2024-06-30")
    finally:
        get_settings.cache_clear()
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and f"version {version}" in err and "fs0-old" in err and "Traceback" not in err
