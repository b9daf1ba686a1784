"""The feature store: feature rows for serving, in the operational database (SQLite or PostgreSQL).

One wide table per feature-set version (typed columns, primary key (case_id, as_of), so a serving lookup
is one index seek and loading a million rows is a plain scan), plus `feature_snapshots` listing which
as-of dates each version holds. A write replaces one as-of date in a single transaction: readers see the
old snapshot or the new one, never a mix, and a failed write leaves the old one in place.

`feature_snapshots` is made and upgraded by the migrations (riskrank.migrations). A version's wide table is made here
on first use: its name carries the feature set version, a hash of the registry, so a table never changes shape under
one name (a changed feature set is a new table, which no migration written in advance could name).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from riskrank.db import Prepared
from riskrank.features.registry import CATEGORIES, FEATURE_NAMES, FEATURE_SET_VERSION, FEATURES

_SQL_TYPES: dict[str, Any] = {"float": sa.Float(53), "int": sa.BigInteger(), "bool": sa.Boolean(), "category": sa.String(40)}
_PANDAS_DTYPES = {"float": "float64", "int": "int64", "bool": "bool"}
_CHUNK_ROWS = 20_000
_ID_BATCH = 900  # case ids per IN (...) query, so each query stays short


def _feature_table(metadata: sa.MetaData, version: str) -> sa.Table:
    return sa.Table(
        f"features_{version.replace('-', '_')}",
        metadata,
        sa.Column("case_id", sa.BigInteger, primary_key=True),
        sa.Column("as_of", sa.Date, primary_key=True),
        *(sa.Column(f.name, _SQL_TYPES[f.dtype], nullable=True) for f in FEATURES),
    )


snapshot_metadata = sa.MetaData()

feature_snapshots = sa.Table(
    "feature_snapshots",
    snapshot_metadata,
    sa.Column("feature_set_version", sa.String(40), primary_key=True),
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
)


def _as_date(value: Any) -> dt.date:
    return pd.Timestamp(value).date()


def _python_column(series: pd.Series, dtype: str) -> list:
    """Column values as Python objects the DB driver accepts; missing values become None."""
    if dtype == "category":
        return [None if pd.isna(v) else str(v) for v in series.astype(object)]
    if dtype == "float":
        return [None if math.isnan(v) else v for v in series.to_numpy(np.float64).tolist()]
    return series.tolist()


class FeatureStore:
    def __init__(self, engine: Engine, version: str = FEATURE_SET_VERSION) -> None:
        self.engine = engine
        self.version = version
        from riskrank.db import ensure_schema

        ensure_schema(engine)
        self.table = _feature_table(sa.MetaData(), version)
        self.snapshots = feature_snapshots
        self.table.create(engine, checkfirst=True)
        self._narrow: dict[tuple[str, ...], Prepared] = {}  # values(): one statement per tuple of names

    @classmethod
    def from_url(cls, url: str) -> FeatureStore:
        from riskrank.db import get_engine

        return cls(get_engine(url))

    def _check_frame(self, frame: pd.DataFrame, as_of: dt.date) -> None:
        missing = [c for c in ("case_id", *FEATURE_NAMES) if c not in frame.columns]
        if missing:
            raise ValueError(f"feature frame lacks columns {missing[:5]} (feature set {self.version})")
        if frame["case_id"].isna().any() or frame["case_id"].duplicated().any():
            raise ValueError("feature frame: case_id must be unique and present for one as-of date")
        if "as_of" in frame.columns and len(frame) and (pd.to_datetime(frame["as_of"]).dt.date != as_of).any():
            raise ValueError(f"feature frame: rows with an as_of other than {as_of}")

    @staticmethod
    def _chunks(frame: pd.DataFrame, as_of: dt.date) -> Iterator[dict[str, list]]:
        """The frame as Python values, column-wise, a chunk at a time (bounded memory for a million rows)."""
        for start in range(0, len(frame), _CHUNK_ROWS):
            chunk = frame.iloc[start:start + _CHUNK_ROWS]
            columns = {"case_id": chunk["case_id"].astype("int64").tolist(), "as_of": [as_of] * len(chunk)}
            columns.update({f.name: _python_column(chunk[f.name], f.dtype) for f in FEATURES})
            yield columns

    def _insert(self, conn: Connection, frame: pd.DataFrame, as_of: dt.date) -> None:
        if conn.dialect.name == "postgresql":
            self._copy(conn, frame, as_of)
            return
        for columns in self._chunks(frame, as_of):
            names = list(columns)
            records = [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
            conn.execute(sa.insert(self.table), records)

    def _copy(self, conn: Connection, frame: pd.DataFrame, as_of: dt.date) -> None:
        """PostgreSQL COPY, inside the same transaction: many times faster than INSERT for large snapshots."""
        names = ", ".join(f'"{c.name}"' for c in self.table.columns)
        cursor = _driver_connection(conn).cursor()
        try:
            with cursor.copy(f'COPY "{self.table.name}" ({names}) FROM STDIN') as copy:
                for columns in self._chunks(frame, as_of):
                    for row in zip(*columns.values(), strict=True):
                        copy.write_row(row)
        finally:
            cursor.close()

    def write(self, frame: pd.DataFrame, as_of: Any) -> int:
        """Replace the rows of `as_of` (this feature-set version) by `frame`, atomically. Returns the row count."""
        as_of = _as_date(as_of)
        self._check_frame(frame, as_of)
        with self.engine.begin() as conn:
            self.clear(conn, as_of)
            self._insert(conn, frame, as_of)
            self.mark_complete(conn, as_of, len(frame))
        return len(frame)

    # -- writing a snapshot in parts (riskrank score-all), each in the caller's transaction -------------------
    def clear(self, conn: Connection, as_of: dt.date) -> None:
        """Remove the rows of `as_of` and its snapshot entry: readers no longer see it as written."""
        conn.execute(sa.delete(self.snapshots).where(self._snapshot_of(as_of)))
        conn.execute(sa.delete(self.table).where(self.table.c.as_of == as_of))

    def append(self, conn: Connection, frame: pd.DataFrame, as_of: Any) -> None:
        """Add rows of `as_of` (case ids not yet stored for it)."""
        as_of = _as_date(as_of)
        self._check_frame(frame, as_of)
        self._insert(conn, frame, as_of)

    def mark_complete(self, conn: Connection, as_of: dt.date, rows: int) -> None:
        """Record `as_of` as a complete snapshot of `rows` rows (latest_as_of and latest_frame then use it)."""
        conn.execute(sa.delete(self.snapshots).where(self._snapshot_of(as_of)))
        conn.execute(sa.insert(self.snapshots).values(
            feature_set_version=self.version, as_of=as_of, rows=rows, written_at=dt.datetime.now(dt.UTC)))

    def _snapshot_of(self, as_of: dt.date) -> sa.ColumnElement[bool]:
        """The snapshot entry of `as_of` for this feature set."""
        return (self.snapshots.c.feature_set_version == self.version) & (self.snapshots.c.as_of == as_of)

    def snapshot_rows(self, as_of: Any) -> int | None:
        """How many rows the complete snapshot of `as_of` holds, or None when there is none."""
        query = sa.select(self.snapshots.c.rows).where(self._snapshot_of(_as_date(as_of)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).scalar()
        return None if rows is None else int(rows)

    def frames(self, as_of: Any, case_ids: np.ndarray | None = None, rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """The rows of `as_of` (only `case_ids`, if given), `rows` at a time, typed like compute_features."""
        as_of = _as_date(as_of)
        if case_ids is not None:
            wanted = np.unique(np.asarray(case_ids, dtype=np.int64))
            for start in range(0, len(wanted), _ID_BATCH):
                ids = wanted[start:start + _ID_BATCH].tolist()
                query = sa.select(self.table).where(self.table.c.as_of == as_of, self.table.c.case_id.in_(ids))
                with self.engine.connect() as conn:
                    yield typed_frame(_fetch_raw(conn, query.order_by(self.table.c.case_id)))
            return
        last = -1
        while True:  # keyset pages: each one an index range scan, however far in
            query = (sa.select(self.table).where(self.table.c.as_of == as_of, self.table.c.case_id > last)
                     .order_by(self.table.c.case_id).limit(rows))
            with self.engine.connect() as conn:
                raw = _fetch_raw(conn, query)
            if raw.empty:
                return
            last = int(raw["case_id"].iloc[-1])
            yield typed_frame(raw)

    def latest_as_of(self) -> dt.date | None:
        with self.engine.connect() as conn:
            return self._latest(conn)

    def _latest(self, conn: Connection) -> dt.date | None:
        query = sa.select(sa.func.max(self.snapshots.c.as_of)).where(self.snapshots.c.feature_set_version == self.version)
        value = conn.execute(query).scalar()
        return _as_date(value) if value is not None else None

    def get(self, case_id: int) -> dict | None:
        """The case's row of its latest as-of date: case_id, as_of (date), then every feature as a Python value
        (categories as str, missing floats as float('nan'))."""
        query = sa.select(self.table).where(self.table.c.case_id == int(case_id)).order_by(self.table.c.as_of.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        out: dict[str, Any] = {"case_id": int(row["case_id"]), "as_of": _as_date(row["as_of"])}
        for f in FEATURES:
            value = row[f.name]
            if f.dtype == "float":
                out[f.name] = float("nan") if value is None else float(value)
            elif f.dtype == "int":
                out[f.name] = int(value)
            elif f.dtype == "bool":
                out[f.name] = bool(value)
            else:
                out[f.name] = None if value is None else str(value)
        return out

    def values(self, case_id: int, names: tuple[str, ...]) -> tuple[dt.date, str, tuple] | None:
        """The row get() returns, narrowed to `names` (in that order; None for a missing value or a name this
        feature set lacks) as the driver returns them: (as_of, benefit, values). The read behind an explanation on
        request, a fifth of get's time (one index seek of the few columns a model reads, no per-feature typing)."""
        query = self._narrow.get(names)
        if query is None:
            columns = [self.table.c[n] if n in self.table.c else sa.null().label(n) for n in names]
            query = Prepared(sa.select(self.table.c.as_of, self.table.c.benefit, *columns)
                             .where(self.table.c.case_id == sa.bindparam("case_id"))
                             .order_by(self.table.c.as_of.desc()).limit(1))
            self._narrow[names] = query
        with self.engine.connect() as conn:
            row = query.first(conn, {"case_id": int(case_id)})
        if row is None:
            return None
        as_of = row[0] if type(row[0]) is dt.date else _as_date(row[0])
        return as_of, str(row[1]), tuple(row[2:])

    def latest_frame(self, benefit: str | None = None) -> pd.DataFrame:
        """All rows of the latest as-of date (optionally one benefit), ordered by case_id, typed like compute_features."""
        with self.engine.connect() as conn:
            latest = self._latest(conn)
            query = sa.select(self.table).where(self.table.c.as_of == latest).order_by(self.table.c.case_id)
            if benefit is not None:
                query = query.where(self.table.c.benefit == benefit)
            raw = _fetch_raw(conn, query)
        return typed_frame(raw)


