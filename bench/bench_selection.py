"""Benchmark: issue 23's targets, as a user meets them, on worlds the model never saw.

For each seed pair (A, B): simulate both at --scale (kept under --worlds for reuse), `riskrank train` on A with
the default options (in process, its own MLflow store), then rank B's active cases not under open investigation
as of 2024-09-30 beside the learnability bound (training/learnability.py, the same code as `riskrank learnability
--version`). From the training run: the model against each channel of A's agency at that channel's capacity on
A's test months (evaluate.channel_metrics). Writes one JSON line per pair.

    nice -n 10 .venv/bin/python bench/bench_selection.py --scale 0.05 --pairs 1:2 3:4 5:6 --worlds /tmp/sel \\
        --out /tmp/sel/selection.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path


def world(folder: Path, scale: float, seed: int) -> Path:
    from riskrank.simulation import generate
    from riskrank.world import write_world

    path = folder / f"w{scale:g}_{seed}"
    if not (path / "world.json").exists():
        write_world(generate(scale, seed), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--pairs", nargs="+", default=["1:2", "3:4", "5:6"])
    parser.add_argument("--worlds", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.worlds.mkdir(parents=True, exist_ok=True)
    for pair in args.pairs:
        a, b = (int(x) for x in pair.split(":"))
        store = args.worlds / f"mlflow_{args.scale:g}_{a}"
        os.environ |= {"RISKRANK_MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db",
                       "RISKRANK_MLFLOW_ARTIFACT_ROOT": str(store / "artifacts"),
                       "RISKRANK_DATABASE_URL": f"sqlite:///{store}/riskrank.db",
                       "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
        store.mkdir(exist_ok=True)
        from riskrank.settings import get_settings

        get_settings.cache_clear()
        from riskrank.model.registry import load_model
        from riskrank.training.learnability import measure
        from riskrank.training.pipeline import TrainOptions, run_training
        from riskrank.world import read_world

        train_dir, holdout_dir = world(args.worlds, args.scale, a), world(args.worlds, args.scale, b)
        started = time.perf_counter()
        outcome = run_training(train_dir, TrainOptions())
        train_s = time.perf_counter() - started
        model = load_model(version=outcome.version)
        result = measure(read_world(train_dir), read_world(holdout_dir), model=model, version=outcome.version)
        m = outcome.metrics
        row = {"scale": args.scale, "train_seed": a, "holdout_seed": b, "train_s": round(train_s, 1),
               "fairness_weight": m.get("fairness_weight"), "calibration_method": model.meta["calibration"]["method"],
               "bound": result.as_dict() | {"model": None}, "model": result.model.__dict__ if result.model else None,
               "channels": {k: v for k, v in m.items() if k.startswith("channel_")},
               "cap_hit_rate": m.get("cap_hit_rate"), "top_share_hit_rate": m.get("top_share_hit_rate"),
               "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        with args.out.open("a") as out:
            out.write(json.dumps(row, default=float) + "\n")
        print(json.dumps(row, default=float), flush=True)


if __name__ == "__main__":
    main()
