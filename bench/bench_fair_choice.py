"""Benchmark: how the family's choice fares on a world it never saw (issue 10).

For each training world the family (fair_sweep.DEFAULT_WEIGHTS, or --weights) is fitted with several LightGBM
seeds (seed 0: the default parameters). Each member is judged as `riskrank train` judges it (fair_sweep.judge) and
ranked on the holdout (top 1 % of active cases, bench_fairness.ratios). Then each rule picks one member per (world, seed): the
shipped choice (fair_sweep.choose over the family), the same choice over the penalised members only (weight 0
left out), the rule before the deeper cut (the passing member most accurate at capacity), and each fixed weight
(weight 0: the unconstrained model). Per rule: the chosen models with all six
holdout ratios within 0.8-1.25, and their hit rate against the unconstrained model's. One seed per world is what
bench_fairness.py measures; a choice rule is only better if it is better over many.

    flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_fair_choice.py --train /tmp/w/s1 /tmp/w/s2 \
        /tmp/w/s3 --holdout /tmp/w/s4 --seeds 6 --out /tmp/choice.json
"""

from __future__ import annotations

import math
import time

import pandas as pd
from bench_fairness import holdout_parser, holdout_population, in_band, ratios, top_share, write_results


def capacity_choice(members) -> float:
    """The rule before the deeper cut: the passing member with the highest hit rate at capacity."""
    from riskrank.training import fair_sweep

    passing = [m for m in members if m.gate.passed]
    return max(passing, key=lambda m: (m.hit_rate, -m.weight)).weight if passing else fair_sweep.choose(members)[0].weight


def main() -> None:
    parser = holdout_parser(__doc__)
    parser.add_argument("--seeds", type=int, default=6, help="LightGBM seeds per training world")
    parser.add_argument("--first-seed", type=int, default=0, help="the first LightGBM seed (0: the default parameters)")
    parser.add_argument("--weights", type=float, nargs="+", default=None,
                        help="the family to fit (default fair_sweep.DEFAULT_WEIGHTS); the default family's choice "
                             "is then also reported, from the members it shares")
    args = parser.parse_args()

    from riskrank.training import fair_sweep
    from riskrank.training.dataset import build_training_set
    from riskrank.training.pipeline import TrainOptions, evaluation_population
    from riskrank.training.train import model_inputs, predict
    from riskrank.world import read_world

    holdout = holdout_population(args.holdout, args.dates)
    options, inputs, picks = TrainOptions(), model_inputs(), []
    weights = tuple(args.weights or fair_sweep.DEFAULT_WEIGHTS)
    for world_dir in args.train:
        start = time.perf_counter()
        world = read_world(world_dir)
        training = build_training_set(world, options.split)
        train, valid = training.part("train"), training.part("valid")
        pop, capacity, _ = evaluation_population(world, training, options)
        print(f"{world_dir}: {len(train):,} training investigations, {len(pop):,} evaluation rows "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            members, held = [], {}
            for weight in weights:
                result = fair_sweep.fit_with_weight(train, valid, inputs, weight, {"seed": seed} if seed else None)
                hit_rate, ratios_, gate, deeper = fair_sweep.judge(result, pop, capacity)
                members.append(fair_sweep.Member(weight, result, hit_rate, ratios_, gate, 0.0, deeper))
                held[weight] = ratios(holdout, top_share(holdout, predict(result, holdout)))
            rules = {"shipped: choose over the family": fair_sweep.choose(members)[0].weight,
                     "choose over weights > 0": fair_sweep.choose([m for m in members if m.weight > 0])[0].weight,
                     "before: most accurate passing at capacity": capacity_choice(members)}
            if set(fair_sweep.DEFAULT_WEIGHTS) < set(weights):
                default = [m for m in members if m.weight in fair_sweep.DEFAULT_WEIGHTS]
                rules["the default family's choice"] = fair_sweep.choose(default)[0].weight
            rules |= {f"fixed weight {w:g}": w for w in weights}
            gate_passed = {m.weight: m.gate.passed for m in members}
            for rule, weight in rules.items():
                picks.append({"world": world_dir, "seed": seed, "rule": rule, "weight": weight,
                              "passes_gate": gate_passed[weight], "in_band": in_band(held[weight]),
                              "hit_rate_vs_unconstrained": held[weight]["hit_rate"] / held[0.0]["hit_rate"],
                              "worst_ratio": max(held[weight][k] ** math.copysign(1, math.log(held[weight][k]))
                                                 for k in held[weight] if k.endswith("_ratio"))})
            print(f"  seed {seed}: " + ", ".join(f"{r} -> w {w:g}" for r, w in list(rules.items())[:2]), flush=True)
    frame = pd.DataFrame(picks)
    summary = frame.groupby("rule", sort=False).agg(
        in_band=("in_band", "sum"), runs=("in_band", "size"), passes_gate=("passes_gate", "sum"),
        hit_rate_mean=("hit_rate_vs_unconstrained", "mean"),
        hit_rate_min=("hit_rate_vs_unconstrained", "min"), worst_ratio_median=("worst_ratio", "median"))
    summary["in_band_per_world"] = frame.groupby("rule", sort=False).apply(
        lambda g: " / ".join(str(int(g.loc[g["world"] == w, "in_band"].sum())) for w in args.train))
    print(summary.round(3).to_string())
    write_results(args.out, holdout=args.holdout, summary=summary.reset_index().to_dict(orient="records"),
                  picks=picks)


if __name__ == "__main__":
    main()
