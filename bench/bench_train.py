"""Benchmark: fit the action model on N investigations with every registry model input (target: 100,000 rows,
40+ features, under 2 minutes on 2 cores).

The frame is synthetic but has the registry's columns and dtypes (float, int, bool, pandas Categorical with the
registry's fixed categories), and a label driven by a dozen of them, so early stopping behaves as on real data.
Generating a world with 100,000 investigations (scale ~1.1) would measure the simulator, not training.

    flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_train.py --rows 100000
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd


def synthetic_frame(n: int, seed: int = 0) -> pd.DataFrame:
    from riskrank.features import registry

    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for feature in registry.FEATURES:
        if feature.dtype == "category":
            cats = list(registry.CATEGORIES[feature.name])
            cols[feature.name] = pd.Categorical(rng.choice(cats, n), categories=cats)
        elif feature.dtype == "bool":
            cols[feature.name] = rng.random(n) < 0.1
        elif feature.dtype == "int":
            cols[feature.name] = rng.poisson(1.5, n).astype(np.int64)
        else:
            values = rng.lognormal(0.0, 1.0, n)
            values[rng.random(n) < 0.1] = np.nan
            cols[feature.name] = values
    frame = pd.DataFrame(cols)
    numeric = [f.name for f in registry.FEATURES if f.model_input and f.dtype in ("float", "int", "bool")][:12]
    weights = np.linspace(-1, 1, len(numeric))
    z = sum(np.nan_to_num(np.log1p(frame[c].astype(float).to_numpy())) * w for c, w in zip(numeric, weights, strict=True))
    logit = -1.0 + z + 0.5 * (frame["benefit"].cat.codes.to_numpy() % 3 == 0) + rng.normal(0, 1, n)
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="training investigations")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fixed-rounds", type=int, default=0,
                        help="grow exactly this many trees (no early stopping): the worst case")
    parser.add_argument("--world", default=None, help="instead: time the whole `riskrank train` pipeline on this world")
    args = parser.parse_args()
    if args.world:
        return time_pipeline(args.world)

    import lightgbm

    from riskrank.features import registry
    from riskrank.training.train import fit, model_inputs, predict

    inputs = model_inputs()
    n_valid = n_test = max(1000, args.rows // 10)
    t0 = time.perf_counter()
    frame = synthetic_frame(args.rows + n_valid + n_test)
    build_s = time.perf_counter() - t0
    train = frame.iloc[: args.rows]
    valid = frame.iloc[args.rows: args.rows + n_valid]
    test = frame.iloc[args.rows + n_valid:]
    print(f"machine: {platform.machine()} {platform.processor() or ''}, lightgbm {lightgbm.__version__}, "
          f"feature set {registry.FEATURE_SET_VERSION}")
    print(f"frame: {args.rows:,} train + {n_valid:,} valid + {n_test:,} test rows, {len(inputs)} model inputs "
          f"(built in {build_s:.1f}s)")
    times = []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        rounds = {"num_boost_round": args.fixed_rounds, "early_stopping_rounds": args.fixed_rounds} if args.fixed_rounds else {}
        result = fit(train, valid, inputs, **rounds)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = predict(result, test)
        pred_s = time.perf_counter() - t0
        times.append(fit_s)
        print(f"run {i + 1}: fit {fit_s:.1f}s ({result.best_iteration} trees, valid AUC {result.valid_auc:.3f}), "
              f"predict {len(scores):,} rows {pred_s:.2f}s")
    print(f"fit time: median {np.median(times):.1f}s, max {max(times):.1f}s (target < 120s)")


def time_pipeline(world: str) -> None:
    """End to end into a throw-away MLflow store: prints the seconds each step took."""
    import os
    import tempfile

    from riskrank.settings import get_settings
    from riskrank.training.pipeline import TrainOptions, run_training

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RISKRANK_MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
        os.environ["RISKRANK_MLFLOW_ARTIFACT_ROOT"] = f"{tmp}/artifacts"
        os.environ["RISKRANK_DATABASE_URL"] = f"sqlite:///{tmp}/riskrank.db"
        get_settings.cache_clear()
        start = last = time.perf_counter()
        names: list[str] = []

        def step(text: str) -> None:
            nonlocal last
            now = time.perf_counter()
            if names:
                print(f"  {now - last:6.1f}s  {names[-1]}")
            names.append(text)
            last = now

        out = run_training(world, TrainOptions(), step=step)
        step("done")
        m = out.metrics
        print(f"total {time.perf_counter() - start:.1f}s; {int(m['n_train']):,} training investigations; "
              f"cap_hit_rate {m['cap_hit_rate']:.3f}, random {m['cap_random_rate']:.3f}, lift {m['cap_lift']:.1f}, "
              f"oracle {m['cap_oracle_hit_rate']:.3f} (ratio {m['cap_oracle_ratio']:.2f}), test AUC {m['test_auc']:.3f}")


if __name__ == "__main__":
    main()
