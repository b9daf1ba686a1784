"""The world's data contract: the tables every part reads, their columns, and the signal vocabulary.

A world is a folder with one Parquet file per table. The simulation writes worlds; features,
training and monitoring read them through `read_world`, which checks the contract on the way in
so that a bad file fails with a message naming the table and column, not deep inside a pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

BENEFITS: tuple[str, ...] = (
    "barnbidrag",
    "bostadsbidrag",
    "foraldrapenning",
    "tillfallig_foraldrapenning",
    "sjukpenning",
    "sjukersattning",
    "aktivitetsersattning",
    "aktivitetsstod",
    "assistansersattning",
    "omvardnadsbidrag",
    "underhallsstod",
)

SELECTIONS: tuple[str, ...] = ("impulse", "fk_initiated", "random", "model")
IMPULSE_SOURCES: tuple[str, ...] = ("agency", "municipality", "ubm", "skatteverket", "public", "handler", "school")
ERROR_CAUSES: tuple[str, ...] = ("application", "unreported_change", "fth")
ACTION_TYPES: tuple[str, ...] = ("refused", "reduced", "stopped", "reclaimed")

# Signal vocabulary: kind -> (sources that emit it, what `value` holds). Every event the agency
# could know. Ids in `value` (address, account, provider) are opaque integers stored as float64.
SIGNAL_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "address_change": (("skatteverket",), "new address id (folkbokföring move)"),
    "household_change": (("skatteverket",), "adults registered at the address after the change"),
    "emigration": (("skatteverket",), "1: emigration registered"),
    "mail_returned": (("fk",), "1: letter to the registered address came back"),
    "foreign_activity": (("agency",), "1: another agency or country reports activity abroad"),
    "permit_expiry": (("migrationsverket",), "1: a temporary residence permit expired on this date"),
    "permit_renewed": (("migrationsverket",), "1: a residence permit was renewed or made permanent"),
    "income_declaration": (("employer",), "employer-declared gross income for the month ending on date, SEK"),
    "taxed_income": (("skatteverket",), "taxed annual income for the previous year, SEK"),
    "application_income": (("fk",), "income the case is based on, SEK per year, stated on the case"),
    "benefit_days": (("fk",), "days of benefit paid on the case in the month ending on date"),
    "assistance_hours": (("provider",), "assistance hours reported on the case for the month ending on date"),
    "provider_registered": (("fk",), "assistance provider id registered on the case"),
    "provider_report": (("ivo",), "provider id reported to IVO as unsuitable"),
    "bank_account_registered": (("fk",), "bank account id registered for payments"),
    "study_break": (("csn",), "1: a child's studies ended or were interrupted"),
    "reported_change": (("fk",), "1: the person reported a change in circumstances"),
    "notification": (IMPULSE_SOURCES, "1: a notification (underrättelse), tip or referral about the person"),
}
SIGNAL_SOURCES: tuple[str, ...] = tuple(sorted({s for sources, _ in SIGNAL_KINDS.values() for s in sources}))

# Column name -> dtype family: i integer, f float, b bool, s string, d date (datetime64, day precision).
# A trailing "?" marks a column that may hold nulls.
SCHEMA: dict[str, dict[str, str]] = {
    "persons": {
        "person_id": "i", "sex": "s?", "birth_year": "i", "county": "s", "born_abroad": "b", "household_id": "i",
    },
    "cases": {
        "case_id": "i", "person_id": "i", "benefit": "s", "start_date": "d", "end_date": "d?",
        "monthly_amount_sek": "f",
    },
    "signals": {
        "person_id": "i", "case_id": "i?", "date": "d", "source": "s", "kind": "s", "value": "f",
    },
    "investigations": {
        "investigation_id": "i", "case_id": "i", "opened_date": "d", "closed_date": "d?", "selection": "s",
        "impulse_source": "s?", "action": "b?", "action_type": "s?", "detected_sek": "f?",
        "prevented_sek": "f?", "police_report": "b?", "error_found_start": "d?", "recovery_sek": "f?",
    },
    "truth": {
        "case_id": "i", "error_start": "d?", "error_end": "d?", "error_cause": "s?", "intentional": "b?",
        "monthly_error_sek": "f", "risk_p": "f",
    },
}
# Columns a world may lack (written by the simulation since generator 3.0.0; checked whenever present): what a
# closed investigation with action established, as a recovery decision records it. Null without action.
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {"investigations": ("error_found_start", "recovery_sek")}
REVEALED_BY_ACTION: tuple[str, ...] = OPTIONAL_COLUMNS["investigations"]
# What an investigation establishes when it closes: unknown (null) while it is open.
OUTCOME_COLUMNS: tuple[str, ...] = ("action", "action_type", "detected_sek", "prevented_sek", "police_report",
                                    *REVEALED_BY_ACTION)
KEYS: dict[str, tuple[str, ...]] = {
    "persons": ("person_id",),
    "cases": ("case_id",),
    "investigations": ("investigation_id",),
    "truth": ("case_id",),
}
ALLOWED_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("persons", "sex"): ("F", "M"),
    ("cases", "benefit"): BENEFITS,
    ("signals", "kind"): tuple(SIGNAL_KINDS),
    ("signals", "source"): SIGNAL_SOURCES,
    ("investigations", "selection"): SELECTIONS,
    ("investigations", "impulse_source"): IMPULSE_SOURCES,
    ("investigations", "action_type"): ACTION_TYPES,
    ("truth", "error_cause"): ERROR_CAUSES,
}
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(c for c, t in cols.items() if t.startswith("d")) for table, cols in SCHEMA.items()
}
META_FILE = "world.json"


class ContractError(ValueError):
    """A world table breaks the data contract; the message names the table and column."""


@dataclass
class World:
    persons: pd.DataFrame
    cases: pd.DataFrame
    signals: pd.DataFrame
    investigations: pd.DataFrame
    truth: pd.DataFrame | None = None  # simulation only; never a model input
    meta: dict | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in SCHEMA and getattr(self, f.name) is not None}


def _family_ok(series: pd.Series, family: str) -> bool:
    if family == "i":
        return pd.api.types.is_integer_dtype(series)
    if family == "f":
        return pd.api.types.is_float_dtype(series) or pd.api.types.is_integer_dtype(series)
    if family == "b":
        return pd.api.types.is_bool_dtype(series)
    if family == "s":
        return pd.api.types.is_string_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype) or (
            series.dtype == object and series.dropna().map(type).eq(str).all()
        )
    if family == "d":
        return pd.api.types.is_datetime64_any_dtype(series)
    raise AssertionError(family)


def validate_table(name: str, frame: pd.DataFrame, today: pd.Timestamp | None = None) -> None:
    """Raise ContractError if `frame` breaks the contract of table `name`."""
    if name not in SCHEMA:
        raise ContractError(f"unknown table {name!r}; expected one of {sorted(SCHEMA)}")
    for column, spec in SCHEMA[name].items():
        if column not in frame.columns:
            if column in OPTIONAL_COLUMNS.get(name, ()):
                continue
            raise ContractError(f"table {name}: missing column {column!r}")
        family, nullable = spec[0], spec.endswith("?")
        series = frame[column]
        if not _family_ok(series, family):
            raise ContractError(f"table {name}, column {column}: expected {_FAMILY_NAMES[family]}, got {series.dtype}")
        if not nullable and series.isna().any():
            raise ContractError(f"table {name}, column {column}: {int(series.isna().sum())} null values not allowed")
        allowed = ALLOWED_VALUES.get((name, column))
        if allowed is not None:
            bad = set(series.dropna().unique()) - set(allowed)
            if bad:
                raise ContractError(f"table {name}, column {column}: unknown values {sorted(map(str, bad))[:5]}")
        if family == "d" and today is not None:
            latest = series.max()
            if pd.notna(latest) and latest > today:
                raise ContractError(f"table {name}, column {column}: date {latest.date()} is in the future")
    if name == "investigations" and "action" in frame.columns:
        without_action = ~frame["action"].fillna(False).astype(bool)
        for column in REVEALED_BY_ACTION:
            if column in frame.columns and frame.loc[without_action, column].notna().any():
                raise ContractError(f"table {name}, column {column}: "
                                    f"{int(frame.loc[without_action, column].notna().sum())} values without an action")
    keys = KEYS.get(name)
    if keys:
        dup = frame.duplicated(list(keys))
        if dup.any():
            raise ContractError(f"table {name}: {int(dup.sum())} duplicate keys in column(s) {', '.join(keys)}")


_FAMILY_NAMES = {"i": "integer", "f": "float", "b": "bool", "s": "string", "d": "datetime"}


def read_world(path: str | Path, *, validate: bool = True, with_truth: bool = True) -> World:
    """Load a world folder. Dates later than the world's end date (world.json) are contract errors."""
    path = Path(path)
    if not path.is_dir():
        raise ContractError(f"world folder {path} does not exist")
    meta = json.loads((path / META_FILE).read_text()) if (path / META_FILE).exists() else {}
    today = pd.Timestamp(meta["end_date"]) if "end_date" in meta else pd.Timestamp.today().normalize()
    tables: dict[str, pd.DataFrame | None] = {}
    for name in SCHEMA:
        file = path / f"{name}.parquet"
        if not file.exists():
            if name == "truth":
                tables[name] = None
                continue
            raise ContractError(f"world {path}: table {name} is missing ({file.name})")
        if name == "truth" and not with_truth:
            tables[name] = None
            continue
        frame = pd.read_parquet(file)
        if validate:
            validate_table(name, frame, today=today)
        tables[name] = frame
    return World(**tables, meta=meta)


