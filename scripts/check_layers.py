"""The layering of riskrank's parts, checked from the code's own imports (function-level ones included).

Each part may import its own modules and the parts on layers below it, never one above it or a sibling on its
own layer; the synthetic world (simulation) is reached only from the commands that make one. Run by .ci/run and
by tests/test_layers.py; prints each offending import and exits 1, or prints "layers hold" and exits 0.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

# Top to bottom. A name is a subpackage of riskrank/ or a top-level module; parts on one layer are independent.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("demo", "db_commands"),
    ("operation",),
    ("serving",),
    ("monitoring",),
    ("batch", "promotion"),
    ("training",),
    ("fairness", "model"),
    ("features", "simulation"),
    ("world_blocks", "db"),
    ("extras",),
    ("migrations",),
    ("world", "settings", "errors", "jsonsafe"),
)
# The world generator is not part of the product's data flow: only the commands that make a world import it.
SIMULATION_USERS = ("cli", "demo", "simulation")


def part_of(module: str) -> str:
    """riskrank.serving.app -> serving; riskrank.world -> world."""
    return module.split(".")[1]


def imports(path: Path, package_root: Path) -> list[tuple[int, str]]:
    """(line, imported riskrank module) for every import in the file, relative ones resolved."""
    module = ".".join(path.relative_to(package_root.parent).with_suffix("").parts)
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("riskrank.")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join(parent + ([base] if base else []))
            if base == "riskrank":  # `from riskrank import x`: x is the module
                found += [(node.lineno, f"riskrank.{a.name}") for a in node.names]
            elif base.startswith("riskrank."):
                found.append((node.lineno, base))
    return found


def problems(package_root: Path) -> list[str]:
    layer_of = {part: i for i, layer in enumerate(LAYERS) for part in layer}
    out = []
    for path in sorted(package_root.rglob("*.py")):
        source_part = part_of(".".join(path.relative_to(package_root.parent).with_suffix("").parts))
        if source_part == "__init__":  # riskrank/__init__.py
            continue
        if source_part not in layer_of:
            out.append(f"{path}: part {source_part!r} is on no layer of scripts/check_layers.py")
            continue
        for line, target in imports(path, package_root):
            target_part = part_of(target)
            if target_part == source_part:
                continue
            if target_part not in layer_of:
                out.append(f"{path}:{line}: imports {target}, whose part is on no layer")
            elif layer_of[target_part] <= layer_of[source_part]:
                where = "a sibling on its layer" if layer_of[target_part] == layer_of[source_part] else "a layer above"
                out.append(f"{path}:{line}: {source_part} imports {target} ({where})")
            elif target_part == "simulation" and source_part not in SIMULATION_USERS:
                out.append(f"{path}:{line}: {source_part} imports {target} (only {', '.join(SIMULATION_USERS)} may)")
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "riskrank"
    found = problems(root)
    for line in found:
        print(line)
    if not found:
        print("layers hold")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
