"""Address and household changes, signs of living abroad, residence permits, and reported changes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.context import Context
from riskrank.features.families.common import MONTH_DAYS, YEAR_DAYS, days_since, index_by_person, person_days
from riskrank.features.inputs import Prepared


def residence_features(keys: pd.DataFrame, prepared: Prepared, ctx: Context) -> dict[str, np.ndarray]:
    person, day = person_days(keys)
    since = day - YEAR_DAYS
    moves = index_by_person(prepared, "address_change")
    household = index_by_person(prepared, "household_change")
    foreign = index_by_person(prepared, "foreign_activity")
    last_income = index_by_person(prepared, "income_declaration", positive_only=True).last_day(person, day)
    expiry = index_by_person(prepared, "permit_expiry").last_day(person, day)
    renewal = index_by_person(prepared, "permit_renewed").last_day(person, day)
    # A renewal on or after the latest expiry covers it; an expiry after the latest renewal does not.
    unrenewed = ~np.isnan(expiry) & (np.isnan(renewal) | (renewal < np.nan_to_num(expiry, nan=0.0)))
    return {
        "address_changes_12m": moves.count(person, day, since=since),
        "address_changes_total": moves.count(person, day),
        "days_since_address_change": days_since(day, moves.last_day(person, day)),
        "household_changes_12m": household.count(person, day, since=since),
        "adults_at_address": household.last_value(person, day),
        "months_since_declared_income": days_since(day, last_income) / MONTH_DAYS,
        "mail_returned_12m": index_by_person(prepared, "mail_returned").count(person, day, since=since),
        "foreign_activity_12m": foreign.count(person, day, since=since),
        "foreign_activity_total": foreign.count(person, day),
        "emigration_registered": index_by_person(prepared, "emigration").count(person, day) > 0,
        "permit_expired_unrenewed": unrenewed,
        "days_since_permit_expiry": np.where(unrenewed, day - np.nan_to_num(expiry, nan=0.0), np.nan),
        "study_breaks_12m": index_by_person(prepared, "study_break").count(person, day, since=since),
        "reported_changes_12m": index_by_person(prepared, "reported_change").count(person, day, since=since),
    }
