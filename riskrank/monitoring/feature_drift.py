"""Feature drift for the dashboard: the feature store's earliest snapshot (the features the model was
built on) against its latest (what it scores now), over the model's input features.

Cached per (snapshot pair, benefit), since a snapshot does not change once written except by a rewrite,
which changes its row count or timestamp, both part of the cache key.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskrank.monitoring.drift import drift_table

log = logging.getLogger("riskrank.monitoring")
SNAPSHOTS = "feature_snapshots"
TOP = 15
_CACHE: dict[tuple, dict] = {}


def feature_drift_from_store(engine: Engine, benefit: str | None = None) -> dict:
    """{"features": [top PSI rows], "reference_as_of", "current_as_of", "note"}; never raises."""
    try:
        return _feature_drift(engine, benefit)
    except Exception as exc:  # drift is an extra on the page; a broken store must not break the metrics
        log.warning("feature drift not available: %s", type(exc).__name__)
        return {"features": [], "note": "feature drift not available (feature store unreadable)"}


def _feature_drift(engine: Engine, benefit: str | None) -> dict:
    if not sa.inspect(engine).has_table(SNAPSHOTS):
        return {"features": [], "note": "no feature snapshots in the store yet"}
    from riskrank.features.registry import FEATURE_SET_VERSION, MODEL_FEATURES
    from riskrank.features.store import FeatureStore, typed_frame

    store = FeatureStore(engine)
    snapshots = store.snapshots
    query = (sa.select(snapshots.c.as_of, snapshots.c.rows, snapshots.c.written_at)
             .where(snapshots.c.feature_set_version == FEATURE_SET_VERSION).order_by(snapshots.c.as_of))
    with engine.connect() as conn:
        found = conn.execute(query).fetchall()
    if len(found) < 2:
        return {"features": [], "note": "feature drift needs two feature snapshots (training-time and latest); "
                                        f"the store has {len(found)}"}
    reference, current = found[0], found[-1]
    key = (str(engine.url), FEATURE_SET_VERSION, tuple(reference), tuple(current), benefit)
    if key in _CACHE:
        return _CACHE[key]

    def load(as_of):
        query = sa.select(store.table).where(store.table.c.as_of == as_of)
        if benefit is not None:
            query = query.where(store.table.c.benefit == benefit)
        with engine.connect() as conn:
            result = conn.execute(query)
            import pandas as pd

            return typed_frame(pd.DataFrame(result.fetchall(), columns=list(result.keys())))

    ref_frame, cur_frame = load(reference.as_of), load(current.as_of)
    if ref_frame.empty or cur_frame.empty:
        return {"features": [], "note": "no feature rows for this benefit in one of the snapshots"}
    table = drift_table(ref_frame, cur_frame, features=list(MODEL_FEATURES))
    result = {
        "features": table.head(TOP).to_dict(orient="records"),
        "shifted": int((table["status"] == "shift").sum()),
        "moderate": int((table["status"] == "moderate").sum()),
        "reference_as_of": str(reference.as_of),
        "current_as_of": str(current.as_of),
        "note": None,
    }
    _CACHE[key] = result
    return result
