"""Where serving reads case features: the feature store's contract (get, latest_frame, latest_as_of, frames)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine


class FeatureSource(Protocol):
    def get(self, case_id: int) -> dict[str, Any] | None: ...

    def latest_frame(self, benefit: str | None = None) -> pd.DataFrame: ...

    def latest_as_of(self) -> date | None: ...

    def frames(self, as_of: Any, case_ids: np.ndarray | None = None, rows: int = 100_000) -> Iterator[pd.DataFrame]: ...


def default_feature_source(engine: Engine) -> FeatureSource | None:
    """riskrank.features.store.FeatureStore on the operational store, or None where that part is not installed."""
    try:
        from riskrank.features.store import FeatureStore
    except ImportError:
        return None
    return FeatureStore(engine)
