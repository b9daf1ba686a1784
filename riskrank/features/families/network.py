"""Network signals: persons from other households who share the key person's address, bank account or
assistance provider on the as-of day, how many of them had an investigation end in an action, and
whether the provider was reported to IVO."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.context import NETWORK_KINDS, Context, Occupancy
from riskrank.features.families.common import ids_or_missing, index_by_person, person_days
from riskrank.features.inputs import Prepared


def _others(occ: Occupancy, ids: np.ndarray, known: np.ndarray, household: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, ...]:
    everyone = occ.everyone.total(ids, day) - occ.household.total((ids, household), day)
    acted = occ.with_action.total(ids, day) - occ.household_with_action.total((ids, household), day)
    return np.where(known, np.rint(everyone), 0).astype(np.int64), np.where(known, np.rint(acted), 0).astype(np.int64)


def network_features(keys: pd.DataFrame, prepared: Prepared, ctx: Context) -> dict[str, np.ndarray]:
    person, day = person_days(keys)
    household = keys["household_id"].to_numpy(np.int64)
    out: dict[str, np.ndarray] = {}
    provider_ids = provider_known = None
    for name, kind in NETWORK_KINDS.items():
        ids, known = ids_or_missing(index_by_person(prepared, kind).last_value(person, day))
        shared, shared_acted = _others(ctx.network[name], ids, known, household, day)
        out[f"persons_sharing_{name}"] = shared
        out[f"persons_sharing_{name}_with_action"] = shared_acted
        if name == "provider":
            provider_ids, provider_known = ids, known
    assert provider_ids is not None and provider_known is not None
    out["provider_reported_to_ivo"] = provider_known & (ctx.ivo_reports.count(provider_ids, day) > 0)
    return out
