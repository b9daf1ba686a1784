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
from riskrank.fairness.audit import audit_selections

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


def with_blank_random_rows() -> pd.DataFrame:
    """The hand-built table plus random-sample rows never investigated: F 10 blank, M 30 blank."""
    extra = _rows("random", "F", "north", [""] * 10) + _rows("random", "M", "south", [""] * 30)
    return pd.concat([hand_built_selections(), pd.DataFrame(extra)], ignore_index=True)


def test_missing_outcome_conventions_give_the_hand_computed_base_rates_and_fprs() -> None:
    # Random sample now F 50 (5 errors, 35 not, 10 blank), M 90 (6, 54, 30 blank): N_F = 1000*50/140, N_M = 1000*90/140.
    n_f, n_m = 1000 * 50 / 140, 1000 * 90 / 140
    expected = {
        # unknown: blanks left out -> base rates 5/40 and 6/60, as before
        "unknown": {"F": (5 / 40, 4 / (n_f * (1 - 5 / 40))), "M": (6 / 60, 15 / (n_m * (1 - 6 / 60)))},
        # no-error: blanks count as no error -> 5/50 and 6/90
        "no-error": {"F": (5 / 50, 4 / (n_f * (1 - 5 / 50))), "M": (6 / 90, 15 / (n_m * (1 - 6 / 90)))},
    }
    for convention, by_group in expected.items():
        result = audit_selections(with_blank_random_rows(), ["sex"], POPULATION, selection_col="how", outcome_col="found",
                                  n_boot=0, missing_outcome=convention)
        records = {r["group"]: r for r in result.records}
        for group, (base_rate, fpr) in by_group.items():
            assert records[group]["base_rate"] == pytest.approx(base_rate), (convention, group)
            assert records[group]["fpr"] == pytest.approx(fpr), (convention, group)
            assert records[group]["missing_outcome"] == convention
        assert convention in result.convention()


def test_the_published_convention_counts_only_selections_with_an_outcome() -> None:
    """The published audit method: M's 6 selections without an outcome are neither true nor false positives (they
    still count as selected). By hand: TP_M = 12, FP_M = 12, FN_M = 60 - 12 = 48, TN_M = 540 - 12 = 528; F, without
    such selections, is as before."""
    result = _audit(n_boot=0, convention="published")
    records = {r["group"]: r for r in result.records}
    expected = {
        "F": EXPECTED["F"],
        "M": {"tp": 12, "fp": 12, "fn": 48, "tn": 528, "selection_rate": 30 / 600, "precision": 0.5, "fpr": 12 / 540,
              "fnr": 48 / 60, "found_to_selected": (12 / 60) / (30 / 600), "population_share": 0.6},
    }
    for group, values in expected.items():
        for key, value in values.items():
            assert records[group][key] == pytest.approx(value), (group, key)
        assert records[group]["convention"] == "published" and records[group]["missing_outcome"] == "no-error"
    assert records["F"]["fpr_ratio"] == pytest.approx((4 / 350) / (12 / 540))
    assert "published audit convention" in result.convention()
    # The default extrapolates M's precision to its 6 selections without an outcome, and says so.
    default = _audit(n_boot=0)
    assert {r["group"]: r["tp"] for r in default.records}["M"] == pytest.approx(15)
    assert "extrapolate" in default.convention()


def test_the_published_convention_counts_every_random_row_toward_the_base_rate() -> None:
    result = audit_selections(with_blank_random_rows(), ["sex"], POPULATION, selection_col="how", outcome_col="found",
                              n_boot=0, convention="published")
    records = {r["group"]: r for r in result.records}
    assert records["F"]["base_rate"] == pytest.approx(5 / 50) and records["M"]["base_rate"] == pytest.approx(6 / 90)


