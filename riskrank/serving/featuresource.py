"""Where serving reads case features: the feature store's contract (get, latest_frame, latest_as_of, frames)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from riskrank.model.scoring import ScoringModel


class FeatureSource(Protocol):
    def get(self, case_id: int) -> dict[str, Any] | None: ...

    def latest_frame(self, benefit: str | None = None) -> pd.DataFrame: ...

    def latest_as_of(self) -> date | None: ...

    def frames(self, as_of: Any, case_ids: np.ndarray | None = None, rows: int = 100_000) -> Iterator[pd.DataFrame]: ...


def model_row(source: FeatureSource, model: ScoringModel, case_id: int) -> tuple[date | None, str, np.ndarray] | None:
    """(as_of, benefit, 1 x F row the booster reads) of the case's latest stored features, or None if it has none.

    The feature store reads only the model's columns (FeatureStore.values); another source's get() is mapped."""
    narrow = getattr(source, "values", None)
    if narrow is not None:
        found = narrow(case_id, model.input_names)
        return None if found is None else (found[0], found[1], model.row_from_values(found[2]))
    features = source.get(case_id)
    if features is None:
        return None
    return features.get("as_of"), str(features.get("benefit")), model.row_array(features)


def reads_locally(source: FeatureSource | None) -> bool:
    """True for the feature store on SQLite: a read there is a page-cached local file seek (tens of microseconds; WAL
    readers never wait on writers), cheaper than the hop to a worker thread. Another database is a network round
    trip, which a database restart could stretch to seconds: never on the event loop."""
    engine = getattr(source, "engine", None)
    return isinstance(engine, Engine) and engine.dialect.name == "sqlite"


def default_feature_source(engine: Engine) -> FeatureSource | None:
    """riskrank.features.store.FeatureStore on the operational store, or None where that part is not installed."""
    try:
        from riskrank.features.store import FeatureStore
    except ImportError:
        return None
    return FeatureStore(engine)
