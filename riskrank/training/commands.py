"""`riskrank train` and `riskrank promote`. Heavy libraries are imported inside the functions so --help stays fast."""

from __future__ import annotations

import math

import typer

from riskrank.errors import UserError

KEY_METRICS = (
    ("cap_hit_rate", "hit rate of the model's top k per benefit (k = capacity)"),
    ("cap_random_rate", "hit rate of k per benefit picked at random"),
    ("cap_lift", "lift over random"),
    ("cap_oracle_hit_rate", "hit rate at capacity (oracle: true risk)"),
    ("cap_oracle_ratio", "model / oracle"),
    ("cap_value_sek", "SEK at stake in the selected hits (docs/training.md)"),
    ("random_sample_hit_rate", "hit rate of the random control sample (test months)"),
    ("test_auc", "ROC-AUC, closed test investigations"),
    ("test_auc_random", "ROC-AUC, random control sample"),
    ("test_pr_auc", "PR-AUC, closed test investigations"),
    ("test_ece", "expected calibration error"),
    ("valid_auc", "ROC-AUC, validation months"),
)


def train(
    world: str = typer.Option(..., help="World folder (riskrank simulate --out)."),
    test_months: int = typer.Option(6, min=1, help="Newest months of opening dates held out for testing."),
    valid_months: int = typer.Option(6, min=1, help="Months before the test months used for early stopping."),
    with_sensitive: list[str] = typer.Option([], "--with-sensitive", help="Also feed this sensitive column to the model "
                                             "(sex, age_band, born_abroad): only to show the fairness gate at work."),
    exclude: list[str] = typer.Option([], "--exclude", help="Leave this model input out (repeatable), e.g. a feature "
                                      "that acts as a proxy for a protected group; recorded with the run."),
    eval_dates: int = typer.Option(6, min=1, help="Test dates on which all active cases are ranked (capacity metrics)."),
    no_register: bool = typer.Option(False, "--no-register", help="Log the run without registering a model version."),
    fairness: str = typer.Option("auto", help="auto: fit a family of fairness penalty weights and register the most "
                                 "accurate member that passes the fairness gate, preferring those within 0.8-1.25 for sex "
                                 "and born abroad in the top 1 % of active cases; off: the unconstrained model."),
    fairness_weight: float | None = typer.Option(None, help="Fix the fairness penalty weight (0 = unconstrained) "
                                                 "instead of choosing it."),
) -> None:
    """Train the action model on a world's closed investigations, evaluate it, log it to MLflow and register it
    as the challenger."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from riskrank.training.dataset import SplitConfig
    from riskrank.training.fair_sweep import farthest_from_one
    from riskrank.training.gates import MIN_SUPPORT
    from riskrank.training.pipeline import TrainOptions, check_inputs, run_training
    from riskrank.world import is_world

    if not is_world(world):
        raise UserError(f"{world} is not a world folder (expected cases.parquet and world.json)")
    extra_inputs, excluded_inputs = check_inputs(with_sensitive, exclude)
    if fairness not in ("auto", "off"):
        raise UserError(f"--fairness {fairness!r}: use auto or off")
    if fairness_weight is not None and (fairness == "off" or not math.isfinite(fairness_weight) or fairness_weight < 0):
        raise UserError("--fairness-weight must be a number >= 0 and cannot be combined with --fairness off")
    options = TrainOptions(split=SplitConfig(test_months=test_months, valid_months=valid_months),
                           extra_inputs=extra_inputs, excluded_inputs=excluded_inputs, n_eval_dates=eval_dates,
                           register=not no_register, fairness=fairness, fairness_weight=fairness_weight)
    console = Console()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
        current: list[TaskID] = []

        def step(text: str) -> None:
            if current:
                progress.update(current[-1], completed=1, total=1)
            current.append(progress.add_task(text, total=None))

        outcome = run_training(world, options, step=step)
        if current:
            progress.update(current[-1], completed=1, total=1)
    table = Table(title=f"run {outcome.run_id}  version {outcome.version if outcome.version is not None else '(not registered)'}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for key, meaning in KEY_METRICS:
        if key in outcome.metrics:
            value = outcome.metrics[key]
            table.add_row(key, f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3f}", meaning)
    console.print(table)
    r = farthest_from_one([r for r in outcome.evaluation.fairness if r.support >= MIN_SUPPORT])
    if r is not None:
        console.print(f"fairness: most extreme judged ratio {r.attribute}={r.group} vs {r.reference} {r.metric} {r.ratio:.2f} "
                      f"[{r.low:.2f}, {r.high:.2f}], support {r.support}")
    if outcome.fairness is not None:
        console.print(f"fairness-aware training ({outcome.fairness.mode}): {outcome.fairness.reason}")
    console.print(f"run id: {outcome.run_id}")
    if outcome.version is not None:
        console.print(f"registered version {outcome.version} with alias challenger; "
                      f"promote with: riskrank promote --version {outcome.version}")


LOG_COLUMNS = ("promoted_at", "promoted_by", "version", "from_alias", "to_alias", "previous_version", "forced", "reason")


def _log_cell(column: str, value: object) -> str:
    if column == "forced":
        return "yes" if value else ""
    if column == "promoted_at":
        return str(value)[:19]
    return "" if value is None else str(value)


def _print_promotion_log(history, as_json: bool, console) -> None:
    """JSON lines, a table on a terminal, or tab-separated lines in a pipe (whole rows, never cut to 80 columns)."""
    from rich.table import Table

    from riskrank import jsonsafe
    from riskrank.training.promotion_log import log_records

    rows = log_records(history)
    if as_json:
        for row in rows:
            print(jsonsafe.dumps(row))
        return
    shown = [[_log_cell(column, row[column]) for column in LOG_COLUMNS] for row in rows]
    if not console.is_terminal:
        print("\t".join(LOG_COLUMNS))
        for line in shown:
            print("\t".join(value.replace("\t", " ").replace("\n", " ") for value in line))
        return
    table = Table(title="promotion log (newest first)")
    for col in LOG_COLUMNS:
        table.add_column(col)
    for line in shown:
        table.add_row(*line)
    console.print(table)


def promote(
    version: int | None = typer.Option(None, help="Model version to make champion."),
    force: bool = typer.Option(False, "--force", help="Override failing gates (needs --reason; recorded in the log)."),
    reason: str | None = typer.Option(None, help="Why; required with --force, recorded in the promotion log."),
    log: bool = typer.Option(False, "--log", help="Show the promotion log (every alias move) instead of promoting."),
    limit: int = typer.Option(20, min=1, help="Rows of the log to show."),
    as_json: bool = typer.Option(False, "--json", help="With --log: print JSON lines."),
) -> None:
    """Move the champion alias to a version when the quality and fairness gates pass; or show the promotion log."""
    from rich.console import Console

    from riskrank.training.promotion import promote as do_promote
    from riskrank.training.promotion import promotion_history

    console = Console()
    if log:
        _print_promotion_log(promotion_history(limit=limit), as_json, console)
        return
    if version is None:
        raise UserError("give --version N to promote, or --log to see the promotion log")
    if version < 1:
        raise UserError(f"--version must be a positive model version, got {version}")
    result = do_promote(version, force=force, reason=reason)
    for gate in result.gates:
        mark = "[green]pass[/green]" if gate.passed else "[red]FAIL[/red]"
        console.print(f"{mark} {gate.name}: {gate.detail}")
    before = f"from version {result.previous_version}" if result.previous_version is not None else "(no champion before)"
    forced = " [yellow]FORCED over failing gates[/yellow]" if result.forced and not all(g.passed for g in result.gates) else ""
    console.print(f"version {result.version} is now champion {before}{forced}; logged as promotion #{result.log_id}")
