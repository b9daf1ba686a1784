"""The `riskrank` command: wires each part's commands into one CLI. Parts import heavy libraries inside
their command functions so that `riskrank --help` stays fast."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from riskrank.errors import UserError
from riskrank.features.commands import features
from riskrank.monitoring.commands import audit, report
from riskrank.serving.commands import audit_log_app, rank, serve, users_app
from riskrank.simulation.commands import simulate
from riskrank.training.commands import promote, train
from riskrank.training.learnability_command import learnability
from riskrank.world import ContractError

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Rank benefit cases for control investigation. The score is a ranking aid for investigators, never a decision.",
)
app.command()(simulate)
app.command()(features)
app.command()(train)
app.command()(promote)
app.command()(serve)
app.command()(rank)
app.command()(audit)
app.command()(report)
app.command()(learnability)
app.add_typer(users_app, name="users", help="Service users and their bearer tokens.")
app.add_typer(audit_log_app, name="audit-log", help="The append-only audit log.")


@app.command()
def demo(
    out: str = typer.Option("data/demo", help="Folder for the demo world and features."),
    scale: float = typer.Option(0.01, help="World size as a share of the agency (0.01 is about 50,000 recipients)."),
    seed: int = typer.Option(7),
    port: int = typer.Option(8000),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Start the service at the end."),
) -> None:
    """Make a small world, build features, train, register and promote a model, then serve it."""
    from riskrank.demo import run_demo

    run_demo(out=out, scale=scale, seed=seed, port=port, serve_after=serve_after)


def main() -> None:
    try:
        app()
    except (UserError, ContractError) as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        sys.exit(2)
