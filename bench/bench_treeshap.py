"""Benchmark: TreeSHAP of one row, as a case explained on request needs it, in process.

Reuses the model and feature store of bench/bench_serving.py (run that first) and times, over 500 different cases'
rows: LightGBM's `pred_contrib` (one thread), this tree's `riskrank.model.treeshap`, and with `--baseline DIR` that
of another source tree (e.g. `git archive <commit> riskrank`), each
  - warm: one row after another, the model's arrays staying in the CPU's caches;
  - cold: a 32 MiB pass over other memory before each row, as when other work has pushed them out;
and each many rows in one call (the nightly run's top share). Wall and CPU time per row; the same numbers checked.

Run:  .venv/bin/python bench/bench_treeshap.py [--baseline /tmp/rr-base]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from bench_serving import WORK, environment, sample_frame


def _rows() -> tuple[object, np.ndarray]:
    from riskrank.db import get_engine
    from riskrank.features.store import FeatureStore
    from riskrank.serving.featuresource import model_row
    from riskrank.serving.holder import ModelHolder
    from riskrank.settings import Settings

    env = environment(WORK)
    settings = Settings(database_url=env["RISKRANK_DATABASE_URL"], mlflow_tracking_uri=env["RISKRANK_MLFLOW_TRACKING_URI"],
                        pseudonym_key="bench-key")
    source = FeatureStore(get_engine(settings.database_url))
    holder = ModelHolder(settings, source)
    holder.refresh()
    assert holder.current is not None
    model = holder.current.model
    ids = [int(c) for c in sample_frame(WORK, 500, ranked=False)["case_id"]]
    return model.booster, np.vstack([found[2] for c in ids if (found := model_row(source, model, c)) is not None])


def _treeshap_of(tree: Path | None) -> type:
    if tree is None:
        from riskrank.model.treeshap import TreeShap

        return TreeShap
    spec = importlib.util.spec_from_file_location("baseline_treeshap", tree / "riskrank" / "model" / "treeshap.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.TreeShap


def _per_row(explain: Callable[[np.ndarray], np.ndarray], X: np.ndarray, evict: np.ndarray | None) -> dict[str, float]:
    explain(X[:1])
    wall = cpu = 0.0
    for i in range(len(X)):
        if evict is not None:
            evict += 1.0
        t, c = time.perf_counter(), time.process_time()
        explain(X[i:i + 1])
        wall, cpu = wall + time.perf_counter() - t, cpu + time.process_time() - c
    return {"wall_us": 1e6 * wall / len(X), "cpu_us": 1e6 * cpu / len(X)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="also time riskrank.model.treeshap of this source tree")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    booster, X = _rows()
    expected = booster.predict(X, pred_contrib=True, num_threads=1)[:, :-1]
    methods: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "pred_contrib": lambda rows: booster.predict(rows, pred_contrib=True, num_threads=1)}
    for label, tree in (("baseline tree", args.baseline), ("this tree", None)):
        if label == "this tree" or tree is not None:
            shap = _treeshap_of(tree).build(booster)
            assert shap is not None
            assert np.abs(shap.contributions(X) - expected).max() < 1e-12
            methods[label] = shap.contributions
    other = np.ones(4 * 2**20)  # 32 MiB, the size of this machine's L3 cache
    results = []
    for repeat in range(args.repeats):
        for name, explain in methods.items():
            for state, evict in (("warm", None), ("cold", other)):
                results.append({"repeat": repeat, "method": name, "caches": state, **_per_row(explain, X, evict)})
            many = np.vstack([X] * 20)
            t = time.perf_counter()
            explain(many)
            results.append({"repeat": repeat, "method": name, "caches": f"{len(many)} rows in one call",
                            "wall_us": 1e6 * (time.perf_counter() - t) / len(many), "cpu_us": float("nan")})
    for r in results:
        print(f"{r['repeat']}  {r['method']:16s} {r['caches']:24s} wall {r['wall_us']:7.1f} us  cpu {r['cpu_us']:7.1f} us")
    print(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"),
                      "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
                      "load_average": os.getloadavg(), "trees": booster.num_trees(), "rows": len(X), "results": results}))


if __name__ == "__main__":
    main()
