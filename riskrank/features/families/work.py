"""Work income in months when benefit days were paid: employer declarations for the same month as paid
temporary parental benefit, sickness benefit or parental benefit (working while on benefit)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.context import Context
from riskrank.features.events import EventIndex
from riskrank.features.families.common import YEAR_DAYS, index_by_case, month_of, monthly_income, person_days
from riskrank.features.inputs import Prepared, signals_of

BENEFIT_GROUPS: dict[str, str] = {
    "income_in_tfp_months_12m_sek": "tillfallig_foraldrapenning",
    "income_in_sjukpenning_months_12m_sek": "sjukpenning",
    "income_in_fp_months_12m_sek": "foraldrapenning",
}


def benefit_day_months(prepared: Prepared) -> pd.DataFrame:
    """Months with benefit days paid per case; known from the first report of that month."""
    s = signals_of(prepared, "benefit_days")
    s = s.loc[(s["value"] > 0) & (s["case_id"] >= 0)]
    case = prepared.cases.set_index("case_id").reindex(s["case_id"].to_numpy())
    # A case's benefit is known from the day the case starts, whatever the signal's own date.
    known = case["start_day"].notna().to_numpy()
    day = np.maximum(s["day"].to_numpy(), case["start_day"].fillna(0).to_numpy(np.int64))
    frame = pd.DataFrame({"case_id": s["case_id"].to_numpy(), "month": month_of(s["day"].to_numpy()), "day": day}).loc[known]
    months = frame.groupby(["case_id", "month"], as_index=False, sort=True).agg(benefit_day=("day", "min"))
    case_of = prepared.cases.set_index("case_id").reindex(months["case_id"].to_numpy())
    months["person_id"] = case_of["person_id"].to_numpy(np.int64)
    months["benefit"] = pd.Categorical(case_of["benefit"].to_numpy())
    return months


def work_in_benefit_features(keys: pd.DataFrame, prepared: Prepared, ctx: Context) -> dict[str, np.ndarray]:
    person, day = person_days(keys)
    case = keys["case_id"].to_numpy(np.int64)
    since = day - YEAR_DAYS
    overlap = benefit_day_months(prepared).merge(monthly_income(prepared), on=["person_id", "month"], how="inner")
    # The overlap is known once both the income and the benefit days of the month are.
    overlap["known_day"] = np.maximum(overlap["income_day"].to_numpy(), overlap["benefit_day"].to_numpy())
    out: dict[str, np.ndarray] = {}
    for name, benefit in BENEFIT_GROUPS.items():
        group = overlap.loc[overlap["benefit"] == benefit]
        # One person-month counts once even with several cases of the same benefit.
        grouped = group.groupby(["person_id", "month"], as_index=False)
        per_month = grouped.agg(income=("income", "first"), day=("known_day", "min"))
        index = EventIndex(per_month["person_id"].to_numpy(), per_month["day"].to_numpy(), per_month["income"].to_numpy())
        out[name] = index.total(person, day, since=since)
    own = EventIndex(overlap["case_id"].to_numpy(), overlap["known_day"].to_numpy())
    out["case_months_with_benefit_and_income_12m"] = own.count(case, day, since=since)
    out["benefit_days_12m"] = np.rint(index_by_case(prepared, "benefit_days").total(case, day, since=since)).astype(np.int64)
    hours = index_by_case(prepared, "assistance_hours")
    hours_total, hours_months = hours.total(case, day, since=since), hours.count(case, day, since=since)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["assistance_hours_monthly_mean_12m"] = np.where(hours_months > 0, hours_total / np.maximum(hours_months, 1), np.nan)
    return out
