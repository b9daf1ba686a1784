"""What the agency already knew about the person: notifications and tips by source, and earlier
control investigations with their outcomes.

An investigation's outcome is known from the day it closed, and only for investigations opened before
the as-of day: a training row is an investigation as of its own opening day, and must never see itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.features.context import Context
from riskrank.features.events import NO_DAY, EventIndex
from riskrank.features.families.common import YEAR_DAYS, days_since, person_days
from riskrank.features.inputs import Prepared, signals_of
from riskrank.world import IMPULSE_SOURCES


def notification_features(keys: pd.DataFrame, prepared: Prepared, ctx: Context) -> dict[str, np.ndarray]:
    person, day = person_days(keys)
    s = signals_of(prepared, "notification")
    out: dict[str, np.ndarray] = {}
    for source in IMPULSE_SOURCES:
        mine = s.loc[s["source"] == source]
        out[f"notifications_{source}"] = EventIndex(mine["person_id"].to_numpy(), mine["day"].to_numpy()).count(person, day)
    every = EventIndex(s["person_id"].to_numpy(), s["day"].to_numpy())
    out["notifications_12m"] = every.count(person, day, since=day - YEAR_DAYS)
    out["days_since_notification"] = days_since(day, every.last_day(person, day))
    # The same, only for notifications about this case: a person's count also holds tips about their other
    # cases, so people with more benefits (more often women) look riskier in each (docs/training.md).
    about_case = s.loc[s["case_id"] >= 0]  # -1: a notification about the person, no case named
    on_case = EventIndex(about_case["case_id"].to_numpy(), about_case["day"].to_numpy())
    case = keys["case_id"].to_numpy(np.int64)
    out["notifications_this_case_12m"] = on_case.count(case, day, since=day - YEAR_DAYS)
    out["days_since_notification_this_case"] = days_since(day, on_case.last_day(case, day))
    return out


def investigation_features(keys: pd.DataFrame, prepared: Prepared, ctx: Context) -> dict[str, np.ndarray]:
    person, day = person_days(keys)
    case = keys["case_id"].to_numpy(np.int64)
    inv = prepared.investigations
    opened_known = inv["opened_day"].to_numpy() + 1  # opened strictly before the as-of day
    closed = inv["closed_day"].to_numpy() != NO_DAY
    c = inv.loc[closed]
    closed_known = np.maximum(c["closed_day"].to_numpy(), opened_known[closed])
    c_person = c["person_id"].to_numpy()
    closed_index = EventIndex(c_person, closed_known, c["detected_sek"].to_numpy())
    action = c["action"].to_numpy(bool)
    police = c["police_report"].to_numpy(bool)
    closed_count = closed_index.count(person, day)
    opened_count = EventIndex(inv["person_id"].to_numpy(), opened_known).count(person, day)
    return {
        "earlier_investigations_closed": closed_count,
        "earlier_investigations_with_action": EventIndex(c_person[action], closed_known[action]).count(person, day),
        "earlier_investigations_this_case": EventIndex(c["case_id"].to_numpy(), closed_known).count(case, day),
        "earlier_police_reports": EventIndex(c_person[police], closed_known[police]).count(person, day),
        "earlier_detected_sek": closed_index.total(person, day),
        "open_investigations": opened_count - closed_count,
        "days_since_investigation_closed": days_since(day, closed_index.last_day(person, day)),
    }