def _driver_connection(conn: Connection) -> Any:
    """The DB-API connection under SQLAlchemy's, for COPY and raw cursors."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the database connection is closed")
    return raw


def _fetch_raw(conn: Connection, query: sa.Select) -> pd.DataFrame:
    """Rows straight from the DB driver's cursor: SQLAlchemy's per-value result processing would take most
    of the time for a million rows, and typed_frame does the conversions column-wise instead."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = _driver_connection(conn).cursor()
    try:
        cursor.execute(sql)
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    finally:
        cursor.close()


def typed_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """A frame read from the store with the column order and dtypes of compute_features."""
    out = {
        "case_id": raw["case_id"].astype("int64").to_numpy(),
        "as_of": pd.to_datetime(pd.Series(raw["as_of"], dtype=object)).astype("datetime64[us]").to_numpy(),
    }
    for f in FEATURES:
        column = raw[f.name]
        if f.dtype == "category":
            out[f.name] = pd.Categorical(column.astype(object), categories=list(CATEGORIES[f.name]))
        elif f.dtype == "float":
            out[f.name] = pd.to_numeric(column, errors="coerce").astype("float64").to_numpy()
        else:
            out[f.name] = column.astype(_PANDAS_DTYPES[f.dtype]).to_numpy()
    return pd.DataFrame(out, columns=["case_id", "as_of", *FEATURE_NAMES])
