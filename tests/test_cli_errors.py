"""Every CLI error is a message and exit 2, never a traceback, whatever the bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

RISKRANK = [sys.executable, "-c", "from riskrank.cli import main; main()"]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*RISKRANK, *args], env={**os.environ, "COLUMNS": "300", **env}, capture_output=True, text=True,
                          timeout=180)


def _assert_clean_error(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")
    for text in expected:
        assert text in result.stderr


def test_an_empty_as_of_date(tmp_path: Path) -> None:
    _assert_clean_error(_run("features", "--world", str(tmp_path), "--as-of", "", "--out", str(tmp_path / "f.parquet")),
                        "--as-of '' is not a date")


def test_a_path_with_rich_markup_characters(tmp_path: Path) -> None:
    odd = tmp_path / "a[/b]"
    _assert_clean_error(_run("features", "--world", str(odd), "--as-of", "2024-06-30", "--out", str(tmp_path / "f.parquet")),
                        str(odd))


def test_a_column_with_rich_markup_characters(tmp_path: Path) -> None:
    scores = tmp_path / "scores.parquet"
    pd.DataFrame({"score": [0.1, 0.2], "sex": ["F", "M"]}).to_parquet(scores)
    _assert_clean_error(_run("audit", str(scores), "--population", "10", "--group", "sex[/b]"), "sex[/b]")


@pytest.mark.parametrize("name, value", [("RISKRANK_PORT", "eighty"), ("RISKRANK_RANDOM_SHARE", "a lot")])
def test_a_badly_typed_setting(tmp_path: Path, name: str, value: str) -> None:
    _assert_clean_error(_run("users", "add", "anna", "--role", "investigator", **{name: value}), name)


def test_a_corrupt_parquet_file(tmp_path: Path) -> None:
    corrupt = tmp_path / "scores.parquet"
    corrupt.write_bytes(b"PAR1 this is not parquet at all PAR1")
    _assert_clean_error(_run("audit", str(corrupt), "--population", "10", "--group", "sex"), "scores.parquet")


def test_a_world_with_a_corrupt_table(tmp_path: Path, tiny_world_dir: Path) -> None:
    import shutil

    world = tmp_path / "world"
    shutil.copytree(tiny_world_dir, world)
    (world / "cases.parquet").write_bytes(b"not parquet")
    _assert_clean_error(_run("features", "--world", str(world), "--as-of", "2024-06-30", "--out", str(tmp_path / "f.parquet")))