ROWS_PER_SLICE = 4_000_000  # tables go to Parquet in slices, so no second full copy is held in Arrow form
# Row groups small enough that a block of persons (signals are written sorted by person) is read with little
# beyond it: score-all reads about 4 M signals per block at scale 1.0 (riskrank.world_blocks).
ROWS_PER_GROUP = 262_144


def _write_table(frame: pd.DataFrame, file: Path, rows_per_group: int = ROWS_PER_GROUP) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = file.with_name(f".{file.name}.tmp")
    schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, max(len(frame), 1), ROWS_PER_SLICE):
            writer.write_table(pa.Table.from_pandas(frame.iloc[start:start + ROWS_PER_SLICE], schema=schema,
                                                    preserve_index=False), row_group_size=rows_per_group)
    tmp.replace(file)


def write_world(world: World, path: str | Path, *, rows_per_group: int = ROWS_PER_GROUP) -> None:
    """Write every table as Parquet plus world.json; each file is written whole under a temporary name, then
    renamed into place. Rows keep the frames' order (the simulation's signals come sorted by person)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name, frame in world.tables().items():
        _write_table(frame, path / f"{name}.parquet", rows_per_group)
    tmp = path / f".{META_FILE}.tmp"
    tmp.write_text(json.dumps(world.meta or {}, indent=2, default=str))
    tmp.replace(path / META_FILE)


def is_world(path: str | Path) -> bool:
    return (Path(path) / META_FILE).exists() or (Path(path) / "cases.parquet").exists()


def active_cases(cases: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Cases running on `as_of`: started on or before it and not ended by it."""
    as_of = pd.Timestamp(as_of)
    running = (cases["start_date"] <= as_of) & (cases["end_date"].isna() | (cases["end_date"] > as_of))
    return cases.loc[running]


