"""Serving's CLI commands: serve, rank, users add, audit-log verify. Heavy imports stay inside the functions."""

from __future__ import annotations

import typer

from riskrank.errors import UserError

users_app = typer.Typer(no_args_is_help=True)
audit_log_app = typer.Typer(no_args_is_help=True)


def serve(
    host: str | None = typer.Option(None, help="Interface to listen on (default: settings.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default: settings.port, 8000)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the scoring API (OpenAPI at /docs). Loads models:/riskrank@champion and follows the alias."""
    import uvicorn

    from riskrank.serving.app import create_app
    from riskrank.settings import get_settings

    settings = get_settings()
    port = settings.port if port is None else port
    if not 0 < port < 65536:
        raise UserError(f"port must be between 1 and 65535, got {port}")
    uvicorn.run(create_app(settings), host=host or settings.host, port=port, log_level=log_level)


def rank(
    benefit: str = typer.Option(..., help="A benefit key, or 'all'."),
    k: int = typer.Option(..., help="How many cases."),
    objective: str = typer.Option("hit_rate", help="hit_rate or expected_sek."),
    top: int = typer.Option(3, help="Reasons shown per case."),
    user: str = typer.Option("cli", help="Name recorded in the worklist and the audit log."),
) -> None:
    """Make a worklist with the champion model and print it (recorded like one made over HTTP)."""
    from rich.console import Console
    from rich.table import Table

    from riskrank.db import get_engine
    from riskrank.serving.featuresource import default_feature_source
    from riskrank.serving.holder import ModelHolder
    from riskrank.serving.tables import create_serving_tables
    from riskrank.serving.worklist import OBJECTIVES, make_worklist
    from riskrank.settings import get_settings
    from riskrank.world import BENEFITS

    # Check the cheap things before loading a model.
    if benefit != "all" and benefit not in BENEFITS:
        raise UserError(f"unknown benefit {benefit!r}; use 'all' or one of {', '.join(BENEFITS)}")
    if objective not in OBJECTIVES:
        raise UserError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    settings = get_settings()
    engine = get_engine(settings.database_url)
    create_serving_tables(engine)
    source = default_feature_source(engine)
    if source is None:
        raise UserError("the feature store (riskrank.features.store) is not available")
    holder = ModelHolder(settings, source)
    status = holder.refresh()
    if holder.current is None:
        failure = status["failed_version"] or {}
        raise UserError(f"no champion model could be loaded: {failure.get('error', 'unknown reason')}")
    if holder.current.as_of is None:
        raise UserError("the feature store is empty; run `riskrank features` first")
    result = make_worklist(
        engine, holder.current, user=user, benefit=None if benefit == "all" else benefit, k=k, objective=objective,
        share=settings.random_share, top=top, pseudonym_key=settings.pseudonym_key,
    )
    model = result["model"]
    table = Table(title=f"Worklist {benefit}, k={result['k']}, {objective} (model {model['name']} v{model['version']}, "
                  f"features as of {result['features_as_of']})")
    sek_column = ["expected SEK"] if objective == "expected_sek" else []
    for column in ["#", "case", "benefit", "score", "pct", *sek_column, "top reasons"]:
        table.add_column(column, overflow="fold")
    for item in result["items"]:
        reasons = "; ".join(f"{r['description']} = {r['value']} ({r['contribution']:+.2f})" for r in item["reasons"])
        cells = [str(item["position"]), str(item["case_id"]), item["benefit"], f"{item['score']:.3f}",
                 "" if item["percentile"] is None else f"{item['percentile']:.0f}"]
        if objective == "expected_sek":
            cells.append(f"{item['expected_sek']:,.0f}")
        table.add_row(*cells, reasons)
    console = Console()
    console.print(table)
    if result["left_out_under_investigation"]:
        console.print(f"{result['left_out_under_investigation']:,} cases under open investigation were left out.")
    console.print("The score is a ranking aid for choosing cases to investigate, never a decision about a case.")


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Option(..., help="investigator, manager, data_scientist or auditor."),
) -> None:
    """Create a user and print its bearer token once (only its hash is stored)."""
    from riskrank.db import get_engine
    from riskrank.serving.auth import add_user
    from riskrank.serving.tables import create_serving_tables
    from riskrank.settings import get_settings

    engine = get_engine(get_settings().database_url)
    create_serving_tables(engine)
    token = add_user(engine, name, role)
    typer.echo(f"user {name.strip()} ({role}) created. Bearer token, shown only now:")
    typer.echo(token)


@users_app.command("deactivate")
def users_deactivate(name: str = typer.Argument(..., help="User name.")) -> None:
    """Revoke a user's token (running services stop accepting it within 30 seconds)."""
    from riskrank.db import get_engine
    from riskrank.serving.auth import deactivate_user
    from riskrank.serving.tables import create_serving_tables
    from riskrank.settings import get_settings

    engine = get_engine(get_settings().database_url)
    create_serving_tables(engine)
    deactivate_user(engine, name)
    typer.echo(f"user {name.strip()} deactivated")


@audit_log_app.command("verify")
def audit_log_verify() -> None:
    """Check the audit log's hash chain; exit 1 and name the first bad entry if any was edited or deleted."""
    from riskrank.db import get_engine
    from riskrank.serving import audit
    from riskrank.serving.tables import create_serving_tables
    from riskrank.settings import get_settings

    engine = get_engine(get_settings().database_url)
    create_serving_tables(engine)
    result = audit.verify(engine)
    if result.ok:
        typer.echo(f"audit log OK: {result.entries} entries, chain intact")
        return
    typer.echo(f"audit log BROKEN at entry {result.first_bad_seq}: {result.problem}", err=True)
    raise typer.Exit(1)
