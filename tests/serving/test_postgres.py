"""The serving tables on PostgreSQL: the audit chain under concurrent appends, tamper detection, outcome idempotency."""

from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from riskrank.db import ensure_schema, get_engine
from riskrank.serving import audit_chain
from riskrank.serving.audit_writer import GroupWriter
from riskrank.serving.outcomes import OutcomeConflict, record_outcome
from riskrank.serving.tables import audit_log


@pytest.fixture
def pg_engine(postgres_url: str):
    """A schema of its own per test, so tests never see each other's rows."""
    schema = f"serving_{uuid.uuid4().hex[:8]}"
    admin = get_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine = sa.create_engine(postgres_url, connect_args={"options": f"-csearch_path={schema}"})
    ensure_schema(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


def test_audit_chain_on_postgres(pg_engine) -> None:
    def worker(n: int) -> None:
        for i in range(10):
            audit_chain.append(pg_engine, actor=f"w{n}", action="score", subject=f"s{i}", score=0.5, details={"i": i})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert audit_chain.verify(pg_engine) == audit_chain.Verification(True, 40)
    with pg_engine.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == 17).values(actor="mallory"))
    result = audit_chain.verify(pg_engine)
    assert not result.ok and result.first_bad_seq == 17


def test_group_committed_appends_mixed_with_direct_ones_keep_one_chain_on_postgres(pg_engine) -> None:
    writer = GroupWriter(pg_engine)

    def grouped(n: int) -> None:
        for i in range(20):
            writer.append(actor=f"g{n}", action="score", subject=f"s{i}", score=0.5, details={"i": i})

    def direct(n: int) -> None:
        for i in range(5):
            audit_chain.append(pg_engine, actor=f"d{n}", action="worklist", details={"i": i})

    threads = [threading.Thread(target=grouped, args=(n,)) for n in range(6)]
    threads += [threading.Thread(target=direct, args=(n,)) for n in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        writer.stop()
    assert not any(t.is_alive() for t in threads)
    assert audit_chain.verify(pg_engine) == audit_chain.Verification(True, 6 * 20 + 2 * 5)


def test_outcome_idempotency_on_postgres(pg_engine) -> None:
    report = {
        "investigation_id": "pg-1", "case_id": 42, "opened_date": date(2024, 1, 2),
        "closed_date": date(2024, 2, 1), "action": False, "action_type": None, "detected_sek": 0.0,
        "prevented_sek": 0.0, "police_report": False, "disagreed_with_score": False, "disagreement_reason": None,
    }

    class Store:
        def get(self, case_id):
            return {"case_id": case_id, "benefit": "barnbidrag", "sex": "F"}

    first = record_outcome(pg_engine, Store(), report, "impulse", "anna", "k")
    again = record_outcome(pg_engine, Store(), report, "impulse", "anna", "k")
    assert first.created and not again.created and again.record["sex"] == "F"
    with pytest.raises(OutcomeConflict, match="police_report"):
        record_outcome(pg_engine, Store(), {**report, "police_report": True}, "impulse", "anna", "k")
    # The outcome and its audit entry were written together, once.
    assert audit_chain.verify(pg_engine) == audit_chain.Verification(True, 1)


def test_deleted_tail_stays_detected_on_postgres(pg_engine) -> None:
    for i in range(5):
        audit_chain.append(pg_engine, actor="a", action="score", details={"i": i})
    with pg_engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq >= 4))
    audit_chain._tips.clear()  # as after a restart
    audit_chain.append(pg_engine, actor="a", action="score", details={})
    result = audit_chain.verify(pg_engine)
    assert not result.ok and result.first_bad_seq == 4
