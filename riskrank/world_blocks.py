"""A world folder read a block of persons at a time: the small tables whole, the signals per person-id range.

The signals are the bulk of a world (about 28 per person; 141 M rows at scale 1.0), so `read_world` plus the
feature inputs of the whole country would not fit in memory. `open_world` reads persons, cases and
investigations (checked as `read_world` checks them) and leaves the signals on disk; `signals` reads only the
rows of one range of persons, or of some kinds, checking each piece against the contract on the way in.

A range is read from the Parquet row groups whose person_id statistics overlap it. The simulation writes
signals sorted by person (riskrank.simulation.signal_buffer), so a range touches only its own few row groups;
a file in any other order gives the same rows, it is only read in full for every range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskrank.world import META_FILE, ContractError, validate_table

SMALL_TABLES = ("persons", "cases", "investigations")
_NO_LIMIT = np.iinfo(np.int64)


@dataclass
class WorldOnDisk:
    """persons, cases and investigations in memory (as in World); signals read on demand from `signals_file`."""

    persons: pd.DataFrame
    cases: pd.DataFrame
    investigations: pd.DataFrame
    signals_file: Path
    meta: dict
    today: pd.Timestamp  # dates after it are contract errors (the world's end date)
    validate: bool = True
    truth: pd.DataFrame | None = None  # simulation only (open_world(with_truth=True)); never a model input

    def signals(self, first_person: int | None = None, end_person: int | None = None,
                kinds: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Signals of persons first_person <= person_id < end_person (all when None), of `kinds` (all when None),
        in file order, with the dtypes `read_world` gives."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        lo = _NO_LIMIT.min if first_person is None else int(first_person)
        hi = _NO_LIMIT.max if end_person is None else int(end_person)
        file = pq.ParquetFile(self.signals_file)
        pieces = []
        for group in row_groups_overlapping(file.metadata, lo, hi):
            table = file.read_row_group(group)
            person = table.column("person_id")
            keep = pc.and_(pc.greater_equal(person, lo), pc.less(person, hi))
            if kinds is not None:
                keep = pc.and_(keep, pc.is_in(pc.cast(table.column("kind"), pa.string()), pa.array(kinds, pa.string())))
            pieces.append(table.filter(keep))  # one row group unfiltered at a time, never the file
        table = pa.concat_tables(pieces) if pieces else file.schema_arrow.empty_table()
        del pieces
        frame = table.to_pandas()
        if self.validate:
            validate_table("signals", frame, today=self.today)
        return frame

    def last_signal_date(self) -> pd.Timestamp:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        return pd.Timestamp(pc.max(pq.read_table(self.signals_file, columns=["date"]).column("date")).as_py())


def row_groups_overlapping(metadata, lo: int, hi: int) -> list[int]:  # noqa: ANN001 - pyarrow FileMetaData
    """Row groups that may hold a person_id in [lo, hi): by their min/max statistics (all groups without them)."""
    column = metadata.schema.to_arrow_schema().get_field_index("person_id")
    if column < 0:
        raise ContractError("table signals: missing column 'person_id'")
    groups = []
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(column).statistics
        if stats is None or not stats.has_min_max or (stats.min < hi and stats.max >= lo):
            groups.append(group)
    return groups


def open_world(path: str | Path, *, validate: bool = True, with_truth: bool = False) -> WorldOnDisk:
    """The world at `path` with its small tables read (and checked as read_world checks them), signals left on disk;
    with `with_truth`, also the truth table where the world has one (a simulated world; training's evaluation)."""
    path = Path(path)
    if not path.is_dir():
        raise ContractError(f"world folder {path} does not exist")
    meta = json.loads((path / META_FILE).read_text()) if (path / META_FILE).exists() else {}
    today = pd.Timestamp(meta["end_date"]) if "end_date" in meta else pd.Timestamp.today().normalize()
    tables = {}
    for name in (*SMALL_TABLES, "signals"):
        file = path / f"{name}.parquet"
        if not file.exists():
            raise ContractError(f"world {path}: table {name} is missing ({file.name})")
        if name in SMALL_TABLES:
            tables[name] = pd.read_parquet(file)
            if validate:
                validate_table(name, tables[name], today=today)
    truth = None
    if with_truth and (path / "truth.parquet").exists():
        truth = pd.read_parquet(path / "truth.parquet")
        if validate:
            validate_table("truth", truth, today=today)
    return WorldOnDisk(**tables, signals_file=path / "signals.parquet", meta=meta, today=today, validate=validate,
                       truth=truth)
