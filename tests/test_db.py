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
