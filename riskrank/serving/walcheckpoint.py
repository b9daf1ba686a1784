"""WAL checkpoints of the SQLite store off the request path.

SQLite checkpoints by itself inside the COMMIT that takes the WAL past 1,000 pages: that commit copies the pages back
into the database file and, with synchronous=NORMAL, syncs both files first, which took 15-160 ms on this machine
while the request (and every request sharing its group commit) waited. The serving process turns that off for its
connections and checkpoints from its own thread every `interval` seconds instead (PASSIVE: never waits for readers
or blocks writers); the sync then runs with the GIL released and no request waiting on it.

What a commit survives does not change for a crash of the process (the WAL is written before the response either
way). For a power loss, synchronous=NORMAL loses what was committed since the WAL was last synced, i.e. since the
last checkpoint: bounded by 1,000 pages before (a few hundred score entries, but minutes when the service is quiet),
by `interval` plus one checkpoint now. `synchronous=FULL` still syncs at every commit. Other processes on the store
(`score-all`, the CLI) keep SQLite's automatic checkpoints.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger("riskrank.serving.walcheckpoint")

INTERVAL_SECONDS = 0.25


def _no_autocheckpoint(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def applies_to(engine: Engine) -> bool:
    """A SQLite file (an in-memory database has no WAL)."""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


class WalCheckpointer:
    """Checkpoints `engine`'s WAL on a daemon thread from start() to stop(); its connections no longer do."""

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # run by the thread so far

    def start(self) -> None:
        # On every checkout, so connections the pool opened before this (the schema check) are covered too.
        sa.event.listen(self._engine, "checkout", _no_autocheckpoint)
        self._thread = threading.Thread(target=self._run, name="riskrank-wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """One last checkpoint, then the thread ends (connections the pool holds keep automatic checkpoints off)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        sa.event.remove(self._engine, "checkout", _no_autocheckpoint)

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, pages in the WAL, pages checkpointed), as SQLite reports it."""
        with self._engine.connect() as conn:
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return int(row[0]), int(row[1]), int(row[2])

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self._interval)
            try:
                self.checkpoint()
                self.checkpoints += 1
            except sa.exc.OperationalError as exc:  # the store locked or gone for a moment: the next one catches up
                log.warning("WAL checkpoint failed (%s); retrying in %s s", type(exc.orig).__name__, self._interval)
            except Exception:
                log.exception("WAL checkpoint failed")
            if stopping:
                return
