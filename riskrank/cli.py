"""The `riskrank` command: wires each part's commands into one CLI. Parts import heavy libraries inside
their command functions so that `riskrank --help` stays fast."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from riskrank.batch.commands import score_all
from riskrank.db_commands import db_app
from riskrank.demo import demo
from riskrank.errors import UserError
from riskrank.fairness.commands import audit
from riskrank.features.commands import features
from riskrank.monitoring.commands import report
from riskrank.operation.commands import backtest
from riskrank.promotion.commands import promote
from riskrank.serving.commands import audit_log_app, rank, serve, users_app
from riskrank.simulation.commands import simulate
from riskrank.training.commands import learnability, train
from riskrank.world import ContractError

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Rank benefit cases for control investigation. The score is a ranking aid for investigators, never a decision.",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"riskrank {version('riskrank')}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                          help="Print riskrank's version and exit.")) -> None:
    pass


app.command()(simulate)
app.command()(features)
app.command()(train)
app.command()(promote)
app.command()(backtest)
app.command(name="score-all")(score_all)
app.command()(serve)
app.command()(rank)
app.command()(audit)
app.command()(report)
app.command()(learnability)
app.add_typer(users_app, name="users", help="Service users and their bearer tokens.")
app.add_typer(audit_log_app, name="audit-log", help="The append-only audit log.")
app.add_typer(db_app, name="db", help="The operational store's schema: upgrade, current revision.")
app.command()(demo)


def _fail(message: str) -> NoReturn:
    # Printed as plain text: a path or column name may contain rich markup such as "[/".
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    console.print(Text.assemble(("error: ", "red"), message))
    sys.exit(2)


def _setting_problems(exc: ValidationError) -> str:
    return "; ".join(f"RISKRANK_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())


def main() -> None:
    """Run the CLI. The last line of defence: whatever goes wrong, the user gets a message and exit 2, never a
    traceback (set RISKRANK_DEBUG=1 to see one)."""
    try:
        # Not standalone: click's usage errors (a bad option value, an unknown command) come here, to be one line
        # like every other error, instead of typer's boxed panel.
        code = typer.main.get_command(app).main(prog_name="riskrank", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.TyperException as exc:
        ctx = getattr(exc, "ctx", None)
        # `riskrank` or `riskrank users` alone: typer has printed the help in making this error (it exports no name
        # for it), so only click's exit code is left.
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(2)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _fail(f"{exc.format_message()}{where}")
    except typer.Abort:
        _fail("interrupted")
    except (UserError, ContractError) as exc:
        _fail(str(exc))
    except ValidationError as exc:
        _fail(f"bad setting: {_setting_problems(exc)}")
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as exc:
        if os.environ.get("RISKRANK_DEBUG"):
            raise
        _fail(f"{type(exc).__name__}: {exc} (RISKRANK_DEBUG=1 shows the traceback)")
