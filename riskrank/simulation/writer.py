"""Writing a world so that a crash never leaves a half-written folder where a good world was."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from riskrank.world import World, write_world

ROWS_PER_SLICE = 4_000_000  # signals are written in slices so that no second full copy is held in Arrow form


def write_signals(signals, path: Path) -> None:  # noqa: ANN001 - a pandas DataFrame
    """signals.parquet, slice by slice, into a temporary name first."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp")
    schema = pa.Schema.from_pandas(signals.iloc[:0], preserve_index=False)
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, max(len(signals), 1), ROWS_PER_SLICE):
            part = signals.iloc[start:start + ROWS_PER_SLICE]
            writer.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False))
    tmp.replace(path)


def replace_world(world: World, out: Path, extra: Callable[[Path], None] | None = None) -> None:
    """Write into a sibling temporary folder, then swap it into place (the old world is removed only after)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a world folder is an ordinary folder
    try:
        # everything but signals through the contract's writer; signals in slices (the biggest table by far)
        write_world(World(world.persons, world.cases, None, world.investigations, world.truth, world.meta), tmp)  # type: ignore[arg-type]
        write_signals(world.signals, tmp / "signals.parquet")
        if extra is not None:
            extra(tmp)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
