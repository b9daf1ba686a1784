"""Writing a world so that a crash never leaves a half-written folder where a good world was."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from riskrank.world import World, write_world


def replace_world(world: World, out: Path, extra: Callable[[Path], object] | None = None) -> None:
    """Write into a sibling temporary folder, then swap it into place (the old world is removed only after)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a world folder is an ordinary folder
    try:
        write_world(world, tmp)
        if extra is not None:
            extra(tmp)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
