"""Write the feature list (docs/features.md) from the registry: `python -m riskrank.features.catalog [PATH]`."""

from __future__ import annotations

import sys
from pathlib import Path

from riskrank.features.registry import markdown_catalog


def write_catalog(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(markdown_catalog())
    tmp.replace(path)


if __name__ == "__main__":
    write_catalog(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/features.md"))
