"""The fairness audit on a hand-built selections table: confusion matrices and ratios computed by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from riskrank.cli import app
from riskrank.errors import UserError
from riskrank.monitoring.audit import audit_selections

POPULATION = 1000
WIDE = {**os.environ, "COLUMNS": "250"}  # rich wraps messages at the terminal width


def _rows(selection: str, sex: str, region: str, outcomes: list[str]) -> list[dict]:
    return [{"person": f"p{i}", "how": selection, "found": o, "sex": sex, "region": region, "risk": 0.5}
            for i, o in enumerate(outcomes)]


def hand_built_selections() -> pd.DataFrame:
    """Random sample: F 40 (5 errors, 35 not), M 60 (6 errors, 54 not). Model: F 20 (16 errors, 4 not),
    M 30 (12 errors, 12 not, 6 not investigated). Plus 3 impulse rows the audit ignores."""
    rows = (_rows("random", "F", "north", ["1"] * 5 + ["0"] * 35) + _rows("random", "M", "south", ["1"] * 6 + ["0"] * 54)
            + _rows("model", "F", "north", ["1"] * 16 + ["0"] * 4)
            + _rows("model", "M", "south", ["1"] * 12 + ["0"] * 12 + [""] * 6)
            + _rows("impulse", "F", "north", ["1", "1", "0"]))
    return pd.DataFrame(rows)


# By hand: N_F = 1000 * 40/100 = 400, P_F = 400 * 5/40 = 50; N_M = 600, P_M = 600 * 6/60 = 60.
# Precision F = 16/20 = 0.8 -> TP 16, FP 4; M = 12/24 = 0.5 of 30 selections -> TP 15, FP 15.
# FN_F = 50 - 16 = 34, TN_F = 350 - 4 = 346; FN_M = 60 - 15 = 45, TN_M = 540 - 15 = 525.
EXPECTED = {
    "F": {"tp": 16, "fp": 4, "fn": 34, "tn": 346, "selection_rate": 20 / 400, "precision": 0.8, "fpr": 4 / 350, "fnr": 34 / 50,
          "found_to_selected": (16 / 50) / (20 / 400), "population_share": 0.4},
    "M": {"tp": 15, "fp": 15, "fn": 45, "tn": 525, "selection_rate": 30 / 600, "precision": 0.5, "fpr": 15 / 540, "fnr": 45 / 60,
          "found_to_selected": (15 / 60) / (30 / 600), "population_share": 0.6},
}


def _audit(**kwargs):
    return audit_selections(hand_built_selections(), ["sex"], POPULATION, selection_col="how", outcome_col="found", **kwargs)


def test_confusion_matrices_and_ratios_match_hand_computation() -> None:
    result = _audit(n_boot=200)
    by_group = {r["group"]: r for r in result.records}
    assert result.references == {"sex": "M"}  # the largest group in the random sample
    assert result.ignored_rows == 3
    for group, expected in EXPECTED.items():
        record = by_group[group]
        for key, value in expected.items():
            assert record[key] == pytest.approx(value), (group, key)
    f = by_group["F"]
    assert (f["n_random"], f["n_selected"], by_group["M"]["n_selected_investigated"]) == (40, 20, 24)
    assert f["selection_rate_ratio"] == pytest.approx(1.0) and not f["selection_rate_ratio_flag"]
    assert f["precision_ratio"] == pytest.approx(1.6) and f["precision_ratio_flag"]
    assert f["fpr_ratio"] == pytest.approx((4 / 350) / (15 / 540)) and f["fpr_ratio_flag"]
    assert f["fnr_ratio"] == pytest.approx(0.68 / 0.75) and not f["fnr_ratio_flag"]
    assert f["found_to_selected_ratio"] == pytest.approx(6.4 / 5.0) and f["found_to_selected_ratio_flag"]
    assert sorted(f["flags"]) == ["found_to_selected", "fpr", "precision"]
    assert by_group["M"]["precision_ratio"] == 1.0 and by_group["M"]["flags"] == []


def test_bootstrap_intervals_surround_the_estimates() -> None:
    f = {r["group"]: r for r in _audit(n_boot=400, seed=3).records}["F"]
    for metric in ("selection_rate", "precision", "fpr", "fnr"):
        assert f[f"{metric}_low"] <= f[metric] <= f[f"{metric}_high"], metric
        assert f[f"{metric}_ratio_low"] < f[f"{metric}_ratio"] < f[f"{metric}_ratio_high"], metric
    assert f["precision_ratio_high"] - f["precision_ratio_low"] > 0.1  # 20 + 24 investigated selections: wide


def test_chosen_reference_and_second_group_column() -> None:
    result = audit_selections(hand_built_selections(), ["sex", "region"], POPULATION, selection_col="how", outcome_col="found",
                              references={"sex": "F"}, n_boot=0)
    f = next(r for r in result.records if r["group_column"] == "sex" and r["group"] == "M")
    assert f["precision_ratio"] == pytest.approx(0.5 / 0.8)
    assert [r["group"] for r in result.records if r["group_column"] == "region"] == ["north", "south"]
    assert result.references == {"sex": "F", "region": "south"}


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.drop(columns=["found"]), "'found' not found"),
    (lambda f: f.assign(how=f["how"].replace({"model": "modle"})), "unknown selection value(s) 'modle'"),
    (lambda f: f.assign(found=f["found"].replace({"1": "yes"})), "must be 1, 0 or blank; found 'yes'"),
    (lambda f: pd.concat([f, pd.DataFrame(_rows("model", "X", "east", ["1"]))]), "group 'X' has no random-sample rows"),
    (lambda f: f[f["how"] != "random"], "no 'random' rows"),
])
def test_bad_tables_are_refused_with_a_clear_message(change, message) -> None:
    with pytest.raises(UserError) as info:
        audit_selections(change(hand_built_selections()), ["sex"], POPULATION, selection_col="how", outcome_col="found")
    assert message in str(info.value)


def test_population_smaller_than_selections_is_refused() -> None:
    with pytest.raises(UserError, match="smaller than the 150 selected rows"):
        audit_selections(hand_built_selections(), ["sex"], 149, selection_col="how", outcome_col="found")


def test_cli_writes_json_and_html(tmp_path: Path) -> None:
    source = tmp_path / "selections.csv"
    hand_built_selections().to_csv(source, index=False)
    out, page = tmp_path / "audit.json", tmp_path / "audit.html"
    result = CliRunner().invoke(app, ["audit", str(source), "--population", "1000", "--group", "sex", "--selection-col", "how",
                                      "--outcome-col", "found", "--score-col", "risk", "--bootstrap", "100",
                                      "--json", str(out), "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert "reference: M" in result.output
    records = json.loads(out.read_text())
    assert len(records) == 2
    keys = {"group_column", "group", "n_random", "n_selected", "population_share", "selection_rate", "precision", "fpr", "fnr"}
    for metric in ("selection_rate", "precision", "fpr", "fnr"):
        keys |= {f"{metric}_ratio", f"{metric}_ratio_low", f"{metric}_ratio_high"}
    assert keys <= set(records[0])
    f = next(r for r in records if r["group"] == "F")
    assert f["precision_ratio"] == pytest.approx(1.6) and f["mean_score"] == 0.5
    html = page.read_text()
    assert html.count("<svg") == 2 and html.count('class="point"') == 5  # F's five metric ratios
    assert "Precision – F" in html and html.count('class="interval"') >= 4


def test_cli_parquet_and_errors_exit_2_without_writing(tmp_path: Path) -> None:
    # Through riskrank.cli.main, which turns a UserError into a message and exit status 2.
    source = tmp_path / "selections.parquet"
    hand_built_selections().to_parquet(source)
    out = tmp_path / "audit.json"
    base = [sys.executable, "-c", "from riskrank.cli import main; main()", "audit", str(source), "--group", "sex",
            "--selection-col", "how", "--bootstrap", "0", "--json", str(out)]
    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*base, *extra], capture_output=True, text=True, timeout=120, env=WIDE)

    bad = run("--population", "1000")
    assert bad.returncode == 2 and "'outcome' not found" in bad.stderr and "Traceback" not in bad.stderr
    small = run("--population", "10", "--outcome-col", "found")
    assert small.returncode == 2 and "--population 10 is smaller" in small.stderr
    assert not out.exists()
    good = run("--population", "1000", "--outcome-col", "found")
    assert good.returncode == 0, good.stderr
    assert {r["group"] for r in json.loads(out.read_text())} == {"F", "M"}


def test_estimates_recover_the_true_population_confusion_matrix() -> None:
    """On a population where every error is known, the audit's estimates from a 5% random sample and the
    model's top selections come close to the true per-group confusion matrix."""
    import numpy as np

    rng = np.random.default_rng(42)
    n = 200_000
    group = rng.choice(["a", "b"], n, p=[0.7, 0.3])
    error = rng.random(n) < np.where(group == "a", 0.05, 0.12)
    score = error * 1.2 + rng.normal(0, 1, n)  # an informative but imperfect model
    selected = np.zeros(n, dtype=bool)
    selected[np.argsort(-score)[:7500]] = True
    random = rng.random(n) < 0.05  # drawn from the whole population, so it may include selected people
    outcome = error.astype(int).astype(str)
    table = pd.concat([
        pd.DataFrame({"selection": "model", "outcome": outcome[selected], "group": group[selected]}),
        pd.DataFrame({"selection": "random", "outcome": outcome[random], "group": group[random]}),
    ], ignore_index=True)
    result = audit_selections(table, ["group"], n, n_boot=200)
    for record in result.records:
        g = group == record["group"]
        true_tp, true_fp = (selected & g & error).sum(), (selected & g & ~error).sum()
        true_fn, true_tn = (~selected & g & error).sum(), (~selected & g & ~error).sum()
        assert record["tp"] == pytest.approx(true_tp)  # every selection investigated: exact
        assert record["fp"] == pytest.approx(true_fp)
        assert record["fn"] == pytest.approx(true_fn, rel=0.15)
        assert record["tn"] == pytest.approx(true_tn, rel=0.05)
        assert record["fpr"] == pytest.approx(true_fp / (true_fp + true_tn), rel=0.1)
        true_fnr = true_fn / (true_fn + true_tp)
        assert record["fnr_low"] <= true_fnr <= record["fnr_high"]
