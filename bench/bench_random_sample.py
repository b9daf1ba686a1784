"""Benchmark (diagnostic): does the world's random control sample rank like the population it is drawn from?

Every closed random-sample investigation of a world (after the burn-in) is seen as training sees it, at the
month-end before it opened (rows whose case started later are left out: they are no population row), and is
ranked by an independent model: the learnability bound (a LightGBM on the truth of every active case) fitted on
ANOTHER world, so that nothing of the ranked world was learnt. Against it: 200 draws of the same size from a
uniform sample of the active cases, matched to the random rows' (benefit, month-end) cells. If the world's draw
were not uniform (or read the truth), the random rows' AUC would sit in the tail of the draws on every world; if it
is chance, it moves with the seed. The in-error count is compared with the one the cells' rates predict.

    nice -n 10 .venv/bin/python bench/bench_random_sample.py --world /tmp/cal3 --bound-world /tmp/w1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

DRAWS = 200
POPULATION_PER_ROW = 20  # uniform population rows sampled per random-sample row at each month-end


def main() -> None:
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    from riskrank.features.blocks import features_of
    from riskrank.features.registry import MODEL_FEATURES
    from riskrank.training.dataset import ANCHOR_MONTH_END, anchor_dates, closed_investigations
    from riskrank.training.learnability import PARAMS, ROUNDS, TRAIN_AS_OF, _truth_frame
    from riskrank.world import active_cases, in_error_on, read_world

    parser = argparse.ArgumentParser()
    parser.add_argument("--world", type=Path, required=True, help="the world whose random sample is checked")
    parser.add_argument("--bound-world", type=Path, required=True, help="another world, to fit the ranking model on")
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    inputs = list(MODEL_FEATURES)
    truth_rows = _truth_frame(read_world(args.bound_world), pd.Timestamp(TRAIN_AS_OF), None, np.random.default_rng(0))
    booster = lgb.train(PARAMS, lgb.Dataset(truth_rows[inputs], truth_rows["_label"]), num_boost_round=ROUNDS)
    world = read_world(args.world)
    closed = closed_investigations(world)
    rows = closed.loc[closed["selection"].astype(str) == "random"].copy()
    rows["as_of"] = anchor_dates(rows, world.cases, ANCHOR_MONTH_END).to_numpy()
    rows = rows.loc[rows["as_of"] == rows["as_of"].dt.to_period("M").dt.to_timestamp(how="end").dt.normalize()]
    rng = np.random.default_rng(args.seed)
    keys = [rows[["case_id", "as_of"]]]
    for as_of, n in rows.groupby("as_of").size().items():
        active = active_cases(world.cases, as_of)["case_id"]
        keys.append(pd.DataFrame({"case_id": active.sample(min(len(active), POPULATION_PER_ROW * n + 200),
                                                           random_state=int(rng.integers(1 << 30))).to_numpy(),
                                  "as_of": as_of}))
    feats = features_of(world, pd.concat(keys).drop_duplicates(ignore_index=True))
    feats["truth"] = in_error_on(world.truth, feats["case_id"].to_numpy(), feats["as_of"])
    feats["score"] = booster.predict(feats[inputs])
    sample = rows[["case_id", "as_of", "label"]].merge(feats, on=["case_id", "as_of"])
    marked = feats.merge(rows[["case_id", "as_of"]], on=["case_id", "as_of"], how="left", indicator=True)
    population = marked.loc[marked["_merge"] == "left_only"]
    cells = sample.groupby([sample["benefit"].astype(str), "as_of"]).size()
    groups = population.groupby([population["benefit"].astype(str), "as_of"])
    known = [(k, n) for k, n in cells.items() if k in groups.groups]
    expected = sum(groups.get_group(k)["truth"].mean() * n for k, n in known)
    auc = float(roc_auc_score(sample["truth"], sample["score"]))
    draws = []
    for _ in range(DRAWS):
        drawn = pd.concat([groups.get_group(k).sample(n, replace=True, random_state=int(rng.integers(1 << 30)))
                           for k, n in known])
        draws.append(roc_auc_score(drawn["truth"], drawn["score"]))
    print(f"world {args.world}: {len(sample):,} random-sample rows at month-ends, {int(sample['truth'].sum())} in error on "
          f"their feature date ({expected:.1f} expected from their cells' rates), {int(sample['label'].sum())} with action")
    below = float(np.mean(np.array(draws) <= auc))
    print(f"AUC of the independent truth-trained model: {auc:.3f}; mix-matched uniform draws 5/50/95 %: "
          f"{np.percentile(draws, [5, 50, 95]).round(3).tolist()}; share of draws at or below: {below:.3f}")


if __name__ == "__main__":
    main()
