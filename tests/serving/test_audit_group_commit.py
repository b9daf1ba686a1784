"""Group commit of audit entries (riskrank.serving.audit_writer): one unbroken chain under concurrency, in one
process and across two, shared commits, and failures that reach every waiting caller instead of hanging it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from riskrank.db import ensure_schema, get_engine, outcomes
from riskrank.serving import audit_chain, audit_writer
from riskrank.serving.audit_writer import GroupWriter
from riskrank.serving.tables import audit_head, audit_log
from tests.serving.conftest import LiveServer

WAIT = 60  # seconds: a bound on waiting for a future, so a hang fails the test instead of stalling the suite


@pytest.fixture
def engine(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'audit.db'}", 0.5)
    ensure_schema(engine)
    return engine


@pytest.fixture
def writer(engine):
    writer = GroupWriter(engine)
    yield writer
    writer.stop()


def _score(i: int) -> audit_chain.Fields:
    return audit_chain.Fields.of(actor="ann", action="score", subject=f"p{i}", model_version=1, score=i / 1000,
                           details={"reasons": [{"feature": "f", "value": i, "contribution": 0.1}]})


def _json(value):
    """A frame value as the case-handling system would send it (NaN: missing)."""
    if pd.isna(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _count(engine, **where: str) -> int:
    query = sa.select(sa.func.count()).select_from(audit_log)
    for column, value in where.items():
        query = query.where(audit_log.c[column] == value)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_queued_entries_share_one_commit_and_keep_the_order_they_were_queued_in(engine, writer, monkeypatch) -> None:
    batches: list[int] = []
    real = audit_writer.append_many

    def recording(engine_, items):
        batches.append(len(items))
        return real(engine_, items)

    monkeypatch.setattr(audit_writer, "append_many", recording)
    with writer._wake:  # the writer cannot take anything until all 50 are queued
        futures = [writer.submit(_score(i)) for i in range(50)]
    entries = [f.result(WAIT) for f in futures]
    assert batches == [50]
    assert [e["seq"] for e in entries] == list(range(1, 51))
    assert [e["subject"] for e in entries] == [f"p{i}" for i in range(50)]
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(entries, entries[1:], strict=False))
    result = audit_chain.verify(engine)
    assert result.ok and result.entries == 50 and result.head_hash == entries[-1]["hash"]


def test_concurrent_scores_and_outcomes_keep_one_chain(engine, writer) -> None:
    """Group-committed score entries interleave with direct appends that commit an outcome with their entry."""

    def scores(n: int) -> None:
        for i in range(40):
            writer.append(actor=f"w{n}", action="score", subject=f"s{n}-{i}", details={"i": i})

    def outcomes_(n: int) -> None:
        for i in range(10):
            row = {"investigation_id": f"KU-{n}-{i}", "case_id": i, "benefit": "barnbidrag", "selection": "impulse",
                   "opened_date": date(2024, 7, 1), "closed_date": date(2024, 8, 1), "action": False,
                   "detected_sek": 0.0, "prevented_sek": 0.0, "police_report": False, "disagreed_with_score": False,
                   "recorded_by": "ann", "recorded_at": datetime.now(UTC)}
            audit_chain.append(engine, actor="ann", action="outcome", details={"investigation": row["investigation_id"]},
                         together_with=lambda conn, row=row: conn.execute(outcomes.insert().values(**row)))

    threads = [threading.Thread(target=scores, args=(n,)) for n in range(8)]
    threads += [threading.Thread(target=outcomes_, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not any(t.is_alive() for t in threads)
    result = audit_chain.verify(engine)
    assert result.ok and result.entries == 8 * 40 + 2 * 10
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar_one() == 20
    assert _count(engine, action="outcome") == 20


_OTHER_PROCESS = """
import sys
from riskrank.db import get_engine
from riskrank.serving.audit_writer import GroupWriter
writer = GroupWriter(get_engine(sys.argv[1], 30.0))
print("ready", flush=True)
sys.stdin.readline()  # go
for i in range(int(sys.argv[2])):
    writer.append(actor="other", action="score", subject=f"o{i}", details={"i": i})
