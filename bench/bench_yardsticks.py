"""Benchmark: riskrank's fair family against the established methods, on the same worlds, inputs and capacity
(issue 24, item 1).

For each pair of seeds (A, B) at one scale: every method trains on world A's closed investigations (the
training pipeline's split, `riskrank.training.train.model_inputs()`, no sensitive input), and ranks every
active case of world B as of --dates (B is never seen in training). The top --share of B's active cases on
each date is selected (`evaluate.top_share_selection`, one ranking over all benefits), and the honest label
says whether a selected case was in error on that date (`riskrank.world.in_error_on`: started, not yet
corrected). Each model is a point: hit rate against the worst of the six ratios (selection rate, FPR,
precision; women vs men, born abroad vs not; `fairness.measure`), as max(r, 1/r). The methods:
- riskrank's family (`fair_sweep.fit_with_weight`, --weights), the member `riskrank train` would register
  marked (`fair_sweep.choose` after `fair_sweep.judge` on A's evaluation population);
- group-aware thresholds on the unconstrained model (weight 0; bench/yardstick_frontier.py), per band:
  shares chosen on A's evaluation population and applied to B (a real out-of-world result), and chosen on B
  itself (the in-sample bound). Not deployable: they treat groups differently;
- FairGBM (FPR constraint over the cells sex x born abroad, the global FPR and FNR pinned to the unconstrained
  model's at the operating point; one point per --fairgbm-tolerances), fitted in its own venv
  (bench/yardstick_fairgbm.py, --fairgbm-python);
- fairlearn's GridSearch with FalsePositiveRateParity for born abroad (where the disparity sits; over the
  cells the grid has five dimensions, see gridsearch_scores), on LightGBM (one point per grid member). Not
  ExponentiatedGradient: its randomised predictor cannot rank a top share.
The constrained LightGBMs (FairGBM, fairlearn) take riskrank's parameters and monotone constraints and the
unconstrained model's number of trees (they have no early stopping on a validation month).

Worlds are simulated once per (scale, seed) into --worlds and reused. Writes results.json and one plot per pair
(yardsticks_A_B.png) into --out.

    nice -n 10 /work/main/.venv/bin/python bench/bench_yardsticks.py --scale 0.05 --pairs 1:2 3:4 \
        --worlds /tmp/yard/worlds --out /tmp/yard/out --fairgbm-python /tmp/yard-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fairness import holdout_population  # noqa: E402
from yardstick_frontier import BANDS, apply_shares, cell_keys, frontier  # noqa: E402

REFERENCES = {"sex": "M", "born_abroad": "False"}
FAIRGBM_TOLERANCES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.9)  # FPR gaps allowed (FairGBM needs < 1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--pairs", nargs="+", default=["1:2", "3:4"], help="TRAIN_SEED:TEST_SEED")
    parser.add_argument("--dates", nargs="+", default=["2024-09-30"], help="dates world B's active cases are ranked on")
    parser.add_argument("--share", type=float, default=0.01, help="top share of B's active cases selected")
    parser.add_argument("--worlds", default="/tmp/yardstick-worlds", help="folder of cached worlds")
    parser.add_argument("--out", required=True, help="folder for results.json and the plots (never committed)")
    parser.add_argument("--eval-dates", type=int, default=None,
                        help="dates of A's evaluation population (default: riskrank train's, population.EVAL_DATES)")
    parser.add_argument("--weights", type=float, nargs="+", default=None,
                        help="riskrank's family (default: fair_sweep.DEFAULT_WEIGHTS)")
    parser.add_argument("--fairgbm-python", default="/tmp/yard-venv/bin/python",
                        help="python of a venv with fairgbm (see bench/yardstick_fairgbm.py); 'none' skips FairGBM")
    parser.add_argument("--fairgbm-tolerances", type=float, nargs="+", default=list(FAIRGBM_TOLERANCES))
    parser.add_argument("--multiplier-learning-rate", type=float, default=0.1, help="FairGBM's")
    parser.add_argument("--grid-size", type=int, default=21, help="fairlearn GridSearch's grid")
    return parser.parse_args()


def world_at(folder: str, scale: float, seed: int):
    """The world of (scale, seed), simulated once into `folder` and read from there afterwards."""
    from riskrank.world import write_world

    path = Path(folder) / f"scale{scale:g}-seed{seed}"
    if not (path / "world.json").exists():
        from riskrank.simulation import generate

        start = time.perf_counter()
        write_world(generate(scale, seed), path)
        print(f"simulated {path} in {time.perf_counter() - start:.0f} s", flush=True)
    return path


def measure_point(pop: pd.DataFrame, chosen: np.ndarray) -> dict:
    """Hit rate and the six ratios (90 % intervals) of a selection from B, and the worst ratio as max(r, 1/r)."""
    from riskrank.fairness.measure import fairness_report
    from riskrank.training.fair_sweep import farthest_from_one

    frame = pop[["sex", "born_abroad", "label"]].assign(selected=chosen.astype(int))
    ratios = fairness_report(frame, REFERENCES, "selected", "label", n_boot=500)
    worst = farthest_from_one(ratios)
    y = pop["label"].to_numpy()
    out = {"hit_rate": float(y[chosen].mean()), "selected": int(chosen.sum()),
           "worst_ratio": max(worst.ratio, 1 / worst.ratio) if worst else float("nan"),
           "worst_is": f"{worst.attribute} {worst.metric}" if worst else ""}
    for r in ratios:
        out[f"{r.attribute}_{r.metric}"] = r.ratio
        out[f"{r.attribute}_{r.metric}_90"] = [r.low, r.high]
    return out


def bias_carriers(fit, pop: pd.DataFrame, top: int = 6, per_group: int = 20_000) -> dict[str, dict[str, float]]:
    """Per attribute of REFERENCES: the inputs whose mean TreeSHAP contribution (log-odds) to innocent people's
    scores is most higher for the group than for its reference, on B's active cases (at most `per_group`
    innocent people of each side, drawn at random: TreeSHAP of every case of a scale-0.2 world takes many
    minutes on two cores): what lifts innocent people of the group toward the top."""
    from riskrank.model.scoring import prepare

    rng, innocent, out = np.random.default_rng(0), pop["label"].to_numpy() == 0, {}
    for attribute, reference in REFERENCES.items():
        values = pop[attribute].astype("string")
        group = next(g for g in values.dropna().unique() if g != reference)
        means = []
        for side in (group, reference):
            rows = np.flatnonzero(innocent & (values == side).fillna(False).to_numpy())
            rows = np.sort(rng.choice(rows, min(per_group, len(rows)), replace=False))
            frame = prepare(pop.iloc[rows], fit.feature_names, fit.categories)
            means.append(fit.booster.predict(frame, pred_contrib=True)[:, :-1].mean(axis=0))
        gap = means[0] - means[1]
        ranked = pd.Series(gap, index=fit.feature_names).sort_values(ascending=False)
        out[f"{attribute}={group}"] = {k: round(float(v), 4) for k, v in ranked.head(top).items()}
    return out


def as_array(frame: pd.DataFrame, fit) -> np.ndarray:
    """Model inputs as a float matrix, categoricals as the unconstrained model's codes (for FairGBM and fairlearn)."""
    from riskrank.model.scoring import prepare

    prepared = prepare(frame, fit.feature_names, fit.categories)
    columns = []
    for name in fit.feature_names:
        col = prepared[name]
        if name in fit.categories:
            codes = col.cat.codes.to_numpy().astype(float)
            columns.append(np.where(codes < 0, np.nan, codes))
        else:
            columns.append(col.to_numpy(dtype=float, na_value=np.nan))
    return np.column_stack(columns)


