"""Fairness for managers on every group the gate judges (sex, born abroad, age band), from recorded outcomes: the
three ratios by hand, their intervals, and the agency's suppression of any cell about fewer than four persons."""

import pandas as pd
import pytest

from riskrank.monitoring.kpis import fairness_by_group, fairness_by_sex
from tests.monitoring.builders import outcome_rows


def _rows(selection: str, born: bool, band: str, actions: list[int], sex: str = "F") -> list[dict]:
    return [{**r, "born_abroad": born, "age_band": band}
            for r in outcome_rows("barnbidrag", sex, actions, selection=selection)]


def _frame() -> pd.DataFrame:
    rows = (
        # born abroad: model 7 (3 with action), random 5 (1); not born abroad: model 10 (5), random 20 (4)
        _rows("model", True, "30-44", [1, 1, 1, 0, 0, 0, 0]) + _rows("random", True, "30-44", [1, 0, 0, 0, 0])
        + _rows("model", False, "30-44", [1, 1, 1, 1, 0, 0, 0], sex="M") + _rows("model", False, "65+", [0, 0, 1])
        + _rows("random", False, "30-44", [1, 1, 1, 1] + [0] * 12, sex="M") + _rows("random", False, "65+", [0, 0, 0, 0])
        + _rows("random", None, "30-44", [0, 0])  # born abroad unknown: left out of born abroad, kept for age band
    )
    frame = pd.DataFrame(rows)
    return frame.assign(case_id=range(len(frame)))


def _by(rows: list[dict], attribute: str, group: str) -> dict[str, dict]:
    return {r["metric"]: r for r in rows if r["attribute"] == attribute and r["group"] == group}


def test_born_abroad_ratios_by_hand_with_intervals():
    born = _by(fairness_by_group(_frame(), n_boot=500), "born_abroad", "True")
    assert {r["reference"] for r in born.values()} == {"False"}
    assert born["selection_rate"]["ratio"] == pytest.approx((7 / 5) / (10 / 20))
    assert born["fpr"]["ratio"] == pytest.approx((4 / 4) / (5 / 16))
    assert born["precision"]["ratio"] == pytest.approx((3 / 7) / (5 / 10))
    for r in born.values():
        assert not r["suppressed"] and r["low"] < r["ratio"] < r["high"]
    assert (born["selection_rate"]["n_model"], born["selection_rate"]["n_random"]) == (7, 5)
    assert (born["fpr"]["n_model"], born["fpr"]["n_random"]) == (4, 4)


def test_a_ratio_about_fewer_than_four_persons_is_suppressed():
    rows = fairness_by_group(_frame(), n_boot=200)
    old = _by(rows, "age_band", "65+")  # 3 model-selected persons aged 65+: every ratio resting on them
    assert set(old) == {"selection_rate", "fpr", "precision"}
    for r in old.values():
        assert r["suppressed"] and r["ratio"] is None and r["low"] is None and r["n_model"] is None
    # born abroad without action among the random sample: 4 persons, shown; with 3 it would not be
    fewer = _frame().drop(index=[8])  # one random-sample person born abroad without action less
    fpr = _by(fairness_by_group(fewer, n_boot=200), "born_abroad", "True")
    assert fpr["fpr"]["suppressed"] and fpr["fpr"]["ratio"] is None
    assert not fpr["precision"]["suppressed"]  # precision rests on the model's 7 selections only


def test_a_small_reference_suppresses_its_groups_ratios():
    frame = _frame()
    frame = frame[~((frame["born_abroad"] == False) & (frame["selection"] == "model"))]  # noqa: E712
    frame = pd.concat([frame, pd.DataFrame(_rows("model", False, "30-44", [1, 0, 1]))], ignore_index=True)
    born = _by(fairness_by_group(frame.assign(case_id=range(len(frame))), n_boot=200), "born_abroad", "True")
    assert all(r["suppressed"] for r in born.values())  # the reference has 3 model-selected persons


def test_the_precision_ratio_by_sex_is_the_sex_panel_s():
    frame = _frame()
    sex = _by(fairness_by_group(frame, n_boot=200), "sex", "F")
    panel = {r["sex"]: r for r in fairness_by_sex(frame, reference="M")}
    assert sex["precision"]["ratio"] == pytest.approx(panel["F"]["precision_ratio"])
