"""Benchmark: does learning from the whole population (positive-unlabelled rows) rank an unseen world better?

For each training world (another seed than the holdout), the training set is built once with the largest number
of unlabelled rows in the grid; smaller sizes are uniform subsamples of it per snapshot (the same distribution as
building them directly). Each (rows, weight) member is fitted as `riskrank train --fairness off` fits (train.fit,
early stopping on the validation months, validation rows weighted alike) and ranks every active case of the
holdout world as of HOLDOUT_AS_OF that is not under open investigation. A hit is a case in error on that day and
not corrected (riskrank.world.in_error_on). Beside it, the learnability bound: a LightGBM fitted on the truth of
every active case of the training world (training/learnability.py, same inputs, as of its TRAIN_AS_OF), ranking the
same holdout cases. `--fairness-auto` also runs the default fairness family (fair_sweep, on the run's own evaluation
population) for the given (rows, weight) and ranks the holdout with the chosen member.

    nice -n 10 .venv/bin/python bench/bench_learning.py --train /tmp/w1 /tmp/w2 --holdout /tmp/w4 \\
        --grid 0:1 36000:0.2 36000:0.2:opening 36000:0.2:month_end:0 36000:0.05:::channel 36000:0.05:::ipw \\
        --out /tmp/learning.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

HOLDOUT_AS_OF = pd.Timestamp("2024-09-30")
SHARES = (0.01, 0.001)


def holdout_frame(world_dir: Path) -> pd.DataFrame:
    from riskrank.features.pipeline import features_as_of
    from riskrank.world import in_error_on, read_world, under_open_investigation

    world = read_world(world_dir)
    frame = features_as_of(world, HOLDOUT_AS_OF)
    frame = frame.loc[~under_open_investigation(world.investigations, frame["case_id"], HOLDOUT_AS_OF)]
    return frame.assign(label=in_error_on(world.truth, frame["case_id"].to_numpy(), HOLDOUT_AS_OF).astype(int))


def ranking(labels: np.ndarray, scores: np.ndarray, frame: pd.DataFrame) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    from riskrank.fairness.measure import selection_fairness
    from riskrank.training.learnability import top_hit_rate

    out = {f"top_{100 * s:g}pct": top_hit_rate(labels, scores, s) for s in SHARES}
    out["roc_auc"] = float(roc_auc_score(labels, scores))
    k = max(1, round(SHARES[0] * len(scores)))
    top = np.zeros(len(scores), dtype=bool)
    top[np.argsort(-scores, kind="stable")[:k]] = True
    ratios = selection_fairness(frame[["born_abroad", "sex", "label"]], top, "label", n_boot=0)
    for r in ratios:
        if r.scope == "overall" and r.metric in ("fpr", "precision"):
            out[f"{r.attribute}_{r.metric}_ratio_top1pct"] = float(r.ratio)
    return out


def bound(train_dir: Path, holdout: pd.DataFrame) -> dict[str, float]:
    import lightgbm as lgb

    from riskrank.features.registry import MODEL_FEATURES
    from riskrank.training.learnability import PARAMS, ROUNDS, TRAIN_AS_OF, _truth_frame
    from riskrank.world import read_world

    frame = _truth_frame(read_world(train_dir), pd.Timestamp(TRAIN_AS_OF), None, np.random.default_rng(0))
    inputs = list(MODEL_FEATURES)
    booster = lgb.train(PARAMS, lgb.Dataset(frame[inputs], frame["_label"]), num_boost_round=ROUNDS)
    return ranking(holdout["label"].to_numpy(), np.asarray(booster.predict(holdout[inputs]), dtype=float), holdout)


def subsample(frame: pd.DataFrame, rows: int, weight: float, largest: int, seed: int = 0) -> pd.DataFrame:
    """The investigated rows, and `rows / largest` of the unlabelled rows of each snapshot, at `weight`."""
    from riskrank.training.dataset import WEIGHT
    from riskrank.training.unlabelled import UNLABELLED

    is_u = frame["selection"] == UNLABELLED
    unlabelled = frame.loc[is_u]
    if 0 < rows < largest:
        unlabelled = unlabelled.groupby(["split", "as_of"], group_keys=False).sample(
            frac=rows / largest, random_state=seed)
    if rows == 0:
        unlabelled = unlabelled.iloc[:0]
    return pd.concat([frame.loc[~is_u], unlabelled.assign(**{WEIGHT: weight})], ignore_index=True)


CHANNEL = "_channel"  # the selection channel as a training-only input (variant "channel")


def with_variant(frame: pd.DataFrame, inputs: list[str], holdout: pd.DataFrame,
                 variant: str) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    """"channel": the channel that chose each row (unlabelled rows: their own) is an input in training, and the
    holdout is ranked as if the random control sample had chosen every case. "ipw": each channel's investigated rows
    weigh the inverse of that channel's share of the investigated rows (each channel stands for the population
    once; the unlabelled rows keep their weight)."""
    from riskrank.training.dataset import WEIGHT
    from riskrank.training.unlabelled import UNLABELLED

    if variant == "channel":
        levels = ["random", "impulse", "fk_initiated", UNLABELLED]
        frame = frame.assign(**{CHANNEL: pd.Categorical(frame["selection"].astype(str), categories=levels)})
        holdout = holdout.assign(**{CHANNEL: pd.Categorical(["random"] * len(holdout), categories=levels)})
        return frame, [*inputs, CHANNEL], holdout
    if variant == "ipw":
        investigated = frame["selection"] != UNLABELLED
        share = frame.loc[investigated, "selection"].astype(str).value_counts(normalize=True)
        channels = len(share)
        weight = frame["selection"].astype(str).map(lambda c: 1.0 / (channels * share[c]) if c in share else np.nan)
        return frame.assign(**{WEIGHT: weight.where(investigated, frame[WEIGHT])}), inputs, holdout
    if variant:
        raise ValueError(f"unknown variant {variant!r}")
    return frame, inputs, holdout


def member(frame: pd.DataFrame, inputs: list[str], holdout: pd.DataFrame, variant: str = "") -> dict[str, float]:
    from riskrank.training.dataset import SPLIT, WEIGHT
    from riskrank.training.train import fit, predict

    frame, inputs, holdout = with_variant(frame, inputs, holdout, variant)
    start = time.perf_counter()
    weighted = bool((frame[WEIGHT] != 1.0).any())
    result = fit(frame.loc[frame[SPLIT] == "train"], frame.loc[frame[SPLIT] == "valid"], inputs,
                 weight=WEIGHT if weighted else None)
    seconds = time.perf_counter() - start
    return ranking(holdout["label"].to_numpy(), predict(result, holdout), holdout) | {
        "fit_seconds": seconds, "best_iteration": result.best_iteration}


def fairness_auto(world_dir: Path, rows: int, weight: float, holdout: pd.DataFrame) -> dict:
    from riskrank.training import fair_sweep
    from riskrank.training.dataset import WEIGHT, build_training_set
    from riskrank.training.pipeline import TrainOptions, evaluation_population
    from riskrank.training.train import model_inputs, predict
    from riskrank.training.unlabelled import UnlabelledConfig
    from riskrank.world import read_world

    world = read_world(world_dir)
    options = TrainOptions(unlabelled=UnlabelledConfig(rows=rows, weight=weight))
    training = build_training_set(world, options.split, unlabelled=options.unlabelled)
    pop, capacity, _ = evaluation_population(world, training, options)
    inputs = model_inputs()
    members = fair_sweep.sweep(training.part("train"), training.part("valid"), inputs, pop, capacity,
                               options.family(), row_weight=WEIGHT if training.weighted else None)
    chosen, why = fair_sweep.choose(members)
    return {"rows": rows, "weight": weight, "chosen_fairness_weight": chosen.weight, "why": why,
            "members": fair_sweep.trade_off(members).drop(columns=["worst_ratio_is", "top_share_worst_ratio_is"])
            .to_dict(orient="records")} | ranking(holdout["label"].to_numpy(), predict(chosen.fit, holdout), holdout)


def _member_spec(text: str) -> tuple[int, float, tuple[str, int], str]:
    """rows:weight[:anchor[:gap_days[:variant]]]; the anchor defaults as build_training_set's does (opening without
    unlabelled rows), the gap to unlabelled.GAP_DAYS, the variant (with_variant) to none. Returns rows, weight, the
    training set the member subsamples and the variant."""
    from riskrank.training.dataset import ANCHOR_MONTH_END, ANCHOR_OPENING
    from riskrank.training.unlabelled import GAP_DAYS

    parts = text.split(":")
    rows, weight = int(parts[0]), float(parts[1])
    anchor = parts[2] if len(parts) > 2 and parts[2] else (ANCHOR_MONTH_END if rows else ANCHOR_OPENING)
    gap = int(parts[3]) if len(parts) > 3 and parts[3] else GAP_DAYS
    return rows, weight, (anchor, gap), parts[4] if len(parts) > 4 else ""


def main() -> None:
    from riskrank.training.dataset import build_training_set
    from riskrank.training.train import model_inputs
    from riskrank.training.unlabelled import UnlabelledConfig
    from riskrank.world import read_world

    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=Path, nargs="+", required=True)
    parser.add_argument("--holdout", type=Path, required=True)
    parser.add_argument("--grid", nargs="+", default=["0:1", "36000:0.2"], help="rows:weight[:anchor] members")
    parser.add_argument("--fairness-auto", nargs="*", default=[], help="rows:weight members run with fairness auto "
                        "on the first training world")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    grid = [_member_spec(g) for g in args.grid]
    report: dict = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}",
                    "date": time.strftime("%Y-%m-%d"), "holdout": str(args.holdout), "as_of": str(HOLDOUT_AS_OF.date()),
                    "worlds": {}}
    start = time.perf_counter()
    holdout = holdout_frame(args.holdout)
    report["holdout_rows"], report["holdout_base_rate"] = len(holdout), float(holdout["label"].mean())
    print(f"holdout: {len(holdout):,} cases, {holdout['label'].mean():.4f} in error ({time.perf_counter() - start:.0f} s)")
    inputs = model_inputs()
    for world_dir in args.train:
        entry: dict = {"bound": bound(world_dir, holdout), "members": []}
        print(world_dir, "bound", {k: round(v, 3) for k, v in entry["bound"].items()}, flush=True)
        world = read_world(world_dir)
        for kind in dict.fromkeys(k for _, _, k, _ in grid):
            anchor, gap = kind
            largest = max(r for r, _, k, _ in grid if k == kind)
            start = time.perf_counter()
            full = build_training_set(world, unlabelled=UnlabelledConfig(rows=largest, gap_days=gap), anchor=anchor)
            entry[f"build_seconds_{anchor}_{gap}"] = time.perf_counter() - start
            for rows, weight, _, variant in (m for m in grid if m[2] == kind):
                result = member(subsample(full.frame, rows, weight, largest), inputs, holdout, variant)
                result |= {"rows": rows, "weight": weight, "anchor": anchor, "gap_days": gap, "variant": variant,
                           "top_1pct_of_bound": result["top_1pct"] / entry["bound"]["top_1pct"]}
                entry["members"].append(result)
                print(world_dir, anchor, gap, rows, weight, variant,
                      {k: round(v, 3) for k, v in result.items() if isinstance(v, (int, float))}, flush=True)
        del world
        report["worlds"][str(world_dir)] = entry
        args.out.write_text(json.dumps(report, indent=1))
    for spec in args.fairness_auto:
        rows, weight = spec.split(":")
        result = fairness_auto(args.train[0], int(rows), float(weight), holdout)
        report.setdefault("fairness_auto", []).append(result)
        print("fairness auto", rows, weight, {k: v for k, v in result.items() if k != "members"}, flush=True)
        args.out.write_text(json.dumps(report, indent=1))
    report["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
