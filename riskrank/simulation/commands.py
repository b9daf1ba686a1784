import typer

from riskrank.errors import UserError


def simulate(out: str = typer.Option(..., help="World folder")) -> None:
    """Generate a synthetic world (placeholder until the simulation lands)."""
    raise UserError("simulate is not built yet")
