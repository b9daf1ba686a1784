"""Benchmark: the model on an honest world it never saw, against the agency's own selections, and the
world's learnability.

The action model is fitted on the closed investigations of world A (the training pipeline's split) and ranks
world B (another seed): every active case not under open investigation on evaluation dates in B's test months,
top k per benefit (k = B's investigations opened per month). Hits are "in error on that date"
(`riskrank.world.in_error_on`), overall and for new finds (no notification in 90 days). Next to it: the share
in error on the opening day, and the action rate, of B's impulse-driven, FK-initiated and random
investigations opened in the same months. Then `riskrank.training.learnability.measure(A, B)`.

    flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_honest_world.py --scale 0.05
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np
import pandas as pd


def agency_rates(world, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Per selection, investigations opened in [start, end]: in error on the opening day, and action where closed."""
    from riskrank.world import in_error_on

    inv = world.investigations
    inv = inv[(inv["opened_date"] >= start) & (inv["opened_date"] <= end)]
    in_error = in_error_on(world.truth, inv["case_id"].to_numpy(), inv["opened_date"])
    frame = inv.assign(in_error=in_error, selection=inv["selection"].astype(str))
    closed = frame[frame["closed_date"].notna()]
    return pd.DataFrame({
        "opened": frame.groupby("selection").size(),
        "in_error_on_opening": frame.groupby("selection")["in_error"].mean(),
        "action_rate_closed": closed.groupby("selection")["action"].mean(),
    })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--train-seed", type=int, default=11)
    parser.add_argument("--test-seed", type=int, default=12)
    parser.add_argument("--eval-dates", type=int, default=3)
    args = parser.parse_args()

    from riskrank.simulation import generate
    from riskrank.training.dataset import SplitConfig, build_training_set, closed_investigations, split_bounds
    from riskrank.training.evaluate import capacity_metrics, cuts
    from riskrank.training.learnability import measure
    from riskrank.training.population import evaluation_dates, truth_population
    from riskrank.training.train import fit, model_inputs, predict

    t0 = time.perf_counter()
    train_world = generate(args.scale, args.train_seed)
    test_world = generate(args.scale, args.test_seed)
    training = build_training_set(train_world)
    result = fit(training.part("train"), training.part("valid"), model_inputs())
    bounds = split_bounds(closed_investigations(test_world)["opened_date"], SplitConfig())
    dates = evaluation_dates(bounds, args.eval_dates)
    pop, capacity = truth_population(test_world, bounds, dates)
    metrics, _ = capacity_metrics(pop, cuts(pop, predict(result, pop), capacity), capacity)
    rates = agency_rates(test_world, bounds.test_start, bounds.last_opened)
    t_model = time.perf_counter() - t0
    learn = measure(train_world, test_world)
    elapsed = time.perf_counter() - t0
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    print(f"machine: {platform.processor() or platform.machine()}, {platform.system()}; scale {args.scale}, "
          f"train seed {args.train_seed}, test seed {args.test_seed}; dates {[str(d.date()) for d in dates]}")
    print(f"model (fitted on world {args.train_seed}'s investigations, ranking world {args.test_seed}):")
    print(f"  selected {metrics['cap_selected']:.0f}, capacity hit rate {metrics['cap_hit_rate']:.3f}, "
          f"new finds {metrics['cap_hit_rate_new_finds']:.3f} ({100 * metrics['cap_new_find_share']:.0f}% of the picks), "
          f"random pick {metrics['cap_random_rate']:.3f}, population {len(pop):,} case-dates")
    print(f"agency's investigations opened in the same months (world {args.test_seed}):")
    print(rates.round(3).to_string())
    print(f"learnability: {learn}")
    print(f"time {elapsed:.0f} s (model part {t_model:.0f} s), peak RSS {peak_gib:.2f} GiB")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
