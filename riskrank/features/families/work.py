"""Work income in months when benefit days were paid: employer declarations for the same month as paid
temporary parental benefit, sickness benefit or parental benefit (working while on benefit)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.context import Context
from riskrank.features.events import EventIndex, sort_order
from riskrank.features.families.common import YEAR_DAYS, index_by_case, month_of, monthly_income, person_days
from riskrank.features.inputs import Prepared, signals_of

_MONTH_BITS = 12  # months since 1970 fit until the year 2311

BENEFIT_GROUPS: dict[str, str] = {
    "income_in_tfp_months_12m_sek": "tillfallig_foraldrapenning",
    "income_in_sjukpenning_months_12m_sek": "sjukpenning",
    "income_in_fp_months_12m_sek": "foraldrapenning",
}


def _ids_months_key(ids: np.ndarray, month: np.ndarray, universe: np.ndarray) -> np.ndarray:
    """One int64 per (id, month): the id itself when small, else its position among `universe`."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(universe) and (universe.min() < 0 or universe.max() >= 1 << 50):
        ids = np.searchsorted(np.unique(universe), ids)
    return (ids << _MONTH_BITS) + np.asarray(month, dtype=np.int64)


def _first_of_groups(key: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Row of each distinct key with the smallest tiebreak."""
    order = sort_order(key, tiebreak)
    ordered = key[order]
    return order[np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])] if len(order) else order


def benefit_day_months(prepared: Prepared) -> pd.DataFrame:
    """Months with benefit days paid per case; known from the first report of that month."""
    s = signals_of(prepared, "benefit_days")
    s = s.loc[(s["value"] > 0) & (s["case_id"] >= 0)]
    cases = prepared.cases
    position = pd.Index(cases["case_id"].to_numpy()).get_indexer(s["case_id"].to_numpy())
    known = position >= 0
    position = position[known]
    case_id = s["case_id"].to_numpy()[known]
    month = month_of(s["day"].to_numpy()[known])
    # A case's benefit is known from the day the case starts, whatever the signal's own date.
    day = np.maximum(s["day"].to_numpy()[known], cases["start_day"].to_numpy()[position])
    first = _first_of_groups(_ids_months_key(case_id, month, case_id), day)
    return pd.DataFrame({
        "case_id": case_id[first], "month": month[first], "benefit_day": day[first],
        "person_id": cases["person_id"].to_numpy()[position[first]],
        "benefit": np.asarray(cases["benefit"].astype(str).to_numpy())[position[first]],
    })


def overlap_months(prepared: Prepared) -> pd.DataFrame:
    """Case-months with benefit days paid and employer-declared income, known once both are."""
    months, income = benefit_day_months(prepared), monthly_income(prepared)
    universe = np.r_[months["person_id"].to_numpy(), income["person_id"].to_numpy()]
    income_key = _ids_months_key(income["person_id"].to_numpy(), income["month"].to_numpy(), universe)
    wanted = _ids_months_key(months["person_id"].to_numpy(), months["month"].to_numpy(), universe)
    order = np.argsort(income_key)  # monthly_income has one row per person and month
    pos = np.minimum(np.searchsorted(income_key[order], wanted), max(len(order) - 1, 0))
    found = (income_key[order][pos] == wanted) if len(order) else np.zeros(len(wanted), bool)
    row = order[pos][found] if len(order) else np.array([], np.int64)
    overlap = months.loc[found].reset_index(drop=True)
    overlap["income"] = income["income"].to_numpy()[row]
    overlap["known_day"] = np.maximum(income["income_day"].to_numpy()[row], overlap["benefit_day"].to_numpy())
    overlap["key"] = wanted[found]
    return overlap


def work_in_benefit_features(keys: pd.DataFrame, prepared: Prepared, ctx: Context) -> dict[str, np.ndarray]:
    person, day = person_days(keys)
    case = keys["case_id"].to_numpy(np.int64)
    since = day - YEAR_DAYS
    overlap = overlap_months(prepared)
    out: dict[str, np.ndarray] = {}
    for name, benefit in BENEFIT_GROUPS.items():
        group = overlap.loc[overlap["benefit"].to_numpy() == benefit]
        # One person-month counts once even with several cases of the same benefit: the first known.
        first = _first_of_groups(group["key"].to_numpy(), group["known_day"].to_numpy())
        index = EventIndex(group["person_id"].to_numpy()[first], group["known_day"].to_numpy()[first],
                           group["income"].to_numpy()[first])
        out[name] = index.total(person, day, since=since)
    own = EventIndex(overlap["case_id"].to_numpy(), overlap["known_day"].to_numpy())
    out["case_months_with_benefit_and_income_12m"] = own.count(case, day, since=since)
    out["benefit_days_12m"] = np.rint(index_by_case(prepared, "benefit_days").total(case, day, since=since)).astype(np.int64)
    hours = index_by_case(prepared, "assistance_hours")
    hours_total, hours_months = hours.total(case, day, since=since), hours.count(case, day, since=since)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["assistance_hours_monthly_mean_12m"] = np.where(hours_months > 0, hours_total / np.maximum(hours_months, 1), np.nan)
    return out
