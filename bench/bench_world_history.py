"""The simulated agency (issue 23): are history features stationary over the calibrated years, and what does
each channel of the world's agency find?

Usage: nice -n 10 python bench/bench_world_history.py SCALE [SEED]
Generates one world in this process, then computes the features of every case active on 2022-12-31,
2023-12-31 and 2024-12-31 and prints the PSI of the history features year over year (target under 0.1),
the hit rate (share with action) of closed 2022-2024 investigations per channel, and the content signal's
fitted informativeness per benefit and year (world.json).
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd

from riskrank.features.pipeline import features_as_of
from riskrank.monitoring.drift import psi_numeric
from riskrank.simulation import calibration_report, generate
from riskrank.world import BENEFITS

SNAPSHOTS = ("2022-12-31", "2023-12-31", "2024-12-31")
HISTORY = ("earlier_cases", "days_since_notification", "days_since_notification_this_case",
           "days_since_investigation_closed", "earlier_investigations_closed", "notifications_agency")


def main(scale: float, seed: int) -> None:
    started = time.perf_counter()
    world = generate(scale, seed)
    print(f"simulate {scale:g} seed {seed}: {time.perf_counter() - started:.1f} s, counts {world.meta['counts']}")
    frames = {day: features_as_of(world, day) for day in SNAPSHOTS}
    rows = []
    for feature in HISTORY:
        if feature not in frames[SNAPSHOTS[0]].columns:
            continue
        row = {"feature": feature}
        for a, b in zip(SNAPSHOTS, SNAPSHOTS[1:], strict=False):
            row[f"psi {a[:4]}->{b[:4]}"] = round(psi_numeric(frames[a][feature], frames[b][feature]), 4)
        row["psi 2022->2024"] = round(psi_numeric(frames[SNAPSHOTS[0]][feature], frames[SNAPSHOTS[-1]][feature]), 4)
        for day in SNAPSHOTS:
            row[f"mean {day[:4]}"] = round(float(frames[day][feature].mean()), 2)
        rows.append(row)
    print(pd.DataFrame(rows).to_string(index=False))
    inv = world.investigations
    calibrated = inv[inv["closed_date"].between("2022-01-01", "2024-12-31")]
    hits = calibrated.groupby("selection", observed=True)["action"].agg(["mean", "size"]).round(3)
    print("share with action of closed 2022-2024 investigations, per channel:")
    print(hits.to_string())
    calibration(world)
    if "agency" in world.meta:
        print("content signal informativeness per benefit and year:")
        print(json.dumps(world.meta["agency"].get("informativeness", {}), indent=1))


def calibration(world) -> None:  # noqa: ANN001
    """Per benefit, 2024: closed vs scale x Tabell 74, non-random share with action vs Tabell 75, channel rates."""
    report = calibration_report(world).query("sex == 'total'").set_index(["metric", "benefit"])
    rows = []
    for benefit in BENEFITS:
        closed = report.loc[("closed_investigations", benefit)]
        hit = report.loc[("share_with_action_non_random", benefit)]
        rows.append({"benefit": benefit, "closed": closed["generated"], "closed_pub": round(closed["published"], 1),
                     "hit": round(hit["generated"], 1), "hit_pub": hit["published"],
                     "impulse": round(report.loc[("share_with_action_impulse", benefit), "generated"], 1),
                     "fk": round(report.loc[("share_with_action_fk_initiated", benefit), "generated"], 1),
                     "random": round(report.loc[("share_with_action_random", benefit), "generated"], 1),
                     "informativeness": report.loc[("content_signal_informativeness", benefit), "generated"]})
    table = pd.DataFrame(rows)
    big = table[table["closed"] >= 200]
    print(table.to_string(index=False))
    print(f"benefits with >= 200 closed in 2024: {len(big)}, within 4 pp of Tabell 75: "
          f"{int(((big['hit'] - big['hit_pub']).abs() <= 4).sum())}; volumes within 10 %: "
          f"{int(((table['closed'] - table['closed_pub']).abs() <= 0.1 * table['closed_pub'] + 0.5).sum())}"
          f"/{int((table['closed_pub'] > 0).sum())}")


if __name__ == "__main__":
    main(float(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1)