def lgbm_params(fit, train: pd.DataFrame) -> dict:
    """riskrank's LightGBM parameters in the scikit-learn wrapper's names, with the unconstrained model's trees."""
    from riskrank.model.scoring import prepare
    from riskrank.training.train import DEFAULT_PARAMS, monotone_constraints

    p = DEFAULT_PARAMS
    return {"n_estimators": int(fit.best_iteration), "learning_rate": p["learning_rate"], "num_leaves": p["num_leaves"],
            "min_child_samples": p["min_data_in_leaf"], "colsample_bytree": p["feature_fraction"],
            "subsample": p["bagging_fraction"], "subsample_freq": p["bagging_freq"], "reg_lambda": p["lambda_l2"],
            "cat_smooth": p["cat_smooth"], "n_jobs": p["num_threads"], "random_state": p["seed"], "verbose": -1,
            "monotone_constraints": monotone_constraints(fit.feature_names,
                                                         prepare(train, fit.feature_names, fit.categories))}


def operating_point(unconstrained, train: pd.DataFrame, pop_a: pd.DataFrame, share: float) -> tuple[float, float, float]:
    """The unconstrained model's score at the top `share` of A's active cases, and its FPR and FNR among the
    training investigations at that score: where FairGBM is asked to work."""
    from riskrank.training.dataset import LABEL
    from riskrank.training.train import predict

    threshold = float(np.quantile(predict(unconstrained, pop_a), 1 - share))
    scores, y = predict(unconstrained, train), train[LABEL].to_numpy()
    return threshold, float((scores[y == 0] >= threshold).mean()), float((scores[y == 1] < threshold).mean())


