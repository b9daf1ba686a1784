"""The optional parts of riskrank and what a lean install says when one is missing.

The runtime install holds what scoring, serving and the CLI need; the Dask engine (`riskrank[dask]`) and a
PostgreSQL store (`riskrank[postgres]`) are extras. Code that needs one enters `needs_extra`, so a missing
module becomes one line naming the extra to install instead of a bare ModuleNotFoundError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from riskrank.errors import UserError


class MissingExtra(UserError):
    """An optional dependency is not installed; the message names the extra that installs it."""


@contextmanager
def needs_extra(extra: str, purpose: str) -> Iterator[None]:
    """Turns a ModuleNotFoundError raised inside into MissingExtra for `purpose` (e.g. "the Dask engine")."""
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "a module").partition(".")[0]  # the distribution, not its submodule
        raise MissingExtra(f"{purpose} needs the '{extra}' extra ({missing} is not installed): "
                           f"pip install 'riskrank[{extra}]' (in a checkout: bash scripts/setup.sh dev)") from exc
