"""The Excel report opens and has one sheet per indicator with the hand-computed values."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from riskrank.monitoring.report_labels import LABELS
from riskrank.monitoring.sources import outcomes_from_db
from tests.monitoring.builders import dashboard_outcomes, hand_built_outcomes, insert_outcomes, outcome_rows

SV = LABELS["sv"]
EN = LABELS["en"]


def _rows(ws) -> list[dict]:
    """A sheet's table (legend in row 1, header in row 2) as dicts by header."""
    header = [c.value for c in ws[2]]
    return [dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=3, values_only=True) if row[1] is not None]


def _one(rows: list[dict], **where: object) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(found) == 1, f"expected one row for {where}, got {len(found)}"
    return found[0]


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
    assert wb.sheetnames == [SV[k] for k in ("sheet.about", "sheet.benefit_year", "sheet.month", "sheet.selection_year",
                                             "sheet.lift", "sheet.operational", "sheet.fairness",
                                             "sheet.group_fairness")]  # Swedish by default
    rows = _rows(wb[SV["sheet.benefit_year"]])
    benefit, year, sex, rate = SV["benefit"], SV["year"], SV["sex"], SV["hit_rate"]
    assert _one(rows, **{benefit: "barnbidrag", year: 2024, sex: "Kvinnor"})[rate] == pytest.approx(0.6)
    assert _one(rows, **{benefit: "barnbidrag", year: 2024, sex: "Män"})[rate] == pytest.approx(0.25)
    barn = _one(rows, **{benefit: "barnbidrag", year: 2024, sex: "Totalt"})
    assert barn[rate] == pytest.approx(6 / 11)  # includes unknown sex
    assert barn[SV["detected_per_sek_cost"]] == pytest.approx(20000 / 11000)
    assert _one(rows, **{benefit: "bostadsbidrag", year: 2024, sex: "Kvinnor"})[rate] == "*"  # three women: suppressed
    assert _one(rows, **{benefit: "sjukpenning", year: 2023, sex: "Totalt"})[rate] == pytest.approx(0.5)
    assert _one(rows, **{benefit: "sjukpenning", year: 2024, sex: "Totalt"})[rate] == "–"  # no investigation in 2024
    assert _one(rows, **{benefit: "Totalt", year: 2024, sex: "Totalt"})[SV["closed"]] == 20
    lift = _rows(wb[SV["sheet.lift"]])
    sjuk_2023 = _one(lift, **{benefit: "sjukpenning", SV["first_year"]: 2023, SV["last_year"]: 2023})
    assert sjuk_2023[SV["lift"]] == pytest.approx(1.5)  # 6/10 over 4/10
    operational = _rows(wb[SV["sheet.operational"]])
    month = SV["month"].split(" (")[0]
    assert _one(operational, **{benefit: "Totalt", month: datetime(2024, 3, 1)})[SV["closed_month"]] == 10
    assert _one(operational, **{benefit: "barnbidrag", month: datetime(2024, 3, 1)})[SV["closed_month"]] == 7
    assert len(_rows(wb[SV["sheet.fairness"]])) > 1

    english = _run_report(tmp_path, "--out", str(tmp_path / "en.xlsx"), "--lang", "en")
    assert english.returncode == 0, english.stderr
    wb = openpyxl.load_workbook(tmp_path / "en.xlsx")
    assert wb.sheetnames[:2] == ["About", "By benefit and year"]
    rows = _rows(wb[EN["sheet.benefit_year"]])
    assert _one(rows, **{EN["benefit"]: "barnbidrag", EN["year"]: 2024, EN["sex"]: "Women"})[EN["hit_rate"]] == pytest.approx(0.6)
    assert not list(tmp_path.glob(".report.xlsx.*"))  # no temp file left behind


def test_report_refuses_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    empty = _run_report(tmp_path, "--out", str(tmp_path / "r.xlsx"))
    assert empty.returncode == 2 and "no outcomes recorded yet" in empty.stderr
    wrong = _run_report(tmp_path, "--out", str(tmp_path / "r.csv"))
    assert wrong.returncode == 2 and "ending in .xlsx" in wrong.stderr
    language = _run_report(tmp_path, "--out", str(tmp_path / "r.xlsx"), "--lang", "de")
    assert language.returncode == 2 and "--lang" in language.stderr
    missing = _run_report(tmp_path, "--out", str(tmp_path / "r.xlsx"), "--world", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "r.xlsx").exists() and not (tmp_path / "r.csv").exists()


def test_the_report_shows_every_group_s_ratios_with_intervals_and_suppresses_small_cells(tmp_path: Path) -> None:
    from riskrank.monitoring.kpis import fairness_by_group

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    insert_outcomes(engine, dashboard_outcomes())
    expected = {(r["attribute"], r["group"], r["metric"]): r for r in fairness_by_group(outcomes_from_db(engine))}
    engine.dispose()
    out = tmp_path / "report.xlsx"
    result = _run_report(tmp_path, "--out", str(out), "--lang", "en")
    assert result.returncode == 0, result.stderr
    rows = _rows(openpyxl.load_workbook(out)[EN["sheet.group_fairness"]])
    for (attribute, group, metric), label in ((("born_abroad", "True", "fpr"), "Born abroad"),
                                              (("born_abroad", "True", "selection_rate"), "Born abroad"),
                                              (("age_band", "45-64", "precision"), "Aged 45-64")):
        row = _one(rows, Benefit="Total", Group=label, **{"Ratio of": EN[f"metric.{metric}"]})
        want = expected[(attribute, group, metric)]
        assert row["Reference group"] == ("Born in Sweden" if attribute == "born_abroad" else "Aged 30-44")
        assert row["Ratio to reference"] == pytest.approx(want["ratio"])
        assert (row["95 % low"], row["95 % high"]) == pytest.approx((want["low"], want["high"]))
        assert row["Model-selected"] == want["n_model"]
    assert _one(rows, Benefit="Total", Group="Born abroad", **{"Ratio of": "selection rate"})["Flag"].startswith("outside")
    for metric in ("selection_rate", "fpr", "precision"):  # three persons aged 65+: suppressed
        row = _one(rows, Benefit="Total", Group="Aged 65+", **{"Ratio of": EN[f"metric.{metric}"]})
        assert [row[k] for k in ("Model-selected", "Ratio to reference", "95 % low", "95 % high")] == ["*"] * 4
