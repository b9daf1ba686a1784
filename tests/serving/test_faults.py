"""Faults against a real `riskrank serve` process: SIGKILL after an outcome and during group-committed scores, a
locked database, an unreachable model registry, a corrupt model artifact."""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from riskrank.db import get_engine, outcomes
from riskrank.serving import audit_chain
from riskrank.serving.pseudonym import pseudonymise
from riskrank.serving.tables import audit_log
from tests.fixtures.models import ModelRegistry
from tests.serving.conftest import add_role_users, fill_feature_store, free_port, make_settings
from tests.serving.server_process import ServerProcess, server_env

pytestmark = pytest.mark.slow  # each test starts one or two server processes


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def _setup(tmp_path: Path, registry: ModelRegistry, servers: list[ServerProcess], **env: str):
    settings = make_settings(tmp_path, registry)
    tokens = add_role_users(settings)
    fill_feature_store(settings, registry.frame.drop(columns=["label"]))
    server = ServerProcess(server_env(settings, **env), tmp_path / "server.log")
    servers.append(server)
    return settings, tokens, server


def _auth(tokens: dict[str, str], role: str = "investigator") -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


REPORT = {"investigation_id": "KU-2025-0042", "case_id": 1003, "opened_date": "2024-07-01", "closed_date": "2024-08-01",
          "action": True, "action_type": "reduced", "detected_sek": 5000.0, "prevented_sek": 0.0, "selection": "impulse"}


def test_sigkill_right_after_an_outcome_then_restart(tmp_path, shared_model_registry, servers) -> None:
    settings, tokens, server = _setup(tmp_path, shared_model_registry, servers)
    server.start()
    created = httpx.post(f"{server.url}/v1/outcomes", json=REPORT, headers=_auth(tokens), timeout=30)
    server.kill()
    assert created.status_code == 201
    server.start()
    again = httpx.post(f"{server.url}/v1/outcomes", json=REPORT, headers=_auth(tokens), timeout=30)
    assert again.status_code == 200 and again.json()["created"] is False
    engine = get_engine(settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(outcomes.c.investigation_id)).scalars().all()
        entries = conn.execute(sa.select(audit_log.c.details).where(audit_log.c.action == "outcome")).scalars().all()
    assert stored == ["KU-2025-0042"]
    assert [json.loads(d)["investigation"] for d in entries] == [pseudonymise("KU-2025-0042", settings.pseudonym_key)]
    assert audit_chain.verify(engine).ok


def test_every_acknowledged_score_is_in_the_audit_log_after_a_sigkill_under_load(
    tmp_path, shared_model_registry, servers
) -> None:
    """Scores are group-committed: a 200 must never go out before its entry is committed. 8 clients score until
    the server is SIGKILLed mid-load; every score a client received has its entry, and the chain is whole."""
    settings, tokens, server = _setup(tmp_path, shared_model_registry, servers)
    server.start()
    acknowledged: Counter[int] = Counter()
    counted = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=server.url, headers=_auth(tokens), timeout=30) as http:
            for i in itertools.count():
                if stop.is_set():
                    return
                case_id = 1000 + (n * 75 + i) % 600
                try:
                    response = http.get(f"/v1/cases/{case_id}/score")
                except httpx.TransportError:
                    return  # killed
                if response.status_code == 200:
                    with counted:
                        acknowledged[case_id] += 1

    def total() -> int:
        with counted:
            return sum(acknowledged.values())

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while total() < 300 and time.monotonic() < deadline:
        time.sleep(0.005)
    server.kill()  # while the clients keep requesting: some requests are queued or mid-commit
    stop.set()
    for t in threads:
        t.join(60)
    assert total() >= 300
    engine = get_engine(settings.database_url)
    with engine.connect() as conn:
        stored = Counter(conn.execute(sa.select(audit_log.c.subject).where(audit_log.c.action == "score")).scalars())
    entries_of = {case_id: stored[pseudonymise(case_id, settings.pseudonym_key)] for case_id in acknowledged}
    lost = {case_id: n - entries_of[case_id] for case_id, n in acknowledged.items() if entries_of[case_id] < n}
    assert lost == {}, f"acknowledged scores without an audit entry: {lost}"
    before = audit_chain.verify(engine)
    assert before.ok and before.entries >= total()
    server.start()  # a restarted server continues the same chain
    assert httpx.get(f"{server.url}/v1/cases/1000/score", headers=_auth(tokens), timeout=30).status_code == 200
    after = audit_chain.verify(engine)
    assert after.ok and after.entries == before.entries + 1


def test_a_locked_database_answers_503_with_retry_after_and_recovers(tmp_path, shared_model_registry, servers) -> None:
    settings, tokens, server = _setup(tmp_path, shared_model_registry, servers, RISKRANK_DATABASE_BUSY_TIMEOUT_SECONDS="0.5")
    server.start()
    lock = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        outcome = httpx.post(f"{server.url}/v1/outcomes", json=REPORT, headers=_auth(tokens), timeout=30)
        score = httpx.get(f"{server.url}/v1/cases/1003/score", headers=_auth(tokens), timeout=30)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    for response in (outcome, score):
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"].isdigit() and "retry" in response.json()["detail"]
    recovered = httpx.post(f"{server.url}/v1/outcomes", json=REPORT, headers=_auth(tokens), timeout=30)
    assert recovered.status_code == 201 and recovered.json()["created"] is True
    assert "Traceback" not in server.log()
    assert audit_chain.verify(get_engine(settings.database_url)).ok


def test_an_unreachable_registry_at_start_means_not_ready_with_the_reason(tmp_path, shared_model_registry, servers) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    _, _, server = _setup(tmp_path, shared_model_registry, servers, RISKRANK_MLFLOW_TRACKING_URI=nobody,
                          MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="2")
    server.start(wait_ready=False)
    ready = httpx.get(f"{server.url}/ready", timeout=30)
    assert ready.status_code == 503
    body = ready.json()
    assert body["ready"] is False and body["model_loaded"] is False
    assert body["reasons"] == ["no model is loaded: the model registry could not be reached, or it has no champion alias"]
    assert nobody not in ready.text and "Connection" not in ready.text  # the reason, not the raw exception
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200


def test_a_corrupt_model_artifact_is_refused_and_the_old_model_keeps_serving(tmp_path, model_registry, servers) -> None:
    _, tokens, server = _setup(tmp_path, model_registry, servers)
    server.start()
    before = set((model_registry.root / "artifacts").rglob("*"))
    corrupt = model_registry.register_version(seed=5, alias=None)
    booster_files = [p for p in set((model_registry.root / "artifacts").rglob("*")) - before if p.suffix in (".lgb", ".txt")]
    assert booster_files, "the new version's model file was not found"
    for path in booster_files:
        path.write_text("tree\nnot a LightGBM model\n")
    model_registry.set_alias(corrupt)
    deadline = time.monotonic() + 60
    ready = httpx.get(f"{server.url}/ready", timeout=10).json()
    while ready["failed_version"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
        ready = httpx.get(f"{server.url}/ready", timeout=10).json()
    assert ready["ready"] is True and ready["model_version"] == 1 and ready["failed_version"]["version"] == corrupt
    score = httpx.get(f"{server.url}/v1/cases/1000/score", headers=_auth(tokens), timeout=30)
    assert score.status_code == 200 and score.json()["model"]["version"] == 1