def fairgbm_scores(args, unconstrained, train, x_eval, share_point) -> list[np.ndarray]:
    from riskrank.training.dataset import LABEL

    _, fpr, fnr = share_point
    spec = {"tolerances": args.fairgbm_tolerances, "target_fpr": fpr, "target_fnr": fnr,
            "multiplier_learning_rate": args.multiplier_learning_rate, "params": lgbm_params(unconstrained, train),
            "categorical": [i for i, n in enumerate(unconstrained.feature_names) if n in unconstrained.categories]}
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(f"{tmp}/in.npz", X_train=as_array(train, unconstrained), y_train=train[LABEL].to_numpy(),
                 g_train=pd.factorize(cell_keys(train))[0], X_eval=x_eval)
        Path(f"{tmp}/in.json").write_text(json.dumps(spec))
        script = Path(__file__).resolve().parent / "yardstick_fairgbm.py"
        subprocess.run([args.fairgbm_python, str(script), f"{tmp}/in.npz", f"{tmp}/in.json", f"{tmp}/out.npz"],
                       check=True, env=os.environ | {"PYTHONPATH": ""})
        return list(np.load(f"{tmp}/out.npz")["scores"])


def gridsearch_scores(args, unconstrained, train, x_eval) -> list[np.ndarray]:
    import lightgbm as lgb
    from fairlearn.reductions import FalsePositiveRateParity, GridSearch

    from riskrank.training.dataset import LABEL

    categorical = [i for i, n in enumerate(unconstrained.feature_names) if n in unconstrained.categories]
    estimator = lgb.LGBMClassifier(**lgbm_params(unconstrained, train), categorical_feature=categorical)
    search = GridSearch(estimator, constraints=FalsePositiveRateParity(), grid_size=args.grid_size)
    # Born abroad alone: a one-dimensional grid of multipliers that grid_size points cover. Over the cells of sex x
    # born abroad (six with the missing-sex ones) the grid has five dimensions, and 20-odd points leave it unexplored
    # (most of them far from the unconstrained model: hit rates of 0.04-0.07 in a trial run).
    search.fit(as_array(train, unconstrained), train[LABEL].to_numpy(),
               sensitive_features=train["born_abroad"].astype(str).to_numpy())
    return [p.predict_proba(x_eval)[:, 1] for p in search.predictors_]