def in_error_on(truth: pd.DataFrame, case_ids: ArrayLike, dates: ArrayLike | pd.Timestamp) -> np.ndarray:
    """Whether each case was in error on its date: error_start <= date < error_end (a null end: still running).

    `dates` is one date for all cases or one per case. Cases missing from `truth` are not in error. This is
    the one definition of the evaluation label; error_end is the day an action corrected the error or the
    case ended, so a corrected case does not count as a hit afterwards.
    """
    for column in ("error_start", "error_end"):
        if column not in truth.columns:
            raise KeyError(f"truth has no column {column!r}")
    spans = truth.set_index("case_id")[["error_start", "error_end"]].reindex(np.asarray(case_ids))
    when = np.asarray(pd.to_datetime(dates), dtype="datetime64[ns]")
    start = spans["error_start"].to_numpy(dtype="datetime64[ns]")
    end = spans["error_end"].to_numpy(dtype="datetime64[ns]")
    with np.errstate(invalid="ignore"):
        started = ~np.isnat(start) & (start <= when)
        not_ended = np.isnat(end) | (when < end)
    return np.asarray(started & not_ended, dtype=bool)


def after_burn_in(investigations: pd.DataFrame, meta: dict | None) -> pd.DataFrame:
    """The investigations not closed before the world's start_date (world.json): a simulated world's burn-in
    (from meta history_from) is history for the features to see, not outcomes to learn from or report."""
    start = (meta or {}).get("start_date")
    if start is None or "history_from" not in (meta or {}):
        return investigations
    return investigations.loc[investigations["closed_date"].isna() | (investigations["closed_date"] >= pd.Timestamp(start))]


def under_open_investigation(investigations: pd.DataFrame, case_ids: ArrayLike, date: pd.Timestamp) -> np.ndarray:
    """Whether each case has an investigation open on `date`: opened on or before it and not closed by it."""
    date = pd.Timestamp(date)
    opened = investigations["opened_date"] <= date
    open_on = opened & (investigations["closed_date"].isna() | (investigations["closed_date"] > date))
    return np.isin(np.asarray(case_ids), investigations.loc[open_on, "case_id"].to_numpy())
