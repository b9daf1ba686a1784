"""`riskrank features`: the feature frame of every case active on a date, to Parquet and optionally the store."""

from __future__ import annotations

from pathlib import Path

import typer

from riskrank.errors import UserError
from riskrank.features.pipeline import Engine


def parse_date(text: str, option: str = "--as-of"):  # noqa: ANN202 - returns pandas.Timestamp; pandas is imported lazily
    """A calendar date written YYYY-MM-DD, as a day-precision Timestamp; a UserError naming the option and the text
    otherwise (shared by the CLI's commands). Strict: pandas alone would read "today" or "June 2024"."""
    from datetime import date

    import pandas as pd

    try:
        return pd.Timestamp(date.fromisoformat(text))
    except (ValueError, TypeError):
        raise UserError(f"{option} {text!r} is not a date (use YYYY-MM-DD)") from None


def world_span(world) -> tuple:  # noqa: ANN001 - a World, or a WorldOnDisk (riskrank.world_blocks)
    import pandas as pd

    from riskrank.world_blocks import WorldOnDisk

    meta = world.meta or {}
    start = pd.Timestamp(meta["start_date"]) if "start_date" in meta else world.cases["start_date"].min()
    if "end_date" in meta:
        end = pd.Timestamp(meta["end_date"])
    else:
        end = world.last_signal_date() if isinstance(world, WorldOnDisk) else world.signals["date"].max()
    return start, end


def features(
    world: str = typer.Option(..., "--world", help="World folder (riskrank simulate --out)."),
    as_of: str = typer.Option(..., "--as-of", help="Date the features describe, YYYY-MM-DD: only events on or before it count."),
    out: str = typer.Option(..., "--out", help="Parquet file to write (written whole, then renamed into place)."),
    engine: Engine = typer.Option(Engine.pandas, "--engine", help="pandas, or dask (a dask.distributed cluster)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address; a local 2-worker cluster if absent."),
    store: bool = typer.Option(
        False, "--store/--no-store", help="Also write the rows into the feature store (RISKRANK_DATABASE_URL)."
    ),
) -> None:
    """Compute the features of every case active on --as-of and write them to --out."""
    from rich.console import Console

    console = Console(stderr=True)
    if scheduler and engine != "dask":
        raise UserError("--scheduler needs --engine dask")
    if engine == "dask":
        from riskrank.features.dask_engine import distributed

        distributed()  # a missing riskrank[dask] is refused before any work
    day = parse_date(as_of)
    out_path = Path(out)
    if out_path.suffix != ".parquet":
        raise UserError(f"--out {out} should be a .parquet file")
    if not out_path.parent.exists():
        raise UserError(f"--out: folder {out_path.parent} does not exist")
    world_path = Path(world)
    if not world_path.is_dir():
        raise UserError(f"--world {world} is not a folder")

    with console.status("reading the world"):
        from riskrank.world import read_world

        loaded = read_world(world_path, with_truth=False)
    start, end = world_span(loaded)
    if not (start <= day <= end):
        raise UserError(f"--as-of {day.date()} is outside the world ({start.date()} to {end.date()})")

    frame = _compute(loaded, day, engine, scheduler, console)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
    console.print(f"wrote {len(frame):,} cases x {frame.shape[1] - 2} features as of {day.date()} to {out_path}")
    if store:
        import sqlalchemy as sa

        from riskrank.features.store import FeatureStore
        from riskrank.settings import get_settings

        url = sa.engine.make_url(get_settings().database_url)
        try:
            with console.status("writing the feature store"):
                rows = FeatureStore.from_url(url.render_as_string(hide_password=False)).write(frame, day)
        except sa.exc.SQLAlchemyError as exc:
            where = url.render_as_string(hide_password=True)
            raise UserError(f"could not write the feature store at {where} ({type(exc).__name__}); "
                            f"{out_path} was written, the store is unchanged") from None
        console.print(f"feature store: replaced {day.date()} with {rows:,} rows")


def _compute(world, day, engine: str, scheduler: str | None, console):  # noqa: ANN001, ANN202
    from riskrank.features.pipeline import features_as_of

    if engine == "pandas":
        with console.status(f"computing features as of {day.date()} (pandas)"):
            return features_as_of(world, day)
    from riskrank.features.dask_engine import cluster_client

    try:
        with console.status(f"computing features as of {day.date()} (dask)"), cluster_client(scheduler) as client:
            return features_as_of(world, day, engine="dask", client=client)
    except OSError as exc:
        raise UserError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
