"""Benchmark: `riskrank train` (default settings, fairness family included) on a world of some scale, with the time
and peak memory of each stage (issue 23, item 5: scale 1.0 under 30 min and 16 GiB, scale 0.2 under 5 min).

The parent runs the child under `/usr/bin/time -v` (peak RSS of the whole process, as the target reads it); the
child runs `riskrank.training.pipeline.run_training` with the CLI's defaults (what `riskrank train --world W`
runs) and prints one JSON line per step: seconds since start, the process's RSS and its peak so far (VmHWM).
MLflow and the promotion log go to a fresh folder under --work.

    nice -n 10 .venv/bin/python bench/bench_train_scale.py --world /tmp/scale/w02 --work /tmp/scale/run02
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path


def _status_gib(field: str) -> float:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 2**20 if match else float("nan")


def child(world: str, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    os.environ["RISKRANK_MLFLOW_TRACKING_URI"] = f"sqlite:///{work}/mlflow.db"
    os.environ["RISKRANK_MLFLOW_ARTIFACT_ROOT"] = str(work / "artifacts")
    os.environ["RISKRANK_DATABASE_URL"] = f"sqlite:///{work}/riskrank.db"
    from riskrank.settings import get_settings
    from riskrank.training.pipeline import TrainOptions, run_training

    start = time.perf_counter()

    log = (work / "steps.jsonl").open("a")  # to follow a long run as it goes

    def step(text: str) -> None:
        line = json.dumps({"t": round(time.perf_counter() - start, 1), "rss_gib": round(_status_gib("VmRSS"), 2),
                           "peak_gib": round(_status_gib("VmHWM"), 2), "cpu_s": round(time.process_time(), 1),
                           "step": text})
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    outcome = run_training(world, TrainOptions(), settings=get_settings(), step=step)
    step("done")
    keys = ("cap_hit_rate", "cap_selected", "top_share_hit_rate", "n_train", "n_train_unlabelled", "fairness_weight",
            "population_rows", "population_share")
    print(json.dumps({"metrics": {k: outcome.metrics[k] for k in keys if k in outcome.metrics},
                      "trade_off": outcome.fairness.trade_off[["weight", "fit_seconds", "best_iteration"]].to_dict("list")
                      if outcome.fairness is not None else None}), flush=True)


def parent(world: str, work: Path) -> dict:
    cmd = ["/usr/bin/time", "-v", sys.executable, __file__, "--child", "--world", world, "--work", str(work)]
    load = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    steps = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr)
    cpu = [re.search(rf"{kind} time \(seconds\): (\S+)", proc.stderr) for kind in ("User", "System")]
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
    return {"world": world, "started": started, "load_average_at_start": [round(x, 2) for x in load],
            "machine": f"{platform.node()} {os.cpu_count()} cores", "returncode": proc.returncode,
            "wall": wall.group(1) if wall else None,
            "cpu_s": sum(float(c.group(1)) for c in cpu if c), "peak_gib": round(int(peak.group(1)) / 2**20, 2) if peak else None,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()], "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--world", required=True)
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.world, args.work)
    print(json.dumps(parent(args.world, args.work), indent=1))


if __name__ == "__main__":
    main()
