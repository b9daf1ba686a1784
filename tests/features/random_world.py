"""A small random world with every signal kind, shared addresses, accounts and providers, and
investigations: for engine-equality and point-in-time tests that must not depend on hand-picked values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.world import BENEFITS, IMPULSE_SOURCES, SIGNAL_KINDS, World, validate_table

START, END = pd.Timestamp("2021-01-01"), pd.Timestamp("2024-12-31")


def _dates(rng: np.random.Generator, n: int) -> pd.DatetimeIndex:
    days = rng.integers(0, (END - START).days + 1, n)
    return pd.DatetimeIndex(START + pd.to_timedelta(days, unit="D"))


def _month_ends(rng: np.random.Generator, n: int) -> pd.DatetimeIndex:
    return _dates(rng, n).to_period("M").to_timestamp(how="end").normalize()


def random_world(n_persons: int = 300, seed: int = 0) -> World:
    rng = np.random.default_rng(seed)
    person_ids = np.arange(1, n_persons + 1) * 7
    persons = pd.DataFrame({
        "person_id": person_ids, "sex": rng.choice(["F", "M"], n_persons), "birth_year": rng.integers(1940, 2005, n_persons),
        "county": "Uppsala", "born_abroad": rng.random(n_persons) < 0.2,
        "household_id": rng.integers(0, n_persons // 2, n_persons),
    })
    n_cases = int(n_persons * 1.6)
    start = _dates(rng, n_cases)
    ends = start + pd.to_timedelta(rng.integers(30, 900, n_cases), unit="D")
    cases = pd.DataFrame({
        "case_id": np.arange(n_cases) + 1000, "person_id": rng.choice(person_ids, n_cases),
        "benefit": rng.choice(BENEFITS, n_cases), "start_date": start,
        "end_date": pd.Series(ends).where((rng.random(n_cases) < 0.5) & (ends <= END)),
        "monthly_amount_sek": rng.gamma(2.0, 3000.0, n_cases).round(),
    })
    rows = []
    case_person = dict(zip(cases["case_id"], cases["person_id"], strict=True))
    case_kinds = {"benefit_days", "assistance_hours", "application_income", "provider_registered", "bank_account_registered"}
    shared_ids = {"address_change": 40, "bank_account_registered": 30, "provider_registered": 5, "provider_report": 5}
    for kind, (sources, _) in SIGNAL_KINDS.items():
        n = n_persons * (6 if kind in ("income_declaration", "benefit_days") else 1)
        monthly = kind in ("income_declaration", "benefit_days", "assistance_hours")
        dates = _month_ends(rng, n) if monthly else _dates(rng, n)
        if kind in case_kinds:
            case_ids = rng.choice(cases["case_id"].to_numpy(), n)
            persons_of = np.array([case_person[c] for c in case_ids])
        else:
            case_ids = np.full(n, -1)
            persons_of = rng.choice(person_ids, n)
        if kind in shared_ids:
            values = rng.integers(1, shared_ids[kind] + 1, n).astype(float)
        elif kind in ("income_declaration", "taxed_income", "application_income"):
            values = np.where(rng.random(n) < 0.2, 0.0, rng.gamma(2.0, 12000.0 if kind == "income_declaration" else 150000.0, n))
        elif kind in ("benefit_days", "assistance_hours", "household_change"):
            values = rng.integers(0, 20, n).astype(float)
        else:
            values = np.ones(n)
        source = rng.choice(IMPULSE_SOURCES, n) if kind == "notification" else np.full(n, sources[0])
        rows.append(pd.DataFrame({"person_id": persons_of, "case_id": case_ids, "date": dates, "source": source, "kind": kind,
                                  "value": values}))
    signals = pd.concat(rows, ignore_index=True)
    signals["case_id"] = signals["case_id"].astype("Int64").where(signals["case_id"] >= 0)
    signals["source"] = signals["source"].astype("str")
    signals["kind"] = signals["kind"].astype("str")
    n_inv = n_persons // 2
    inv_cases = rng.choice(cases["case_id"].to_numpy(), n_inv)
    case_start = cases.set_index("case_id")["start_date"].reindex(inv_cases)
    opened = pd.DatetimeIndex(case_start.to_numpy() + pd.to_timedelta(rng.integers(0, 400, n_inv), unit="D"))
    opened = opened.where(opened <= END, END)
    closed = pd.Series(opened + pd.to_timedelta(rng.integers(0, 200, n_inv), unit="D"))
    closed = closed.where(closed <= END)
    is_closed = closed.notna().to_numpy()
    action = pd.array(np.where(is_closed, rng.random(n_inv) < 0.4, False), dtype="boolean")
    action[~is_closed] = pd.NA
    investigations = pd.DataFrame({
        "investigation_id": np.arange(n_inv), "case_id": inv_cases, "opened_date": opened,
        "closed_date": closed, "selection": rng.choice(["impulse", "random"], n_inv), "impulse_source": None,
        "action": action, "action_type": None,
        "detected_sek": pd.Series(rng.gamma(2.0, 10000.0, n_inv)).where(is_closed),
        "prevented_sek": pd.Series(np.zeros(n_inv)).where(is_closed),
        "police_report": pd.array(np.where(is_closed, rng.random(n_inv) < 0.1, False), dtype="boolean"),
    })
    investigations["police_report"] = investigations["police_report"].where(is_closed)
    investigations = investigations.astype({"impulse_source": "str", "action_type": "str"})
    world = World(persons=persons, cases=cases, signals=signals, investigations=investigations,
                  meta={"start_date": "2022-01-01", "end_date": "2024-12-31"})
    for name, frame in world.tables().items():
        validate_table(name, frame, today=END)
    return world
