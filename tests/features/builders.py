"""Hand-built worlds for feature tests: a few persons and events where the right feature value is known."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskrank.world import SIGNAL_KINDS, World, validate_table


def _date(value: str | None) -> pd.Timestamp:
    return pd.Timestamp(value) if value is not None else pd.NaT


@dataclass
class WorldBuilder:
    persons: list[dict] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)
    signals: list[dict] = field(default_factory=list)
    investigations: list[dict] = field(default_factory=list)

    def person(self, person_id: int, sex: str = "F", birth_year: int = 1980, born_abroad: bool = False,
               household_id: int | None = None, county: str = "Stockholm") -> WorldBuilder:
        self.persons.append({"person_id": person_id, "sex": sex, "birth_year": birth_year, "county": county,
                             "born_abroad": born_abroad, "household_id": person_id if household_id is None else household_id})
        return self

    def case(self, case_id: int, person_id: int, benefit: str, start: str, end: str | None = None,
             amount: float = 1000.0) -> WorldBuilder:
        self.cases.append({"case_id": case_id, "person_id": person_id, "benefit": benefit, "start_date": _date(start),
                           "end_date": _date(end), "monthly_amount_sek": float(amount)})
        return self

    def signal(self, person_id: int, date: str, kind: str, value: float = 1.0, case_id: int | None = None,
               source: str | None = None) -> WorldBuilder:
        self.signals.append({"person_id": person_id, "case_id": case_id, "date": _date(date),
                             "source": source or SIGNAL_KINDS[kind][0][0], "kind": kind, "value": float(value)})
        return self

    def investigation(self, investigation_id: int, case_id: int, opened: str, closed: str | None = None,
                      action: bool | None = None, detected: float | None = None, police: bool | None = None,
                      selection: str = "random") -> WorldBuilder:
        if closed is not None and action is None:
            action = False
        self.investigations.append({
            "investigation_id": investigation_id, "case_id": case_id, "opened_date": _date(opened), "closed_date": _date(closed),
            "selection": selection, "impulse_source": None, "action": action,
            "action_type": ("reclaimed" if action else None), "detected_sek": detected if closed else None,
            "prevented_sek": 0.0 if closed else None, "police_report": (bool(police) if closed else None),
        })
        return self

    def build(self) -> World:
        persons = pd.DataFrame(self.persons).astype({"person_id": "int64", "birth_year": "int64", "household_id": "int64",
                                                     "born_abroad": "bool"})
        cases = pd.DataFrame(self.cases).astype({"case_id": "int64", "person_id": "int64"})
        signals = pd.DataFrame(self.signals, columns=["person_id", "case_id", "date", "source", "kind", "value"]).astype(
            {"person_id": "int64", "case_id": "Int64", "value": "float64", "source": "str", "kind": "str"})
        signals["date"] = pd.to_datetime(signals["date"])
        inv_columns = ["investigation_id", "case_id", "opened_date", "closed_date", "selection", "impulse_source", "action",
                       "action_type", "detected_sek", "prevented_sek", "police_report"]
        investigations = pd.DataFrame(self.investigations, columns=inv_columns).astype({
            "investigation_id": "int64", "case_id": "int64", "action": "boolean", "police_report": "boolean",
            "detected_sek": "float64", "prevented_sek": "float64", "selection": "str",
            "impulse_source": "str", "action_type": "str"})
        for column in ("opened_date", "closed_date"):
            investigations[column] = pd.to_datetime(investigations[column])
        world = World(persons=persons, cases=cases, signals=signals, investigations=investigations,
                      meta={"start_date": "2022-01-01", "end_date": "2024-12-31"})
        for name, frame in world.tables().items():
            validate_table(name, frame)
        return world


def keys(*pairs: tuple[int, str]) -> pd.DataFrame:
    return pd.DataFrame({
        "case_id": np.array([c for c, _ in pairs], dtype=np.int64), "as_of": pd.to_datetime([d for _, d in pairs]),
    })
