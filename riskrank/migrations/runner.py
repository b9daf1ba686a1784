"""Bringing a store to the code's schema revision, and refusing one that is behind it.

A store is in one of five states, told apart by the version table and which of riskrank's tables exist:
- current: its revision is the code's head;
- new: no version table and none of the baseline's tables (a brand-new, empty database): upgraded at once;
- unversioned: riskrank's tables without a version table, i.e. made by create_all before migrations (fd2737b or
  older); `riskrank db upgrade` checks those tables have the baseline's columns, creates the baseline tables the
  store lacks (that code made each part's tables on first use), stamps it at the baseline, then upgrades;
- behind: an older revision than the code's head;
- ahead: a revision this code does not know (a newer release wrote it).
Only `riskrank db upgrade` changes a store that exists; everything else refuses a store behind the code.

Every upgrade runs in one transaction that first takes a lock (SQLite: BEGIN IMMEDIATE, PostgreSQL: an advisory
lock), so two processes starting on one new store migrate it once, and a failed upgrade leaves it as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from riskrank.errors import UserError

# Not Alembic's default `alembic_version`: MLflow keeps its own there, and an agency may give both one database.
VERSION_TABLE = "riskrank_alembic_version"
BASELINE = "0001"
_HERE = Path(__file__).parent
# pg_advisory_xact_lock key: any constant the agency's other applications do not use ("riskrank" in ASCII).
_PG_LOCK_KEY = 0x7269736B72616E6B

State = Literal["current", "new", "unversioned", "behind", "ahead"]


@dataclass(frozen=True)
class Status:
    state: State
    revision: str | None  # the store's, None when it has no version table
    head: str  # the code's


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """What migrations manage: everything but the version table and the feature store's per-version tables
    (features_<feature set version>), whose columns are the feature registry's and whose name changes with it."""
    return not (type_ == "table" and name is not None and (name == VERSION_TABLE or name.startswith("features_")))


def config(connection: Connection | None = None, target_metadata: list[sa.MetaData] | None = None) -> Config:
    """Alembic's config in code; `target_metadata` (the code's tables, riskrank.db_commands.target_metadata) only
    for autogenerate: upgrading reads the revision scripts alone, so this package imports no part above db."""
    cfg = Config()
    cfg.attributes["target_metadata"] = target_metadata
    cfg.set_main_option("script_location", str(_HERE))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def reload_scripts() -> None:
    """Read versions/ again (after a new revision was written there)."""
    _scripts.cache_clear()


def head() -> str:
    current = _scripts().get_current_head()
    if current is None:  # pragma: no cover - the package ships versions/
        raise RuntimeError("riskrank.migrations has no revisions")
    return current


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def _baseline_tables() -> list[str]:
    module = _scripts().get_revision(BASELINE).module
    return list(module.TABLES)


def status(conn: Connection) -> Status:
    revision, code_head = _revision(conn), head()
    if revision == code_head:
        return Status("current", revision, code_head)
    if revision is None:
        present = set(sa.inspect(conn).get_table_names()) & set(_baseline_tables())
        return Status("unversioned" if present else "new", None, code_head)
    known = {script.revision for script in _scripts().walk_revisions()}
    return Status("behind" if revision in known else "ahead", revision, code_head)


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def refusal(engine: Engine, found: Status) -> str:
    """The one line a command prints when the store is not at the code's revision."""
    where = _where(engine)
    if found.state == "ahead":
        return (f"the store {where} is at schema revision {found.revision}, which this riskrank does not know (a newer "
                f"release wrote it; this one needs {found.head}): install that release")
    if found.state == "unversioned":
        return (f"the store {where} was made before schema migrations (riskrank fd2737b or older): back it up, then run "
                f"`riskrank db upgrade`")
    return (f"the store {where} is at schema revision {found.revision}, this riskrank needs {found.head}: back it up, "
            f"then run `riskrank db upgrade`")


def ensure_schema(engine: Engine) -> None:
    """Make sure the store has the code's schema before anything reads or writes it: a brand-new empty database is
    created by the migrations; a store at another revision is refused (UserError), never changed."""
    with engine.connect() as conn:
        found = status(conn)
    if found.state == "current":
        return
    if found.state == "new":
        upgrade(engine, adopt_unversioned=False)
        return
    raise UserError(refusal(engine, found))


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other migrating process can enter until it ends; commits on success."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, so the state read next stays true
        elif conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        yield conn
        conn.commit()


def upgrade(engine: Engine, *, adopt_unversioned: bool = True) -> tuple[Status, str]:
    """Bring the store to the code's head, in one transaction. Returns the status found and the revision reached.
    `adopt_unversioned` False: a store made before migrations is refused instead of adopted (ensure_schema)."""
    with _locked(engine) as conn:
        found = status(conn)  # again, under the lock: another process may have migrated it meanwhile
        if found.state == "ahead" or (found.state == "unversioned" and not adopt_unversioned):
            raise UserError(refusal(engine, found))
        if found.state == "unversioned":
            _adopt(conn, engine)
        if found.state != "current":
            command.upgrade(config(conn), "head")
        reached = _revision(conn)
    assert reached is not None
    return found, reached


def _columns(conn: Connection, tables: list[str]) -> dict[str, list[str]]:
    inspector = sa.inspect(conn)
    return {table: sorted(c["name"] for c in inspector.get_columns(table)) for table in tables}


@lru_cache
def _baseline_columns() -> dict[str, list[str]]:
    """The baseline's columns per table, read from a scratch in-memory database the baseline revision made."""
    scratch = sa.create_engine("sqlite://")
    with scratch.begin() as conn:
        command.upgrade(config(conn), BASELINE)
        return _columns(conn, _baseline_tables())


def _adopt(conn: Connection, engine: Engine) -> None:
    """Stamp a store made by create_all (fd2737b or older) at the baseline, after checking its tables are the
    baseline's and creating the baseline tables it lacks."""
    from alembic.operations import Operations

    present = set(sa.inspect(conn).get_table_names())
    expected = _baseline_columns()
    for table, columns in _columns(conn, [t for t in expected if t in present]).items():
        if columns != expected[table]:
            differ = sorted(set(columns) ^ set(expected[table]))
            raise UserError(f"the store {_where(engine)} has a table {table} whose columns differ from riskrank's "
                            f"baseline schema ({', '.join(differ)}); it was not made by riskrank, nothing was changed")
    baseline = _scripts().get_revision(BASELINE).module
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    with Operations.context(context):
        for table, create in baseline.TABLES.items():
            if table not in present:
                create()
    command.stamp(config(conn), BASELINE)


def next_revision_id() -> str:
    """Revisions are numbered 0001, 0002, ...: their order is plain to whoever lists versions/."""
    numbers = [int(s.revision) for s in _scripts().walk_revisions() if re.fullmatch(r"\d{4}", s.revision)]
    return f"{max(numbers, default=0) + 1:04d}"
