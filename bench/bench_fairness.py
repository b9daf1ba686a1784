"""Benchmark: fair models by construction (issue 10).

For each training world: `run_training` with the defaults (fairness auto) and with fairness off, each timed; the
default model promoted without --force (does the gate pass?). Then both models rank every active case of a world
that neither saw, on a few dates, and the top 1 % by score is selected (one ranking over all benefits, as the
issue's target states); with that world's truth (`riskrank.world.in_error_on`) it reports per model the hit rate
and the FPR, precision and selection-rate ratios women vs men and born abroad vs not.

    flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_fairness.py --train /tmp/w/s1 /tmp/w/s2 /tmp/w/s3 \
        --holdout /tmp/w/s4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

PAIRS = (("sex", "F", "M"), ("born_abroad", "True", "False"))


def holdout_parser(doc: str | None) -> argparse.ArgumentParser:
    """The arguments every fairness bench takes: training worlds, a holdout world, its dates, a JSON output."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", nargs="+", required=True, help="training world folders")
    parser.add_argument("--holdout", required=True, help="a world not used for training")
    parser.add_argument("--dates", nargs="+", default=["2024-07-01", "2024-10-01"])
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    return parser


def write_results(path: str | None, **fields) -> None:
    """The results as JSON at `path` (if given), stamped with the machine and the time of the run."""
    if path:
        stamp = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)",
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        Path(path).write_text(json.dumps(stamp | fields, indent=1, default=str))


def holdout_population(world_dir: str, dates: list[str]) -> pd.DataFrame:
    from riskrank.features.pipeline import features_as_of
    from riskrank.training.population import EVAL_DATE
    from riskrank.world import in_error_on, read_world

    world = read_world(world_dir)
    frames = []
    for day in dates:
        feats = features_as_of(world, pd.Timestamp(day))
        feats["label"] = in_error_on(world.truth, feats["case_id"].to_numpy(), pd.Timestamp(day)).astype(int)
        feats[EVAL_DATE] = day
        frames.append(feats)
    return pd.concat(frames, ignore_index=True)


def ratios(pop: pd.DataFrame, chosen: np.ndarray) -> dict[str, float]:
    y = pop["label"].to_numpy()
    out = {"hit_rate": float(y[chosen].mean()), "selected": int(chosen.sum())}
    for attribute, group, reference in PAIRS:
        values = pop[attribute].astype(str).to_numpy()
        rates = {}
        for g in (group, reference):
            m = values == g
            rates[g] = {"selection_rate": chosen[m].mean(), "fpr": chosen[m & (y == 0)].mean(),
                        "precision": y[m & chosen].mean()}
        for metric in ("selection_rate", "fpr", "precision"):
            out[f"{attribute}_{metric}_ratio"] = float(rates[group][metric] / rates[reference][metric])
    return out


def in_band(holdout: dict[str, float]) -> bool:
    from riskrank.fairness.policy import FAIR_HIGH, FAIR_LOW

    return all(FAIR_LOW <= v <= FAIR_HIGH for k, v in holdout.items() if k.endswith("_ratio"))


def top_share(pop: pd.DataFrame, scores: np.ndarray) -> np.ndarray:
    """The top 1 % of the active cases on each date by score, as `riskrank train`'s deeper cut selects them."""
    from riskrank.training.evaluate import top_share_selection

    chosen = top_share_selection(pop, scores)
    assert chosen is not None, "the holdout population carries its dates"
    return chosen


def main() -> None:
    args = holdout_parser(__doc__).parse_args()

    from riskrank.model import registry
    from riskrank.promotion.promote import load_version, promote
    from riskrank.settings import get_settings
    from riskrank.training.pipeline import TrainOptions, run_training

    t0 = time.perf_counter()
    holdout = holdout_population(args.holdout, args.dates)
    print(f"holdout {args.holdout}: {len(holdout):,} active case-days, base rate {holdout['label'].mean():.4f} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    results = []
    for world in args.train:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["RISKRANK_MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
            os.environ["RISKRANK_MLFLOW_ARTIFACT_ROOT"] = f"{tmp}/artifacts"
            os.environ["RISKRANK_DATABASE_URL"] = f"sqlite:///{tmp}/riskrank.db"
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
            get_settings.cache_clear()
            settings = get_settings()
            row: dict = {"world": world}
            versions = {}
            for mode in ("auto", "off"):
                start = time.perf_counter()
                outcome = run_training(world, TrainOptions(fairness=mode), settings=settings)
                row[f"{mode}_seconds"] = time.perf_counter() - start
                row[f"{mode}_cap_hit_rate"] = outcome.metrics["cap_hit_rate"]
                versions[mode] = outcome.version
                if mode == "auto":
                    row["chosen_weight"] = outcome.fairness.weight if outcome.fairness else None
                    row["trade_off"] = outcome.fairness.trade_off.to_dict(orient="records") if outcome.fairness else []
                    try:
                        result = promote(outcome.version, settings=settings, user="bench")
                        row["promote_without_force"] = "passed"
                        row["gates"] = [g.detail for g in result.gates]
                    except Exception as exc:  # PromotionRefused: record the refusal, carry on with the next world
                        row["promote_without_force"] = "refused"
                        row["gates"] = [str(exc)]
                print(f"{world} {mode}: {row[f'{mode}_seconds']:.0f} s, cap_hit_rate {row[f'{mode}_cap_hit_rate']:.3f}",
                      flush=True)
            client = registry.client(settings)
            for mode, version in versions.items():
                model, _ = load_version(client, settings.model_name, version)
                row[f"holdout_{mode}"] = ratios(holdout, top_share(holdout, model.predict_action(holdout)))
            row["hit_rate_vs_unconstrained"] = row["holdout_auto"]["hit_rate"] / row["holdout_off"]["hit_rate"]
            row["time_vs_unconstrained"] = row["auto_seconds"] / row["off_seconds"]
            print(json.dumps({k: v for k, v in row.items() if k != "trade_off"}, indent=1, default=str), flush=True)
            results.append(row)
    write_results(args.out, holdout=args.holdout, dates=args.dates, results=results)


if __name__ == "__main__":
    main()
