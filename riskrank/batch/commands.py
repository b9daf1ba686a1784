"""`riskrank score-all`: nightly scoring of every active case with the champion (riskrank.batch.score_all)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from riskrank.errors import UserError
from riskrank.features.pipeline import Engine


def score_all(
    world: str = typer.Option(..., "--world", help="World folder (riskrank simulate --out)."),
    as_of: str = typer.Option(..., "--as-of", help="Date to score, YYYY-MM-DD: every case active on it."),
    engine: Engine = typer.Option(Engine.pandas, "--engine", help="Feature engine: pandas, or dask (a dask.distributed "
                                  "cluster)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address; a local 2-worker cluster if absent."),
    reasons_share: float = typer.Option(
        0.02, "--reasons-share", help="Share of each benefit's highest scores whose reasons are stored with the score."),
    rows_per_part: int = typer.Option(100_000, "--rows-per-part", min=1000, help="Cases per part (bounds memory)."),
) -> None:
    """Score every case active on --as-of with models:/riskrank@champion into the operational store.

    Features are computed a part at a time, reading the world's signals one block of persons at a time (or read
    back if `riskrank features --store` stored that date), and written to the feature store with the scores; a
    run that was killed resumes where it stopped."""
    import sqlalchemy as sa
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from riskrank.features.commands import parse_date
    console = Console(stderr=True)
    if scheduler and engine != "dask":
        raise UserError("--scheduler needs --engine dask")
    if engine == "dask":
        from riskrank.features.dask_engine import distributed

        distributed()  # a missing riskrank[dask] is refused before any work
    if not 0.0 <= reasons_share <= 1.0:
        raise UserError(f"--reasons-share must be between 0 and 1, got {reasons_share}")
    day = parse_date(as_of)
    world_path = Path(world)
    if not world_path.is_dir():
        raise UserError(f"--world {world} is not a folder")

    from riskrank.batch.score_all import score_all as run
    from riskrank.db import get_engine
    from riskrank.model.registry import CHAMPION, load_model
    from riskrank.settings import get_settings

    settings = get_settings()
    with console.status("loading the champion"):
        model = load_model(alias=CHAMPION)
    from riskrank.features.registry import FEATURE_SET_VERSION

    trained_on = model.meta.get("feature_set_version")
    if trained_on != FEATURE_SET_VERSION:
        raise UserError(f"the champion (version {model.version}) was trained on feature set {trained_on}, this code computes "
                        f"{FEATURE_SET_VERSION}: retrain and promote a model first")
    url = sa.engine.make_url(settings.database_url)
    began = time.monotonic()
    columns = (TextColumn("reading the world, then scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("scoring", total=None)

        def on_start(total: int, done: int) -> None:
            progress.update(task, total=total, completed=done)

        def score(client: object = None):  # noqa: ANN202
            # Only the world's small tables are read here; score_all reads its signals a block of persons at a time.
            return run(get_engine(settings.database_url), model, _read_world(world_path, day), day,
                       reasons_share=reasons_share, feature_engine=engine, client=client, rows_per_part=rows_per_part,
                       progress=lambda n: progress.advance(task, n), on_start=on_start)

        try:
            if engine == "dask":
                from riskrank.features.dask_engine import cluster_client

                try:
                    with cluster_client(scheduler) as client:
                        result = score(client)
                except OSError as exc:
                    raise UserError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
            else:
                result = score()
        except sa.exc.SQLAlchemyError as exc:
            where = url.render_as_string(hide_password=True)
            raise UserError(f"could not write the operational store at {where} ({type(exc).__name__}); "
                            "run the command again to resume") from None
    run_info = result.run
    how = "resumed" if result.resumed else "new"
    source = "read from the feature store" if result.features_reused else "computed and stored"
    console.print(
        f"score run {run_info.run_id} ({how}): {run_info.cases:,} active cases as of {day.date()} scored by "
        f"{model.name} version {model.version} ({result.scored_now:,} in this call, features {source}); "
        f"reasons stored for {result.explained:,} cases; {time.monotonic() - began:.0f} s")


def _read_world(path: Path, day):  # noqa: ANN001, ANN202 - pandas is imported lazily
    """The world with its signals left on disk (read a block of persons at a time), checked to span `day`."""
    import pyarrow as pa

    from riskrank.features.commands import world_span
    from riskrank.world_blocks import open_world

    # Arrow's default pool keeps the buffers of the Parquet read after they are converted and freed; the system
    # allocator returns them, which lowers the peak of score-all by about a fifth (bench/RESULTS.md).
    pa.set_memory_pool(pa.system_memory_pool())
    loaded = open_world(path)
    start, end = world_span(loaded)
    if not (start <= day <= end):
        raise UserError(f"--as-of {day.date()} is outside the world ({start.date()} to {end.date()})")
    return loaded
