"""The serving process checkpoints SQLite's WAL from its own thread; its connections no longer checkpoint inside a
commit (which synced both files while requests waited)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from riskrank.db import get_engine
from riskrank.serving.walcheckpoint import WalCheckpointer, applies_to
from tests.serving.conftest import LiveServer


def _autocheckpoint(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def test_checkpoints_move_from_commits_to_the_thread(tmp_path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)")
    assert _autocheckpoint(engine) == 1000  # SQLite's default: inside the commit past 1,000 pages
    idle = WalCheckpointer(engine, interval=3600)  # its thread sleeps through the writes
    idle.start()
    try:
        assert _autocheckpoint(engine) == 0
        for i in range(300):  # 300 commits of 16 KiB
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO blobs VALUES (?, ?)", (i, bytes(16384)))
        busy, wal_pages, done = idle.checkpoint()
        assert wal_pages > 1000 and done == wal_pages  # no commit checkpointed; this one took all
    finally:
        idle.stop()
    assert idle.checkpoints == 1  # the last one, at stop

    ticking = WalCheckpointer(engine, interval=0.01)
    ticking.start()
    try:
        deadline = time.monotonic() + 60
        while ticking.checkpoints < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ticking.checkpoints >= 3
    finally:
        ticking.stop()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM blobs").scalar_one() == 300


def test_the_service_checkpoints_its_sqlite_store(live: LiveServer) -> None:
    engine = live.app.state.engine
    assert applies_to(engine)
    assert _autocheckpoint(engine) == 0
    assert not applies_to(get_engine("sqlite://"))
