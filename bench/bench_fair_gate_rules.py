"""Gate rules compared offline on bench_fair_gate.py's members: which rule's passed models stay in band unseen.

A rule reads a member's ratios on its training world (capacity within benefits, and the top 1 % overall for sex
and born abroad) and passes or refuses it; the family's choice under a rule is the passing member most accurate at
capacity. Judged on the unseen world: the chosen member's ratios for sex and born abroad (selection rate, FPR,
precision) in the top 1 % and at capacity within benefits, point estimates within 0.8-1.25.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from riskrank.fairness.gate import fairness_gate, has_power
from riskrank.fairness.measure import GroupRatio
from riskrank.fairness.policy import FAIR_HIGH, FAIR_LOW, JUDGED_SCOPE, MIN_SUPPORT, OVERALL

ATTRIBUTES = ("sex", "born_abroad")


def as_ratios(rows: list[dict]) -> list[GroupRatio]:
    return [GroupRatio(**{k: v for k, v in r.items() if k != "key"}) for r in rows]


def judged(ratios: list[GroupRatio], scope: str, attributes=None) -> list[GroupRatio]:
    return [r for r in ratios if r.scope == scope and r.support >= MIN_SUPPORT and np.isfinite(r.ratio)
            and (attributes is None or r.attribute in attributes)]


def outside(r: GroupRatio) -> bool:
    return not FAIR_LOW <= r.ratio <= FAIR_HIGH


def beyond_noise(r: GroupRatio) -> bool:
    return outside(r) and not r.gate_low <= 1 <= r.gate_high


def interval(r: GroupRatio, level: float) -> tuple[float, float]:
    """An interval at `level` read off the gate's (GATE_LEVEL) interval on the log scale, centred on the point."""
    from riskrank.fairness.policy import GATE_LEVEL

    z_gate = NormalDist().inv_cdf(1 - (1 - GATE_LEVEL) / 2)
    se = (np.log(r.gate_high) - np.log(r.gate_low)) / (2 * z_gate) if r.gate_low > 0 else np.inf
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    return float(r.ratio * np.exp(-z * se)), float(r.ratio * np.exp(z * se))


def scopes(member: dict) -> list[GroupRatio]:
    tw = member["training_world"]
    return judged(as_ratios(tw["cap"]), JUDGED_SCOPE) + judged(as_ratios(tw["top"]), OVERALL, ATTRIBUTES)


def rule_today(member: dict) -> bool:
    return fairness_gate(as_ratios(member["training_world"]["cap"])).passed


def rule_deeper_beyond_noise(member: dict) -> bool:
    return not any(beyond_noise(r) for r in scopes(member))


def rule_band_binds(member: dict) -> bool:
    """Refused where a ratio is outside the band beyond noise, or outside it with the power to judge."""
    return not any(beyond_noise(r) or (outside(r) and has_power(r)) for r in scopes(member))


def rule_band_binds_top_only(member: dict) -> bool:
    tw = member["training_world"]
    top = judged(as_ratios(tw["top"]), OVERALL, ATTRIBUTES)
    cap = judged(as_ratios(tw["cap"]), JUDGED_SCOPE)
    return not any(beyond_noise(r) for r in cap) and not any(beyond_noise(r) or (outside(r) and has_power(r)) for r in top)


def equivalence(level: float) -> Callable[[dict], bool]:
    def rule(member: dict) -> bool:
        for r in scopes(member):
            low, high = interval(r, level)
            if beyond_noise(r) or (has_power(r) and not (low >= FAIR_LOW and high <= FAIR_HIGH)):
                return False
        return True
    rule.__name__ = f"equivalence_{level:g}"
    return rule


RULES: dict[str, Callable[[dict], bool]] = {
    "today: within-benefit capacity, beyond noise": rule_today,
    "+ top 1 % beyond noise": rule_deeper_beyond_noise,
    "band binds where powered (capacity and top 1 %)": rule_band_binds,
    "band binds where powered, top 1 % only": rule_band_binds_top_only,
    "90 % interval within band where powered": equivalence(0.90),
    "80 % interval within band where powered": equivalence(0.80),
}


def unseen_in_band(member: dict) -> dict[str, bool]:
    uw = member["unseen_world"]
    top = judged(as_ratios(uw["top"]), OVERALL, ATTRIBUTES)
    cap = judged(as_ratios(uw["cap"]), JUDGED_SCOPE, ATTRIBUTES)
    return {"top": not any(outside(r) for r in top), "cap": not any(outside(r) for r in cap)}


def worst(ratios: list[GroupRatio]) -> str:
    r = max(ratios, key=lambda r: abs(np.log(r.ratio)), default=None)
    return f"{r.attribute} {r.metric} {r.ratio:.2f}" if r else ""


def compare(path: Path) -> pd.DataFrame:
    members = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = []
    for (train, holdout), family in pd.DataFrame(members).groupby(["train", "holdout"], sort=False):
        family = family.to_dict(orient="records")
        base = next(m for m in family if m["weight"] == 0)
        for name, rule in RULES.items():
            passing = [m for m in family if rule(m)]
            chosen = max(passing, key=lambda m: (m["training_world"]["cap_hit_rate"], -m["weight"])) if passing else None
            row = {"pair": f"{Path(train).name}->{Path(holdout).name}", "rule": name, "passed": len(passing),
                   "chosen": chosen["weight"] if chosen else None}
            if chosen:
                band = unseen_in_band(chosen)
                uw, bw = chosen["unseen_world"], base["unseen_world"]
                row |= {"unseen_top_in_band": band["top"], "unseen_cap_in_band": band["cap"],
                        "top_hit_vs_w0": uw["top_hit_rate"] / bw["top_hit_rate"],
                        "cap_hit_vs_w0": uw["cap_hit_rate"] / bw["cap_hit_rate"],
                        "unseen_worst_top": worst(judged(as_ratios(uw["top"]), OVERALL, ATTRIBUTES))}
            rows.append(row)
        for m in family:  # the family itself on the unseen world: the frontier a rule can reach
            band = unseen_in_band(m)
            rows.append({"pair": f"{Path(train).name}->{Path(holdout).name}", "rule": f"member w {m['weight']:g}",
                         "chosen": m["weight"], "unseen_top_in_band": band["top"], "unseen_cap_in_band": band["cap"],
                         "top_hit_vs_w0": m["unseen_world"]["top_hit_rate"] / base["unseen_world"]["top_hit_rate"],
                         "cap_hit_vs_w0": m["unseen_world"]["cap_hit_rate"] / base["unseen_world"]["cap_hit_rate"],
                         "unseen_worst_top": worst(judged(as_ratios(m["unseen_world"]["top"]), OVERALL, ATTRIBUTES)),
                         "train_worst_top": worst(judged(as_ratios(m["training_world"]["top"]), OVERALL, ATTRIBUTES))})
    frame = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_rows", 500):
        print(frame.round(3).to_string(index=False))
    return frame