def run_pair(args, seed_a: int, seed_b: int) -> tuple[list[dict], dict]:
    from riskrank.training import fair_sweep
    from riskrank.training.dataset import LABEL, build_training_set
    from riskrank.training.evaluate import top_share_selection
    from riskrank.training.pipeline import TrainOptions, evaluation_population
    from riskrank.training.train import model_inputs, predict
    from riskrank.world import read_world

    t0 = time.perf_counter()
    dir_a, dir_b = world_at(args.worlds, args.scale, seed_a), world_at(args.worlds, args.scale, seed_b)
    world_a = read_world(dir_a)
    options = TrainOptions() if args.eval_dates is None else TrainOptions(n_eval_dates=args.eval_dates)
    training = build_training_set(world_a, options.split)
    train, valid = training.part("train"), training.part("valid")
    pop_a, capacity_a, _ = evaluation_population(world_a, training, options)
    del world_a
    holdout = holdout_population(str(dir_b), args.dates)
    print(f"pair {seed_a}->{seed_b}: {len(train):,} training investigations, {len(pop_a):,} evaluation rows in A, "
          f"{len(holdout):,} active cases in B ({time.perf_counter() - t0:.0f} s)", flush=True)
    inputs, rows = model_inputs(), []

    def point(method: str, setting: str, chosen: np.ndarray, seconds: float, **extra) -> None:
        row = {"pair": f"{seed_a}->{seed_b}", "method": method, "setting": setting, "fit_seconds": round(seconds, 1),
               **extra} | measure_point(holdout, chosen)
        rows.append(row)
        print(f"  {method:<34} {setting:<16} hit {row['hit_rate']:.3f}  worst {row['worst_ratio']:.2f} "
              f"({row['worst_is']})", flush=True)

    def top(scores: np.ndarray) -> np.ndarray:
        chosen = top_share_selection(holdout, scores, args.share)
        assert chosen is not None, "the holdout carries its dates"
        return chosen

    # riskrank's family, and the member `riskrank train` would register
    members = []
    for weight in args.weights or fair_sweep.DEFAULT_WEIGHTS:
        start = time.perf_counter()
        result = fair_sweep.fit_with_weight(train, valid, inputs, weight)
        seconds = time.perf_counter() - start
        hit_rate, ratios, gate, deeper = fair_sweep.judge(result, pop_a, capacity_a)
        members.append(fair_sweep.Member(weight, result, hit_rate, ratios, gate, seconds, deeper))
    chosen_weight = fair_sweep.choose(members)[0].weight
    for m in members:
        point("riskrank family", f"w {m.weight:g}", top(predict(m.fit, holdout)), m.seconds,
              chosen_by_train=m.weight == chosen_weight, passes_gate=m.gate.passed)
    unconstrained = next(m.fit for m in members if m.weight == 0)
    scores_b = predict(unconstrained, holdout)
    carriers = bias_carriers(unconstrained, holdout)
    print(f"  inputs lifting innocent people of a group (mean TreeSHAP gap, weight 0): {carriers}", flush=True)

    # group-aware thresholds on the unconstrained model: chosen on A and applied to B, and chosen on B (the bound)
    start = time.perf_counter()
    on_a = frontier(pop_a, predict(unconstrained, pop_a), LABEL, args.share, BANDS, fairest=True)
    on_b = frontier(holdout, scores_b, "label", args.share, BANDS, fairest=True)
    seconds = time.perf_counter() - start
    for choice in on_a:
        point("group thresholds, fitted on A", f"band {choice.band:.3g}",
              apply_shares(holdout, scores_b, choice.shares, args.share), seconds, shares=choice.shares)
    for choice in on_b:
        point("group thresholds on B (bound)", f"band {choice.band:.3g}",
              apply_shares(holdout, scores_b, choice.shares, args.share), seconds, shares=choice.shares)

    x_eval = as_array(holdout, unconstrained)
    if args.fairgbm_python != "none":
        share_point = operating_point(unconstrained, train, pop_a, args.share)
        start = time.perf_counter()
        fitted = fairgbm_scores(args, unconstrained, train, x_eval, share_point)
        seconds = (time.perf_counter() - start) / len(fitted)
        for tolerance, scores in zip(args.fairgbm_tolerances, fitted, strict=True):
            point("FairGBM (FPR)", f"tolerance {tolerance:g}", top(scores), seconds,
                  operating_point={"threshold": share_point[0], "fpr": share_point[1], "fnr": share_point[2]})
    start = time.perf_counter()
    grid = gridsearch_scores(args, unconstrained, train, x_eval)
    seconds = (time.perf_counter() - start) / len(grid)
    for i, scores in enumerate(grid):
        point("fairlearn GridSearch (FPR parity)", f"grid {i}", top(scores), seconds)
    plot(rows, Path(args.out) / f"yardsticks_{seed_a}_{seed_b}.png", f"scale {args.scale:g}, train seed {seed_a}, "
         f"rank seed {seed_b} (top {100 * args.share:g} % as of {', '.join(args.dates)})")
    return rows, {"pair": f"{seed_a}->{seed_b}", "bias_carriers": carriers}


