"""`riskrank train` and `riskrank learnability`. Heavy libraries are imported inside the functions so --help stays fast."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path

import typer

from riskrank.errors import UserError
from riskrank.fairness.policy import band_text
from riskrank.training.population import EVAL_DATES
from riskrank.training.unlabelled import DEFAULT_ROWS, DEFAULT_SNAPSHOTS, DEFAULT_WEIGHT


class FairnessMode(StrEnum):
    auto = "auto"  # the family of penalty weights, and the choice among them
    off = "off"  # the unconstrained model


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
    eval_dates: int = typer.Option(EVAL_DATES, min=1, help="Test dates on which all active cases are ranked (capacity metrics)."),
    no_register: bool = typer.Option(False, "--no-register", help="Log the run without registering a model version."),
    fairness: FairnessMode = typer.Option(
        FairnessMode.auto, help="auto: fit a family of fairness penalty weights and register the most "
                                 f"accurate member that passes the fairness gate, preferring those within {band_text()} for sex "
                                 "and born abroad in the top 1 % of active cases; off: the unconstrained model."),
    fairness_weight: float | None = typer.Option(None, help="Fix the fairness penalty weight (0 = unconstrained) "
                                                 "instead of choosing it."),
    unlabelled_rows: int = typer.Option(DEFAULT_ROWS, help="Uninvestigated active cases sampled at the last "
                                        f"{DEFAULT_SNAPSHOTS} month-ends before the validation months, label 0 "
                                        "(positive-unlabelled learning, docs/training.md); 0: closed investigations only."),
    unlabelled_weight: float = typer.Option(DEFAULT_WEIGHT, help="Weight of each unlabelled row (an investigation "
                                            "weighs 1)."),
) -> None:
    """Train the action model on a world's closed investigations, evaluate it, log it to MLflow and register it
    as the challenger."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from riskrank.fairness.policy import MIN_SUPPORT
    from riskrank.training.dataset import SplitConfig
    from riskrank.training.fair_sweep import farthest_from_one
    from riskrank.training.pipeline import TrainOptions, check_inputs, run_training
    from riskrank.training.unlabelled import UnlabelledConfig
    from riskrank.world import is_world

    if not is_world(world):
        raise UserError(f"{world} is not a world folder (expected cases.parquet and world.json)")
    extra_inputs, excluded_inputs = check_inputs(with_sensitive, exclude)
    if fairness_weight is not None and (fairness == "off" or not math.isfinite(fairness_weight) or fairness_weight < 0):
        raise UserError("--fairness-weight must be a number >= 0 and cannot be combined with --fairness off")
    unlabelled = UnlabelledConfig(rows=unlabelled_rows, weight=unlabelled_weight)
    unlabelled.validate()
    options = TrainOptions(split=SplitConfig(test_months=test_months, valid_months=valid_months),
                           extra_inputs=extra_inputs, excluded_inputs=excluded_inputs, n_eval_dates=eval_dates,
                           register=not no_register, fairness=fairness, fairness_weight=fairness_weight,
                           unlabelled=unlabelled)
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




def learnability(
    world: Path = typer.Option(..., "--world", help="World whose truth the model learns (as of 2024-03-31)."),
    other_world: Path = typer.Option(..., "--other-world", help="Another world (another seed) it ranks (as of 2024-09-30)."),
    max_rows: int = typer.Option(0, help="Subsample each world's active cases to at most this many (0: all)."),
    version: int | None = typer.Option(None, "--version", help="A registered model version to rank --other-world "
                                       "beside the bound (it must not have been trained on --other-world)."),
) -> None:
    """How learnable a synthetic world is: the bound a model trained on investigation outcomes can approach.

    Writes learnability.json and learnability.md beside the calibration report of --other-world."""
    import json

    from rich.console import Console

    from riskrank.training.learnability import measure, to_markdown
    from riskrank.world import read_world

    if max_rows < 0:
        raise UserError(f"--max-rows must be 0 (all) or positive, got {max_rows}")
    if version is not None and version < 1:
        raise UserError(f"--version must be a positive model version, got {version}")
    if world.resolve() == other_world.resolve():
        raise UserError("--other-world must be another world (another seed) than --world: the model must not have seen it")
    train_world, test_world = read_world(world), read_world(other_world)
    seeds = {(w.meta or {}).get("seed") for w in (train_world, test_world)}
    if len(seeds) == 1 and None not in seeds:
        raise UserError(f"both worlds have seed {seeds.pop()}: rank a world of another seed, one the model never saw")
    model = None
    if version is not None:
        from riskrank.model.registry import load_model

        model = load_model(version=version)
    result = measure(train_world, test_world, max_rows=max_rows or None, model=model, version=version)
    text = to_markdown(result, f"`{world}`", f"`{other_world}`")
    for name, content in (("learnability.json", json.dumps(result.as_dict(), indent=2)), ("learnability.md", text)):
        tmp = other_world / f".{name}.tmp"
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(other_world / name)
    Console().print(text)
