"""Nightly scoring: every case active on a date, scored by the champion, into the operational store.

A part of the active cases at a time (all cases of a person in one part): its features are computed (or read
back from the feature store when that date is stored already), scored, and written in one transaction with
the features, so a run killed midway keeps whole parts and a restart scores only the rest. When every case
is scored, percentiles per benefit and the explanations of each benefit's top share are stored and the run
becomes visible to serving (riskrank.batch.score_store).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sqlalchemy.engine import Engine

from riskrank.batch import score_store
from riskrank.features.registry import FEATURE_SET_VERSION
from riskrank.features.store import FeatureStore
from riskrank.model.scoring import ScoringModel
from riskrank.world_blocks import WorldOnDisk

ROWS_PER_PART = 100_000

Progress = Callable[[int], None]  # called with the number of cases just scored


@dataclass(frozen=True)
class ScoreAllResult:
    run: score_store.ScoreRun
    scored_now: int  # cases scored by this call (fewer than run.cases when it resumed a killed run)
    resumed: bool
    features_reused: bool
    explained: int


def top_share_rows(benefits: np.ndarray, scores: np.ndarray, share: float) -> np.ndarray:
    """Positions of each benefit's ceil(share x n) highest scores (ties broken by position, i.e. case id)."""
    chosen = []
    for benefit in pd.unique(benefits):
        rows = np.flatnonzero(benefits == benefit)
        k = math.ceil(share * len(rows))
        if k:
            order = np.lexsort((rows, -scores[rows]))
            chosen.append(rows[order[:k]])
    return np.sort(np.concatenate(chosen)) if chosen else np.empty(0, np.int64)


def benefit_percentiles(benefits: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Share (in %) of the same benefit's cases scoring at or below each case."""
    out = np.empty(len(scores), dtype=np.float64)
    for benefit in pd.unique(benefits):
        rows = np.flatnonzero(benefits == benefit)
        out[rows] = 100.0 * rankdata(scores[rows], method="max") / len(rows)
    return out


def score_all(
    engine: Engine,
    model: ScoringModel,
    world: WorldOnDisk,
    as_of: pd.Timestamp,
    *,
    reasons_share: float = 0.02,
    feature_engine: str = "pandas",
    client: Any = None,
    rows_per_part: int = ROWS_PER_PART,
    progress: Progress | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> ScoreAllResult:
    """Score every case active on `as_of` with `model`; resumes an unfinished run of the same date and model.

    Memory: the world (riskrank.world_blocks.open_world) has its signals read a block of persons at a time, so the
    peak follows `rows_per_part`, not the world.

    `on_start(total, already_scored)` is called once the work is known (for a progress bar)."""
    from riskrank.features.pipeline import active_keys

    if not 0.0 <= reasons_share <= 1.0:
        raise ValueError(f"reasons share must be between 0 and 1, got {reasons_share}")
    if model.version is None or model.name is None:
        raise ValueError("score_all needs a registered model version (model.registry.load_model)")
    day = as_of.date()
    features = FeatureStore(engine)  # which first brings the store to the code's schema (ensure_schema)
    keys = active_keys(world, as_of)
    reuse = features.snapshot_rows(day) == len(keys)  # stored by `riskrank features --store` for this world
    with engine.begin() as conn:
        run = score_store.unfinished_run(conn, day, model.name, model.version, FEATURE_SET_VERSION)
        resumed = run is not None
        if run is None:
            run = score_store.start_run(
                conn, as_of=day, model_name=model.name, model_version=model.version, feature_set_version=FEATURE_SET_VERSION,
                reasons_share=reasons_share, cases=len(keys), base_value=model.base_value())
            if not reuse:
                features.clear(conn, day)
        done = score_store.scored_case_ids(conn, run.run_id)
    todo = keys.loc[~keys["case_id"].isin(done)].reset_index(drop=True)
    if on_start is not None:
        on_start(len(keys), len(keys) - len(todo))
    parts: Iterator[pd.DataFrame]
    if len(todo) == 0:
        parts = iter(())
    elif reuse and len(done):
        parts = features.frames(day, case_ids=todo["case_id"].to_numpy())
    elif reuse:
        parts = features.frames(day, rows=rows_per_part)
    else:
        from riskrank.features.blocks import feature_blocks

        parts = feature_blocks(world, todo, engine=feature_engine, client=client, rows_per_part=rows_per_part)
    scored_now = 0
    for frame in parts:
        scores = model.predict(model.prepare_array(frame))
        with engine.begin() as conn:
            if not reuse:
                features.append(conn, frame, day)
            score_store.insert_scores(conn, run.run_id, frame["case_id"].to_numpy(np.int64),
                                      frame["benefit"].astype(str).to_numpy(object), scores)
        scored_now += len(frame)
        if progress is not None:
            progress(len(frame))
    explained = _finish(engine, features, model, run, day, reuse)
    return ScoreAllResult(run, scored_now, resumed, reuse, explained)


def _finish(engine: Engine, features: FeatureStore, model: ScoringModel, run: score_store.ScoreRun, day: dt.date,
            reused: bool) -> int:
    with engine.connect() as conn:
        case_ids, benefits, scores = score_store.run_scores(conn, run.run_id)
    if len(case_ids) != run.cases:
        raise RuntimeError(f"run {run.run_id} holds {len(case_ids)} scores for {run.cases} active cases")
    percentiles = benefit_percentiles(benefits, scores)
    top = case_ids[top_share_rows(benefits, scores, run.reasons_share)]
    explanations: dict[int, bytes] = {}
    for frame in features.frames(day, case_ids=top):
        X = model.prepare_array(frame)
        _, contributions = model.contributions(X)
        for case_id, row, contribution in zip(frame["case_id"].tolist(), X, contributions, strict=True):
            explanations[case_id] = score_store.encode_explanation(row, contribution)
    with engine.begin() as conn:
        score_store.finish_run(conn, run, case_ids, percentiles, explanations)
        if not reused:
            features.mark_complete(conn, day, len(case_ids))
    return len(explanations)
