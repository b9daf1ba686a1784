"""The operational store (SQLite by default, PostgreSQL by RISKRANK_DATABASE_URL) and the tables shared
by more than one part. Tables owned by one part (users, audit log, feature store) live in that part; every table's
schema is made and upgraded by the migrations in riskrank/migrations (ensure_schema, `riskrank db upgrade`)."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine

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
