"""The serving CLI in a subprocess: users add prints a working token once; rank prints a recorded worklist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from riskrank.db import get_engine
from riskrank.serving.auth import Authenticator
from riskrank.serving.tables import worklist_items, worklists
from tests.fixtures.models import ModelRegistry
from tests.serving.conftest import fill_feature_store, make_settings

RISKRANK = [sys.executable, "-c", "from riskrank.cli import main; main()"]


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*RISKRANK, *args], env=env, capture_output=True, text=True, timeout=180)


def _env(settings) -> dict:
    return {**os.environ, "RISKRANK_DATABASE_URL": settings.database_url, "RISKRANK_MLFLOW_TRACKING_URI":
            settings.mlflow_tracking_uri, "RISKRANK_PSEUDONYM_KEY": settings.pseudonym_key, "COLUMNS": "200"}


def test_users_add_prints_a_token_that_authenticates(tmp_path: Path, shared_model_registry: ModelRegistry) -> None:
    settings = make_settings(tmp_path, shared_model_registry)
    env = _env(settings)
    created = _run(env, "users", "add", "anna", "--role", "investigator")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    user = Authenticator(get_engine(settings.database_url)).user_for(token)
    assert user is not None and (user.name, user.role) == ("anna", "investigator")
    again = _run(env, "users", "add", "anna", "--role", "investigator")
    bad_role = _run(env, "users", "add", "bo", "--role", "root")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert bad_role.returncode == 2 and "Invalid value for '--role'" in bad_role.stderr and "Traceback" not in bad_role.stderr

    revoked = _run(env, "users", "deactivate", "anna")
    assert revoked.returncode == 0, revoked.stderr
    assert Authenticator(get_engine(settings.database_url)).user_for(token) is None
    twice = _run(env, "users", "deactivate", "anna")
    assert twice.returncode == 2 and "no active user 'anna'" in twice.stderr


def test_users_rotate_prints_a_new_token_and_the_old_one_stops_working(tmp_path: Path,
                                                                     shared_model_registry: ModelRegistry) -> None:
    settings = make_settings(tmp_path, shared_model_registry)
    env = _env(settings)
    created = _run(env, "users", "add", "rolf", "--role", "auditor", "--expires-days", "7")
    assert created.returncode == 0, created.stderr
    assert "expires" in created.stdout
    old = created.stdout.strip().splitlines()[-1]
    rotated = _run(env, "users", "rotate", "rolf")
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip().splitlines()[-1]
    assert new != old and old not in rotated.stdout
    engine = get_engine(settings.database_url)
    assert Authenticator(engine).user_for(old) is None
    user = Authenticator(engine).user_for(new)
    assert user is not None and user.name == "rolf"
    unknown = _run(env, "users", "rotate", "nobody")
    assert unknown.returncode == 2 and "no active user 'nobody'" in unknown.stderr


def test_users_add_checks_its_arguments_before_making_a_database(tmp_path: Path, shared_model_registry: ModelRegistry) -> None:
    settings = make_settings(tmp_path, shared_model_registry)
    env = _env(settings)
    for args in (["--role", "boss"], ["--role", "manager", "--expires-days", "0"]):
        refused = _run(env, "users", "add", "bob", *args)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert not (tmp_path / "ops.db").exists()


def test_rank_prints_and_records_a_worklist(tmp_path: Path, shared_model_registry: ModelRegistry) -> None:
    settings = make_settings(tmp_path, shared_model_registry)
    fill_feature_store(settings, shared_model_registry.frame.drop(columns=["label"]))
    env = _env(settings)
    ranked = _run(env, "rank", "--benefit", "sjukpenning", "--k", "20", "--objective", "expected_sek", "--user", "cli-test")
    assert ranked.returncode == 0, ranked.stderr
    assert "Worklist sjukpenning, k=20" in ranked.stdout and "never a decision" in ranked.stdout
    engine = get_engine(settings.database_url)
    with engine.connect() as conn:
        header = conn.execute(sa.select(worklists)).mappings().one()
        items = conn.execute(sa.select(worklist_items.c.case_id, worklist_items.c.selection)).all()
    assert header["created_by"] == "cli-test" and header["objective"] == "expected_sek" and header["k"] == 20
    assert len(items) == 20 and {s for _, s in items} <= {"model", "random"}
    assert str(items[0].case_id) in ranked.stdout
    unknown = _run(env, "rank", "--benefit", "lottery", "--k", "5")
    assert unknown.returncode == 2 and "--benefit 'lottery'" in unknown.stderr


def test_serve_starts_uvicorn_and_stops(tmp_path: Path, shared_model_registry: ModelRegistry) -> None:
    import time

    import httpx

    from tests.serving.conftest import free_port

    settings = make_settings(tmp_path, shared_model_registry)
    fill_feature_store(settings, shared_model_registry.frame.drop(columns=["label"]))
    port = free_port()
    server = subprocess.Popen([*RISKRANK, "serve", "--port", str(port), "--log-level", "warning"], env=_env(settings),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, ready = time.monotonic() + 90, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert ready is not None, server.stderr.read() if server.poll() is not None else "server did not answer"
        assert ready.status_code == 200 and ready.json()["model_version"] == 1
        assert ready.json()["cases_in_snapshot"] == len(shared_model_registry.frame)
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
        assert "ranking aid" in httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()["info"]["description"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    bad_port = _run(_env(settings), "serve", "--port", "70000")
    assert bad_port.returncode == 2 and "port must be" in bad_port.stderr
