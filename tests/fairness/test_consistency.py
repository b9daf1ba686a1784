"""Training's fairness module, the audit, the dashboard and the Excel sheet give the same precision ratio for the
same data: the one ratio all four claim to measure (share with action among model-selected cases, F over M)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.monitoring.builders import outcome_rows

EXPECTED = (6 / 8) / (5 / 10)


def _outcomes() -> pd.DataFrame:
    rows = (outcome_rows("barnbidrag", "F", [1] * 6 + [0] * 2) + outcome_rows("barnbidrag", "M", [1] * 5 + [0] * 5)
            + outcome_rows("barnbidrag", "F", [1, 0, 0, 0, 0], selection="random")
            + outcome_rows("barnbidrag", "M", [1, 0, 0, 0, 0, 0, 0], selection="random"))
    return pd.DataFrame(rows)


def test_training_audit_dashboard_and_excel_agree_on_the_precision_ratio() -> None:
    from riskrank.fairness.audit import audit_selections
    from riskrank.fairness.measure import group_ratios
    from riskrank.fairness.policy import SENSITIVE_REFERENCES
    from riskrank.monitoring.dashboard_data import dashboard_payload
    from riskrank.monitoring.report import build_workbook

    frame = _outcomes()
    labelled = pd.DataFrame({"sex": frame["sex"], "selected": (frame["selection"] == "model").astype(int),
                             "label": frame["action"].astype(int)})
    training = {r.metric: r.ratio for r in group_ratios(labelled, "sex", reference=SENSITIVE_REFERENCES["sex"], n_boot=10)}

    audit_table = labelled.rename(columns={"label": "outcome"}).astype(str)
    fully = {r["group"]: r for r in audit_selections(audit_table, ["sex"], selected_col="selected", n_boot=0).records}
    sampled_table = pd.DataFrame({"selection": frame["selection"], "outcome": frame["action"].astype(int).astype(str),
                                  "sex": frame["sex"]})
    sampled = {r["group"]: r for r in audit_selections(sampled_table, ["sex"], 1000, n_boot=0).records}

    payload = dashboard_payload(frame, None, ["barnbidrag"], 1000.0)
    dashboard = {r["sex"]: r for r in payload["fairness"]}

    sheet = build_workbook(frame, frame, 1000.0, "test", lang="en")["Fairness"]
    header = [c.value for c in sheet[2]]  # row 1 is the legend
    excel = {row[1]: row[header.index("Precision ratio to reference")] for row in sheet.iter_rows(min_row=3, values_only=True)
             if row[0] == "Total"}

    assert training["precision"] == pytest.approx(EXPECTED)
    assert fully["F"]["precision_ratio"] == pytest.approx(EXPECTED)
    assert sampled["F"]["precision_ratio"] == pytest.approx(EXPECTED)
    assert dashboard["F"]["precision_ratio"] == pytest.approx(EXPECTED) and dashboard["M"]["reference"]
    assert excel["Women"] == pytest.approx(EXPECTED)
    # the selection rate of the fully labelled table is the gate's selection rate too
    assert fully["F"]["selection_rate_ratio"] == pytest.approx(training["selection_rate"])
    assert fully["F"]["fpr_ratio"] == pytest.approx(training["fpr"])
    assert "not measure" in payload["fairness_note"]
