"""Group commit for audit entries that audit nothing else in the database (scores).

The service's writer thread (one per app, so per process and database) takes every entry queued since its last
commit, appends them all in ONE transaction (riskrank.serving.audit_chain.append_many: the same hash chain, the same
compare-and-set on the head row, so writers in other processes still cannot fork the chain), commits, and only then
resolves each caller's future. A caller answers its request after its future resolves, so no response claims a
score was served unless its entry is committed. Concurrent requests share one commit instead of queueing for the
database one by one; a lone request pays one thread hand-off (about 0.05 ms), less than the thread-pool hops the
async score route no longer takes.

A failure of the transaction (a locked database, a refused append) fails every future of that batch with the
same exception, so each request ends in the service's usual 503, never waits forever. Outcomes and worklists keep
the direct path (audit.append with together_with): their record must commit in the same transaction as their entry.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy.engine import Engine

from riskrank.serving.audit_chain import AuditUnavailable, Fields, append_many

# Bounds one transaction (and the time the first entry of a big batch waits on the last one's hashing).
MAX_BATCH = 256


class GroupWriter:
    """Queues entries and commits them in batches on its own daemon thread, started on the first entry.

    The app owns one (app.state.audit_writer) and stops it at shutdown, after what is queued is committed.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending: list[tuple[Fields, Future[dict[str, Any]]]] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def submit(self, fields: Fields) -> Future[dict[str, Any]]:
        """Queue one entry; the future resolves to the committed entry, or fails with the append's exception."""
        done: Future[dict[str, Any]] = Future()
        with self._wake:
            if self._stopping:
                raise AuditUnavailable("the service is shutting down; no more audit entries are taken")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-group-commit", daemon=True)
                self._thread.start()
            self._pending.append((fields, done))
            self._wake.notify()
        return done

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then end the thread; later submits are refused."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _take(self) -> list[tuple[Fields, Future[dict[str, Any]]]] | None:
        """The next batch (None: stopped and nothing left)."""
        with self._wake:
            while not self._pending and not self._stopping:
                self._wake.wait()
            if not self._pending:
                return None
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        # A caller that gave up before its entry was written (request cancelled) is dropped: no response goes out.
        # From here on a future can no longer be cancelled, so its outcome can always be set.
        return [(fields, done) for fields, done in batch if done.set_running_or_notify_cancel()]

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[tuple[Fields, Future[dict[str, Any]]]]) -> None:
        try:
            entries = append_many(self._engine, [fields for fields, _ in batch])
        except BaseException as exc:
            # Every caller gets the exception (a locked database, a refused append, a bug): each request ends in the
            # service's error handlers (503 for these two), none waits forever.
            for _, done in batch:
                done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise  # the interpreter is going down
            return
        for (_, done), entry in zip(batch, entries, strict=True):
            done.set_result(entry)

    def append(self, **fields: Any) -> dict[str, Any]:
        """audit.append without together_with, sharing a commit with concurrent callers; blocks until committed."""
        return self.submit(Fields.of(**fields)).result()

    def append_async(self, **fields: Any) -> asyncio.Future[dict[str, Any]]:
        """The same for async endpoints: queued at once; await the result while the event loop serves other requests
        (and the caller may do other work first, e.g. serialise its response) until the entry is committed."""
        return asyncio.wrap_future(self.submit(Fields.of(**fields)))