writer.stop()
"""


def test_two_processes_group_committing_on_one_database_do_not_fork_the_chain(engine) -> None:
    """Each process's batches extend the head by compare-and-set; a stale cached head costs a retry, not a fork."""
    writer = GroupWriter(get_engine(str(engine.url), 30.0))  # waits for the other's lock instead of failing
    other = subprocess.Popen([sys.executable, "-c", _OTHER_PROCESS, str(engine.url), "200"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdin is not None and other.stderr is not None
        line = other.stdout.readline().strip()
        # Once seen failing here, not reproduced in 8 reruns: say what the other process said if it happens again.
        assert line == "ready", f"the other process did not start: {line!r}; its stderr: {other.stderr.read()[-2000:]}"
        other.stdin.write("go\n")
        other.stdin.flush()
        for i in range(200):  # one at a time, like a lone client, so both processes append throughout
            writer.append(actor="ann", action="score", subject=f"p{i}", details={"i": i})
        assert other.wait(timeout=120) == 0, f"the other process failed: {other.stderr.read()[-2000:]}"
    finally:
        other.kill()
        writer.stop()
    result = audit_chain.verify(engine)
    assert result.ok and result.entries == 400
    assert _count(engine, actor="other") == 200 and _count(engine, actor="ann") == 200


def test_a_chain_started_by_another_writer_between_two_reads_is_not_taken_for_a_missing_head(engine, monkeypatch) -> None:
    # SQLite reads outside a write are not one snapshot: a writer may read no head row, then see the entries that
    # another process committed together with the head in between. Seen as a false "head missing" under load in
    # the two-process test above; the append must re-read and go on.
    audit_chain.append(engine, actor="other", action="score", details={})  # the other writer started the chain
    audit_chain._tips.clear()
    real_read_head = audit_chain._read_head
    calls = {"n": 0}

    def read_head_before_the_other_commit(conn):
        calls["n"] += 1
        return None if calls["n"] == 1 else real_read_head(conn)

    monkeypatch.setattr(audit_chain, "_read_head", read_head_before_the_other_commit)
    entry = audit_chain.append(engine, actor="ann", action="score", details={})
    assert entry["seq"] == 2 and audit_chain.verify(engine).ok


def test_a_locked_database_fails_every_queued_caller_then_the_writer_recovers(engine, writer) -> None:
    lock = sqlite3.connect(engine.url.database, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another writer holds the write lock longer than the busy timeout (0.5 s)
    try:
        futures = [writer.submit(_score(i)) for i in range(5)]
        for future in futures:
            with pytest.raises(sa.exc.OperationalError):
                future.result(WAIT)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert writer.append(actor="ann", action="score", subject="after", details={})["seq"] == 1
    assert audit_chain.verify(engine).ok and _count(engine) == 1


def test_a_refused_append_fails_the_batch_with_audit_unavailable(engine, writer) -> None:
    writer.append(actor="ann", action="score", details={})
    with engine.begin() as conn:
        conn.execute(audit_head.delete())
    audit_chain._tips.clear()  # as after a restart: the head must be read
    with pytest.raises(audit_chain.AuditHeadMissing):
        writer.submit(_score(1)).result(WAIT)
    assert _count(engine) == 1


def test_stop_commits_what_is_queued_and_refuses_later_entries(engine) -> None:
    writer = GroupWriter(engine)
    with audit_chain._append_lock:
        futures = [writer.submit(_score(i)) for i in range(20)]
        stopper = threading.Thread(target=writer.stop)
        stopper.start()
    stopper.join(WAIT)
    assert [f.result(0)["seq"] for f in futures] == list(range(1, 21))
    with pytest.raises(audit_chain.AuditUnavailable):
        writer.submit(_score(99))
    assert audit_chain.verify(engine).entries == 20


def test_a_cancelled_caller_is_not_written(engine, writer) -> None:
    with writer._wake:  # nothing is taken before the cancel
        first = writer.submit(_score(0))
        cancelled = writer.submit(_score(1))
        kept = writer.submit(_score(2))
        assert cancelled.cancel()
    assert first.result(WAIT)["seq"] == 1 and kept.result(WAIT)["seq"] == 2
    assert _count(engine, subject="p1") == 0 and audit_chain.verify(engine).entries == 2


def test_a_score_request_whose_entry_is_refused_gets_503_not_a_hang(live: LiveServer) -> None:
    row = live.frame.iloc[5]
    features = {name: _json(row[name]) for name in live.app.state.holder.current.model.feature_names}
    with live.client() as client:
        assert client.get("/v1/cases/1000/score").status_code == 200
        with live.engine.begin() as conn:
            conn.execute(audit_head.delete())
        refused = client.get("/v1/cases/1001/score")  # by the async route
        refused_body = client.post("/v1/score", json={"features": features})  # by the sync one
    for response in (refused, refused_body):
        assert response.status_code == 503 and "audit log cannot take entries" in response.json()["detail"]
    assert _count(live.engine) == 1


def test_an_unexpected_writer_error_is_a_500_and_the_next_request_is_served(live: LiveServer, monkeypatch) -> None:
    def broken(engine_, items):
        raise RuntimeError("a bug in the writer")

    monkeypatch.setattr(audit_writer, "append_many", broken)
    with live.client() as client:
        failed = client.get("/v1/cases/1000/score")
    monkeypatch.undo()
    with live.client() as client:  # a new connection: uvicorn closes one whose request raised
        served = client.get("/v1/cases/1000/score")
    assert failed.status_code == 500 and failed.headers["content-type"] == "application/problem+json"
    assert failed.json() == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                             "detail": "internal error; it has been logged"}
    assert served.status_code == 200
    assert audit_chain.verify(live.engine).entries == 1


def test_concurrent_score_requests_leave_one_chain_with_an_entry_each(live: LiveServer) -> None:
    statuses: list[int] = []

    def client_loop(n: int) -> None:
        with live.client() as client:
            for i in range(25):
                statuses.append(client.get(f"/v1/cases/{1000 + (n * 25 + i) % 600}/score").status_code)

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert statuses == [200] * 200
    result = audit_chain.verify(live.engine)
    assert result.ok and result.entries == 200
