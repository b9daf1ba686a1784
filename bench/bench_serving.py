"""Benchmark: GET /v1/cases/{id}/score (score + SHAP reasons + audit entry) against `mlflow models serve` of the same
registered model version (models:/riskrank@champion).

Builds a world, trains and registers a model with the real training code, runs the nightly `score-all` (features
and scores into the operational store, explanations for each benefit's top 2 %), then starts both servers (one
worker each) and measures, in one run and with the same client, `--repeats` times:
  - latency for one connection (p50, p99), sequential keep-alive requests over different cases;
  - throughput and latency with 8 concurrent keep-alive connections, for a fixed time (`--seconds` per cell);
  - with `--client wrk` (the default; Debian's `wrk` package, compiled), the server's CPU time per request too,
    which a loaded machine disturbs less than wall time.
riskrank is measured on ranked cases (top 2 %, explanations stored by the nightly run: what investigators open from
worklists) and on cases the run did not rank (explained on request from the feature store); `--baseline DIR` also
serves riskrank from another source tree (e.g. `git archive <commit> riskrank`) on the not-ranked cases.
MLflow's server gets the same ranked cases' model inputs as a one-row `dataframe_split` and returns only the score.
Finally the audit append alone (direct, and through the group-commit writer the score routes use; the same
database) is timed in-process, to show its share of the latency.

Run under the shared lock:  flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_serving.py
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work" / "serving"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        # `mlflow models serve --env-manager local` execs `uvicorn` from PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "RISKRANK_DATABASE_URL": f"sqlite:///{work / 'ops.db'}",
        "RISKRANK_MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
        "RISKRANK_MLFLOW_ARTIFACT_ROOT": str(work / "artifacts"),
        "RISKRANK_PSEUDONYM_KEY": "bench-key",
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }


def prepare_world(work: Path, scale: float, seed: int) -> None:
    """World -> trained, registered champion -> nightly scores (and features) as of the world's last month."""
    import pandas as pd

    from riskrank.batch.score_all import score_all
    from riskrank.db import get_engine
    from riskrank.model import registry
    from riskrank.model.registry import load_model
    from riskrank.settings import Settings
    from riskrank.simulation import generate
    from riskrank.training.pipeline import TrainOptions, run_training
    from riskrank.world import write_world
    from riskrank.world_blocks import open_world

    env = environment(work)
    settings = Settings(
        database_url=env["RISKRANK_DATABASE_URL"], mlflow_tracking_uri=env["RISKRANK_MLFLOW_TRACKING_URI"],
        mlflow_artifact_root=env["RISKRANK_MLFLOW_ARTIFACT_ROOT"],
    )
    print(f"generating a world at scale {scale}", flush=True)
    world = generate(scale, seed)
    write_world(world, work / "world")
    print("training", flush=True)
    outcome = run_training(work / "world", TrainOptions(n_eval_dates=1, n_boot=20), settings)
    registry.client(settings).set_registered_model_alias(settings.model_name, registry.CHAMPION, str(outcome.version))
    print("nightly scores", flush=True)
    model = load_model(alias=registry.CHAMPION, tracking_uri=settings.mlflow_tracking_uri)
    result = score_all(get_engine(settings.database_url), model, open_world(work / "world"), pd.Timestamp("2024-12-01"))
    (work / "prepared.json").write_text(json.dumps({"scale": scale, "seed": seed, "cases_scored": result.run.cases,
                                                    "cases_with_stored_reasons": result.explained,
                                                    "investigations": int(len(world.investigations))}))


def sample_frame(work: Path, n: int, ranked: bool | None):
    """n cases of the nightly run: ranked (explanations stored), not ranked (explained on request) or any (None),
    with their stored features."""
    import pandas as pd
    import sqlalchemy as sa

    from riskrank.batch import score_store
    from riskrank.db import get_engine
    from riskrank.features.store import FeatureStore

    engine = get_engine(environment(work)["RISKRANK_DATABASE_URL"])
    run = score_store.latest_run(engine)
    query = sa.select(score_store.case_scores.c.case_id).where(score_store.case_scores.c.run_id == run.run_id)
    if ranked is not None:
        stored = score_store.case_scores.c.explanation
        query = query.where(stored.is_not(None) if ranked else stored.is_(None))
    with engine.connect() as conn:
        ids = pd.Series(conn.execute(query).scalars().all())
    chosen = ids.sample(min(n, len(ids)), random_state=0).to_numpy()
    return pd.concat(FeatureStore(engine).frames(run.as_of, case_ids=chosen)).sample(frac=1.0, random_state=1)


