"""Hand-built outcomes for the monitoring tests."""

from __future__ import annotations

import pandas as pd


def outcome_rows(benefit: str, sex: str | None, actions: list[int], detected: list[float] | None = None,
                 prevented: list[float] | None = None, police: list[int] | None = None, selection: str = "model",
                 closed: str = "2024-03-15", opened: str = "2024-01-10") -> list[dict]:
    n = len(actions)
    detected = detected or [0.0] * n
    prevented = prevented or [0.0] * n
    police = police or [0] * n
    return [
        {
            "benefit": benefit, "sex": sex, "selection": selection, "opened_date": pd.Timestamp(opened),
            "closed_date": pd.Timestamp(closed), "action": bool(a), "detected_sek": float(d), "prevented_sek": float(p),
            "police_report": bool(r),
        }
        for a, d, p, r in zip(actions, detected, prevented, police, strict=True)
    ]


def hand_built_outcomes() -> pd.DataFrame:
    """20 closed investigations: barnbidrag F 5, M 4, unknown sex 2; bostadsbidrag F 3 (a small cell), M 6."""
    rows = (
        outcome_rows("barnbidrag", "F", [1, 1, 1, 0, 0], [1000, 2000, 3000, 0, 0], [500, 0, 0, 0, 0], [1, 0, 0, 0, 0])
        + outcome_rows("barnbidrag", "M", [1, 0, 0, 0], [4000, 0, 0, 0], [0, 0, 0, 100], closed="2024-04-02")
        + outcome_rows("barnbidrag", None, [1, 1], [10000, 0], [0, 0], [1, 1])
        + outcome_rows("bostadsbidrag", "F", [1, 0, 0], [600, 0, 0], selection="random")
        + outcome_rows("bostadsbidrag", "M", [1, 1, 1, 1, 0, 0], [100, 100, 100, 100, 0, 0], police=[1, 0, 0, 0, 0, 0],
                       selection="random", closed="2024-04-20")
    )
    return pd.DataFrame(rows)


def insert_outcomes(engine, frame: pd.DataFrame, recorded_by: str = "tester") -> None:
    """Write an outcomes-like frame into the real `outcomes` table."""
    from datetime import UTC, datetime

    from riskrank.db import ensure_schema, outcomes

    ensure_schema(engine)
    rows = []
    for i, r in enumerate(frame.to_dict(orient="records")):
        rows.append({
            "investigation_id": str(r.get("investigation_id", f"inv-{i}")), "case_id": int(r.get("case_id", 1000 + i)),
            "benefit": r["benefit"], "sex": r["sex"], "selection": r["selection"], "opened_date": r["opened_date"].date(),
            "closed_date": r["closed_date"].date(), "action": bool(r["action"]), "action_type": None,
            "detected_sek": float(r["detected_sek"]), "prevented_sek": float(r["prevented_sek"]),
            "police_report": bool(r["police_report"]), "disagreed_with_score": False, "model_version": r.get("model_version"),
            "score": r.get("score"), "recorded_by": recorded_by, "recorded_at": datetime.now(UTC),
            "born_abroad": None if pd.isna(r.get("born_abroad")) else bool(r["born_abroad"]),
            "age_band": None if pd.isna(r.get("age_band")) else str(r["age_band"]),
        })
    with engine.begin() as conn:
        conn.execute(outcomes.insert(), rows)


def dashboard_outcomes(seed: int = 5) -> pd.DataFrame:
    """A year of outcomes for two benefits with every selection method, both sexes and some unknown sex;
    the model finds more than random, and random-sample scores move up in the last quarter."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    hit = {"model": 0.7, "random": 0.25, "impulse": 0.55, "fk_initiated": 0.45}
    size = {
        "barnbidrag": {"model": 8, "random": 6, "impulse": 5, "fk_initiated": 2},
        "sjukpenning": {"model": 4, "random": 5, "impulse": 2, "fk_initiated": 1},
    }
    counter = 0
    for month in range(1, 13):
        closed = pd.Timestamp(2024, month, 20)
        for benefit, per in size.items():
            for selection, n in per.items():
                for _ in range(n):
                    counter += 1
                    action = rng.random() < (hit[selection] if benefit == "barnbidrag" else hit[selection] * 0.6)
                    score = float(rng.beta(2, 6) + (0.25 if month >= 10 else 0.0))
                    rows.append({
                        "investigation_id": f"inv-{counter}", "case_id": 10_000 + counter, "benefit": benefit,
                        "sex": rng.choice(["F", "M", None], p=[0.5, 0.45, 0.05]), "selection": selection,
                        "opened_date": closed - pd.Timedelta(days=int(rng.integers(10, 120))), "closed_date": closed,
                        "action": bool(action), "detected_sek": float(rng.integers(5, 80) * 1000) if action else 0.0,
                        "prevented_sek": float(rng.integers(0, 50) * 1000) if action else 0.0,
                        "police_report": bool(action and rng.random() < 0.3),
                        "score": min(score, 1.0) if selection in ("model", "random") else None,
                        "model_version": "3" if selection in ("model", "random") else None,
                    })
    frame = pd.DataFrame(rows)
    # The measured groups, from a stream of their own (the figures above stay as they were): the model selects people
    # born abroad about twice as often as the random sample holds them; three persons are aged 65+ (suppressed).
    groups = np.random.default_rng(seed + 1)
    model = (frame["selection"] == "model").to_numpy()
    frame["born_abroad"] = groups.random(len(frame)) < np.where(model, 0.4, 0.2)
    frame["age_band"] = groups.choice(["0-29", "30-44", "45-64"], size=len(frame), p=[0.2, 0.45, 0.35])
    frame.loc[frame.index[frame["selection"] == "model"][:3], "age_band"] = "65+"
    return frame
