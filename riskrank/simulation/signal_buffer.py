"""Collects signal rows as numpy chunks and turns them into the `signals` table once, at the end."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.simulation.calendar import to_datetime
from riskrank.world import SIGNAL_KINDS, SIGNAL_SOURCES

KINDS = tuple(SIGNAL_KINDS)
DEFAULT_SOURCE = {kind: sources[0] for kind, (sources, _) in SIGNAL_KINDS.items()}
NO_CASE = -1


class SignalBuffer:
    def __init__(self) -> None:
        self._chunks: list[list[np.ndarray | None]] = []

    def add(self, kind: str, person: np.ndarray, case: np.ndarray | None, days: np.ndarray,
            value: np.ndarray | float = 1.0, source: str | np.ndarray | None = None) -> None:
        """Rows of one kind. `person`/`case` are ids (case NO_CASE for person-level events)."""
        n = len(person)
        if n == 0:
            return
        sources = SIGNAL_KINDS[kind][0]
        if source is None or isinstance(source, str):
            name = source or DEFAULT_SOURCE[kind]
            if name not in sources:
                raise ValueError(f"source {name!r} cannot emit {kind!r}")
            source_code = np.full(n, SIGNAL_SOURCES.index(name), np.int8)
        else:
            source_code = np.asarray(source, np.int8)
        case_ids = np.full(n, NO_CASE, np.int64) if case is None else np.asarray(case, np.int64)
        self._chunks.append([
            np.asarray(person, np.int64), case_ids, np.asarray(days, np.int64),
            source_code, np.full(n, KINDS.index(kind), np.int8), np.broadcast_to(np.asarray(value, np.float64), (n,)).copy(),
        ])

    def rows(self, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(person ids, case ids or NO_CASE, days, values) of the rows of one kind added so far (copies)."""
        code = KINDS.index(kind)
        mine = [c for c in self._chunks if c[4] is not None and len(c[4]) and c[4][0] == code]
        if not mine:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        return tuple(np.concatenate([c[i] for c in mine]) for i in (0, 1, 2, 5))  # type: ignore[return-value]

    def __len__(self) -> int:
        return sum(len(chunk[0]) for chunk in self._chunks if chunk[0] is not None)

    def frame(self, first_day: int, last_day: int, earlier: dict[str, int] | None = None) -> pd.DataFrame:
        """All rows dated within [first_day, last_day] (kinds in `earlier`: from their own first day), sorted by
        person then date (rows of one person and day keep the order they were added in).

        Sorted by person so that a block of persons sits in a few Parquet row groups and can be read on its own
        (riskrank.world_blocks): score-all reads the signals a block at a time instead of the whole world.

        Built one column at a time, releasing the chunks as it goes, so the peak stays near one copy.
        """
        chunks, self._chunks = self._chunks, []

        def take(position: int) -> np.ndarray:
            """Concatenate one column and release it from the chunks straight away."""
            out = np.concatenate([c[position] for c in chunks])
            for c in chunks:
                c[position] = None
            return out

        days = take(2)
        kinds = take(4)
        keep = days >= first_day
        for kind, day in (earlier or {}).items():  # boolean masks only: a per-row int64 would cost 8 bytes a row
            keep |= (kinds == KINDS.index(kind)) & (days >= day)
        keep &= days <= last_day
        origin = min([first_day, *(earlier or {}).values()])
        order = np.flatnonzero(keep)
        del keep
        person = take(0)
        # one int64 key (person, day): a single deterministic argsort instead of a multi-key lexsort; days span a
        # few years (< 2**16) and person ids stay below 2**47
        key = person[order] << 16 | (days[order] - origin)
        order = order[np.argsort(key, kind="stable")]
        del key
        columns: dict[str, object] = {"person_id": person[order]}
        del person
        columns["date"] = to_datetime(days[order])
        del days
        case = take(1)[order]
        columns["case_id"] = pd.arrays.IntegerArray(np.where(case == NO_CASE, 0, case), case == NO_CASE)
        del case
        columns["source"] = pd.Categorical.from_codes(take(3)[order], categories=list(SIGNAL_SOURCES))
        columns["kind"] = pd.Categorical.from_codes(kinds[order], categories=list(KINDS))
        del kinds
        columns["value"] = take(5)[order]
        chunks.clear()
        return pd.DataFrame({name: columns[name] for name in ("person_id", "case_id", "date", "source", "kind", "value")},
                            copy=False)
