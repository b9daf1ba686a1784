"""Feature families: pure functions from (keys, prepared tables, shared context) to named columns.

Each family returns {feature name: array aligned with the key rows}. Together they must produce exactly
the registry's features; the pipeline checks that.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from riskrank.features.context import Context
from riskrank.features.families import case, history, income, network, residence, work
from riskrank.features.inputs import Prepared

Family = Callable[[pd.DataFrame, Prepared, Context], dict[str, np.ndarray]]
FAMILIES: tuple[Family, ...] = (
    case.case_features,
    income.income_features,
    work.work_in_benefit_features,
    residence.residence_features,
    history.notification_features,
    history.investigation_features,
    network.network_features,
)
