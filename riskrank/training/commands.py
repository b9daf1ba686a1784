import typer

from riskrank.errors import UserError


def train(world: str = typer.Option(...)) -> None:
    """Train a model (placeholder)."""
    raise UserError("train is not built yet")


def promote(version: int = typer.Option(...)) -> None:
    """Promote a model version (placeholder)."""
    raise UserError("promote is not built yet")
