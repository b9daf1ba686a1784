"""The audit chain: verifies after real traffic, and names the first entry altered or deleted with SQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
import sqlalchemy as sa

from riskrank.db import get_engine
from riskrank.serving import audit
from riskrank.serving.tables import audit_log, create_serving_tables
from tests.serving.conftest import LiveServer


def _traffic(live: LiveServer) -> None:
    with live.client() as client:
        for case_id in (1000, 1001, 1002):
            assert client.get(f"/v1/cases/{case_id}/score").status_code == 200
        assert client.post("/v1/worklists", json={"benefit": "barnbidrag", "k": 3}).status_code == 201


def test_chain_verifies_over_http_then_breaks_when_an_entry_is_altered(live: LiveServer) -> None:
    _traffic(live)
    with live.client("auditor") as client:
        ok = client.get("/v1/audit-log/verify").json()
        entries = client.get("/v1/audit-log", params={"limit": 2}).json()["entries"]
    assert ok == {"ok": True, "entries": 4, "first_bad_seq": None, "problem": None}
    assert [e["seq"] for e in entries] == [1, 2]
    assert entries[1]["prev_hash"] == entries[0]["hash"]
    with live.engine.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == 2).values(score=0.01))
    with live.client("auditor") as client:
        broken = client.get("/v1/audit-log/verify").json()
    assert broken["ok"] is False and broken["first_bad_seq"] == 2 and "altered" in broken["problem"]


@pytest.fixture
def audit_engine(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    create_serving_tables(engine)
    for i in range(5):
        audit.append(engine, actor="ann", action="score", subject=f"p{i}", model_version=1, score=i / 10, details={"i": i})
    return engine


def test_deleting_an_entry_in_the_middle_is_detected(audit_engine) -> None:
    assert audit.verify(audit_engine).ok
    with audit_engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq == 3))
    result = audit.verify(audit_engine)
    assert not result.ok and result.first_bad_seq == 3 and "missing" in result.problem


def test_deleting_the_last_entries_is_detected(audit_engine) -> None:
    with audit_engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq >= 4))
    result = audit.verify(audit_engine)
    assert not result.ok and result.first_bad_seq == 4 and "deleted from the end" in result.problem


def test_rewriting_an_entry_with_a_fresh_hash_breaks_the_next_link(audit_engine) -> None:
    with audit_engine.begin() as conn:
        row = dict(conn.execute(sa.select(audit_log).where(audit_log.c.seq == 2)).mappings().one())
        row["details"] = audit.canonical_json({"i": 99})
        row["hash"] = audit.entry_hash(row)
        conn.execute(audit_log.update().where(audit_log.c.seq == 2).values(details=row["details"], hash=row["hash"]))
    result = audit.verify(audit_engine)
    assert not result.ok and result.first_bad_seq == 3 and "does not link" in result.problem


def test_concurrent_appends_keep_one_chain(audit_engine) -> None:
    def worker(n: int) -> None:
        for i in range(15):
            audit.append(audit_engine, actor=f"w{n}", action="score", subject=f"s{i}", details={})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = audit.verify(audit_engine)
    assert result.ok and result.entries == 5 + 6 * 15


def test_cli_verify_exits_1_and_names_the_entry(tmp_path, audit_engine) -> None:
    env = {**os.environ, "RISKRANK_DATABASE_URL": str(audit_engine.url)}
    command = [sys.executable, "-c", "from riskrank.cli import main; main()", "audit-log", "verify"]
    ok = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "5 entries" in ok.stdout
    with audit_engine.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == 4).values(actor="mallory"))
    broken = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1 and "entry 4" in broken.stderr


def test_appends_continue_the_chain_written_by_another_process(audit_engine) -> None:
    """This process caches the chain's tip; an entry appended by another writer must not fork the chain."""
    from riskrank.serving.tables import audit_head

    # Simulate another process: append through a second engine object (its own cache key is the same URL,
    # so write the entry by hand the way another process would, moving the head too).
    with audit_engine.begin() as conn:
        tip = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).mappings().one()
        entry = {"seq": tip["seq"] + 1, "at": "2026-01-01T00:00:00.000000+00:00", "actor": "cli", "action": "worklist",
                 "subject": None, "model_version": "1", "score": None, "details": "{}", "prev_hash": tip["hash"]}
        entry["hash"] = audit.entry_hash(entry)
        conn.execute(audit_log.insert().values(**entry))
        conn.execute(audit_head.update().values(seq=entry["seq"], hash=entry["hash"]))
    appended = audit.append(audit_engine, actor="server", action="score", details={})
    assert appended["seq"] == entry["seq"] + 1 and appended["prev_hash"] == entry["hash"]
    assert audit.verify(audit_engine).ok
