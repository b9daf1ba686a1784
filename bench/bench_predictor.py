"""Benchmark: batch scoring rate of LightGBM's own predictor against a compiled one (treelite + tl2cgen), same model,
same rows.

A model of the shape training produces (58 inputs, 31 leaves, `--trees` trees; a few categoricals) is fitted on a
synthetic frame; both predictors score the same `--rows` prepared rows (float64 matrix, categoricals as codes, as
ScoringModel.prepare_array gives them) with the same thread count. Not run by the tests; treelite and tl2cgen are
not dependencies of riskrank (`pip install treelite tl2cgen`, and gcc, to run this). lleaves 1.3 was tried first:
it does not compile with llvmlite 0.50, the version numba (hence shap) needs here.

  flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_predictor.py --rows 720000 --trees 126
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def synthetic_booster(trees: int, n_features: int = 58, seed: int = 0):
    import lightgbm as lgb
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = 60_000
    X = pd.DataFrame(rng.normal(size=(n, n_features)), columns=[f"f{i}" for i in range(n_features)])
    for i in range(3):  # categoricals, as the benefit and other coded features
        X[f"f{i}"] = pd.Categorical(rng.integers(0, 11, n))
    logit = X["f5"] + 0.5 * X["f6"] * X["f7"] + (X["f0"].cat.codes.to_numpy() % 3) * 0.4 - 2
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    params = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.05, "min_data_in_leaf": 20, "verbose": -1,
              "num_threads": 2, "seed": seed}
    return lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=trees), X


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=720_000)
    parser.add_argument("--trees", type=int, default=126)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import tl2cgen
    import treelite

    booster, frame = synthetic_booster(args.trees)
    rng = np.random.default_rng(1)
    X = frame.iloc[rng.integers(0, len(frame), args.rows)].copy()
    for i in range(3):
        X[f"f{i}"] = X[f"f{i}"].cat.codes
    X = X.to_numpy(np.float64)
    out = {"rows": args.rows, "trees": booster.num_trees(), "features": X.shape[1], "threads": args.threads,
           "machine": f"{os.cpu_count()} cores"}
    lgb_s = timed(lambda: booster.predict(X, num_threads=args.threads), args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        model_file = Path(tmp) / "model.txt"
        booster.save_model(str(model_file))
        t0 = time.perf_counter()
        model = treelite.frontend.load_lightgbm_model(str(model_file))
        library = Path(tmp) / "model.so"
        tl2cgen.export_lib(model, toolchain="gcc", libpath=str(library), params={"parallel_comp": args.threads})
        compiled = tl2cgen.Predictor(str(library), nthread=args.threads)
        out["compile_seconds"] = time.perf_counter() - t0

        def compiled_predict(rows: np.ndarray) -> np.ndarray:
            return np.asarray(compiled.predict(tl2cgen.DMatrix(rows, dtype="float64"))).reshape(len(rows), -1)[:, -1]

        ll_s = timed(lambda: compiled_predict(X), args.repeats)
        out["max_abs_difference"] = float(np.abs(compiled_predict(X[:10000]) - booster.predict(X[:10000])).max())
        row = X[:1]
        out["lightgbm_one_row_us"] = timed(lambda: booster.predict(row, num_threads=1), 200) * 1e6
        out["compiled_one_row_us"] = timed(lambda: compiled_predict(row), 200) * 1e6
    out |= {"lightgbm_seconds": lgb_s, "lightgbm_cases_per_second": args.rows / lgb_s,
            "compiled_seconds": ll_s, "compiled_cases_per_second": args.rows / ll_s}
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
