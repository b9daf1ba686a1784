"""The operational store's migrations, on SQLite and PostgreSQL: a store of fd2737b (the last schema made by
create_all, tests/fixtures/store_fd2737b) is upgraded with its data kept and its audit chain verifying; the
migrations make exactly the code's tables; a store behind the code is refused by serve and by a writing command
with one line naming `riskrank db upgrade`; a new revision (`riskrank db revision`) upgrades a store in place."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from riskrank import db_commands
from riskrank.db import ensure_schema
from riskrank.errors import UserError
from riskrank.migrations import runner

FIXTURE = Path(__file__).parent / "fixtures" / "store_fd2737b"
RISKRANK = [sys.executable, "-c", "from riskrank.cli import main; main()"]
UPGRADE_LINE = "run `riskrank db upgrade`"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a schema of its own on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server = request.getfixturevalue("postgres_url")
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{server}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def engine(store_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(store_url)
    yield engine
    engine.dispose()


def _decode(value):
    if isinstance(value, dict):
        (tag, text), = value.items()
        return {"$datetime": dt.datetime.fromisoformat, "$date": dt.date.fromisoformat,
                "$bytes": base64.b64decode}[tag](text)
    return value


def _fixture_rows() -> dict[str, list[dict]]:
    data = json.loads((FIXTURE / "data.json").read_text(encoding="utf-8"))
    return {table: [{k: _decode(v) for k, v in row.items()} for row in rows] for table, rows in data.items()}


def build_old_store(engine: sa.Engine) -> None:
    """The store as fd2737b's code left it: its DDL, then the rows it wrote."""
    ddl = (FIXTURE / f"schema.{engine.dialect.name}.sql").read_text(encoding="utf-8")
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";\n")):
            conn.exec_driver_sql(statement)
        for table, rows in _fixture_rows().items():
            conn.execute(sa.Table(table, sa.MetaData(), autoload_with=conn).insert(), rows)
        if engine.dialect.name == "postgresql":  # as pg_dump would: the serial sequences past the rows loaded
            for table, column in (("score_runs", "run_id"), ("promotions", "id")):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), max({column})) "
                                     f"FROM {table}"))


def _rows(engine: sa.Engine, table: str) -> list[dict]:
    with engine.connect() as conn:
        found = sa.Table(table, sa.MetaData(), autoload_with=conn)
        key = [c for c in found.primary_key.columns]
        return [dict(r) for r in conn.execute(sa.select(found).order_by(*key)).mappings()]


def _same(stored, expected) -> bool:
    if isinstance(stored, dt.datetime):  # the fixture's are naive (SQLite); PostgreSQL gives them its time zone
        return stored.replace(tzinfo=None) == expected
    return bytes(stored) == expected if isinstance(expected, bytes) else stored == expected


def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RISKRANK_DATABASE_URL": url, "COLUMNS": "300"}
    return subprocess.run([*RISKRANK, *args], env=env, capture_output=True, text=True, timeout=180)


def _schema(engine: sa.Engine) -> dict:
    """Every table's columns (name, type, nullable), keys, indexes and unique constraints, as the database reports them."""
    inspector = sa.inspect(engine)
    out = {}
    for table in sorted(t for t in inspector.get_table_names() if runner.include_name(t, "table", {})):
        out[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]),
                           (f.get("options") or {}).get("ondelete")) for f in inspector.get_foreign_keys(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)),
            "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
        }
    return out


def test_the_baseline_is_the_schema_fd2737b_made(engine: sa.Engine) -> None:
    build_old_store(engine)
    old_schema = _schema(engine)
    with engine.begin() as conn:
        for table in old_schema:
            conn.execute(sa.text(f"DROP TABLE {table}" + (" CASCADE" if engine.dialect.name == "postgresql" else "")))
    assert _schema(engine) == {}
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(runner.config(conn), runner.BASELINE)
    assert _schema(engine) == old_schema


def test_the_migrations_make_exactly_the_code_s_tables(engine: sa.Engine) -> None:
    """Fails when a table in the code changes without a revision (riskrank db revision writes one)."""
    ensure_schema(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": runner.include_name, "compare_type": True,
                                                         "version_table": runner.VERSION_TABLE})
        assert compare_metadata(context, db_commands.target_metadata()) == []


