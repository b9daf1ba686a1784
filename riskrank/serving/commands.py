import typer

from riskrank.errors import UserError

users_app = typer.Typer(no_args_is_help=True)
audit_log_app = typer.Typer(no_args_is_help=True)


def serve() -> None:
    """Serve the API (placeholder)."""
    raise UserError("serve is not built yet")


def rank() -> None:
    """Print a worklist (placeholder)."""
    raise UserError("rank is not built yet")


@users_app.command("add")
def users_add(name: str) -> None:
    raise UserError("users add is not built yet")


@audit_log_app.command("verify")
def audit_log_verify() -> None:
    raise UserError("audit-log verify is not built yet")