def test_cli_names_the_published_convention(tmp_path: Path) -> None:
    table = tmp_path / "selections.csv"
    hand_built_selections().to_csv(table, index=False)
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(app, ["audit", str(table), "--population", str(POPULATION), "--group", "sex",
                                      "--selection-col", "how", "--outcome-col", "found", "--convention", "published",
                                      "--bootstrap", "0", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "published audit convention" in " ".join(result.output.split())
    assert all(r["convention"] == "published" for r in json.loads(out.read_text()))


def fully_labelled() -> pd.DataFrame:
    """One row per case. F: 10 cases, 4 selected (3 errors), 6 not (1 error). M: 20 cases, 4 selected (2 errors),
    16 not (6 errors)."""
    f = pd.DataFrame({"sex": "F", "picked": [1] * 4 + [0] * 6, "found": [1, 1, 1, 0] + [1, 0, 0, 0, 0, 0]})
    m = pd.DataFrame({"sex": "M", "picked": [1] * 4 + [0] * 16, "found": [1, 1, 0, 0] + [1] * 6 + [0] * 10})
    return pd.concat([f, m], ignore_index=True).astype(str)


def test_fully_labelled_table_gives_the_hand_computed_confusion_matrices() -> None:
    result = audit_selections(fully_labelled(), ["sex"], selected_col="picked", outcome_col="found", n_boot=300)
    records = {r["group"]: r for r in result.records}
    assert (records["F"]["tp"], records["F"]["fp"], records["F"]["fn"], records["F"]["tn"]) == (3, 1, 1, 5)
    assert (records["M"]["tp"], records["M"]["fp"], records["M"]["fn"], records["M"]["tn"]) == (2, 2, 6, 10)
    f = records["F"]
    assert f["selection_rate"] == pytest.approx(0.4) and f["precision"] == pytest.approx(0.75)
    assert f["fpr"] == pytest.approx(1 / 6) and f["fnr"] == pytest.approx(1 / 4) and f["base_rate"] == pytest.approx(0.4)
    assert f["selection_rate_ratio"] == pytest.approx(0.4 / 0.2)
    assert f["fpr_ratio"] == pytest.approx((1 / 6) / (2 / 12))
    assert f["precision_ratio"] == pytest.approx(0.75 / 0.5)
    assert f["fnr_ratio"] == pytest.approx(0.25 / 0.75)
    assert f["precision_ratio_low"] < f["precision_ratio"] < f["precision_ratio_high"]
    assert result.references == {"sex": "M"} and result.population == 30 and result.shape == "fully labelled"
    assert f["n_cases"] == 10 and f["n_selected"] == 4


def test_fully_labelled_table_needs_every_outcome_unless_no_error() -> None:
    table = fully_labelled()
    table.loc[0, "found"] = ""
    with pytest.raises(UserError, match="1 rows have no outcome"):
        audit_selections(table, ["sex"], selected_col="picked", outcome_col="found", n_boot=0)
    result = audit_selections(table, ["sex"], selected_col="picked", outcome_col="found", n_boot=0,
                              missing_outcome="no-error")
    assert {r["group"]: r for r in result.records}["F"]["tp"] == 2


def test_cli_fully_labelled_says_its_convention_on_screen_in_json_and_html(tmp_path: Path) -> None:
    source = tmp_path / "labelled.csv"
    fully_labelled().to_csv(source, index=False)
    out, page = tmp_path / "audit.json", tmp_path / "audit.html"
    result = CliRunner().invoke(app, ["audit", str(source), "--group", "sex", "--selected-col", "picked", "--outcome-col",
                                      "found", "--missing-outcome", "no-error", "--bootstrap", "50", "--json", str(out),
                                      "--html", str(page)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "fully labelled table" in result.output and "missing outcomes: no-error" in result.output
    records = json.loads(out.read_text())
    assert {r["missing_outcome"] for r in records} == {"no-error"} and {r["shape"] for r in records} == {"fully labelled"}
    assert "missing outcomes: no-error" in page.read_text()


def test_cli_without_population_or_selected_col_says_what_to_give(tmp_path: Path) -> None:
    source = tmp_path / "selections.csv"
    hand_built_selections().to_csv(source, index=False)
    bad = subprocess.run([sys.executable, "-c", "from riskrank.cli import main; main()", "audit", str(source), "--group",
                          "sex", "--selection-col", "how", "--outcome-col", "found", "--missing-outcome", "maybe"],
                         capture_output=True, text=True, timeout=120, env=WIDE)
    assert bad.returncode == 2 and "Invalid value for '--missing-outcome'" in bad.stderr and "Traceback" not in bad.stderr
    missing = subprocess.run([sys.executable, "-c", "from riskrank.cli import main; main()", "audit", str(source), "--group",
                              "sex", "--selection-col", "how", "--outcome-col", "found"],
                             capture_output=True, text=True, timeout=120, env=WIDE)
    assert missing.returncode == 2 and "give --population" in missing.stderr
