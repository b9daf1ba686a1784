"""The operational store's SQLite settings: what a commit survives is the operator's choice."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from riskrank.db import get_engine
from riskrank.settings import get_settings

# SQLite's codes for PRAGMA synchronous
SYNCHRONOUS = {"NORMAL": 1, "FULL": 2}


@pytest.mark.parametrize("level", ["NORMAL", "FULL"])
def test_sqlite_synchronous_follows_the_setting(tmp_path, monkeypatch, level):
    monkeypatch.setenv("RISKRANK_SQLITE_SYNCHRONOUS", level)
    get_settings.cache_clear()
    engine = get_engine(f"sqlite:///{tmp_path}/store-{level}.db")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA synchronous")).scalar() == SYNCHRONOUS[level]
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_an_unknown_synchronous_level_is_refused(monkeypatch):
    monkeypatch.setenv("RISKRANK_SQLITE_SYNCHRONOUS", "OFF")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        get_settings()


def test_a_prepared_first_row_reads_as_the_driver_returns_it_and_wraps_its_errors(tmp_path):
    from riskrank.db import Prepared

    engine = get_engine(f"sqlite:///{tmp_path}/prepared.db")
    metadata = sa.MetaData()
    table = sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("x", sa.Float),
                     sa.Column("day", sa.Date))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, "x": 0.5, "day": None}, {"id": 2, "x": None, "day": None}])
    query = Prepared(sa.select(table.c.x, table.c.id).where(table.c.id >= sa.bindparam("low")).order_by(table.c.id).limit(1))
    with engine.connect() as conn:
        assert query.first(conn, {"low": 2}) == (None, 2)
        assert query.first(conn, {"low": 3}) is None
        assert query.first(conn, {"low": 2}) == tuple(query(conn, {"low": 2}).first())  # the same as a full execute
    metadata.drop_all(engine)
    with engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="no such table"):
        query.first(conn, {"low": 1})  # as SQLAlchemy wraps it, so the service's 503 handler sees a store error
