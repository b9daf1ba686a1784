"""CLI command of the fairness part: `riskrank audit`, the fairness audit of anyone's table of selections."""

from __future__ import annotations

from pathlib import Path

import typer

from riskrank.fairness.audit import Convention, MissingOutcome


def audit(
    file: Path = typer.Argument(..., help="CSV or Parquet table of selections, one row per selected person (or per "
                                "case, with --selected-col)."),
    population: int | None = typer.Option(None, "--population", help="Size of the population the selections were drawn "
                                          "from (not with --selected-col)."),
    group: list[str] = typer.Option(..., "--group", help="Group column to audit (repeatable), e.g. --group sex."),
    selection_col: str = typer.Option("selection", help="Column saying how each row was selected: model or random."),
    outcome_col: str = typer.Option("outcome", help="Outcome column: 1, 0, or blank if not investigated."),
    score_col: str | None = typer.Option(None, help="Optional column with the model's score."),
    missing_outcome: MissingOutcome = typer.Option(
        MissingOutcome.unknown, "--missing-outcome", help="Random-sample rows without an outcome: "
                                        "unknown (left out of the base rate) or no-error (counted as no error)."),
    convention: Convention = typer.Option(
        Convention.extrapolate, "--convention", help="Model selections without an outcome: extrapolate (they take "
        "their group's precision) or published (neither true nor false positives, and every random-sample row counts "
        "toward share and base rate: the published audit method)."),
    selected_col: str | None = typer.Option(None, "--selected-col", help="Fully labelled table: this 1/0 column says "
                                            "which cases were selected, and every row has an outcome; no --population."),
    reference: list[str] = typer.Option([], "--reference", help="Reference group as COLUMN=GROUP (default: the largest)."),
    bootstrap: int = typer.Option(1000, help="Bootstrap replicates for the intervals."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    json_out: Path | None = typer.Option(None, "--json", help="Write one record per group column and group to this JSON file."),
    html: Path | None = typer.Option(None, "--html", help="Write an HTML page with charts to this file."),
) -> None:
    """Fairness audit of a risk model's selections: each group's confusion matrix (estimated from a random sample, or
    counted in a fully labelled table with --selected-col), ratios to a reference."""
    from riskrank.fairness.audit import audit_selections, load_selections, parse_references
    from riskrank.fairness.audit_render import print_audit, write_html, write_json

    frame = load_selections(file)
    result = audit_selections(frame, group, population, selection_col=selection_col, outcome_col=outcome_col,
                              score_col=score_col, references=parse_references(reference), n_boot=bootstrap, seed=seed,
                              missing_outcome=missing_outcome, selected_col=selected_col,
                              convention=convention)
    print_audit(result)
    if json_out is not None:
        write_json(result, json_out)
    if html is not None:
        write_html(result, html, source=file.name)
