"""Aggregates across all persons, computed once per run and shared by every partition.

Feature functions otherwise read only the key person's own events; these are the exceptions: the peer
amounts of each benefit, and the network occupancy (who is registered at an address, paid to an account
or served by a provider on a given day). Both stay point-in-time: peers are taken on the first day of
the as-of month, and occupancy counts only spells and outcomes dated on or before the day asked about.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.features.events import NO_DAY, EventIndex
from riskrank.features.inputs import Prepared, signals_of

# Network kind -> signal kind holding the shared id.
NETWORK_KINDS: dict[str, str] = {
    "address": "address_change",
    "bank_account": "bank_account_registered",
    "provider": "provider_registered",
}
IVO_REPORT_KIND = "provider_report"
# Every signal kind the context reads across persons: the rest are read per person only (per block at scale).
CONTEXT_SIGNAL_KINDS: tuple[str, ...] = (*NETWORK_KINDS.values(), IVO_REPORT_KIND)


def month_start(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype="datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


@dataclass(frozen=True)
class Occupancy:
    """Counts of persons holding an id on a day, overall and within one household, all and with an action."""

    everyone: EventIndex  # entity: id
    household: EventIndex  # entity: (id, household_id)
    with_action: EventIndex
    household_with_action: EventIndex


@dataclass(frozen=True)
class Context:
    peers: pd.DataFrame  # benefit, month_day, median, mean, std
    network: dict[str, Occupancy]
    ivo_reports: EventIndex  # entity: provider id


def peer_amounts(cases: pd.DataFrame, days: np.ndarray) -> pd.DataFrame:
    """Median, mean and standard deviation of the monthly amount per benefit among cases active on each month start."""
    rows = []
    codes, benefits = pd.factorize(cases["benefit"])  # integer group keys: grouping on strings is slow
    start, end = cases["start_day"].to_numpy(), cases["end_day"].to_numpy()
    amount = cases["monthly_amount_sek"].to_numpy(np.float64)
    for month_day in np.unique(month_start(days)):
        active = (start <= month_day) & (end > month_day)
        stats = pd.Series(amount[active]).groupby(codes[active]).agg(["median", "mean", "std"])
        stats.insert(0, "benefit", np.asarray(benefits)[stats.index.to_numpy()])
        stats["month_day"] = month_day
        rows.append(stats.reset_index(drop=True))
    if not rows:
        return pd.DataFrame({"benefit": pd.Series([], dtype="str"), "month_day": np.array([], np.int64),
                             "median": np.array([]), "mean": np.array([]), "std": np.array([])})
    peers = pd.concat(rows, ignore_index=True)
    peers["benefit"] = peers["benefit"].astype("str")
    return peers


def first_action_day(prepared: Prepared) -> pd.Series:
    """Per person: the first day an investigation of them was closed with an action (the day it became known)."""
    inv = prepared.investigations
    acted = inv.loc[inv["action"] & (inv["closed_day"] != NO_DAY)]
    known = np.maximum(acted["closed_day"].to_numpy(), acted["opened_day"].to_numpy() + 1)
    return pd.Series(known, index=acted["person_id"].to_numpy()).groupby(level=0).min()


def spells(events: pd.DataFrame) -> pd.DataFrame:
    """Each person's holding of an id from its registration day until the next registration (exclusive)."""
    order = np.lexsort((events["value"].to_numpy(), events["day"].to_numpy(), events["person_id"].to_numpy()))
    e = events.iloc[order]
    person = e["person_id"].to_numpy()
    start = e["day"].to_numpy()
    end = np.full(len(start), NO_DAY, dtype=np.int64)
    same_next = person[1:] == person[:-1]
    end[:-1][same_next] = start[1:][same_next]
    return pd.DataFrame({"person_id": person, "id": e["value"].to_numpy(np.int64), "start": start, "end": end})


def _occupancy_index(ids: np.ndarray, households: np.ndarray | None, start: np.ndarray, end: np.ndarray) -> EventIndex:
    ends = end != NO_DAY
    entity_ids = np.r_[ids, ids[ends]]
    day = np.r_[start, end[ends]]
    value = np.r_[np.ones(len(start)), -np.ones(int(ends.sum()))]
    if households is None:
        return EventIndex(entity_ids, day, value)
    return EventIndex((entity_ids, np.r_[households, households[ends]]), day, value)


def occupancy(prepared: Prepared, kind: str, first_action: pd.Series) -> Occupancy:
    s = spells(signals_of(prepared, kind))
    household = prepared.persons.set_index("person_id")["household_id"].reindex(s["person_id"].to_numpy()).to_numpy(np.int64)
    ids, start, end = s["id"].to_numpy(), s["start"].to_numpy(), s["end"].to_numpy()
    acted_from = first_action.reindex(s["person_id"].to_numpy()).to_numpy(np.float64)
    # A person counts as "with action" from the later of arriving and their first known action.
    acted_start = np.maximum(start, np.nan_to_num(acted_from, nan=np.inf))
    acted = acted_start < end
    a_start = acted_start[acted].astype(np.int64)
    return Occupancy(
        everyone=_occupancy_index(ids, None, start, end),
        household=_occupancy_index(ids, household, start, end),
        with_action=_occupancy_index(ids[acted], None, a_start, end[acted]),
        household_with_action=_occupancy_index(ids[acted], household[acted], a_start, end[acted]),
    )


def build_context(prepared: Prepared, key_days: np.ndarray) -> Context:
    first_action = first_action_day(prepared)
    reports = signals_of(prepared, IVO_REPORT_KIND)
    return Context(
        peers=peer_amounts(prepared.cases, key_days),
        network={name: occupancy(prepared, kind, first_action) for name, kind in NETWORK_KINDS.items()},
        ivo_reports=EventIndex(reports["value"].to_numpy(np.int64), reports["day"].to_numpy()),
    )
