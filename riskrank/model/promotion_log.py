"""The promotion log: every move of a registry alias, with who, when, why and the numbers behind it.

MLflow keeps only where an alias points now, not which version served when, so this table is the history.
It lives in the operational store (settings.database_url) on its own MetaData; the migrations make it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskrank import jsonsafe
from riskrank.db import ensure_schema

metadata = sa.MetaData()

promotions = sa.Table(
    "promotions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("promoted_by", sa.String(80), nullable=False),
    sa.Column("model_name", sa.String(80), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("from_alias", sa.String(40), nullable=True),  # alias the version held before (e.g. challenger)
    sa.Column("to_alias", sa.String(40), nullable=False),
    sa.Column("previous_version", sa.Integer, nullable=True),  # version to_alias pointed to before the move
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("forced", sa.Boolean, nullable=False, default=False),
    sa.Column("gates", sa.Text, nullable=True),  # JSON list of gate results
    sa.Column("metrics", sa.Text, nullable=True),  # JSON {name: float}
)


@dataclass(frozen=True)
class AliasMove:
    model_name: str
    version: int
    to_alias: str
    by: str
    from_alias: str | None = None
    previous_version: int | None = None
    reason: str | None = None
    forced: bool = False
    gates: list[dict] | None = None
    metrics: dict[str, float] | None = None


def record(engine: Engine, move: AliasMove) -> int:
    ensure_schema(engine)
    with engine.begin() as conn:
        result = conn.execute(promotions.insert().values(
            promoted_at=datetime.now(UTC), promoted_by=move.by, model_name=move.model_name, version=move.version,
            from_alias=move.from_alias, to_alias=move.to_alias, previous_version=move.previous_version,
            reason=move.reason, forced=move.forced,
            gates=jsonsafe.dumps(move.gates or [], default=str), metrics=jsonsafe.dumps(move.metrics or {}),
        ))
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the database returned no id for the promotion log entry")
        return int(key[0])


def read_log(engine: Engine, model_name: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """Newest first. `gates` and `metrics` stay JSON text; parse them with json.loads where needed."""
    ensure_schema(engine)
    query = sa.select(promotions).order_by(promotions.c.id.desc())
    if model_name is not None:
        query = query.where(promotions.c.model_name == model_name)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in promotions.columns])


def log_records(log: pd.DataFrame) -> list[dict]:
    """The log as strict-JSON-ready dicts: `gates` and `metrics` parsed, missing values None (never NaN)."""
    rows = []
    for row in log.astype(object).to_dict(orient="records"):
        for key in ("gates", "metrics"):
            row[key] = json.loads(row[key]) if isinstance(row[key], str) else None
        row = jsonsafe.clean(row)
        if row["previous_version"] is not None:  # an integer column with gaps comes back from pandas as float
            row["previous_version"] = int(row["previous_version"])
        rows.append(row)
    return rows
