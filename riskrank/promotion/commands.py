"""CLI command of the promotion part: `riskrank promote` (and its log)."""

from __future__ import annotations

import typer

from riskrank.errors import UserError
from riskrank.fairness.gate import GateResult

LOG_COLUMNS = ("promoted_at", "promoted_by", "version", "from_alias", "to_alias", "previous_version", "forced", "reason")


def _log_cell(column: str, value: object) -> str:
    if column == "forced":
        return "yes" if value else ""
    if column == "promoted_at":
        return str(value)[:19]
    return "" if value is None else str(value)


def gate_line(gate: GateResult) -> str:
    """A gate's result as rich markup: pass or FAIL, then its detail escaped, whose [...] lists (the ratios within
    noise, those not judged for want of power) are text that rich would otherwise take for markup and drop."""
    from rich.markup import escape

    mark = "[green]pass[/green]" if gate.passed else "[red]FAIL[/red]"
    return f"{mark} {gate.name}: {escape(gate.detail)}"


def _print_promotion_log(history, as_json: bool, console) -> None:
    """JSON lines, a table on a terminal, or tab-separated lines in a pipe (whole rows, never cut to 80 columns)."""
    from rich.table import Table

    from riskrank import jsonsafe
    from riskrank.model.promotion_log import log_records

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

    from riskrank.model.registry import promotion_history
    from riskrank.promotion.promote import promote as do_promote

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
        console.print(gate_line(gate))
    before = f"from version {result.previous_version}" if result.previous_version is not None else "(no champion before)"
    forced = " [yellow]FORCED over failing gates[/yellow]" if result.forced and not all(g.passed for g in result.gates) else ""
    console.print(f"version {result.version} is now champion {before}{forced}; logged as promotion #{result.log_id}")
