"""`riskrank simulate` through the real console script: happy path, bad input, nothing overwritten."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from riskrank.world import read_world

RISKRANK = Path(sys.executable).with_name("riskrank")


def simulate(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(RISKRANK), "simulate", *args], capture_output=True, text=True, timeout=300)
    # the console wraps long messages (temp paths) at its width: compare words, not line breaks
    result.stderr = " ".join(result.stderr.split())
    return result


def test_simulate_writes_a_valid_world_with_its_report(tmp_path) -> None:
    out = tmp_path / "world"
    result = simulate("--scale", "0.002", "--seed", "3", "--out", str(out), "--calibration-report")
    assert result.returncode == 0, result.stderr
    world = read_world(out)
    assert world.meta["seed"] == 3 and world.meta["scale"] == 0.002
    assert (out / "calibration.md").exists() and (out / "calibration.csv").exists()
    assert "Calibration 2024" in result.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def test_scale_out_of_range_is_refused(tmp_path) -> None:
    for scale in ("0", "-1", "2.5"):
        result = simulate("--scale", scale, "--seed", "1", "--out", str(tmp_path / "w"))
        assert result.returncode == 2
        assert "--scale must be greater than 0 and at most 2" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "w").exists()


def test_unknown_flag_fails(tmp_path) -> None:
    result = simulate("--scale", "0.002", "--out", str(tmp_path / "w"), "--bogus")
    assert result.returncode != 0 and "No such option" in result.stderr
    assert not (tmp_path / "w").exists()


def test_existing_world_is_kept_unless_forced(tmp_path) -> None:
    out = tmp_path / "world"
    assert simulate("--scale", "0.002", "--seed", "1", "--out", str(out)).returncode == 0
    before = (out / "cases.parquet").read_bytes()
    refused = simulate("--scale", "0.002", "--seed", "2", "--out", str(out))
    assert refused.returncode == 2 and "already holds another world" in refused.stderr
    assert (out / "cases.parquet").read_bytes() == before
    forced = simulate("--scale", "0.002", "--seed", "2", "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((out / "world.json").read_text())["seed"] == 2


def test_folder_with_other_files_is_never_overwritten(tmp_path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    for extra in ((), ("--force",)):
        result = simulate("--scale", "0.002", "--out", str(out), *extra)
        assert result.returncode == 2 and "other files" in result.stderr or "not a world" in result.stderr
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    (tmp_path / "afile").write_text("x")
    result = simulate("--scale", "0.002", "--out", str(tmp_path / "afile"))
    assert result.returncode == 2 and "is a file" in result.stderr


def test_bad_options_are_refused_before_anything_is_written(tmp_path) -> None:
    out = tmp_path / "w"
    for args, message in ((("--drift-start", "2024-13-01"), "drift_start must be a date"),
                          (("--drift-start", "2026-01-01"), "must lie within"),
                          (("--random-share", "1.5"), "random_share must be in [0, 1)"),
                          (("--female-error-ratio", "0"), "error ratios must be positive"),
                          (("--triage-seed", "-1"), "triage_seed must be a non-negative integer")):
        result = simulate("--scale", "0.002", "--out", str(out), *args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    assert not out.exists()
