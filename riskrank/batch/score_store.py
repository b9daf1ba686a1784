"""Nightly scores in the operational store: written by `riskrank score-all` (training), read by serving.

`score_runs` has one row per run (as-of date, model version, when it finished); `case_scores` one row per
active case and run: score, percentile within its benefit, and for the top share of each benefit's ranking
the explanation (the prepared feature row and its contributions, float64 bytes), so serving answers those
cases without running the model. A run is visible to readers only once `finished_at` is set; until then it
can be resumed, and the primary key (run_id, case_id) keeps one score per case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()

score_runs = sa.Table(
    "score_runs",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("model_name", sa.String(80), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("feature_set_version", sa.String(40), nullable=False),
    sa.Column("reasons_share", sa.Float, nullable=False),
    sa.Column("cases", sa.BigInteger, nullable=False),  # active cases on as_of: the run is complete with this many scores
    sa.Column("base_value", sa.Float(53), nullable=False),  # the model's expected log-odds, for explanations
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
)

case_scores = sa.Table(
    "case_scores",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("score_runs.run_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("case_id", sa.BigInteger, primary_key=True),
    sa.Column("benefit", sa.String(40), nullable=False),
    sa.Column("score", sa.Float(53), nullable=False),
    sa.Column("percentile", sa.Float(53), nullable=True),  # set when the run finishes
    sa.Column("explanation", sa.LargeBinary, nullable=True),  # top share only: row then contributions, float64
)


@dataclass(frozen=True)
class ScoreRun:
    run_id: int
    as_of: dt.date
    model_name: str
    model_version: int
    feature_set_version: str
    reasons_share: float
    cases: int
    base_value: float
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class StoredScores:
    """A finished run's scores, ordered by case_id."""

    run: ScoreRun
    case_ids: np.ndarray  # int64, ascending
    benefits: np.ndarray  # object (str)
    scores: np.ndarray  # float64


def _run(row: sa.Row) -> ScoreRun:
    m = row._mapping
    finished = m["finished_at"]
    return ScoreRun(int(m["run_id"]), m["as_of"], m["model_name"], int(m["model_version"]), m["feature_set_version"],
                    float(m["reasons_share"]), int(m["cases"]), float(m["base_value"]), finished)


def unfinished_run(conn: Connection, as_of: dt.date, model_name: str, model_version: int,
                   feature_set_version: str) -> ScoreRun | None:
    """The run a killed `score-all` left for the same date, model and features: resuming it keeps its scores."""
    query = sa.select(score_runs).where(
        score_runs.c.finished_at.is_(None), score_runs.c.as_of == as_of, score_runs.c.model_name == model_name,
        score_runs.c.model_version == model_version, score_runs.c.feature_set_version == feature_set_version,
    ).order_by(score_runs.c.run_id.desc())
    row = conn.execute(query).first()
    return _run(row) if row is not None else None


def start_run(conn: Connection, *, as_of: dt.date, model_name: str, model_version: int, feature_set_version: str,
              reasons_share: float, cases: int, base_value: float) -> ScoreRun:
    key = conn.execute(sa.insert(score_runs).values(
        as_of=as_of, model_name=model_name, model_version=model_version, feature_set_version=feature_set_version,
        reasons_share=reasons_share, cases=cases, base_value=base_value, started_at=dt.datetime.now(dt.UTC),
    )).inserted_primary_key
    assert key is not None
    run_id = key[0]
    row = conn.execute(sa.select(score_runs).where(score_runs.c.run_id == run_id)).one()
    return _run(row)


def scored_case_ids(conn: Connection, run_id: int) -> np.ndarray:
    rows = conn.execute(sa.select(case_scores.c.case_id).where(case_scores.c.run_id == run_id)).scalars().all()
    return np.asarray(rows, dtype=np.int64)


def insert_scores(conn: Connection, run_id: int, case_ids: np.ndarray, benefits: np.ndarray, scores: np.ndarray) -> None:
    conn.execute(sa.insert(case_scores), [
        {"run_id": run_id, "case_id": c, "benefit": b, "score": s}
        for c, b, s in zip(case_ids.tolist(), benefits.tolist(), scores.tolist(), strict=True)
    ])


