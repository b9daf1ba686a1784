"""An outcome or a worklist and its audit entry commit together, and where an outcome's selection comes from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from riskrank.db import outcomes
from riskrank.serving import audit_chain
from riskrank.serving.tables import audit_log, worklist_items, worklists
from tests.serving.conftest import LiveServer
from tests.serving.test_worklists_outcomes import _report


def _audit_actions(live: LiveServer) -> list[str]:
    with live.engine.connect() as conn:
        return list(conn.execute(sa.select(audit_log.c.action).order_by(audit_log.c.seq)).scalars())


def _fail_audit_inserts(live: LiveServer, on: bool) -> None:
    with live.engine.begin() as conn:
        if on:
            conn.exec_driver_sql("CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'down'); END")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_down")


def test_an_outcome_whose_audit_entry_fails_is_not_recorded_and_the_retry_audits_it(live: LiveServer) -> None:
    case_id = int(live.frame["case_id"].iloc[0])
    report = {**_report(case_id, "inv-atomic"), "selection": "impulse"}
    _fail_audit_inserts(live, True)
    with live.client() as client:
        failed = client.post("/v1/outcomes", json=report)
        _fail_audit_inserts(live, False)
        retried = client.post("/v1/outcomes", json=report)
    assert failed.status_code == 503 and "nothing can be recorded" in failed.json()["detail"]
    assert retried.status_code == 201 and retried.json()["created"] is True
    with live.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar() == 1
    assert _audit_actions(live) == ["outcome"]
    assert audit_chain.verify(live.engine).ok


def test_a_worklist_whose_audit_entry_fails_is_not_recorded(live: LiveServer) -> None:
    _fail_audit_inserts(live, True)
    with live.client() as client:
        failed = client.post("/v1/worklists", json={"benefit": "barnbidrag", "k": 3})
    _fail_audit_inserts(live, False)
    assert failed.status_code == 503
    with live.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(worklists)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(worklist_items)).scalar() == 0


def _hand_out(live: LiveServer, case_id: int, selection: str, created_at: datetime) -> None:
    worklist_id = f"wl-{selection}-{created_at.timestamp()}"
    with live.engine.begin() as conn:
        conn.execute(worklists.insert().values(worklist_id=worklist_id, created_at=created_at, created_by="x", benefit=None, k=1,
                                               objective="hit_rate", random_share=0.05, model_version="1"))
        conn.execute(worklist_items.insert().values(worklist_id=worklist_id, position=1, case_id=case_id, benefit="barnbidrag",
                                                    selection=selection, score=0.5, created_at=created_at))


def test_selection_comes_from_the_worklist_the_investigation_came_from(live: LiveServer) -> None:
    case_id = int(live.frame["case_id"].iloc[0])
    now = datetime.now(UTC)
    _hand_out(live, case_id, "random", now - timedelta(days=30))  # the control sample handed the case out ...
    _hand_out(live, case_id, "model", now - timedelta(days=2))  # ... and a later worklist listed it again
    with live.client() as client:
        first = client.post("/v1/outcomes", json=_report(case_id, "inv-first"))
        _hand_out(live, case_id, "model", datetime.now(UTC) + timedelta(seconds=1))  # a new hand-out after that outcome
        second = client.post("/v1/outcomes", json=_report(case_id, "inv-second"))
    assert first.status_code == 201 and second.status_code == 201
    with live.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(outcomes.c.investigation_id, outcomes.c.selection)).all())
    assert stored == {"inv-first": "random", "inv-second": "model"}
