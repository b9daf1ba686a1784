"""`riskrank learnability`: how much a synthetic world's signals give away (see riskrank.training.learnability)."""

from __future__ import annotations

from pathlib import Path

import typer

from riskrank.errors import UserError


def learnability(
    world: Path = typer.Option(..., "--world", help="World whose truth the model learns (as of 2024-03-31)."),
    other_world: Path = typer.Option(..., "--other-world", help="Another world (another seed) it ranks (as of 2024-09-30)."),
    max_rows: int = typer.Option(0, help="Subsample each world's active cases to at most this many (0: all)."),
) -> None:
    """How learnable a synthetic world is: the bound a model trained on investigation outcomes can approach.

    Writes learnability.json and learnability.md beside the calibration report of --other-world."""
    import json

    from rich.console import Console

    from riskrank.training.learnability import measure, to_markdown
    from riskrank.world import read_world

    if max_rows < 0:
        raise UserError(f"--max-rows must be 0 (all) or positive, got {max_rows}")
    if world.resolve() == other_world.resolve():
        raise UserError("--other-world must be another world (another seed) than --world: the model must not have seen it")
    train_world, test_world = read_world(world), read_world(other_world)
    seeds = {(w.meta or {}).get("seed") for w in (train_world, test_world)}
    if len(seeds) == 1 and None not in seeds:
        raise UserError(f"both worlds have seed {seeds.pop()}: rank a world of another seed, one the model never saw")
    result = measure(train_world, test_world, max_rows=max_rows or None)
    text = to_markdown(result, f"`{world}`", f"`{other_world}`")
    for name, content in (("learnability.json", json.dumps(result.as_dict(), indent=2)), ("learnability.md", text)):
        tmp = other_world / f".{name}.tmp"
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(other_world / name)
    Console().print(text)
