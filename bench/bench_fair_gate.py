"""Benchmark: does a model that the fairness gate passes stay within the band on a world it never saw (issue 24)?

For each pair (training world A, unseen world B) the family is fitted on A's training set as `riskrank train` builds
it (positive-unlabelled rows included) and every member is judged on A's evaluation population as training and
`riskrank promote` judge it: at capacity (ratios within benefits) and at the deeper cut (the top 1 % of active cases
on each evaluation date, overall). Then each member ranks B's active cases on the same dates (B's own capacity per
benefit and month) and the same ratios are measured there. Every ratio is written with its intervals, support and
the gate's verdict, one JSON line per member, so that gate rules can be compared offline on the same members
(`--rules FILE` reads such a file back and prints, per rule, how many passed models are within the band on B and at
what hit rate).

    nice -n 10 .venv/bin/python bench/bench_fair_gate.py --pairs /tmp/w/a:/tmp/w/b ... --out /tmp/fair_gate.jsonl
    .venv/bin/python bench/bench_fair_gate.py --rules /tmp/fair_gate.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

ATTRIBUTES = ("sex", "born_abroad")  # the ratios the targets name on the unseen world


def ratios_of(pop, chosen, n_boot: int) -> list[dict]:
    """Every ratio of a selection (overall and within benefits), as the gate measures them."""
    from riskrank.fairness.measure import selection_fairness
    from riskrank.training.dataset import LABEL

    return [r.as_dict() for r in selection_fairness(pop, chosen, LABEL, n_boot=n_boot)]


def measured(pop, scores, capacity, n_boot: int) -> dict:
    """Hit rate and ratios at capacity and in the top 1 % of one population."""
    from riskrank.training.dataset import LABEL
    from riskrank.training.evaluate import selection, top_share_selection

    y = pop[LABEL].to_numpy(dtype=float)
    cap = selection(pop, scores, capacity)
    top = top_share_selection(pop, scores)
    columns = [c for c in pop.columns if c in (*ATTRIBUTES, LABEL, "case_key")]
    return {"cap_hit_rate": float(y[cap].mean()), "top_hit_rate": float(y[top].mean()),
            "cap": ratios_of(pop, cap, n_boot), "top": ratios_of(pop[columns], top, n_boot)}


def run_pair(train_dir: str, holdout_dir: str, weights: list[float], out: Path, n_boot: int) -> None:
    from riskrank.fairness.measure import CLUSTER
    from riskrank.training import fair_sweep
    from riskrank.training.dataset import WEIGHT, build_training_set
    from riskrank.training.pipeline import TrainOptions, evaluation_population
    from riskrank.training.population import evaluation_dates, truth_population
    from riskrank.training.train import model_inputs, predict
    from riskrank.world_blocks import open_world

    options, inputs = TrainOptions(), model_inputs()
    started = time.perf_counter()
    world = open_world(train_dir, with_truth=True)
    training = build_training_set(world, options.split, unlabelled=options.unlabelled)
    train, valid = training.part("train"), training.part("valid")
    pop, capacity, _ = evaluation_population(world, training, options)
    dates = evaluation_dates(training.bounds, options.n_eval_dates)
    other = open_world(holdout_dir, with_truth=True)
    held, held_capacity = truth_population(other, training.bounds, dates)
    import pandas as pd

    held[CLUSTER] = pd.factorize(held["case_id"])[0].astype(np.int32)
    print(f"{train_dir} -> {holdout_dir}: {len(train):,} training rows, {len(pop):,} / {len(held):,} population rows "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    for weight in weights:
        start = time.perf_counter()
        result = fair_sweep.fit_with_weight(train, valid, inputs, weight, row_weight=WEIGHT if training.weighted else None)
        fit_s = time.perf_counter() - start
        row = {"train": train_dir, "holdout": holdout_dir, "weight": weight, "fit_s": round(fit_s, 1),
               "best_iteration": result.best_iteration,
               "training_world": measured(pop, predict(result, pop), capacity, n_boot),
               "unseen_world": measured(held, predict(result, held), held_capacity, n_boot),
               "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        with out.open("a") as f:
            f.write(json.dumps(row, default=float) + "\n")
        tw, uw = row["training_world"], row["unseen_world"]
        print(f"  w {weight:g}: fit {fit_s:.0f} s, cap {tw['cap_hit_rate']:.3f} / {uw['cap_hit_rate']:.3f}, "
              f"top 1 % {tw['top_hit_rate']:.3f} / {uw['top_hit_rate']:.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=[], help="TRAIN_WORLD:UNSEEN_WORLD folders")
    parser.add_argument("--weights", type=float, nargs="+", default=[0, 5, 10, 20, 30, 50, 80])
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--out", type=Path, help="JSON lines, one per member (appended)")
    parser.add_argument("--rules", type=Path, help="read such a file and compare gate rules on it")
    args = parser.parse_args()
    if args.rules:
        from bench_fair_gate_rules import compare

        compare(args.rules)
        return
    for pair in args.pairs:
        train_dir, holdout_dir = pair.split(":")
        run_pair(train_dir, holdout_dir, args.weights, args.out, args.n_boot)


if __name__ == "__main__":
    main()