STYLE = {"riskrank family": ("o", "tab:blue"), "group thresholds, fitted on A": ("s", "tab:green"),
         "group thresholds on B (bound)": ("^", "tab:olive"), "FairGBM (FPR)": ("D", "tab:red"),
         "fairlearn GridSearch (FPR parity)": ("x", "tab:purple")}


PLOT_MAX_RATIO = 3.0


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from riskrank.fairness.policy import FAIR_HIGH

    def x(r: dict) -> float:  # a degenerate member (a ratio of 0 or thousands) drawn at the edge
        return min(r["worst_ratio"], PLOT_MAX_RATIO)

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for method, (marker, colour) in STYLE.items():
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["worst_ratio"])
        if mine:
            ax.plot([x(r) for r in mine], [r["hit_rate"] for r in mine], marker=marker, color=colour,
                    linestyle="-" if method.startswith("group") else "none", label=method, alpha=0.85)
    chosen = [r for r in rows if r.get("chosen_by_train")]
    if chosen:
        ax.scatter([x(r) for r in chosen], [r["hit_rate"] for r in chosen], s=220, facecolors="none",
                   edgecolors="black", label="chosen by riskrank train")
    ax.axvline(FAIR_HIGH, color="grey", linestyle="--", label=f"band edge {FAIR_HIGH:g}")
    ax.set_xlabel(f"worst of six ratios, max(r, 1/r) (sex, born abroad; selection rate, FPR, precision; "
                  f"drawn at {PLOT_MAX_RATIO:g} beyond it)")
    ax.set_ylabel("hit rate (in error on the date)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per pair and method: the best hit rate with the worst ratio within the band, and the best at any ratio."""
    from riskrank.fairness.policy import FAIR_HIGH

    in_band = frame[frame["worst_ratio"] <= FAIR_HIGH]
    out = pd.DataFrame({
        "best_in_band": in_band.groupby(["pair", "method"])["hit_rate"].max(),
        "points_in_band": in_band.groupby(["pair", "method"]).size(),
        "best_any": frame.groupby(["pair", "method"])["hit_rate"].max(),
        "points": frame.groupby(["pair", "method"]).size(),
    })
    return out.fillna({"points_in_band": 0})


def main() -> None:
    args = parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows, notes = [], []
    for pair in args.pairs:
        seed_a, seed_b = (int(s) for s in pair.split(":"))
        points, note = run_pair(args, seed_a, seed_b)
        rows += points
        notes.append(note)
    frame = pd.DataFrame(rows)
    table = summary(frame)
    print(table.round(3).to_string())
    stamp = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)",
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "argv": sys.argv,
             "seconds": round(time.perf_counter() - start),
             "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)}
    (Path(args.out) / "results.json").write_text(json.dumps(
        stamp | {"summary": table.reset_index().to_dict(orient="records"), "pairs": notes, "points": rows}, indent=1,
        default=str))
    print(f"{stamp['seconds']} s, peak RSS {stamp['peak_rss_gib']} GiB; wrote {args.out}/results.json")


if __name__ == "__main__":
    main()
