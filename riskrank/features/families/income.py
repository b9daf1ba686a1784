"""Income declared by employers against the income the case is based on (application) and taxed income."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.context import Context
from riskrank.features.events import EventIndex
from riskrank.features.families.common import (
    QUARTER_DAYS,
    YEAR_DAYS,
    index_by_case,
    index_by_person,
    monthly_income,
    person_days,
    ratio,
)
from riskrank.features.inputs import Prepared


def income_features(keys: pd.DataFrame, prepared: Prepared, ctx: Context) -> dict[str, np.ndarray]:
    person, day = person_days(keys)
    case = keys["case_id"].to_numpy(np.int64)
    declared = index_by_person(prepared, "income_declaration")
    months = monthly_income(prepared)
    income_months = EventIndex(months["person_id"].to_numpy(), months["income_day"].to_numpy())
    application = index_by_case(prepared, "application_income").last_value(case, day)
    taxed = index_by_person(prepared, "taxed_income").last_value(person, day)
    declared_12m = declared.total(person, day, since=day - YEAR_DAYS)
    return {
        "application_income_sek": application,
        "taxed_income_sek": taxed,
        "taxed_to_application_income": ratio(taxed, application),
        "declared_income_12m_sek": declared_12m,
        "declared_income_3m_sek": declared.total(person, day, since=day - QUARTER_DAYS),
        "declared_to_application_income": ratio(declared_12m, application),
        "months_with_declared_income_12m": income_months.count(person, day, since=day - YEAR_DAYS),
        "latest_declared_income_sek": declared.last_value(person, day),
    }
