"""Serving's CLI commands: serve, rank, users, audit-log verify/checkpoint/keygen. Heavy imports stay inside the functions."""

from __future__ import annotations

from pathlib import Path

import typer

from riskrank.errors import UserError
from riskrank.serving.auth import DEFAULT_EXPIRES_DAYS, Role
from riskrank.serving.worklist import Objective

users_app = typer.Typer(no_args_is_help=True)
audit_log_app = typer.Typer(no_args_is_help=True)


def serve(
    host: str | None = typer.Option(None, help="Interface to listen on (default: settings.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default: settings.port, 8000)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the scoring API (OpenAPI at /docs). Loads models:/riskrank@champion and follows the alias."""
    import uvicorn

    from riskrank.db import ensure_schema, get_engine
    from riskrank.serving.app import create_app
    from riskrank.settings import get_settings

    settings = get_settings()
    port = settings.port if port is None else port
    if not 0 < port < 65536:
        raise UserError(f"--port must be between 1 and 65535, got {port}")
    ensure_schema(get_engine(settings.database_url))  # here, so a store behind the code is one line, not a traceback
    uvicorn.run(create_app(settings, freeze_heap=True), host=host or settings.host, port=port, log_level=log_level)


def rank(
    benefit: str = typer.Option(..., help="A benefit key, or 'all'."),
    k: int = typer.Option(..., min=1, help="How many cases."),
    objective: Objective = typer.Option(Objective.hit_rate, help="hit_rate or expected_sek."),
    top: int = typer.Option(3, help="Reasons shown per case."),
    user: str = typer.Option("cli", help="Name recorded in the worklist and the audit log."),
) -> None:
    """Make a worklist with the champion model and print it (recorded like one made over HTTP)."""
    from rich.console import Console
    from rich.table import Table

    from riskrank.db import ensure_schema, get_engine
    from riskrank.serving.featuresource import default_feature_source
    from riskrank.serving.holder import ModelHolder
    from riskrank.serving.worklist import make_worklist
    from riskrank.settings import get_settings
    from riskrank.world import BENEFITS

    # Check the cheap things before loading a model.
    if benefit != "all" and benefit not in BENEFITS:
        raise UserError(f"--benefit {benefit!r}: use 'all' or one of {', '.join(BENEFITS)}")
    settings = get_settings()
    engine = get_engine(settings.database_url)
    ensure_schema(engine)
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
        share=settings.random_share, top=top, pseudonym_key=settings.pseudonym_key, show_scores=settings.worklist_show_scores,
    )
    model = result["model"]
    table = Table(title=f"Worklist {benefit}, k={result['k']}, {objective} (model {model['name']} v{model['version']}, "
                  f"features as of {result['features_as_of']})")
    shown = settings.worklist_show_scores
    score_columns = (["score", "pct", *(["expected SEK"] if objective == "expected_sek" else []), "top reasons"]
                     if shown else [])
    for column in ["#", "case", "benefit", *score_columns]:
        table.add_column(column, overflow="fold")
    for item in result["items"]:
        cells = [str(item["position"]), str(item["case_id"]), item["benefit"]]
        if shown:
            cells += [f"{item['score']:.3f}", "" if item["percentile"] is None else f"{item['percentile']:.0f}"]
            cells += [f"{item['expected_sek']:,.0f}"] if objective == "expected_sek" else []
            cells.append("; ".join(f"{r['description']}: {r['value_text']}" for r in item["reasons"]))
        table.add_row(*cells)
    console = Console()
    console.print(table)
    if not shown:
        console.print("In a random order, without scores (RISKRANK_WORKLIST_SHOW_SCORES=true shows them).")
    if result["left_out_under_investigation"]:
        console.print(f"{result['left_out_under_investigation']:,} cases under open investigation were left out.")
    console.print("The score is a ranking aid for choosing cases to investigate, never a decision about a case.")


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="User name."),
    role: Role = typer.Option(..., help="investigator, manager, data_scientist or auditor."),
    expires_days: int = typer.Option(DEFAULT_EXPIRES_DAYS, help="Days until the token stops working (1 to 3650); "
                                     "`users rotate` renews it."),
) -> None:
    """Create a user and print its bearer token once (only its hash is stored)."""
    from riskrank.db import ensure_schema, get_engine
    from riskrank.serving.auth import add_user_token, check_user_input
    from riskrank.settings import get_settings

    check_user_input(name, role, expires_days)  # before any table is made
    engine = get_engine(get_settings().database_url)
    ensure_schema(engine)
    issued = add_user_token(engine, name, role, expires_days)
    typer.echo(f"user {name.strip()} ({role}) created; the token expires {issued.expires_at:%Y-%m-%d %H:%M} UTC. "
               "Bearer token, shown only now:")
    typer.echo(issued.token)


