"""Benchmark: `riskrank score-all` (time, peak memory), batch scoring rate, and the server's start from its scores.

Each command runs in a fresh child process; peak memory is the child's maximum resident set size (wait4 rusage,
children of the child included only for Dask workers, which are reported by Dask itself, not here).
  1. `riskrank score-all --world W --as-of D` into an empty operational store (features computed and stored);
  2. the same again into that store: a new run that reads the stored features back instead of computing them;
  3. `riskrank serve` on that store: seconds until /ready answers 200, and the server's resident memory then;
  4. batch scoring rate of the champion (ScoringModel.predict on prepared rows of every active case) in-process;
  5. the snapshot a model swap builds, in-process: from the nightly run, and from the feature store (a version
     without a run yet), with the time and the memory it adds.
The champion comes from the MLflow store of bench/bench_serving.py (run it first), or --tracking-uri.

  flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_score_all.py --world /tmp/bench-world-0.2 --as-of 2024-06-30
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work" / "score_all"
SERVING_MLFLOW = ROOT / "bench" / "_work" / "serving" / "mlflow.db"


def run_child(command: list[str], env: dict[str, str]) -> dict:
    t0 = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - t0
    output = process.stdout.read() if process.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output[-3000:]}")
    return {"seconds": seconds, "peak_gib": usage.ru_maxrss / 2**20, "output": output.strip().splitlines()[-1:]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_server_start(env: dict[str, str]) -> dict:
    port = free_port()
    t0 = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", "from riskrank.cli import main; main()", "serve", "--port", str(port),
                                "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError("riskrank serve exited")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/ready")
                response = conn.getresponse()
                body = json.loads(response.read())
                if response.status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        ready_s = time.perf_counter() - t0
        rss = int(Path(f"/proc/{process.pid}/status").read_text().split("VmRSS:")[1].split()[0]) / 2**20
        return {"ready_seconds": ready_s, "rss_gib_when_ready": rss, "scores": body.get("scores")}
    finally:
        process.terminate()
        process.wait(timeout=30)


def batch_rate(env: dict[str, str], repeats: int = 3) -> dict:
    from riskrank.batch import score_store
    from riskrank.db import get_engine
    from riskrank.features.store import FeatureStore
    from riskrank.model.registry import load_model

    model = load_model(tracking_uri=env["RISKRANK_MLFLOW_TRACKING_URI"])
    engine = get_engine(env["RISKRANK_DATABASE_URL"])
    run = score_store.latest_run(engine)
    assert run is not None
    frames = list(FeatureStore(engine).frames(run.as_of))
    t0 = time.perf_counter()
    X = np.vstack([model.prepare_array(f) for f in frames])
    prepare_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.predict(X)
        times.append(time.perf_counter() - t0)
    best, median = min(times), float(np.median(times))
    return {"rows": len(X), "trees": int(model.booster.num_trees()), "features": X.shape[1],
            "predict_seconds_median": median, "cases_per_second_median": len(X) / median,
            "cases_per_second_best": len(X) / best, "prepare_seconds": prepare_s}


def swap_cost(env: dict[str, str]) -> dict:
    import gc

    from riskrank.batch import score_store
    from riskrank.db import get_engine
    from riskrank.features.store import FeatureStore
    from riskrank.model.registry import load_model
    from riskrank.serving.snapshot import from_features, from_run

    def rss_gib() -> float:
        return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 2**20

    model = load_model(tracking_uri=env["RISKRANK_MLFLOW_TRACKING_URI"])
    engine = get_engine(env["RISKRANK_DATABASE_URL"])
    run = score_store.latest_run(engine)
    assert run is not None
    out = {}
    for name, build in (("from_run", lambda: from_run(model, *score_store.load_scores(engine, run), None)),
                        ("from_feature_store", lambda: from_features(model, FeatureStore(engine), run.as_of))):
        gc.collect()
        before = rss_gib()
        t0 = time.perf_counter()
        snapshot = build()
        out[name] = {"seconds": time.perf_counter() - t0, "rss_added_gib": rss_gib() - before, "cases": len(snapshot.case_ids)}
        del snapshot
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=Path, required=True, help="a world folder (riskrank simulate --out)")
    parser.add_argument("--as-of", default="2024-06-30")
    parser.add_argument("--engine", default="pandas")
    parser.add_argument("--tracking-uri", default=f"sqlite:///{SERVING_MLFLOW}")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--work", type=Path, default=WORK,
                        help="folder for the operational store (emptied first; several GiB at scale 1.0)")
    args = parser.parse_args()

    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "RISKRANK_DATABASE_URL": f"sqlite:///{work / 'ops.db'}",
           "RISKRANK_MLFLOW_TRACKING_URI": args.tracking_uri, "RISKRANK_PSEUDONYM_KEY": "bench-key",
           "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    command = [str(Path(sys.executable).parent / "riskrank"), "score-all", "--world", str(args.world), "--as-of", args.as_of,
               "--engine", args.engine]
    print("score-all, features computed", flush=True)
    computed = run_child(command, env)
    print(computed, flush=True)
    print("score-all, features read back from the store", flush=True)
    reused = run_child(command, env)
    print(reused, flush=True)
    print("server start", flush=True)
    server = time_server_start(env)
    print(server, flush=True)
    print("batch scoring rate", flush=True)
    rate = batch_rate(env)
    print(rate, flush=True)
    print("swap snapshots", flush=True)
    swap = swap_cost(env)
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "world": str(args.world), "world_meta": json.loads((args.world / "world.json").read_text()),
        "as_of": args.as_of, "engine": args.engine, "score_all_computed": computed, "score_all_reused": reused,
        "server": server, "batch": rate, "swap": swap,
        "bench_process_peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "ops_db_gib": (work / "ops.db").stat().st_size / 2**30,
    }
    print(json.dumps(summary, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
