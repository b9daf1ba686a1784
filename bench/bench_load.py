"""Benchmark: a bounded mixed load on a real `riskrank serve` over loopback.

8 clients (separate processes, keep-alive) for 60 s, each request drawn from a mix: case scores with reasons,
worklists, outcomes for cases from the client's own worklists (and, now and then, the same report again, which
must answer 200 `created: false`). Reports errors (anything but the expected status), throughput, p50/p99 per
kind, and the server's resident memory before and after; afterwards it checks the audit chain and that every
created outcome is stored exactly once.

Reuses the world, model and feature store of bench_serving.py (`--reuse` there builds them once).
Run under the shared lock:  flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_load.py
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serving import WORK, environment, free_port, prepare_world, wait_until_up  # noqa: E402

MIX = (("score", 0.8), ("worklist", 0.1), ("outcome", 0.1))
BENEFITS = ("bostadsbidrag", "sjukpenning", "barnbidrag", "foraldrapenning", "all")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def client(index: int, port: int, token: str, case_ids: list[int], seconds: float, queue: mp.Queue,
           benefits: tuple[str, ...] = BENEFITS, k: int = 20) -> None:
    rng = random.Random(index)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    handed_out: list[int] = []
    sent: list[bytes] = []
    latencies: dict[str, list[float]] = {kind: [] for kind, _ in MIX}
    errors: list[str] = []
    created = 0
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
        expected = {200}
        if kind == "score":
            method, path, body = "GET", f"/v1/cases/{rng.choice(case_ids)}/score?top=5", None
        elif kind == "worklist":
            method, path, expected = "POST", "/v1/worklists", {201}
            body = json.dumps({"benefit": rng.choice(benefits), "k": k, "top": 3}).encode()
        elif sent and rng.random() < 0.2:
            method, path, body = "POST", "/v1/outcomes", rng.choice(sent)  # a retry of an earlier report: 200
        else:
            n += 1
            # A case from this client's worklists (its selection comes from there), else one that came in by impulse;
            # "impulse" is ignored where a worklist handed the case out.
            case_id = handed_out.pop() if handed_out else rng.choice(case_ids)
            report = {"investigation_id": f"load-{index}-{n}", "case_id": case_id, "opened_date": "2025-01-10",
                      "closed_date": "2025-02-20", "action": rng.random() < 0.3, "selection": "impulse"}
            if report["action"]:
                report.update(action_type="reduced", detected_sek=1000.0)
            method, path, body, expected = "POST", "/v1/outcomes", json.dumps(report).encode(), {201}
        start = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{kind}: {type(exc).__name__}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        latencies[kind].append(time.perf_counter() - start)
        if response.status not in expected:
            errors.append(f"{kind}: {response.status} {payload[:200]!r}")
        elif kind == "worklist":
            handed_out.extend(item["case_id"] for item in json.loads(payload)["items"])
        elif kind == "outcome" and response.status == 201:
            created += 1
            sent.append(body)
    conn.close()
    queue.put((latencies, errors, created))


def run_clients(client_args: list[tuple]) -> tuple[list, float]:
    """One client process per argument tuple (client's arguments before the queue, then after it): their results
    and the seconds they took together."""
    queue: mp.Queue = mp.Queue()
    started = time.monotonic()
    procs = [mp.Process(target=client, args=(*head, queue, *tail)) for head, tail in client_args]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return results, time.monotonic() - started


def prepare_load(reuse: bool, scale: float, seed: int) -> tuple[dict[str, str], Any, str, list[int]]:
    """The environment of bench_serving's world (built unless `reuse` finds one), its store with a fresh operational
    history, an investigator's token and 2,000 case ids to ask about."""
    work = WORK
    if not (reuse and (work / "prepared.json").exists()):
        work.mkdir(parents=True, exist_ok=True)
        prepare_world(work, scale, seed)
    env = environment(work)
    os.environ.update(env)
    from riskrank.db import ensure_schema, get_engine
    from riskrank.serving.auth import add_user
    from riskrank.serving.featuresource import default_feature_source

    engine = get_engine(env["RISKRANK_DATABASE_URL"])
    ensure_schema(engine)
    with engine.begin() as conn:  # a fresh operational history for every run; the feature store stays
        for table in ("outcomes", "worklist_items", "worklists", "audit_log", "audit_head"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    token = add_user(engine, f"load-{int(time.time())}", "investigator")
    source = default_feature_source(engine)
    case_ids = [int(c) for c in source.latest_frame()["case_id"].sample(2000, random_state=0)]
    return env, engine, token, case_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--reuse", action="store_true", help="reuse the world, model and store of an earlier run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    env, engine, token, case_ids = prepare_load(args.reuse, args.scale, args.seed)
    import sqlalchemy as sa

    from riskrank.db import outcomes
    from riskrank.serving import audit_chain

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", "from riskrank.cli import main; main()", "serve", "--port", str(port),
                               "--log-level", "warning"], env=env)
    try:
        wait_until_up(port, "/ready", server)
        rss_before = rss_kib(server.pid)
        results, elapsed = run_clients([((i, port, token, case_ids, args.seconds), ()) for i in range(args.clients)])
        rss_after = rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    latencies = {kind: [x for r in results for x in r[0][kind]] for kind, _ in MIX}
    errors = [e for r in results for e in r[1]]
    created = sum(r[2] for r in results)
    total = sum(len(v) for v in latencies.values())
    verification = audit_chain.verify(engine)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar()
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}", "clients": args.clients, "seconds": round(elapsed, 1), "requests": total,
        "errors": len(errors), "error_samples": errors[:5], "throughput_rps": round(total / elapsed, 1),
        "by_kind": {kind: {"n": len(v), "p50_ms": round(float(np.percentile(v, 50)) * 1e3, 1),
                           "p99_ms": round(float(np.percentile(v, 99)) * 1e3, 1)} for kind, v in latencies.items() if v},
        "rss_mib_before": round(rss_before / 1024, 1), "rss_mib_after": round(rss_after / 1024, 1),
        "outcomes_created": created, "outcomes_stored": stored, "audit_entries": verification.entries,
        "audit_chain_ok": verification.ok,
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    if errors or not verification.ok or stored != created:
        sys.exit(1)


if __name__ == "__main__":
    main()
