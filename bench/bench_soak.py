"""Soak: bench_load.py's mixed load (80 % scores, 10 % worklists, 10 % outcomes) at 8 clients on one `riskrank serve`
for 10 minutes, reporting every minute the server's resident memory, throughput, errors and p50/p99 of that minute.

A growing resident memory from minute to minute (after the first, which warms caches) is a leak; a p99 that climbs
with the audit log's length is a query that scans it. At the end the audit chain must verify and every created
outcome be stored once. Each minute runs fresh client processes (their investigation ids never repeat); the server
and its store stay the same throughout.

    flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_soak.py --reuse            # the 10-minute soak
    flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_soak.py --reuse --minutes 2  # a short check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import MIX, prepare_load, rss_kib, run_clients  # noqa: E402
from bench_serving import free_port, wait_until_up  # noqa: E402

# A worklist puts its cases under open investigation until an outcome closes them, and new outcomes are about 0.8
# of worklists: with bench_load's k = 20 (or k = 2) the load runs a benefit out of active cases within minutes and
# every later worklist for it answers 422. One case per worklist, for benefits with many cases, lasts 10 minutes.
K = 1
MIN_CASES = 1000


def one_minute(minute: int, port: int, token: str, case_ids: list[int], benefits: tuple[str, ...], clients: int,
               seconds: float) -> dict:
    results, elapsed = run_clients([((minute * clients + i, port, token, case_ids, seconds), (benefits, K))
                                    for i in range(clients)])
    every = [x for r in results for kind, _ in MIX for x in r[0][kind]]
    errors = [e for r in results for e in r[1]]
    return {
        "minute": minute + 1, "requests": len(every), "rps": round(len(every) / elapsed, 1), "errors": len(errors),
        "error_kinds": dict(Counter(e.split(" b'")[0] for e in errors)), "error_samples": errors[:2],
        "p50_ms": round(float(np.percentile(every, 50)) * 1e3, 1), "p99_ms": round(float(np.percentile(every, 99)) * 1e3, 1),
        "score_p99_ms": round(float(np.percentile([x for r in results for x in r[0]["score"]], 99)) * 1e3, 1),
        "created": sum(r[2] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="reuse the world, model and store of an earlier run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    env, engine, token, case_ids = prepare_load(args.reuse, args.scale, args.seed)
    import sqlalchemy as sa

    from riskrank.db import outcomes
    from riskrank.serving import audit_chain
    from riskrank.serving.featuresource import default_feature_source

    counts = default_feature_source(engine).latest_frame()["benefit"].astype(str).value_counts()
    benefits = (*sorted(counts.index[counts >= MIN_CASES]), "all")

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", "from riskrank.cli import main; main()", "serve", "--port", str(port),
                               "--log-level", "warning"], env=env)
    minutes = []
    try:
        wait_until_up(port, "/ready", server)
        rss_start = round(rss_kib(server.pid) / 1024, 1)
        print(json.dumps({"rss_mib_at_start": rss_start}), flush=True)
        for minute in range(args.minutes):
            row = one_minute(minute, port, token, case_ids, benefits, args.clients, 60.0)
            row["rss_mib"] = round(rss_kib(server.pid) / 1024, 1)
            minutes.append(row)
            print(json.dumps(row), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)

    verification = audit_chain.verify(engine)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar()
    created = sum(m["created"] for m in minutes)
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}", "database": env["RISKRANK_DATABASE_URL"].split(":", 1)[0],
        "clients": args.clients, "worklist_k": K, "benefits": benefits, "minutes": minutes, "rss_mib_at_start": rss_start,
        "errors": sum(m["errors"] for m in minutes), "outcomes_created": created, "outcomes_stored": stored,
        "audit_entries": verification.entries, "audit_chain_ok": verification.ok,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "minutes"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    if summary["errors"] or not verification.ok or stored != created:
        sys.exit(1)


if __name__ == "__main__":
    main()