def test_upgrade_keeps_a_store_of_fd2737b(engine: sa.Engine, store_url: str) -> None:
    build_old_store(engine)
    before = {table: _rows(engine, table) for table in _fixture_rows()}

    current = _cli(store_url, "db", "current")
    assert current.returncode == 0 and "made before schema migrations" in current.stdout and UPGRADE_LINE in current.stdout
    upgraded = _cli(store_url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "stamped at the baseline" in upgraded.stdout

    for table, expected in _fixture_rows().items():
        after = _rows(engine, table)
        # Columns later revisions added (users.expires_at: null, so old tokens keep working) come on top.
        assert [{k: row[k] for k in old} for row, old in zip(after, before[table], strict=True)] == before[table], table
        assert len(after) == len(expected) and all(
            _same(row[k], v) for row, exp in zip(after, expected, strict=True) for k, v in exp.items()), table
    verified = _cli(store_url, "audit-log", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "audit log OK: 5 entries, chain intact" in verified.stdout
    assert _cli(store_url, "db", "current").stdout.strip() == f"{runner.head()} (head)"

    # The upgraded store takes new writes: a user, and an audit entry that extends the old chain.
    added = _cli(store_url, "users", "add", "cecilia", "--role", "auditor")
    assert added.returncode == 0, added.stderr
    from riskrank.serving import audit_chain

    audit_chain.append(engine, actor="cecilia", action="worklist", details={})
    assert audit_chain.verify(engine).ok and audit_chain.verify(engine).entries == 6
    users = _rows(engine, "users")
    assert [u["name"] for u in users] == ["anna", "bo", "cecilia"]
    assert [u["expires_at"] is None for u in users] == [True, True, False]  # only the new token expires
    # Outcomes recorded before the groups were (revision 0003) keep their rows, with unknown groups.
    assert [(o["born_abroad"], o["age_band"]) for o in _rows(engine, "outcomes")] == [(None, None)] * 3


def test_a_store_at_0002_upgrades_to_the_outcome_groups_and_keeps_its_rows(engine: sa.Engine) -> None:
    """Revision 0003 (outcomes: born_abroad, age_band) on a store one revision behind, with outcomes in it."""
    from alembic import command

    build_old_store(engine)
    runner.upgrade(engine)
    with engine.begin() as conn:  # take the store back to 0002, as the release before this one left it
        command.downgrade(runner.config(conn), "0002")
    assert "born_abroad" not in {c["name"] for c in sa.inspect(engine).get_columns("outcomes")}
    before = _rows(engine, "outcomes")
    with pytest.raises(UserError, match="at schema revision 0002"):
        ensure_schema(engine)
    found, reached = runner.upgrade(engine)
    assert (found.revision, reached) == ("0002", runner.head())
    after = _rows(engine, "outcomes")
    assert [{k: row[k] for k in old} for row, old in zip(after, before, strict=True)] == before
    assert [(o["born_abroad"], o["age_band"]) for o in after] == [(None, None)] * len(before) and len(before) == 3
    from riskrank.db import outcomes

    with engine.begin() as conn:  # and takes new outcomes with their groups
        row = {**before[0], "investigation_id": "new-1", "born_abroad": True, "age_band": "30-44"}
        conn.execute(outcomes.insert().values(**row))
    assert {(o["investigation_id"], o["born_abroad"], o["age_band"]) for o in _rows(engine, "outcomes")} >= {
        ("new-1", True, "30-44")}


def test_a_store_behind_the_code_is_refused_by_serve_and_by_a_writing_command(engine: sa.Engine, store_url: str) -> None:
    build_old_store(engine)
    before = _schema(engine)
    for args in (["serve", "--port", "8765"], ["users", "add", "dora", "--role", "investigator"]):
        refused = _cli(store_url, *args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and UPGRADE_LINE in lines[0] and "Traceback" not in refused.stderr, refused.stderr
    assert _schema(engine) == before  # refused, nothing changed: no version table, no user
    assert [u["name"] for u in _rows(engine, "users")] == ["anna", "bo"]


def test_a_partial_old_store_gets_the_tables_it_lacks(engine: sa.Engine) -> None:
    """fd2737b made each part's tables on first use: a store only `riskrank promote` wrote has just `promotions`."""
    with engine.begin() as conn:
        conn.exec_driver_sql(next(s for s in (FIXTURE / f"schema.{engine.dialect.name}.sql").read_text().split(";\n")
                                  if "CREATE TABLE promotions" in s))
    with pytest.raises(UserError, match="made before schema migrations"):
        ensure_schema(engine)
    found, reached = runner.upgrade(engine)
    assert (found.state, reached) == ("unversioned", runner.head())
    ensure_schema(engine)
    assert set(_schema(engine)) == {t for m in db_commands.target_metadata() for t in m.tables}


def test_an_unknown_table_of_the_same_name_is_refused_and_left_alone(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE users (login VARCHAR(20) PRIMARY KEY)")
    with pytest.raises(UserError, match=r"users whose columns differ .*nothing was changed"):
        runner.upgrade(engine)
    assert set(_schema(engine)) == {"users"}
    assert not sa.inspect(engine).has_table(runner.VERSION_TABLE)


def test_a_store_of_a_newer_release_is_refused(engine: sa.Engine) -> None:
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {runner.VERSION_TABLE} SET version_num = '9999'"))
    for attempt in (ensure_schema, runner.upgrade):
        with pytest.raises(UserError, match="9999, which this riskrank does not know"):
            attempt(engine)


def test_processes_starting_on_one_new_store_migrate_it_once(store_url: str) -> None:
    engines = [sa.create_engine(store_url, connect_args={"timeout": 30} if store_url.startswith("sqlite") else {})
               for _ in range(4)]
    failures: list[BaseException] = []

    def start(engine: sa.Engine) -> None:
        try:
            ensure_schema(engine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with engines[0].connect() as conn:
        assert conn.execute(sa.text(f"SELECT version_num FROM {runner.VERSION_TABLE}")).scalars().all() == [runner.head()]
    for e in engines:
        e.dispose()


def test_db_current_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    result = _cli(f"sqlite:///{missing}", "db", "current")
    assert result.returncode == 2 and "no database at" in result.stderr and not missing.exists()


def test_a_new_revision_upgrades_a_store_in_place(engine: sa.Engine, tmp_path: Path, monkeypatch) -> None:
    """What the next revision will do, end to end: `riskrank db revision` writes it from the changed tables (here a
    made-up users.note), a store at today's head is then refused until `riskrank db upgrade`, which keeps its rows."""
    from typer.testing import CliRunner

    from riskrank.db_commands import db_app
    from riskrank.serving import tables

    build_old_store(engine)
    runner.upgrade(engine)
    migrations = tmp_path / "migrations"
    shutil.copytree(Path(runner.__file__).parent, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(runner, "_HERE", migrations)
    runner.reload_scripts()
    changed = sa.MetaData()
    for table in tables.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["users"].append_column(sa.Column("note", sa.String(200), nullable=True))
    code = [m for m in db_commands.target_metadata() if m is not tables.metadata] + [changed]
    monkeypatch.setattr(db_commands, "target_metadata", lambda: code)
    today = runner.head()
    upcoming = f"{int(today) + 1:04d}"
    try:
        written = CliRunner().invoke(db_app, ["revision", "-m", "users note"])
        assert written.exit_code == 0, written.output
        script = migrations / "versions" / f"{upcoming}_users_note.py"
        assert script.is_file() and "batch_alter_table('users'" in script.read_text()

        behind = f"at schema revision {today}, this riskrank needs {upcoming}: back it up, then {UPGRADE_LINE}"
        with pytest.raises(UserError, match=behind):
            ensure_schema(engine)
        found, reached = runner.upgrade(engine)
        assert (found.state, found.revision, reached) == ("behind", today, upcoming)
        ensure_schema(engine)
        assert "note" in {c["name"] for c in sa.inspect(engine).get_columns("users")}
        assert [u["name"] for u in _rows(engine, "users")] == ["anna", "bo"]
        from riskrank.serving import audit_chain

        assert audit_chain.verify(engine).ok and audit_chain.verify(engine).entries == 5
    finally:
        runner.reload_scripts()
