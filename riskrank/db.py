"""The operational store (SQLite by default, PostgreSQL by RISKRANK_DATABASE_URL) and the tables shared
by more than one part. Tables owned by one part (users, audit log, feature store) live in that part; every table's
schema is made and upgraded by the migrations in riskrank/migrations (ensure_schema, `riskrank db upgrade`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Engine

metadata = sa.MetaData()

# One row per closed investigation reported by an investigator. Written by serving (POST /v1/outcomes),
# read by monitoring (hit-rate KPIs). `selection` is what the worklist recorded (model or random),
# or how the case came in otherwise; investigators never see it. The groups the fairness gate judges (sex,
# born_abroad, age_band at the features' date, fairness/policy.py) are copied from the case's features for
# measurement only: never a score input, read only by the manager and auditor metrics (monitoring/dashboard.py),
# never in a response investigators get.
outcomes = sa.Table(
    "outcomes",
    metadata,
    sa.Column("investigation_id", sa.String(64), primary_key=True),
    sa.Column("case_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("benefit", sa.String(40), nullable=False),
    sa.Column("sex", sa.String(1), nullable=True),
    sa.Column("born_abroad", sa.Boolean, nullable=True),
    sa.Column("age_band", sa.String(8), nullable=True),
    sa.Column("selection", sa.String(20), nullable=False),
    sa.Column("opened_date", sa.Date, nullable=False),
    sa.Column("closed_date", sa.Date, nullable=False),
    sa.Column("action", sa.Boolean, nullable=False),
    sa.Column("action_type", sa.String(20), nullable=True),
    sa.Column("detected_sek", sa.Float, nullable=False, default=0.0),
    sa.Column("prevented_sek", sa.Float, nullable=False, default=0.0),
    sa.Column("police_report", sa.Boolean, nullable=False, default=False),
    sa.Column("disagreed_with_score", sa.Boolean, nullable=False, default=False),
    sa.Column("disagreement_reason", sa.Text, nullable=True),
    sa.Column("model_version", sa.String(20), nullable=True),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("recorded_by", sa.String(80), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)


@lru_cache
def get_engine(url: str, busy_timeout_seconds: float = 30.0) -> Engine:
    """One engine per URL; SQLite gets WAL so readers never block the writer, `synchronous` as the
    `sqlite_synchronous` setting says, and waits up to `busy_timeout_seconds` for a writer's lock before failing
    with OperationalError.

    Bound parameters are never shown in errors or logs (hide_parameters): they hold case and investigation
    ids and free text."""
    if url.startswith("sqlite"):
        from riskrank.settings import get_settings

        synchronous = get_settings().sqlite_synchronous
        engine = sa.create_engine(
            url, hide_parameters=True, connect_args={"check_same_thread": False, "timeout": busy_timeout_seconds}
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")  # a Literal setting, never free text
            cur.close()

        return engine
    from riskrank.extras import needs_extra

    with needs_extra("postgres", "a PostgreSQL store (RISKRANK_DATABASE_URL)"):  # the driver loads here
        return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def existing_engine(url: str) -> Engine:
    """The engine of `url` only if that database exists (a SQLite file must be there): for commands that only read
    the store and must never create one. A UserError names what is wrong."""
    from pathlib import Path

    from riskrank.errors import UserError

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise UserError(f"RISKRANK_DATABASE_URL is not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).is_file():
        raise UserError(f"no database at {parsed.database}; check RISKRANK_DATABASE_URL")
    return get_engine(url)


def ensure_schema(engine: Engine) -> None:
    """The store at the code's schema revision before anything uses it: a brand-new empty database is made by the
    migrations, a store behind the code is refused with a UserError naming `riskrank db upgrade` (riskrank.migrations)."""
    from riskrank.migrations.runner import ensure_schema as ensure

    ensure(engine)


class Prepared:
    """A statement on a request's path, compiled once per dialect to the driver's SQL text and run by
    exec_driver_sql: a compiled statement still cost SQLAlchemy 30-40 us a run (cache key, parameter and result
    processing), more than SQLite took to run it. Errors come wrapped as SQLAlchemy's all the same (a locked database
    is an OperationalError, a duplicate key an IntegrityError). For parameters and results that need no type
    processing: str, int, float, None (a SQLite date comes back as its ISO text)."""

    def __init__(self, statement: sa.Select[Any] | sa.Update | sa.Insert) -> None:
        self._statement = statement
        # dialect name -> (SQL text, positional parameter order or None for named, constants such as a LIMIT)
        self._by_dialect: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def __call__(self, conn: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> CursorResult[Any]:
        """Run with one set of parameters, or many (executemany)."""
        sql, bound = self._for(conn)
        if isinstance(params, Mapping):
            return conn.exec_driver_sql(sql, bound(params))
        return conn.exec_driver_sql(sql, [bound(r) for r in params])

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row as the driver returns it, read from a DB-API cursor: SQLAlchemy's result object for a row of
        60 columns cost 150 us, five times SQLite's own read (bench/RESULTS.md). Errors wrapped as by __call__."""
        sql, bound = self._for(conn)
        dbapi = conn.dialect.loaded_dbapi
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, bound(params))
            return cursor.fetchone()
        except dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
        finally:
            cursor.close()

    def _for(self, conn: Connection) -> tuple[str, Callable[[Mapping[str, Any]], Any]]:
        found = self._by_dialect.get(conn.dialect.name)
        if found is None:
            compiled = self._statement.compile(dialect=conn.dialect)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            constants = {k: v for k, v in compiled.params.items() if v is not None}
            found = self._by_dialect[conn.dialect.name] = (str(compiled), order, constants)
        sql, order, constants = found

        def bound(values: Mapping[str, Any]) -> Any:
            values = {**constants, **values} if constants else values
            return tuple(values[k] for k in order) if order is not None else dict(values)

        return sql, bound