def run_scores(conn: Connection, run_id: int, batch: int = 200_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(case_ids ascending, benefits, scores) of a run, from the driver's cursor a batch at a time (millions of rows;
    SQLAlchemy's per-value processing would dominate). Benefits share one string object per benefit."""
    query = (sa.select(case_scores.c.case_id, case_scores.c.benefit, case_scores.c.score)
             .where(case_scores.c.run_id == run_id).order_by(case_scores.c.case_id))
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    ids, benefits, scores = [], [], []
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            frame = pd.DataFrame.from_records(rows, columns=["case_id", "benefit", "score"])
            ids.append(frame["case_id"].to_numpy(np.int64))
            benefits.append(frame["benefit"].astype("category"))
            scores.append(frame["score"].to_numpy(np.float64))
    finally:
        cursor.close()
    if not ids:
        return np.empty(0, np.int64), np.empty(0, object), np.empty(0, np.float64)
    benefit = pd.api.types.union_categoricals(benefits)
    return np.concatenate(ids), np.asarray(benefit, dtype=object), np.concatenate(scores)


def run_explanations(conn: Connection, run_id: int) -> dict[int, bytes]:
    """case_id -> stored explanation, for the run's top-ranked cases."""
    query = sa.select(case_scores.c.case_id, case_scores.c.explanation).where(
        case_scores.c.run_id == run_id, case_scores.c.explanation.is_not(None))
    return {int(case_id): bytes(blob) for case_id, blob in conn.execute(query)}


def finish_run(conn: Connection, run: ScoreRun, case_ids: np.ndarray, percentiles: np.ndarray,
               explanations: dict[int, bytes]) -> None:
    """Store percentiles and the top share's explanations, then make the run visible and drop older runs but one."""
    conn.execute(
        sa.update(case_scores).where(case_scores.c.run_id == run.run_id, case_scores.c.case_id == sa.bindparam("cid"))
        .values(percentile=sa.bindparam("pct")),
        [{"cid": c, "pct": p} for c, p in zip(case_ids.tolist(), percentiles.tolist(), strict=True)],
    )
    if explanations:
        conn.execute(
            sa.update(case_scores).where(case_scores.c.run_id == run.run_id, case_scores.c.case_id == sa.bindparam("cid"))
            .values(explanation=sa.bindparam("blob")),
            [{"cid": c, "blob": blob} for c, blob in explanations.items()],
        )
    conn.execute(sa.update(score_runs).where(score_runs.c.run_id == run.run_id).values(finished_at=dt.datetime.now(dt.UTC)))
    # Keep the previous finished run too: a server still loading it at this moment can finish.
    older = sa.select(score_runs.c.run_id).where(score_runs.c.finished_at.is_not(None)).order_by(
        score_runs.c.finished_at.desc(), score_runs.c.run_id.desc()).offset(2)
    stale = conn.execute(older).scalars().all()
    if stale:
        conn.execute(sa.delete(case_scores).where(case_scores.c.run_id.in_(stale)))
        conn.execute(sa.delete(score_runs).where(score_runs.c.run_id.in_(stale)))


def encode_explanation(row: np.ndarray, contributions: np.ndarray) -> bytes:
    return np.concatenate([row, contributions]).astype(np.float64).tobytes()


def decode_explanation(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    values = np.frombuffer(blob, dtype=np.float64)
    half = len(values) // 2
    return values[:half], values[half:]


# -- readers (serving) ---------------------------------------------------------------------------------------
def latest_run(engine: Engine, model_name: str | None = None, model_version: int | None = None) -> ScoreRun | None:
    """The last finished run (of that model and version, if given), or None when there is none or no table yet."""
    query = sa.select(score_runs).where(score_runs.c.finished_at.is_not(None))
    if model_name is not None:
        query = query.where(score_runs.c.model_name == model_name)
    if model_version is not None:
        query = query.where(score_runs.c.model_version == model_version)
    query = query.order_by(score_runs.c.finished_at.desc(), score_runs.c.run_id.desc()).limit(1)
    try:
        with engine.connect() as conn:
            row = conn.execute(query).first()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no table: score-all never ran against this store
        return None
    return _run(row) if row is not None else None


def load_scores(engine: Engine, run: ScoreRun) -> tuple[StoredScores, dict[int, bytes]]:
    """A finished run's scores and its stored explanations, read in one transaction."""
    with engine.connect() as conn:
        case_ids, benefits, scores = run_scores(conn, run.run_id)
        explanations = run_explanations(conn, run.run_id)
    return StoredScores(run, case_ids, benefits, scores), explanations
