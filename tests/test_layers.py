"""The parts' layering (scripts/check_layers.py) holds for riskrank/, and the check catches what it must."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_layers", ROOT / "scripts" / "check_layers.py")
assert _spec and _spec.loader
check_layers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_layers)


def test_riskrank_imports_only_downwards() -> None:
    assert check_layers.problems(ROOT / "riskrank") == []


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "riskrank"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_an_upward_import_a_sibling_and_the_world_generator_are_caught(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "",
        "training/__init__.py": "",
        "training/fit.py": "def f():\n    from riskrank.serving.app import create_app\n",  # inside a function too
        "model/scoring.py": "from riskrank.fairness import policy\n",
        "serving/app.py": "from ..simulation import generate\n",  # relative import, resolved
        "fairness/policy.py": "from riskrank.errors import UserError\n",
    })
    found = "\n".join(check_layers.problems(root))
    assert "training imports riskrank.serving.app (a layer above)" in found
    assert "model imports riskrank.fairness (a sibling on its layer)" in found
    assert "serving imports riskrank.simulation (only cli, demo, simulation may)" in found
    assert "fairness/policy.py" not in found  # downwards is allowed


def test_a_new_part_must_be_placed_on_a_layer(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "", "gadgets/thing.py": "x = 1\n"})
    assert any("part 'gadgets' is on no layer" in p for p in check_layers.problems(root))
