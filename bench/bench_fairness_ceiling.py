"""Benchmark: what a group-blind ranking can reach on the held-out world, and how it moves with more data (issue 10).

The issue's targets ask for a model whose top 1 % on an unseen world has all six ratios (FPR, precision,
selection; women vs men, born abroad vs not) within 0.8-1.25 at 0.95x the unconstrained model's hit rate. This
bench asks what the world allows. On the same holdout as bench_fairness.py it ranks with:
- the family weights (0: unconstrained) fitted on each training world's investigations, as `riskrank train` does;
- the same weights fitted on all training worlds' investigations pooled (3x the data: what a larger agency sample
  gives);
- the ceiling: the same LightGBM inputs and parameters fitted on the *truth* of every active case of each training
  world's evaluation population (80 % of its cases; the other 20 % for early stopping). No agency has these
  labels; it is the most accurate group-blind ranking these inputs allow, and so shows which disparities come with
  accuracy itself.

    flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_fairness_ceiling.py --train /tmp/w/s1 /tmp/w/s2 \
        /tmp/w/s3 --holdout /tmp/w/s4 --out /tmp/ceiling.json
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from bench_fairness import holdout_parser, holdout_population, in_band, ratios, top_share, write_results

WEIGHTS = (0.0, 10.0, 30.0)
VALID_SHARE = 0.2


def truth_split(pop: pd.DataFrame, case_key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cases apart (each case on every date lands on one side), so early stopping sees cases it did not fit."""
    valid = (pop[case_key] % round(1 / VALID_SHARE)) == 0
    return pop.loc[~valid], pop.loc[valid]


def main() -> None:
    args = holdout_parser(__doc__).parse_args()

    from riskrank.fairness.measure import CLUSTER
    from riskrank.training.dataset import build_training_set
    from riskrank.training.fair_sweep import fit_with_weight
    from riskrank.training.pipeline import TrainOptions, evaluation_population
    from riskrank.training.train import fit, model_inputs, predict
    from riskrank.world import read_world

    holdout = holdout_population(args.holdout, args.dates)
    options, inputs, rows, parts = TrainOptions(), model_inputs(), [], []

    def rank(data: str, labels: str, weight: float, n_train: int, result, seconds: float) -> None:
        held = ratios(holdout, top_share(holdout, predict(result, holdout)))
        rows.append({"data": data, "labels": labels, "weight": weight, "training_rows": n_train,
                     "fit_seconds": round(seconds, 1), "in_band": in_band(held)} | held)
        print(f"  {data:<22} {labels:<15} w {weight:>4g}: hit {held['hit_rate']:.3f}, born abroad FPR "
              f"{held['born_abroad_fpr_ratio']:.2f}, precision {held['born_abroad_precision_ratio']:.2f}", flush=True)

    def investigations(data: str, train: pd.DataFrame, valid: pd.DataFrame) -> None:
        for weight in WEIGHTS:
            start = time.perf_counter()
            result = fit_with_weight(train, valid, inputs, weight)
            rank(data, "investigations", weight, len(train), result, time.perf_counter() - start)

    for world_dir in args.train:
        world = read_world(world_dir)
        training = build_training_set(world, options.split)
        train, valid = training.part("train"), training.part("valid")
        name = Path(world_dir).name
        print(f"{name}: {len(train):,} training investigations", flush=True)
        investigations(name, train, valid)
        pop, _, _ = evaluation_population(world, training, options)
        truth_train, truth_valid = truth_split(pop, CLUSTER)
        start = time.perf_counter()
        result = fit(truth_train, truth_valid, inputs)
        rank(name, "truth (ceiling)", 0.0, len(truth_train), result, time.perf_counter() - start)
        parts.append((train, valid))
    if len(parts) > 1:
        print(f"pooled: {sum(len(t) for t, _ in parts):,} training investigations", flush=True)
        investigations("pooled", pd.concat([t for t, _ in parts]), pd.concat([v for _, v in parts]))

    frame = pd.DataFrame(rows)
    # each data's first row is its unconstrained model (weight 0 on investigations)
    frame["hit_rate_vs_unconstrained"] = frame["hit_rate"] / frame.groupby("data")["hit_rate"].transform("first")
    print(frame.drop(columns=["selected"]).round(3).to_string(index=False))
    write_results(args.out, holdout=args.holdout, rows=frame.to_dict(orient="records"))


if __name__ == "__main__":
    main()
