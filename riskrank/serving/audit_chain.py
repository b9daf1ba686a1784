"""The append-only audit log: every score, worklist and outcome, chained by hashes.

Each entry's hash covers its own fields and the previous entry's hash, so editing, deleting or reordering
any entry breaks the chain from that point on; `verify` names the first entry that does not check out.

The head row (`audit_head`: last seq and hash) is what an append extends, never the last surviving row:
after entries are cut off the end, the next append still links to the recorded head, so the gap stays
visible to verify instead of being papered over. The head is moved by compare-and-set in the same
transaction as the insert (and as the outcome or worklist being audited), so concurrent writers in any
process cannot fork the chain. Someone who can rewrite the table and the head together is caught by a
signed checkpoint the auditor keeps elsewhere (riskrank.serving.checkpoint).
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from riskrank.db import Prepared
from riskrank.serving.tables import audit_head, audit_log

GENESIS = "0" * 64
_append_lock = threading.Lock()
_RETRIES = 20


class AuditUnavailable(Exception):
    """The audit log cannot take an entry, so the record it would audit is not written either."""


class AuditHeadMissing(AuditUnavailable):
    """The log has entries but no head row: someone removed it. Appends are refused until an operator looks."""


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(entry: dict[str, Any]) -> str:
    fields = {k: entry[k] for k in ("seq", "at", "actor", "action", "subject", "model_version", "score", "details", "prev_hash")}
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


# The head as this process last wrote it, per database URL: a hint that saves reading it back. The head
# update checks it (compare-and-set), so a stale hint only costs one retry.
_tips: dict[str, tuple[int, str]] = {}
# Each engine's URL as that key, rendered once (rendering, or hashing the URL, which renders it, took about as long
# as hashing an entry).
_keys: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


class _StaleTip(Exception):
    """The head moved under us (another writer): read it again and retry."""


@dataclass(frozen=True)
class Fields:
    """What the caller says about one entry; seq, time and hashes are added when it is appended."""

    actor: str
    action: str
    subject: str | None = None
    model_version: str | None = None
    score: float | None = None
    details: str = "{}"  # canonical JSON

    @classmethod
    def of(
        cls, *, actor: str, action: str, subject: str | None = None, model_version: int | str | None = None,
        score: float | None = None, details: Any = None,
    ) -> Fields:
        return cls(actor, action, subject, None if model_version is None else str(model_version),
                   None if score is None else float(score), canonical_json(details if details is not None else {}))


def append(
    engine: Engine,
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    model_version: int | str | None = None,
    score: float | None = None,
    details: Any = None,
    together_with: Callable[[Connection], None] | None = None,
) -> dict[str, Any]:
    """Append one entry and return it (with seq and hash), committed.

    `together_with(conn)` writes the record being audited (an outcome, a worklist) in the same transaction:
    both commit or neither does. It may run more than once if the transaction is retried.
    Entries that audit nothing else (scores) can share one commit: riskrank.serving.audit_writer.
    """
    fields = Fields.of(actor=actor, action=action, subject=subject, model_version=model_version, score=score,
                       details=details)
    return append_many(engine, [fields], together_with)[0]


def append_many(
    engine: Engine, items: Sequence[Fields], together_with: Callable[[Connection], None] | None = None
) -> list[dict[str, Any]]:
    """Append `items` in order in ONE transaction (one head compare-and-set, one commit); all or none commit."""
    key = _keys.get(engine) or _keys.setdefault(engine, str(engine.url))
    with _append_lock:
        for attempt in range(_RETRIES):
            try:
                with engine.begin() as conn:
                    if together_with is not None:
                        together_with(conn)
                    tip = _tips.get(key) if attempt == 0 else None
                    entries = _append_in(conn, tip, items)
                _tips[key] = (entries[-1]["seq"], entries[-1]["hash"])
                return entries
            except _StaleTip:
                _tips.pop(key, None)
            except BaseException:
                _tips.pop(key, None)
                raise
    raise RuntimeError(f"audit append gave up after {_RETRIES} concurrent-writer retries")


def _read_head(conn: Connection) -> tuple[int, str] | None:
    row = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    return (row.seq, row.hash) if row else None


# Built once, and compiled once per dialect (db.Prepared): running a compiled statement still cost SQLAlchemy about
# 40 us each time (cache key, parameter processing), more than SQLite took to run it. Every value is a plain str,
# int or float, so no bind processing is skipped.
_MOVE_HEAD = (
    audit_head.update()
    .where(audit_head.c.id == sa.literal_column("1"))
    .where(audit_head.c.seq == sa.bindparam("old_seq"))
    .where(audit_head.c.hash == sa.bindparam("old_hash"))
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)
_INSERT = audit_log.insert().values({c.name: sa.bindparam(c.name) for c in audit_log.columns})


_move_head = Prepared(_MOVE_HEAD)
_insert = Prepared(_INSERT)


def _append_in(conn: Connection, tip: tuple[int, str] | None, items: Sequence[Fields]) -> list[dict[str, Any]]:
    if tip is None:
        tip = _read_head(conn)
        if tip is None:
            if conn.execute(sa.select(audit_log.c.seq).limit(1)).first() is not None:
                # SQLite's reads before a write are not one snapshot: another writer may have committed the head
                # together with its entries between the two reads. Only a head still missing now was removed.
                if _read_head(conn) is not None:
                    raise _StaleTip
                raise AuditHeadMissing("the audit log has entries but its head row is missing; appends are refused")
            try:
                conn.execute(audit_head.insert().values(id=1, seq=0, hash=GENESIS))
            except sa.exc.IntegrityError:
                raise _StaleTip from None  # another writer started the chain first; the transaction rolls back
            tip = (0, GENESIS)
    entries = []
    seq, prev_hash = tip
    for item in items:
        seq += 1
        entry = {
            "seq": seq,
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "actor": item.actor,
            "action": item.action,
            "subject": item.subject,
            "model_version": item.model_version,
            "score": item.score,
            "details": item.details,
            "prev_hash": prev_hash,
        }
        entry["hash"] = prev_hash = entry_hash(entry)
        entries.append(entry)
    # One compare-and-set from the head we built on to the last new entry: a writer in another process that moved
    # the head meanwhile makes this match nothing, and the whole batch is rebuilt on the new head.
    moved = _move_head(conn, {"old_seq": tip[0], "old_hash": tip[1], "new_seq": seq, "new_hash": prev_hash})
    if moved.rowcount != 1:
        raise _StaleTip
    try:
        _insert(conn, entries)
    except sa.exc.IntegrityError:
        # E.g. a row with one of these seqs exists although the head said it was free (put there behind the head's
        # back). Refuse rather than overwrite or skip; verify names the damage.
        which = f"entry {seq}" if len(entries) == 1 else f"entries {entries[0]['seq']} to {seq}"
        raise AuditUnavailable(f"the database refused audit {which}") from None
    return entries


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None
    # The head this check found (what a checkpoint signs); not part of the verdict.
    head_seq: int = field(default=0, compare=False)
    head_hash: str = field(default=GENESIS, compare=False)


class AuditLogMissing(Exception):
    """The database has no audit log tables (a mistyped URL, or nothing was ever served from it)."""


def _require_tables(conn: Connection) -> None:
    names = set(sa.inspect(conn).get_table_names())
    missing = [t.name for t in (audit_log, audit_head) if t.name not in names]
    if missing:
        raise AuditLogMissing(f"no audit log in this database (missing tables: {', '.join(missing)})")


def _entry_problem(
    entry: dict[str, Any], count: int, expected_seq: int, prev_hash: str, head: tuple[int, str] | None,
    expect: tuple[int, str] | None,
) -> Verification | None:
    seq = entry["seq"]
    if head is not None and seq > head[0]:
        # In one snapshot no append can be half-seen: a row past the head was put there by hand.
        return Verification(False, count, seq, f"entry {seq} lies beyond the recorded head ({head[0]})")
    if seq != expected_seq:
        return Verification(False, count, expected_seq, f"entry {expected_seq} is missing (next is {seq})")
    if entry["prev_hash"] != prev_hash:
        return Verification(False, count, seq, f"entry {seq} does not link to the entry before it")
    if entry_hash(entry) != entry["hash"]:
        return Verification(False, count, seq, f"entry {seq} was altered (hash mismatch)")
    if expect is not None and seq == expect[0] and entry["hash"] != expect[1]:
        return Verification(False, count, seq, f"entry {seq} differs from the checkpoint")
    return None


def verify(engine: Engine, *, expect: tuple[int, str] | None = None) -> Verification:
    """Walk the chain in order; the first entry whose hash, link or sequence number is wrong is reported.

    The chain and its head are read by one statement, so one consistent snapshot is checked even while
    appends go on. `expect` = (seq, hash) of a checkpoint: the chain must contain exactly that entry.
    Never creates tables: a database without an audit log raises AuditLogMissing.
    """
    head_seq_q = sa.select(audit_head.c.seq).where(audit_head.c.id == 1).scalar_subquery()
    head_hash_q = sa.select(audit_head.c.hash).where(audit_head.c.id == 1).scalar_subquery()
    # One statement, so the head and the rows come from the same snapshot (SQLite and PostgreSQL alike).
    query = (
        sa.select(head_seq_q.label("head_seq"), head_hash_q.label("head_hash"), audit_log)
        .select_from(audit_log)
        .order_by(audit_log.c.seq)
    )
    prev_hash, expected_seq, count = GENESIS, 1, 0
    head: tuple[int, str] | None = None
    problem: Verification | None = None
    with engine.connect() as conn:
        _require_tables(conn)
        for row in conn.execute(query).mappings():
            if count == 0:
                head = None if row["head_seq"] is None else (row["head_seq"], row["head_hash"])
            count += 1
            problem = _entry_problem(dict(row), count, expected_seq, prev_hash, head, expect)
            if problem is not None:
                break
            prev_hash, expected_seq = row["hash"], expected_seq + 1
        if count == 0:
            head = _read_head(conn)
    if problem is not None:
        return problem
    if head is None:
        if count:
            return Verification(False, count, None, "the chain's head record is missing")
        head = (0, GENESIS)
    last_seq = expected_seq - 1
    if head != (last_seq, prev_hash):
        if head[0] > last_seq:
            return Verification(False, count, last_seq + 1, f"entries {last_seq + 1} to {head[0]} were deleted from the end")
        return Verification(False, count, head[0] or None, "the chain's end does not match the recorded head")
    if expect is not None and expect[0] > last_seq:
        return Verification(False, count, last_seq + 1, f"the chain ends at {last_seq}, before the checkpoint ({expect[0]})")
    return Verification(True, count, head_seq=head[0], head_hash=head[1])


def read_entries(engine: Engine, after_seq: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log).where(audit_log.c.seq > after_seq).order_by(audit_log.c.seq).limit(limit)
        ).mappings()
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]
