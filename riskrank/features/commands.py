import typer

from riskrank.errors import UserError


def features(world: str = typer.Option(...)) -> None:
    """Compute features (placeholder until the feature pipeline lands)."""
    raise UserError("features is not built yet")
