"""The append-only audit log: every score, worklist and outcome, chained by hashes.

Each entry's hash covers its own fields and the previous entry's hash, so editing or deleting any entry
breaks the chain from that point on; `verify` names the first entry that does not check out.
Appends are serialised (a process lock plus a write transaction) so concurrent requests cannot fork the chain.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from riskrank.serving.tables import audit_head, audit_log

GENESIS = "0" * 64
_append_lock = threading.Lock()
_RETRIES = 20


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(entry: dict[str, Any]) -> str:
    fields = {k: entry[k] for k in ("seq", "at", "actor", "action", "subject", "model_version", "score", "details", "prev_hash")}
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


class _Tip:
    """The chain's last (seq, hash) as this process last wrote it, per database, to skip reading it back.

    Only a hint, checked in the same statement that moves the head: the head row is updated only where it
    still holds this tip (compare-and-set), so if another process appended, or the database was replaced,
    the append re-reads the tip from the database and tries again.
    """

    def __init__(self) -> None:
        self.by_url: dict[str, tuple[int, str]] = {}


_tip = _Tip()


class _StaleTip(Exception):
    """The cached tip is not the database's: read it again."""


def append(
    engine: Engine,
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    model_version: int | str | None = None,
    score: float | None = None,
    details: Any = None,
) -> dict[str, Any]:
    """Append one entry and return it (with seq and hash).

    Within the process a lock serialises appends; across processes (the server and a CLI `rank`) the
    primary key on seq makes a second writer of the same seq fail, and it retries on the new tip.
    """
    body = canonical_json(details if details is not None else {})
    key = str(engine.url)
    with _append_lock:
        for attempt in range(_RETRIES):
            try:
                with engine.begin() as conn:
                    tip = _tip.by_url.get(key) if attempt == 0 else None
                    entry = _append_in(conn, tip, actor, action, subject, model_version, score, body)
                _tip.by_url[key] = (entry["seq"], entry["hash"])
                return entry
            except (_StaleTip, sa.exc.IntegrityError, sa.exc.OperationalError):
                _tip.by_url.pop(key, None)
                if attempt == _RETRIES - 1:
                    raise
                time.sleep(0.005 * attempt)
    raise AssertionError("unreachable")


def _append_in(
    conn: Connection, tip: tuple[int, str] | None, actor: str, action: str, subject: str | None,
    model_version: int | str | None, score: float | None, body: str,
) -> dict[str, Any]:
    cached = tip is not None
    if tip is None:
        row = conn.execute(sa.select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
        tip = (row.seq, row.hash) if row else (0, GENESIS)
    entry = {
        "seq": tip[0] + 1,
        "at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "model_version": None if model_version is None else str(model_version),
        "score": None if score is None else float(score),
        "details": body,
        "prev_hash": tip[1],
    }
    entry["hash"] = entry_hash(entry)
    # The head row lets verify notice entries deleted from the end of the chain.
    where = audit_head.c.id == 1
    if cached:
        where = where & (audit_head.c.seq == tip[0]) & (audit_head.c.hash == tip[1])
    updated = conn.execute(audit_head.update().where(where).values(seq=entry["seq"], hash=entry["hash"]))
    if updated.rowcount == 0:
        if cached:
            raise _StaleTip
        conn.execute(audit_head.insert().values(id=1, seq=entry["seq"], hash=entry["hash"]))
    conn.execute(audit_log.insert().values(**entry))
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(engine: Engine) -> Verification:
    """Walk the chain in order; the first entry whose hash, link or sequence number is wrong is reported."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).mappings()
        for row in rows:
            entry = dict(row)
            count += 1
            if entry["seq"] != expected_seq:
                return Verification(False, count, expected_seq, f"entry {expected_seq} is missing (next is {entry['seq']})")
            if entry["prev_hash"] != prev_hash:
                return Verification(False, count, entry["seq"], f"entry {entry['seq']} does not link to the entry before it")
            if entry_hash(entry) != entry["hash"]:
                return Verification(False, count, entry["seq"], f"entry {entry['seq']} was altered (hash mismatch)")
            prev_hash, expected_seq = entry["hash"], expected_seq + 1
        head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if (head_seq, head_hash) != (expected_seq - 1, prev_hash):
        if head_seq > expected_seq - 1:
            return Verification(False, count, expected_seq, f"entries {expected_seq} to {head_seq} were deleted from the end")
        return Verification(False, count, head_seq or None, "the chain's end does not match the recorded head")
    return Verification(True, count)


def read_entries(engine: Engine, after_seq: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log).where(audit_log.c.seq > after_seq).order_by(audit_log.c.seq).limit(limit)
        ).mappings()
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]
