"""The world's tables in the shape the feature functions read, and the keys they answer for.

Dates become int64 day numbers once, signals are split by kind, investigations carry their person, and
keys are checked against the cases table before anything is computed (bad keys fail with a clear
message and nothing is written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskrank.features.events import to_days
from riskrank.world import BENEFITS, ContractError, World


@dataclass(frozen=True)
class Prepared:
    """World tables for feature functions; every table has person_id, so it can be split by person."""

    persons: pd.DataFrame  # person_id, sex, birth_year, born_abroad, household_id
    cases: pd.DataFrame  # case_id, person_id, benefit, start_day, end_day, monthly_amount_sek
    signals: dict[str, pd.DataFrame]  # kind -> person_id, case_id (-1 when none), day, source, value
    investigations: pd.DataFrame  # case_id, person_id, opened_day, closed_day, action, police_report, detected_sek
    # Event indexes built from these tables, shared by the families within one computation.
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def for_persons(self, person_ids: np.ndarray) -> Prepared:
        """The same tables restricted to the given persons (their own events are all a family reads)."""
        ids = np.unique(np.asarray(person_ids, dtype=np.int64))

        def cut(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.loc[np.isin(frame["person_id"].to_numpy(), ids, kind="sort")].reset_index(drop=True)

        return Prepared(persons=cut(self.persons), cases=cut(self.cases),
                        signals={kind: cut(frame) for kind, frame in self.signals.items()},
                        investigations=cut(self.investigations))

    def memo(self, key: Any, build):  # noqa: ANN001, ANN201
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]


def prepare(world: World) -> Prepared:
    persons = world.persons[["person_id", "sex", "birth_year", "born_abroad", "household_id"]].copy()
    persons["person_id"] = persons["person_id"].astype(np.int64)
    cases = pd.DataFrame({
        "case_id": world.cases["case_id"].to_numpy(np.int64),
        "person_id": world.cases["person_id"].to_numpy(np.int64),
        "benefit": pd.Categorical(world.cases["benefit"], categories=list(BENEFITS)),
        "start_day": to_days(world.cases["start_date"]),
        "end_day": to_days(world.cases["end_date"]),
        "monthly_amount_sek": world.cases["monthly_amount_sek"].to_numpy(np.float64),
    })
    signals = split_signals(world.signals)
    inv = world.investigations
    person_of_case = pd.Series(cases["person_id"].to_numpy(), index=cases["case_id"].to_numpy())
    inv_person = person_of_case.reindex(inv["case_id"].to_numpy()).to_numpy()
    if np.isnan(inv_person.astype(np.float64)).any():
        raise ContractError("table investigations, column case_id: refers to cases not in table cases")
    investigations = pd.DataFrame({
        "case_id": inv["case_id"].to_numpy(np.int64),
        "person_id": inv_person.astype(np.int64),
        "opened_day": to_days(inv["opened_date"]),
        "closed_day": to_days(inv["closed_date"]),
        "action": inv["action"].fillna(False).astype(bool).to_numpy(),
        "police_report": inv["police_report"].fillna(False).astype(bool).to_numpy(),
        "detected_sek": inv["detected_sek"].fillna(0.0).to_numpy(np.float64),
    })
    unknown_persons = ~cases["person_id"].isin(persons["person_id"])
    if unknown_persons.any():
        raise ContractError(
            f"table cases, column person_id: {int(unknown_persons.sum())} rows refer to persons not in table persons")
    return Prepared(persons=persons, cases=cases, signals=signals, investigations=investigations)


def split_signals(s: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Signals per kind (original order kept within each kind), with dates as day numbers."""
    kind = pd.Categorical(s["kind"])
    order = np.argsort(kind.codes, kind="stable")
    bounds = np.searchsorted(kind.codes[order], np.arange(len(kind.categories) + 1))
    case_id = s["case_id"]
    columns = {
        "person_id": s["person_id"].to_numpy(np.int64),
        "case_id": (case_id.fillna(-1) if case_id.hasnans else case_id).to_numpy(np.int64),
        "day": to_days(s["date"]),
        "source": pd.Categorical(s["source"]),
        "value": s["value"].to_numpy(np.float64),
    }
    out = {}
    for i, name in enumerate(kind.categories):
        rows = order[bounds[i]:bounds[i + 1]]
        out[str(name)] = pd.DataFrame({column: values[rows] for column, values in columns.items()})
    return out


def signals_of(prepared: Prepared, kind: str) -> pd.DataFrame:
    frame = prepared.signals.get(kind)
    if frame is None:
        return pd.DataFrame({
            "person_id": np.array([], np.int64), "case_id": np.array([], np.int64), "day": np.array([], np.int64),
            "source": np.array([], object), "value": np.array([], np.float64),
        })
    return frame


def check_keys(keys: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """Validated keys: case_id (int64) and as_of (datetime, day precision), in the caller's order."""
    if not isinstance(keys, pd.DataFrame):
        raise ContractError(f"keys: expected a DataFrame with columns case_id and as_of, got {type(keys).__name__}")
    for column in ("case_id", "as_of"):
        if column not in keys.columns:
            raise ContractError(f"keys: missing column {column!r}")
    if not pd.api.types.is_integer_dtype(keys["case_id"]):
        raise ContractError(f"keys, column case_id: expected integer, got {keys['case_id'].dtype}")
    try:
        as_of = pd.to_datetime(keys["as_of"]).dt.normalize()
    except (ValueError, TypeError) as exc:
        raise ContractError(f"keys, column as_of: not dates ({exc})") from None
    if as_of.isna().any():
        raise ContractError(f"keys, column as_of: {int(as_of.isna().sum())} missing dates")
    unknown = ~keys["case_id"].isin(cases["case_id"])
    if unknown.any():
        raise ContractError(f"keys, column case_id: {int(unknown.sum())} of {len(keys)} case ids are not in table cases")
    return pd.DataFrame({"case_id": keys["case_id"].to_numpy(np.int64), "as_of": as_of.to_numpy()})


def key_frame(keys: pd.DataFrame, prepared: Prepared) -> pd.DataFrame:
    """Keys joined with their case and person: the per-row inputs every family reads."""
    frame = pd.DataFrame({
        "row": np.arange(len(keys)), "case_id": keys["case_id"].to_numpy(np.int64), "day": to_days(keys["as_of"]),
    })
    frame = frame.merge(prepared.cases, on="case_id", how="left", validate="many_to_one")
    frame = frame.merge(prepared.persons, on="person_id", how="left", validate="many_to_one")
    return frame.sort_values("row").reset_index(drop=True)
