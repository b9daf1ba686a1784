"""CLI command of the operation part: `riskrank backtest`."""

from __future__ import annotations

from pathlib import Path

import typer

from riskrank.operation.backtest import RANDOM_SHARE_HELP, run_backtest


def backtest(
    world: Path = typer.Option(..., help="World folder with a truth table (simulated)."),
    start: str = typer.Option(..., "--from", help="First day of the replay (after the model's training data)."),
    end: str = typer.Option(..., "--to", help="Last day of the replay."),
    random_share: float | None = typer.Option(None, help=RANDOM_SHARE_HELP),
    seed: int = typer.Option(0, help="Seed for the random share and the simulated investigations."),
) -> None:
    """Replay the champion's worklists month by month on months it never saw, score them against the truth and
    log the results to the model's MLflow run."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    result = run_backtest(world, start, end, random_share, seed, progress=lambda s: console.print(f"  {s}"))
    table = Table(title=f"backtest of version {result.version}, {result.start} to {result.end}")
    table.add_column("indicator")
    table.add_column("value", justify="right")
    for key, value in result.summary.items():
        shown = "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    console.print(table)
    console.print(f"logged to MLflow run {result.run_id} (metrics backtest_*, artifact backtest/)")
