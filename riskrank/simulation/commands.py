"""`riskrank simulate`: write a synthetic world (and its calibration report) into a folder."""

from __future__ import annotations

from pathlib import Path

import typer

from riskrank.errors import UserError

MAX_SCALE = 2.0  # kept in step with riskrank.simulation.generator.MAX_SCALE (not imported: keeps --help fast)


def _check_out(out: Path, force: bool) -> None:
    """Refuse a folder that holds anything unless --force; never clear a folder that is not a world."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    if not out.exists() or not any(out.iterdir()):
        return
    from riskrank.world import is_world

    if not force:
        what = "another world" if is_world(out) else "other files"
        raise UserError(f"--out {out} already holds {what}; choose an empty folder or pass --force to overwrite")
    if not is_world(out):
        raise UserError(f"--out {out} holds files that are not a world; refusing to overwrite them even with --force")


def simulate(
    out: Path = typer.Option(..., "--out", help="Folder to write the world into (Parquet tables + world.json)."),
    scale: float = typer.Option(0.01, help="Size as a share of the agency: 1.0 is about 5 million recipients, in (0, 2]."),
    seed: int = typer.Option(0, help="Random seed; the same seed and options give the same world."),
    force: bool = typer.Option(False, "--force", help="Overwrite a world already in --out."),
    calibration_report: bool = typer.Option(False, "--calibration-report",
                                            help="Also print the calibration table (it is always written beside the world)."),
    random_share: float = typer.Option(0.05, help="Share of investigations that are the random control sample."),
    drift: bool = typer.Option(True, "--drift/--no-drift", help="Add the 2024 drift pattern (working on sjukpenning, UBM)."),
    drift_start: str = typer.Option("2024-04-01", help="Date the drift pattern starts."),
    female_error_ratio: float = typer.Option(1.0, help="Multiplier of women's true error rate."),
    born_abroad_error_ratio: float = typer.Option(1.0, help="Multiplier of the true error rate of people born abroad."),
    proxy_strength: float = typer.Option(1.0, help="How strongly innocent traces correlate with born_abroad and sex."),
    triage_seed: int | None = typer.Option(None, help="Seed of the agency's triage and investigations alone "
                                           "(default: --seed); truth, traces and notifications stay the same."),
) -> None:
    """Generate a synthetic world of benefit cases, signals, investigations and ground truth, 2022-2024."""
    if not 0 < scale <= MAX_SCALE:
        raise UserError(f"--scale must be greater than 0 and at most {MAX_SCALE:g}, got {scale:g}")
    if seed < 0:
        raise UserError(f"--seed must be a non-negative integer, got {seed}")
    _check_out(out, force)

    from rich.console import Console

    from riskrank.simulation.config import SimConfig
    from riskrank.simulation.generator import generate
    from riskrank.simulation.report import calibration_report as build_report
    from riskrank.simulation.report import print_report, write_report
    from riskrank.simulation.writer import replace_world

    config = SimConfig(random_share=random_share, drift=drift, drift_start=drift_start,
                       female_error_ratio=female_error_ratio, born_abroad_error_ratio=born_abroad_error_ratio,
                       proxy_strength=proxy_strength, triage_seed=triage_seed)
    try:
        config.validate()
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    console = Console(stderr=True)
    world = generate(scale, seed, config, progress=True)
    report = build_report(world)
    replace_world(world, out, extra=lambda tmp: write_report(report, tmp, scale))
    counts = world.meta["counts"]
    console.print(f"wrote world to {out}: {counts['persons']:,} persons, {counts['cases']:,} cases, "
                  f"{counts['signals']:,} signals, {counts['investigations']:,} investigations")
    if calibration_report:
        print_report(report)
