"""Benchmark: features of every active case as of one date, pandas engine against Dask LocalCluster.

    flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_features.py --world /tmp/bench-world-0.2 --as-of 2024-06-30

Each measurement runs in a fresh child process so that its peak memory (VmHWM) is its own. Reported:
reading the world, computing the features, and the total, plus the driver process's peak memory (the
Dask workers' memory is in their own processes and is reported from the cluster's worker metrics).
Also times the training-style keys: every investigation as of the day it opened.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path


def _peak_rss_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


def bench_store(frame, as_of: str, url: str) -> dict:  # noqa: ANN001
    """Write the snapshot into the feature store at `url`, read it back whole, and time single-case lookups."""
    import numpy as np

    from riskrank.db import get_engine
    from riskrank.features.store import FeatureStore

    store = FeatureStore(get_engine(url))
    t0 = time.perf_counter()
    store.write(frame, as_of)
    t1 = time.perf_counter()
    back = store.latest_frame()
    t2 = time.perf_counter()
    ids = np.random.default_rng(0).choice(frame["case_id"].to_numpy(), 1000)
    for case_id in ids:
        store.get(int(case_id))
    t3 = time.perf_counter()
    return {"store_write_s": round(t1 - t0, 1), "store_latest_frame_s": round(t2 - t1, 1), "store_rows": len(back),
            "store_get_ms": round((t3 - t2) / len(ids) * 1000, 2)}


def run_one(world_dir: str, as_of: str, engine: str, keys: str, store_url: str | None = None) -> dict:
    import pandas as pd

    from riskrank.features.pipeline import compute_features, features_as_of
    from riskrank.world import read_world

    t0 = time.perf_counter()
    world = read_world(world_dir, with_truth=False)
    t1 = time.perf_counter()
    result: dict = {"engine": engine, "keys": keys, "signals": len(world.signals), "cases": len(world.cases)}
    client = cluster = None
    if engine == "dask":
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
        client = Client(cluster)
    t2 = time.perf_counter()
    if keys == "active":
        frame = features_as_of(world, as_of, engine=engine, client=client)
    else:
        inv = world.investigations
        key_frame = pd.DataFrame({"case_id": inv["case_id"].to_numpy(), "as_of": inv["opened_date"].to_numpy()})
        result["distinct_dates"] = int(key_frame["as_of"].nunique())
        frame = compute_features(world, key_frame, engine=engine, client=client)
    t3 = time.perf_counter()
    if client is not None:
        workers = client.run(_peak_rss_gib)
        result["worker_peak_gib"] = round(max(workers.values()), 2)
        client.close()
        cluster.close()
    result.update({
        "rows": len(frame), "read_s": round(t1 - t0, 1), "cluster_start_s": round(t2 - t1, 1),
        "compute_s": round(t3 - t2, 1), "total_s": round(t3 - t0, 1), "peak_gib": round(_peak_rss_gib(), 2),
    })
    if store_url and keys == "active":
        result.update(bench_store(frame, as_of, store_url))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", required=True)
    parser.add_argument("--as-of", default="2024-06-30")
    parser.add_argument("--engines", default="pandas,dask")
    parser.add_argument("--keys", default="active,investigations")
    parser.add_argument("--store-url", default=None, help="Also time the feature store at this URL (written to).")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.world, args.as_of, args.engines, args.keys, args.store_url)))
        return
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, python {platform.python_version()}")
    for keys in args.keys.split(","):
        for engine in args.engines.split(","):
            command = [sys.executable, __file__, "--world", args.world, "--as-of", args.as_of, "--engines", engine,
                       "--keys", keys, "--one"] + (["--store-url", args.store_url] if args.store_url else [])
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{engine}/{keys} failed:\n{done.stderr[-3000:]}")
                continue
            print(done.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
