"""Diagnostic (issue 25, item 3): does the hand-off between the event loop and the audit writer thread cost the
not-ranked case route its CPU? Serves `GET /v1/cases/{id}/score?top=5` on cases the nightly run did not rank, one
server at a time from this tree, in variants that differ only in how the score route's audit append is done:
  - `writer`: as shipped, riskrank/serving/audit_writer.py's group-commit thread (requests await its futures);
  - `writer-switch`: the same with `sys.setswitchinterval(0.0002)` (a thread waiting for the GIL asks for it
    after 0.2 ms instead of 5 ms);
  - `sync`: append_many of one entry on the event loop, no thread;
  - `loop-batch`: entries queued on the loop and committed together by one `loop.call_soon` callback (group
    commit without a thread).
The variants are monkeypatches in the server's `python -c` (nothing in riskrank changes). wrk at 1 connection and at
8, with the server's CPU per request and each thread's (psutil), so the loop thread's share is seen.

Reuses bench/bench_serving.py's world (run that first, or its `prepare_world`).
Run:  .venv/bin/python bench/bench_audit_handoff.py [--seconds 8] [VARIANT ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import psutil
from bench_serving import WORK, add_user, environment, free_port, measure_wrk, requests_for, sample_frame, wait_until_up

_SYNC = """
import asyncio
from riskrank.serving import audit_writer as aw
from riskrank.serving.audit_chain import Fields, append_many
def _sync(self, **f):
    fut = asyncio.get_running_loop().create_future()
    fut.set_result(append_many(self._engine, [Fields.of(**f)])[0]); return fut
aw.GroupWriter.append_async = _sync
"""
_LOOP_BATCH = """
import asyncio
from riskrank.serving import audit_writer as aw
from riskrank.serving.audit_chain import Fields, append_many
_pending = []
def _flush(engine):
    batch = _pending[:]; _pending.clear()
    try:
        entries = append_many(engine, [f for f, _ in batch])
    except Exception as e:
        for _, fut in batch:
            fut.done() or fut.set_exception(e)
        return
    for (_, fut), e in zip(batch, entries):
        fut.done() or fut.set_result(e)
def _lb(self, **f):
    loop = asyncio.get_running_loop(); fut = loop.create_future()
    if not _pending:
        loop.call_soon(_flush, self._engine)
    _pending.append((Fields.of(**f), fut)); return fut
aw.GroupWriter.append_async = _lb
"""
VARIANTS = {"writer": "", "writer-switch": "import sys; sys.setswitchinterval(0.0002)\n", "sync": _SYNC,
            "loop-batch": _LOOP_BATCH}


def thread_cpu(pid: int) -> dict[int, float]:
    return {t.id: t.user_time + t.system_time for t in psutil.Process(pid).threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", help=f"some of {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    env = environment(WORK)
    ids = sample_frame(WORK, 500, ranked=False)["case_id"].astype(int).tolist()
    token = add_user(WORK)
    cells = []
    for name in args.variants or list(VARIANTS):
        port = free_port()
        with open(WORK / f"handoff-{name}.log", "w") as log:
            code = VARIANTS[name] + "from riskrank.cli import main; main()"
            server = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port), "--log-level", "warning"],
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_until_up(port, "/ready", server)
                requests = requests_for("riskrank", port, token, ids, [])
                measure_wrk(name, port, requests, 2, 8, WORK, server.pid)  # warm-up
                before = thread_cpu(server.pid)
                cell = measure_wrk(name, port, requests, args.seconds, 8, WORK, server.pid)
                after = thread_cpu(server.pid)
                n = cell["single_requests"] + cell["concurrent_requests"]
                cell["threads_cpu_ms_per_request"] = sorted(
                    (round(1000 * (v - before.get(k, 0.0)) / n, 3) for k, v in after.items()), reverse=True)[:3]
                cells.append(cell)
                print(json.dumps(cell), flush=True)
            finally:
                server.terminate()
                server.wait(30)
    for c in cells:
        print(f"{c['target']:14s} p50/1 {c['single_p50_ms']:.2f} cpu/1 {c['single_server_cpu_ms']:.2f} | rps/8 "
              f"{c['concurrent_rps']:.0f} p50/8 {c['concurrent_p50_ms']:.2f} p99/8 {c['concurrent_p99_ms']:.1f} cpu/8 "
              f"{c['concurrent_server_cpu_ms']:.2f} | threads {c['threads_cpu_ms_per_request']} | "
              f"load {c['single_load_avg']:.1f}")


if __name__ == "__main__":
    main()
