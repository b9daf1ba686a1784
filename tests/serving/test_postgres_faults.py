"""PostgreSQL restarted under mixed load (scores, worklists, outcomes) against a real `riskrank serve` process.

Every answer during the restart is a 2xx or a 503 problem with Retry-After; the service answers 2xx again by itself
(the same process); every acknowledged outcome, worklist and score is in the database, and the chain verifies.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from riskrank.db import outcomes
from riskrank.serving import audit_chain
from riskrank.serving.pseudonym import pseudonymise
from riskrank.serving.tables import audit_log, worklists
from tests.fixtures.postgres import PostgresServer
from tests.serving.conftest import add_role_users, fill_feature_store, make_settings
from tests.serving.server_process import ServerProcess, server_env

pytestmark = pytest.mark.slow  # a PostgreSQL server and a riskrank process of its own, about 30 s of load

CASES = range(1000, 1600)  # the fixture frame's case ids
ENOUGH_BEFORE = 20  # acknowledged requests of each kind before the restart
ENOUGH_AFTER = 10  # ... and after it, for the service to count as recovered
MAX_REQUESTS = 3000  # per client: the load is bounded in count ...
DEADLINE_SECONDS = 120  # ... and in time


class Load:
    """Clients that each send one kind of request until told to stop, recording every answer."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.lock = threading.Lock()
        self.answers: list[tuple[str, int, dict[str, str], Any, bool]] = []  # kind, status, headers, body, after restart
        self.restarted = threading.Event()
        self.stop = threading.Event()

    def count(self, kind: str, after: bool) -> int:
        with self.lock:
            return sum(1 for k, status, _, _, a in self.answers if k == kind and 200 <= status < 300 and a == after)

    def client(self, kind: str, request: Callable[[httpx.Client, int], httpx.Response]) -> None:
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30) as http:
            for i in range(MAX_REQUESTS):
                if self.stop.is_set():
                    return
                after = self.restarted.is_set()
                try:
                    response = request(http, i)
                    status, headers, body = response.status_code, dict(response.headers), _body(response)
                except httpx.TransportError as exc:  # not an HTTP answer at all: counted as a failure
                    status, headers, body = -1, {}, repr(exc)
                with self.lock:
                    self.answers.append((kind, status, headers, body, after))


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


@pytest.fixture
def server() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()


@pytest.mark.parametrize("mode", ["fast", "immediate"])  # a clean restart, and a crash with WAL recovery
def test_a_postgres_restart_under_load_loses_nothing_acknowledged_and_heals_by_itself(
    mode: str, tmp_path: Path, shared_model_registry, postgres_server: PostgresServer, server: list[ServerProcess]
) -> None:
    settings = make_settings(tmp_path, shared_model_registry, database_url=postgres_server.url)
    token = add_role_users(settings)["investigator"]
    fill_feature_store(settings, shared_model_registry.frame.drop(columns=["label"]))
    riskrank = ServerProcess(server_env(settings), tmp_path / "server.log")
    server.append(riskrank)
    riskrank.start()
    pid = riskrank.process.pid if riskrank.process else None
    load = Load(riskrank.url, token)
    investigations = itertools.count()

    def score(http: httpx.Client, i: int) -> httpx.Response:
        return http.get(f"/v1/cases/{CASES[(i * 37) % len(CASES)]}/score")

    def worklist(http: httpx.Client, i: int) -> httpx.Response:
        return http.post("/v1/worklists", json={"benefit": "sjukpenning", "k": 2, "objective": "hit_rate", "top": 0})

    def outcome(http: httpx.Client, i: int) -> httpx.Response:
        n = next(investigations)
        return http.post("/v1/outcomes", json={
            "investigation_id": f"KU-PG-{n:05d}", "case_id": CASES[n % len(CASES)], "opened_date": "2024-07-01",
            "closed_date": "2024-08-01", "action": n % 3 == 0, "action_type": "reduced" if n % 3 == 0 else None,
            "detected_sek": 100.0 * (n % 3 == 0), "prevented_sek": 0.0, "selection": "impulse"})

    kinds = {"score": score, "worklist": worklist, "outcome": outcome}
    threads = [threading.Thread(target=load.client, args=(kind, request)) for kind, request in kinds.items()]
    threads.append(threading.Thread(target=load.client, args=("score", score)))  # scores are most of the traffic
    for t in threads:
        t.start()
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while any(load.count(kind, False) < ENOUGH_BEFORE for kind in kinds) and time.monotonic() < deadline:
            time.sleep(0.05)
        postgres_server.restart(down_seconds=2.0, mode=mode)  # either way every pooled connection is cut mid-load
        load.restarted.set()
        while any(load.count(kind, True) < ENOUGH_AFTER for kind in kinds) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        load.stop.set()
        for t in threads:
            t.join(60)

    answers = load.answers
    assert riskrank.process is not None and riskrank.process.poll() is None and riskrank.process.pid == pid
    bad = [(kind, status, body) for kind, status, _, body, _ in answers if not (200 <= status < 300 or status == 503)]
    assert bad == [], f"answers other than 2xx or 503: {bad[:5]} ({len(bad)} in all)"
    unavailable = [(headers, body) for _, status, headers, body, _ in answers if status == 503]
    assert unavailable, "no request met the restart: the load did not run through it"
    for headers, body in unavailable:
        assert headers.get("retry-after", "").isdigit() and headers["content-type"] == "application/problem+json"
        assert body["status"] == 503 and "retry" in body["detail"]
    recovered = {kind: load.count(kind, True) for kind in kinds}
    assert all(n >= ENOUGH_AFTER for n in recovered.values()), f"2xx after the restart: {recovered}"

    engine = sa.create_engine(postgres_server.url)
    with engine.connect() as conn:
        stored_outcomes = set(conn.execute(sa.select(outcomes.c.investigation_id)).scalars())
        stored_worklists = set(conn.execute(sa.select(worklists.c.worklist_id)).scalars())
        score_entries = Counter(conn.execute(sa.select(audit_log.c.subject).where(audit_log.c.action == "score")).scalars())
    acked = [(kind, body) for kind, status, _, body, _ in answers if 200 <= status < 300]
    lost_outcomes = {b["investigation_id"] for k, b in acked if k == "outcome"} - stored_outcomes
    lost_worklists = {b["worklist_id"] for k, b in acked if k == "worklist"} - stored_worklists
    assert lost_outcomes == set() and lost_worklists == set()
    acked_scores = Counter(pseudonymise(b["case_id"], settings.pseudonym_key) for k, b in acked if k == "score")
    lost_scores = {subject: n - score_entries[subject] for subject, n in acked_scores.items() if score_entries[subject] < n}
    assert lost_scores == {}, f"acknowledged scores without an audit entry: {len(lost_scores)} cases"
    verification = audit_chain.verify(engine)
    assert verification.ok, verification
    log = riskrank.log()  # an expected outage is logged in one line per request or poll, never as a traceback
    assert "Traceback" not in log, log[log.index("Traceback") - 200:][:3000]
    engine.dispose()
