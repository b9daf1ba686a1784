"""FairGBM fits for bench_yardsticks.py, run in FairGBM's own virtual environment (its bundled LightGBM 3 fork
would clash with the project's LightGBM 4): reads the arrays bench_yardsticks.py wrote, fits one model per FPR
tolerance and writes each model's scores of the evaluation rows. Imports numpy and fairgbm only.

    /tmp/yard-venv/bin/python bench/yardstick_fairgbm.py IN.npz IN.json OUT.npz

The venv: python3.11 -m venv /tmp/yard-venv && /tmp/yard-venv/bin/pip install fairgbm==0.9.14 "scikit-learn<1.6"
(fairgbm 0.9.14's scikit-learn wrapper calls check_X_y(force_all_finite=...), which scikit-learn 1.6 removed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main(data_path: str, spec_path: str, out_path: str) -> None:
    from fairgbm import FairGBMClassifier

    data = np.load(data_path)
    spec = json.loads(Path(spec_path).read_text())
    scores = []
    for tolerance in spec["tolerances"]:
        model = FairGBMClassifier(
            constraint_type="FPR", constraint_fpr_tolerance=tolerance,
            # the operating point: the global FPR and FNR the unconstrained model has at the evaluation's top share,
            # so that the 0.5 threshold at which FairGBM equalises group FPRs is where the agency selects
            global_constraint_type="FPR,FNR", global_target_fpr=spec["target_fpr"], global_target_fnr=spec["target_fnr"],
            multiplier_learning_rate=spec["multiplier_learning_rate"], **spec["params"])
        model.fit(data["X_train"], data["y_train"], constraint_group=data["g_train"],
                  categorical_feature=spec["categorical"])
        scores.append(model.predict_proba(data["X_eval"])[:, 1])
        print(f"fairgbm tolerance {tolerance:g}: fitted", flush=True)
    np.savez(out_path, scores=np.vstack(scores))


if __name__ == "__main__":
    main(*sys.argv[1:4])
