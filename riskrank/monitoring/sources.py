"""Where outcomes come from: the operational store's `outcomes` table, or a world's investigations.

Both give the same outcomes-like frame (see `kpis.OUTCOME_COLUMNS` and `kpis.GROUP_COLUMNS`, plus
`investigation_id`, `case_id`, and where known `person_id`, `score`, `model_version`), so every indicator runs on
either. The groups (sex, born abroad, age band) are for measurement only.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskrank.db import ensure_schema, outcomes
from riskrank.features.families.case import age_band
from riskrank.monitoring.kpis import GROUP_COLUMNS, OUTCOME_COLUMNS, normalise_outcomes
from riskrank.world import World, after_burn_in

EXTRA_COLUMNS: tuple[str, ...] = ("investigation_id", "case_id", "score", "model_version")
IMPORT_RECORDER = "import"


def outcomes_from_db(engine: Engine, benefit: str | None = None) -> pd.DataFrame:
    """Every recorded outcome (optionally one benefit's) as an outcomes-like frame; empty if none yet."""
    columns = [*OUTCOME_COLUMNS, *GROUP_COLUMNS, *EXTRA_COLUMNS]
    if not sa.inspect(engine).has_table(outcomes.name):
        return normalise_outcomes(pd.DataFrame({c: [] for c in columns}))
    query = sa.select(*(outcomes.c[c] for c in columns))
    if benefit is not None:
        query = query.where(outcomes.c.benefit == benefit)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).fetchall(), columns=columns)
    return normalise_outcomes(frame)


def outcomes_from_world(world: World, include_open: bool = False) -> pd.DataFrame:
    """A world's investigations joined with their case's benefit and person's id and groups (sex, born abroad, the
    age band on the day the investigation opened, as the features compute it).

    Closed investigations only, unless `include_open` (then open ones have null `closed_date` and null
    outcome columns; only the operational indicators use those)."""
    inv = after_burn_in(world.investigations, world.meta)  # a simulated world's burn-in is no outcome history
    if not include_open:
        inv = inv[inv["closed_date"].notna()]
    cases = world.cases[["case_id", "person_id", "benefit"]]
    persons = world.persons[["person_id", "sex", "born_abroad", "birth_year"]]
    frame = inv.merge(cases, on="case_id", how="left", validate="many_to_one")
    frame = frame.merge(persons, on="person_id", how="left", validate="many_to_one")
    frame["age_band"] = age_band(frame["birth_year"].to_numpy(), pd.to_datetime(frame["opened_date"]).to_numpy())
    frame["score"] = float("nan")
    frame["model_version"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    keep = [*OUTCOME_COLUMNS, *GROUP_COLUMNS, "investigation_id", "case_id", "person_id", "score", "model_version"]
    if include_open:
        out = frame[keep].copy()
        for column in ("opened_date", "closed_date"):
            out[column] = pd.to_datetime(out[column]).astype("datetime64[ns]")
        return out.reset_index(drop=True)
    return normalise_outcomes(frame[keep]).reset_index(drop=True)


def import_world_outcomes(world: World, engine: Engine) -> int:
    """Load a world's closed investigations into `outcomes` as history (recorded_by "import").

    Idempotent by investigation_id: rows already present are left untouched. Returns rows added."""
    ensure_schema(engine)
    frame = outcomes_from_world(world)
    with engine.connect() as conn:
        existing = {row[0] for row in conn.execute(sa.select(outcomes.c.investigation_id))}
    frame = frame[~frame["investigation_id"].astype(str).isin(existing)]
    if frame.empty:
        return 0
    now = datetime.now(UTC)
    rows = [
        {
            "investigation_id": str(r.investigation_id),
            "case_id": int(r.case_id),
            "benefit": str(r.benefit),
            "sex": None if pd.isna(r.sex) else str(r.sex),
            "born_abroad": None if pd.isna(r.born_abroad) else r.born_abroad == "True",
            "age_band": None if pd.isna(r.age_band) else str(r.age_band),
            "selection": str(r.selection),
            "opened_date": r.opened_date.date(),
            "closed_date": r.closed_date.date(),
            "action": bool(r.action),
            "action_type": None,
            "detected_sek": float(r.detected_sek),
            "prevented_sek": float(r.prevented_sek),
            "police_report": bool(r.police_report),
            "disagreed_with_score": False,
            "model_version": None,
            "score": None,
            "recorded_by": IMPORT_RECORDER,
            "recorded_at": now,
        }
        for r in frame.itertuples(index=False)
    ]
    action_types = world.investigations.set_index("investigation_id")["action_type"]
    for row in rows:
        value = action_types.get(int(row["investigation_id"]))
        row["action_type"] = None if value is None or pd.isna(value) else str(value)
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(outcomes.insert(), rows[start : start + 5000])
    return len(rows)
