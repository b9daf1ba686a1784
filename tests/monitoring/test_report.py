"""The Excel report opens and has one sheet per indicator with the hand-computed values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from riskrank.monitoring.sources import outcomes_from_db
from tests.monitoring.builders import hand_built_outcomes, insert_outcomes, outcome_rows

SHEETS = ["About", "Hit rate", "Closed", "Detected SEK", "Prevented SEK", "Detected per SEK cost", "Police reports", "Lift",
          "Operational", "Fairness"]


def _find_row(ws, label: str, start: int = 1) -> int:
    for row in range(start, ws.max_row + 1):
        if ws.cell(row=row, column=1).value == label:
            return row
    raise AssertionError(f"{label!r} not found in sheet {ws.title}")


def _header_columns(ws, row: int) -> dict[tuple[str, str], int]:
    """(year, sex label) -> column for a two-level header starting at `row`."""
    return {(ws.cell(row=row, column=c).value, ws.cell(row=row + 1, column=c).value): c for c in range(2, ws.max_column + 1)}


def _run_report(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "250", "RISKRANK_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}"}
    return subprocess.run([sys.executable, "-c", "from riskrank.cli import main; main()", "report", *args],
                          capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path)


def test_outcomes_round_trip_through_the_db(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    insert_outcomes(engine, hand_built_outcomes())
    frame = outcomes_from_db(engine)
    assert len(frame) == 20 and frame["sex"].isna().sum() == 2
    assert frame["detected_sek"].sum() == 21000 and frame["action"].sum() == 11
    assert len(outcomes_from_db(engine, benefit="bostadsbidrag")) == 9


def test_report_from_the_operational_db(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    extra = pd.DataFrame(outcome_rows("sjukpenning", "M", [1] * 4 + [0] * 6, selection="random", closed="2023-11-30")
                         + outcome_rows("sjukpenning", "F", [1] * 6 + [0] * 4, closed="2023-11-30"))
    insert_outcomes(engine, pd.concat([hand_built_outcomes(), extra], ignore_index=True))
    engine.dispose()
    out = tmp_path / "report.xlsx"
    result = _run_report(tmp_path, "--out", str(out), "--cost-per-investigation", "1000")
    assert result.returncode == 0, result.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == SHEETS
    ws = wb["Hit rate"]
    header = _find_row(ws, "Per benefit and year") + 1
    columns = _header_columns(ws, header)
    barn = _find_row(ws, "barnbidrag", header)
    assert ws.cell(row=barn, column=columns[("2024", "Kvinnor")]).value == pytest.approx(0.6)
    assert ws.cell(row=barn, column=columns[("2024", "Män")]).value == pytest.approx(0.25)
    assert ws.cell(row=barn, column=columns[("2024", "Totalt")]).value == pytest.approx(6 / 11)  # includes unknown sex
    bost = _find_row(ws, "bostadsbidrag", header)
    assert ws.cell(row=bost, column=columns[("2024", "Kvinnor")]).value == "*"  # three women: suppressed
    sjuk = _find_row(ws, "sjukpenning", header)
    assert ws.cell(row=sjuk, column=columns[("2023", "Totalt")]).value == pytest.approx(0.5)
    closed = wb["Closed"]
    total_row = _find_row(closed, "Totalt", header)
    assert closed.cell(row=total_row, column=columns[("2024", "Totalt")]).value == 20
    detected_per = wb["Detected per SEK cost"]
    assert detected_per.cell(row=barn, column=columns[("2024", "Totalt")]).value == pytest.approx(20000 / 11000)
    lift = wb["Lift"]
    assert [c.value for c in lift[1]][:7] == ["Benefit", "Year", "Model-selected closed", "Model hit rate", "Random closed",
                                             "Random hit rate", "Lift"]
    sjuk_2023 = next(r for r in lift.iter_rows(min_row=2, values_only=True) if r[0] == "sjukpenning" and r[1] == "2023")
    assert sjuk_2023[6] == pytest.approx(1.5)  # 6/10 over 4/10
    operational = {(r[0], r[1]): r for r in wb["Operational"].iter_rows(min_row=2, values_only=True)}
    assert operational[("Totalt", "2024-03")][3] == 10  # closed in March 2024
    assert operational[("barnbidrag", "2024-03")][3] == 7
    assert wb["Fairness"].max_row > 1
    assert not list(tmp_path.glob(".report.xlsx.*"))  # no temp file left behind


def test_report_refuses_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    empty = _run_report(tmp_path, "--out", str(tmp_path / "r.xlsx"))
    assert empty.returncode == 2 and "no outcomes recorded yet" in empty.stderr
    wrong = _run_report(tmp_path, "--out", str(tmp_path / "r.csv"))
    assert wrong.returncode == 2 and "ending in .xlsx" in wrong.stderr
    missing = _run_report(tmp_path, "--out", str(tmp_path / "r.xlsx"), "--world", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "r.xlsx").exists() and not (tmp_path / "r.csv").exists()