@users_app.command("rotate")
def users_rotate(
    name: str = typer.Argument(..., help="User name."),
    expires_days: int = typer.Option(DEFAULT_EXPIRES_DAYS, help="Days until the new token stops working (1 to 3650)."),
) -> None:
    """Give a user a new token (printed once) with a new expiry; the old token stops working (running services:
    within 30 seconds)."""
    from riskrank.db import ensure_schema, get_engine
    from riskrank.serving.auth import check_user_input, rotate_user
    from riskrank.settings import get_settings

    check_user_input(name, None, expires_days)
    engine = get_engine(get_settings().database_url)
    ensure_schema(engine)
    issued = rotate_user(engine, name, expires_days)
    typer.echo(f"user {name.strip()}: new token, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC; the old one no longer "
               "works. Bearer token, shown only now:")
    typer.echo(issued.token)


@users_app.command("deactivate")
def users_deactivate(name: str = typer.Argument(..., help="User name.")) -> None:
    """Revoke a user's token (running services stop accepting it within 30 seconds)."""
    from riskrank.db import ensure_schema, existing_engine
    from riskrank.serving.auth import deactivate_user
    from riskrank.settings import get_settings

    engine = existing_engine(get_settings().database_url)  # no user to deactivate where there is no store
    ensure_schema(engine)
    deactivate_user(engine, name)
    typer.echo(f"user {name.strip()} deactivated")


def _verified(checkpoint_head: tuple[int, str] | None = None):
    from riskrank.db import existing_engine
    from riskrank.serving import audit_chain
    from riskrank.settings import get_settings

    try:
        # Checking an audit log must never create a database.
        return audit_chain.verify(existing_engine(get_settings().database_url), expect=checkpoint_head)
    except audit_chain.AuditLogMissing as exc:
        raise UserError(f"{exc}; check RISKRANK_DATABASE_URL") from None


@audit_log_app.command("verify")
def audit_log_verify(
    checkpoint: Path | None = typer.Option(None, help="A signed checkpoint file: also prove the chain extends it."),
    public_key: Path | None = typer.Option(
        None, help="PEM public key that signed the checkpoint (default: the one of RISKRANK_AUDIT_SIGNING_KEY)."
    ),
) -> None:
    """Check the audit log's hash chain; exit 1 and name the first bad entry if any was edited, deleted or reordered."""
    head = None
    if checkpoint is not None:
        head = _checkpoint_head(checkpoint, public_key)
    result = _verified(head)
    if result.ok:
        extends = f", extends the checkpoint at entry {head[0]}" if head else ""
        typer.echo(f"audit log OK: {result.entries} entries, chain intact{extends}")
        return
    typer.echo(f"audit log BROKEN at entry {result.first_bad_seq}: {result.problem}", err=True)
    raise typer.Exit(1)


def _checkpoint_head(checkpoint: Path, public_key: Path | None) -> tuple[int, str]:
    from riskrank.serving.checkpoint import load_private_key, load_public_key, read_checkpoint
    from riskrank.settings import get_settings

    key = load_public_key(public_key) if public_key else load_private_key(get_settings().audit_signing_key).public_key()
    return read_checkpoint(checkpoint, key)


@audit_log_app.command("checkpoint")
def audit_log_checkpoint(
    out: Path = typer.Option(..., help="File to write the signed head to; keep it where the service's operators cannot."),
) -> None:
    """Sign the current head of an intact chain (Ed25519, key RISKRANK_AUDIT_SIGNING_KEY) and write it to OUT."""
    import json

    from riskrank.serving.checkpoint import load_private_key, make_checkpoint
    from riskrank.settings import get_settings

    key = load_private_key(get_settings().audit_signing_key)
    result = _verified()
    if not result.ok:
        raise UserError(f"refusing to sign a broken chain: entry {result.first_bad_seq}: {result.problem}")
    try:
        out.write_text(json.dumps(make_checkpoint(key, result.head_seq, result.head_hash), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"checkpoint of entry {result.head_seq} written to {out}")


@audit_log_app.command("keygen")
def audit_log_keygen(out: Path = typer.Option(..., help="File for the new Ed25519 private key (PEM, owner-only).")) -> None:
    """Make a signing key for checkpoints; print its public key for the auditor."""
    import os

    from riskrank.serving.checkpoint import load_private_key, new_private_key_pem, public_key_pem

    if out.exists():
        raise UserError(f"{out} exists; not overwriting a key")
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise UserError(f"cannot create {out}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(new_private_key_pem())
    typer.echo(f"private key written to {out}; set RISKRANK_AUDIT_SIGNING_KEY={out}. Public key for the auditor:")
    typer.echo(public_key_pem(load_private_key(out)), nl=False)
