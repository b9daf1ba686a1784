"""Benchmark `riskrank simulate`: wall time and peak memory (RSS) per scale, each in a fresh process.

Usage: flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_simulate.py [SCALE ...]
Targets (issue 2): scale 0.2 in under 2 minutes and under 6 GiB peak; scale 1.0 must run.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"
RISKRANK = Path(sys.executable).with_name("riskrank")


def run(scale: float, seed: int = 1) -> dict:
    """One simulate run in a child process; peak RSS read from the child's rusage (wait4)."""
    out = WORK / f"world_{scale:g}"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.Popen([str(RISKRANK), "simulate", "--scale", str(scale), "--seed", str(seed), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"simulate --scale {scale} failed:\n{stderr[-2000:]}")
    meta = json.loads((out / "world.json").read_text())
    size = sum(f.stat().st_size for f in out.iterdir())
    shutil.rmtree(out, ignore_errors=True)
    return {"scale": scale, "seconds": round(seconds, 1), "peak_rss_gib": round(usage.ru_maxrss / 1024**2, 2),
            "disk_mib": round(size / 1024**2, 1), **meta["counts"]}


def main() -> None:
    scales = [float(s) for s in sys.argv[1:]] or [0.05, 0.2]
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"# simulate benchmark, {date.today()}, {os.cpu_count()} cores, {platform.python_version()}")
    print("| scale | seconds | peak RSS GiB | disk MiB | persons | cases | signals | investigations |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scale in scales:
        r = run(scale)
        print(f"| {r['scale']:g} | {r['seconds']} | {r['peak_rss_gib']} | {r['disk_mib']} | {r['persons']:,} | {r['cases']:,} | "
              f"{r['signals']:,} | {r['investigations']:,} |", flush=True)
    assert resource  # noqa: S101 - kept for readers: ru_maxrss is KiB on Linux


if __name__ == "__main__":
    main()
