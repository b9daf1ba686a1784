"""A lean install: every import under riskrank/ is declared, and a missing extra is one line naming it.

An extra is made missing at the import boundary: the CLI runs in a fresh interpreter whose sys.modules maps the
extra's top-level module to None, which is what Python does for a module that is not installed (the import
raises ModuleNotFoundError)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from riskrank.extras import MissingExtra, needs_extra

ROOT = Path(__file__).resolve().parents[1]


def _run_without(module: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    code = f"import sys; sys.modules[{module!r}] = None; from riskrank.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], env={**os.environ, "COLUMNS": "300", **env},
                          capture_output=True, text=True, timeout=180)


def _assert_names_extra(result: subprocess.CompletedProcess, extra: str, module: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr  # one line
    assert f"'{extra}' extra ({module} is not installed)" in result.stderr, result.stderr
    assert f"pip install 'riskrank[{extra}]'" in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["features", "score-all"])
def test_the_dask_engine_without_dask_names_the_extra(tmp_path: Path, command: str) -> None:
    out = ["--out", str(tmp_path / "f.parquet")] if command == "features" else []
    result = _run_without("dask", command, "--world", str(tmp_path), "--as-of", "2024-06-30", *out, "--engine", "dask")
    _assert_names_extra(result, "dask", "dask")
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_a_postgresql_store_without_psycopg_names_the_extra() -> None:
    result = _run_without("psycopg", "users", "add", "anna", "--role", "investigator",
                          RISKRANK_DATABASE_URL="postgresql+psycopg://riskrank@127.0.0.1:1/riskrank")
    _assert_names_extra(result, "postgres", "psycopg")


def test_needs_extra_leaves_other_errors_alone() -> None:
    with pytest.raises(MissingExtra, match=r"^the thing needs the 'x' extra \(nowhere is not installed\)"), \
            needs_extra("x", "the thing"):
        raise ModuleNotFoundError("No module named 'nowhere'", name="nowhere")
    with pytest.raises(ImportError, match="cannot import name"), needs_extra("x", "the thing"):
        raise ImportError("cannot import name 'gone' from 'somewhere'")  # installed but broken: not a missing extra


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", r).group()).lower() for r in requirements}  # type: ignore[union-attr]


def _imports(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Top-level modules imported anywhere, and those imported inside a `with needs_extra(...)` block."""
    everywhere: set[str] = set()
    guarded: set[str] = set()

    def visit(node: ast.AST, inside: bool) -> None:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            (guarded if inside else everywhere).add(name.split(".")[0])
        if isinstance(node, ast.With) and any(isinstance(item.context_expr, ast.Call)
                                              and getattr(item.context_expr.func, "id", "") == "needs_extra"
                                              for item in node.items):
            inside = True
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return everywhere, guarded


def test_every_import_is_declared() -> None:
    """A module riskrank imports comes from a runtime dependency, or from an extra and only inside needs_extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _requirement_names(project["dependencies"])
    extras = {name: _requirement_names(reqs) for name, reqs in project["optional-dependencies"].items()}
    distributions = packages_distributions()
    problems = []
    for path in sorted((ROOT / "riskrank").rglob("*.py")):
        everywhere, guarded = _imports(ast.parse(path.read_text()))
        for module, is_guarded in [(m, False) for m in everywhere] + [(m, True) for m in guarded - everywhere]:
            if module in sys.stdlib_module_names or module in ("riskrank", "__future__"):
                continue
            dists = _requirement_names(distributions.get(module, [module]))
            where = f"{path.relative_to(ROOT)} imports {module}"
            if dists & runtime:
                continue
            in_extras = [name for name, reqs in extras.items() if dists & reqs]
            if not in_extras:
                problems.append(f"{where}: not declared in pyproject.toml")
            elif not is_guarded:
                problems.append(f"{where} (extra {in_extras[0]}) outside a `with needs_extra(...)` block")
    assert problems == []