def model_inputs_as_json_types(model, frame):
    """The model inputs as a JSON client sends them: categoricals as strings."""
    X = model.prepare(frame)
    for name in model.categories:
        X[name] = X[name].astype(object)
    return X


def add_user(work: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "from riskrank.cli import main; main()", "users", "add", f"bench-{time.time_ns()}", "--role",
         "investigator"], env=environment(work), capture_output=True, text=True, check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def wait_until_up(port: int, path: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server on {port} did not become ready")


def requests_for(target: str, port: int, token: str, case_ids: list[int], rows: list[dict]) -> list[tuple[str, str, bytes, dict]]:
    if target == "riskrank":
        headers = {"Authorization": f"Bearer {token}"}
        return [("GET", f"/v1/cases/{c}/score?top=5", b"", headers) for c in case_ids]
    headers = {"Content-Type": "application/json"}
    return [("POST", "/invocations", json.dumps({"dataframe_split": row}).encode(), headers) for row in rows]


def run_client(port: int, requests: list, seconds: float | None, count: int | None, queue: mp.Queue | None = None) -> tuple:
    """Keep-alive requests in a loop; returns (done, errors, latencies in seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, errors, i = [], 0, 0
    end = time.perf_counter() + seconds if seconds else None
    while (count is None or i < count) and (end is None or time.perf_counter() < end):
        method, path, body, headers = requests[i % len(requests)]
        t0 = time.perf_counter()
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - t0)
        errors += response.status != 200
        i += 1
    conn.close()
    result = (i, errors, latencies)
    if queue is not None:
        queue.put(result)
    return result


def measure(target: str, port: int, requests: list, n_single: int, seconds: float, clients: int) -> dict:
    run_client(port, requests, None, 200)  # warm-up
    _, errors, lat = run_client(port, requests, None, n_single)
    lat_ms = np.array(lat) * 1000
    queue: mp.Queue = mp.Queue()
    procs = [mp.Process(target=run_client, args=(port, requests[i::clients] or requests, seconds, None, queue))
             for i in range(clients)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    conc_lat = np.concatenate([np.array(r[2]) for r in results]) * 1000
    return {
        "target": target,
        "single_p50_ms": float(np.percentile(lat_ms, 50)),
        "single_p99_ms": float(np.percentile(lat_ms, 99)),
        "single_mean_ms": float(lat_ms.mean()),
        "single_errors": errors,
        "concurrent_rps": done / elapsed,
        "concurrent_p50_ms": float(np.percentile(conc_lat, 50)),
        "concurrent_p99_ms": float(np.percentile(conc_lat, 99)),
        "concurrent_errors": sum(r[1] for r in results),
        "concurrent_requests": done,
    }


WRK_SCRIPT = """
local requests, i = {%s}, 0
request = function()
  i = i + 1
  return requests[(i %% #requests) + 1]
end
init = function(args)
  for k, r in ipairs(requests) do requests[k] = wrk.format(r[1], r[2], r[3], r[4]) end
end
done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format("WRK {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, "
    .. "\\"errors\\": %%d}\\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _lua(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for these ASCII values


def wrk_script(path: Path, requests: list) -> Path:
    """A wrk Lua script cycling over the requests, preformatted once per wrk thread."""
    entries = []
    for method, target, body, headers in requests:
        lua_headers = "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()) + "}"
        entries.append(f"{{{_lua(method)}, {_lua(target)}, {lua_headers}, {_lua(body.decode()) if body else 'nil'}}}")
    path.write_text(WRK_SCRIPT % ",\n".join(entries))
    return path


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a server and its child processes (mlflow's uvicorn is one): per request, a figure a
    loaded machine disturbs far less than wall time."""
    import psutil

    total = 0.0
    root = psutil.Process(pid)
    for proc in (root, *root.children(recursive=True)):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measure_wrk(target: str, port: int, requests: list, seconds: float, clients: int, work: Path, pid: int) -> dict:
    """wrk (compiled, one thread per 4 connections) for `seconds` at 1 connection, then at `clients`; with the
    server's CPU time per request."""
    script = wrk_script(work / f"wrk-{target.replace(' ', '-')}.lua", requests)
    out: dict = {"target": target}
    for label, connections in (("single", 1), ("concurrent", clients)):
        threads = max(1, min(connections // 4, os.cpu_count() or 1))
        load, cpu = os.getloadavg()[0], server_cpu_seconds(pid)
        command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",  # whole seconds
                   "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"]
        run = subprocess.run(command, capture_output=True, text=True, check=True)
        cpu = server_cpu_seconds(pid) - cpu
        line = next(x for x in run.stdout.splitlines() if x.startswith("WRK "))
        r = json.loads(line[4:])
        out |= {f"{label}_p50_ms": r["p50_us"] / 1000, f"{label}_p99_ms": r["p99_us"] / 1000,
                f"{label}_rps": r["requests"] / (r["duration_us"] / 1e6), f"{label}_errors": r["errors"],
                f"{label}_requests": r["requests"], f"{label}_load_avg": load,
                f"{label}_server_cpu_ms": 1000 * cpu / max(1, r["requests"])}
    return out


def _post_json(port: int, method: str, path: str, body: bytes, headers: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body or None, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status} {payload[:500]!r}")
    return json.loads(payload)


def check_same_scores(rr_port: int, ml_port: int, token: str, case_ids: list[int], rows: list[dict]) -> None:
    """Both servers answer the same cases with the same probability (else the comparison would be meaningless)."""
    ours_requests = requests_for("riskrank", rr_port, token, case_ids, rows)
    theirs_requests = requests_for("mlflow", ml_port, token, case_ids, rows)
    for (_, rr_path, _, rr_headers), (_, ml_path, ml_body, ml_headers) in zip(ours_requests, theirs_requests, strict=True):
        ours = _post_json(rr_port, "GET", rr_path, b"", rr_headers)["score"]
        theirs = _post_json(ml_port, "POST", ml_path, ml_body, ml_headers)["predictions"][0]
        if abs(ours - theirs) > 1e-9:
            raise RuntimeError(f"scores differ: riskrank {ours}, mlflow {theirs}")


def time_audit_append(work: Path, n: int = 1000) -> dict:
    """The audit append alone (same database, five reasons in details), one caller: direct (audit_chain.append, as
    outcomes and worklists use it) and through the group-commit writer the score routes use (a thread hand-off more)."""
    from riskrank.db import get_engine
    from riskrank.serving import audit_chain
    from riskrank.serving.audit_writer import GroupWriter

    engine = get_engine(environment(work)["RISKRANK_DATABASE_URL"])
    writer = GroupWriter(engine)
    reasons = [{"feature": f"feature_{i}", "value": 1.5 * i, "contribution": 0.1 * i} for i in range(5)]
    out = {}
    for name, append in (("audit_append", lambda **kw: audit_chain.append(engine, **kw)), ("audit_group_append", writer.append)):
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            append(actor="bench", action="score", subject=f"p-{i:012d}", model_version=1, score=0.5,
                   details={"reasons": reasons})
            times.append(time.perf_counter() - t0)
        ms = np.array(times) * 1000
        out |= {f"{name}_p50_ms": float(np.percentile(ms, 50)), f"{name}_mean_ms": float(ms.mean())}
    writer.stop()
    return out


def json_rows(model, frame) -> list[dict]:
    X = model_inputs_as_json_types(model, frame)
    return [{"columns": list(X.columns), "data": [[None if (isinstance(v, float) and v != v) else v for v in rec]]}
            for rec in X.astype(object).itertuples(index=False, name=None)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--single", type=int, default=2000, help="sequential requests for the one-client latency")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each measured cell")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2, help="measurement rounds (servers stay up)")
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk",
                        help="load generator: wrk (compiled; `apt-get install wrk`) or the Python clients")
    parser.add_argument("--baseline", type=Path, help="also serve riskrank from this source tree (its not-ranked cases)")
    parser.add_argument("--reuse", action="store_true", help="reuse the world, model and store from an earlier run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    import pandas as pd

    from riskrank.model.registry import load_model

    work = WORK
    if not (args.reuse and (work / "mlflow.db").exists()):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        prepare_world(work, args.scale, args.seed)
    env = environment(work)
    model = load_model(tracking_uri=env["RISKRANK_MLFLOW_TRACKING_URI"])
    ranked = sample_frame(work, 500, ranked=True)
    anyone = sample_frame(work, 500, ranked=False)  # not ranked: explained on request
    rows = json_rows(model, ranked)
    ranked_ids, any_ids = ranked["case_id"].astype(int).tolist(), anyone["case_id"].astype(int).tolist()
    token = add_user(work)

    servers = {}
    log_files = []
    results = []
    try:
        rr_port, ml_port = free_port(), free_port()
        rr_log = open(work / "riskrank-serve.log", "w")  # noqa: SIM115 - closed in finally
        ml_log = open(work / "mlflow-serve.log", "w")  # noqa: SIM115
        log_files += [rr_log, ml_log]
        servers["riskrank"] = subprocess.Popen(
            [sys.executable, "-c", "from riskrank.cli import main; main()", "serve", "--port", str(rr_port),
             "--log-level", "warning"],
            env=env, stdout=rr_log, stderr=subprocess.STDOUT,
        )
        servers["mlflow"] = subprocess.Popen(
            [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", f"models:/{model.name}@champion",
             "--env-manager", "local", "-p", str(ml_port), "-w", "1"],
            env=env, stdout=ml_log, stderr=subprocess.STDOUT,
        )
        if args.baseline is not None:  # the same service from another checkout (e.g. before a change), side by side
            base_port = free_port()
            base_log = open(work / "baseline-serve.log", "w")  # noqa: SIM115
            log_files.append(base_log)
            servers["baseline"] = subprocess.Popen(
                [sys.executable, "-c", "from riskrank.cli import main; main()", "serve", "--port", str(base_port),
                 "--log-level", "warning"],
                # cwd too: `python -c` puts the working directory first on sys.path, ahead of PYTHONPATH.
                env={**env, "PYTHONPATH": str(args.baseline)}, cwd=args.baseline, stdout=base_log, stderr=subprocess.STDOUT,
            )
            wait_until_up(base_port, "/ready", servers["baseline"])
            plan = (("baseline not ranked", base_port, requests_for("riskrank", base_port, token, any_ids, rows)),)
        else:
            plan = ()
        wait_until_up(rr_port, "/ready", servers["riskrank"])
        wait_until_up(ml_port, "/ping", servers["mlflow"])
        check_same_scores(rr_port, ml_port, token, ranked_ids[:20], rows[:20])
        check_same_scores(rr_port, ml_port, token, any_ids[:20], json_rows(model, anyone.head(20)))
        plan += (("riskrank ranked", rr_port, requests_for("riskrank", rr_port, token, ranked_ids, rows)),
                ("riskrank not ranked", rr_port, requests_for("riskrank", rr_port, token, any_ids, rows)),
                ("mlflow", ml_port, requests_for("mlflow", ml_port, token, ranked_ids, rows)))
        for round_ in range(args.repeats):
            for target, port, requests in plan:
                print(f"round {round_ + 1}: measuring {target}", flush=True)
                if args.client == "wrk":
                    pid = servers[{rr_port: "riskrank", ml_port: "mlflow"}.get(port, "baseline")].pid
                    cell = measure_wrk(target, port, requests, args.seconds, args.clients, work, pid)
                else:
                    cell = measure(target, port, requests, args.single, args.seconds, args.clients)
                results.append({"round": round_ + 1, **cell})
    finally:
        for proc in servers.values():
            proc.terminate()
        for proc in servers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for f in log_files:
            f.close()

    frame = pd.DataFrame(results)
    by_round = frame.set_index(["round", "target"])
    ratios = []
    for round_ in range(1, args.repeats + 1):
        ml = by_round.loc[(round_, "mlflow")]
        for cases in ("ranked", "not ranked"):
            rr = by_round.loc[(round_, f"riskrank {cases}")]
            ratios.append({"round": round_, "cases": cases, "throughput_ratio": rr["concurrent_rps"] / ml["concurrent_rps"],
                           "single_p50_ratio": ml["single_p50_ms"] / rr["single_p50_ms"]})
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        **json.loads((work / "prepared.json").read_text()), "model_version": model.version,
        "model_features": len(model.feature_names), "trees": int(model.booster.num_trees()),
        "results": results, "client": args.client, "ratios_riskrank_over_mlflow": ratios, **time_audit_append(work),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    pd.set_option("display.width", 200)
    print(frame.set_index(["round", "target"]).round(2).T)
    print(pd.DataFrame(ratios).round(2))


if __name__ == "__main__":
    main()
