"""How learnable a synthetic world is: the bound a model trained on investigation outcomes can approach.

A plain LightGBM learns the world's truth ("in error on that date", `riskrank.world.in_error_on`) from
every active case of one world as of one date, and ranks every active case of another world (another
seed) as of a later date that it never saw. Its top-0.1 % and top-1 % hit rates and ROC-AUC say how much
the signals give away: published welfare-risk models are far from pure (the agency's own TFP model found
errors in 39 % of its selections against 29 % in its random sample), so a world whose top is pure would
overstate every gain measured on it.

With a registered model (`riskrank learnability --version N`) the model ranks the same cases beside the
bound: its hit rates and their share of the bound's are what issue 23's targets read. Cases under open
investigation on the test date are not ranked by either (a worklist leaves them out), so the label is honest:
in error on that date and not yet being investigated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from riskrank.errors import UserError

TRAIN_AS_OF = "2024-03-31"
TEST_AS_OF = "2024-09-30"
TOP_SHARES = (0.001, 0.01)
PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 50,
          "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1, "verbose": -1, "seed": 0,
          "num_threads": 2}
ROUNDS = 300


@dataclass(frozen=True)
class Learnability:
    train_rows: int
    test_rows: int
    base_rate: float
    top_0_1_pct_hit_rate: float
    top_1_pct_hit_rate: float
    roc_auc: float
    top_inputs: tuple[str, ...]
    model: ModelRanking | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelRanking:
    """A registered model's ranking of the same cases, and its share of the bound (model / bound)."""
    version: int
    top_0_1_pct_hit_rate: float
    top_1_pct_hit_rate: float
    roc_auc: float
    share_of_bound_top_0_1_pct: float
    share_of_bound_top_1_pct: float


def _truth_frame(world, as_of: pd.Timestamp, max_rows: int | None, rng: np.random.Generator,
                 rankable: bool = False) -> pd.DataFrame:
    """Active cases on `as_of` with their truth; `rankable`: without those under open investigation."""
    from riskrank.features.pipeline import features_as_of
    from riskrank.world import in_error_on, under_open_investigation

    frame = features_as_of(world, as_of)
    if rankable:
        frame = frame.loc[~under_open_investigation(world.investigations, frame["case_id"], as_of)]
        frame = frame.reset_index(drop=True)
    if max_rows is not None and len(frame) > max_rows:
        frame = frame.iloc[np.sort(rng.choice(len(frame), max_rows, replace=False))].reset_index(drop=True)
    return frame.assign(_label=in_error_on(world.truth, frame["case_id"].to_numpy(), as_of).astype(int))


def top_hit_rate(labels: np.ndarray, scores: np.ndarray, share: float) -> float:
    """Share in error among the top `share` of cases by score (at least one case)."""
    k = max(1, int(round(share * len(scores))))
    top = np.argsort(-scores, kind="stable")[:k]
    return float(labels[top].mean())


def measure(train_world, test_world, train_as_of: str = TRAIN_AS_OF, test_as_of: str = TEST_AS_OF,
            max_rows: int | None = None, seed: int = 0, model=None, version: int | None = None) -> Learnability:
    """Fit on `train_world`'s truth as of `train_as_of`, rank `test_world` as of `test_as_of`; with `model` (a
    ScoringModel, registered as `version`) rank the same cases with it too."""
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    from riskrank.features.registry import MODEL_FEATURES

    if train_world.truth is None or test_world.truth is None:
        raise UserError("learnability needs worlds with their truth table (synthetic worlds)")
    rng = np.random.default_rng(seed)
    train = _truth_frame(train_world, pd.Timestamp(train_as_of), max_rows, rng)
    test = _truth_frame(test_world, pd.Timestamp(test_as_of), max_rows, rng, rankable=True)
    inputs = list(MODEL_FEATURES)
    booster = lgb.train(PARAMS, lgb.Dataset(train[inputs], train["_label"]), num_boost_round=ROUNDS)
    scores = np.asarray(booster.predict(test[inputs]), dtype=float)
    labels = test["_label"].to_numpy()
    gain = pd.Series(booster.feature_importance("gain"), index=inputs).sort_values(ascending=False)
    bound = (top_hit_rate(labels, scores, TOP_SHARES[0]), top_hit_rate(labels, scores, TOP_SHARES[1]))
    ranking = None
    if model is not None:
        ranked = np.asarray(model.predict(test), dtype=float)
        mine = (top_hit_rate(labels, ranked, TOP_SHARES[0]), top_hit_rate(labels, ranked, TOP_SHARES[1]))
        ranking = ModelRanking(version=int(version or 0), top_0_1_pct_hit_rate=mine[0], top_1_pct_hit_rate=mine[1],
                               roc_auc=float(roc_auc_score(labels, ranked)),
                               share_of_bound_top_0_1_pct=mine[0] / bound[0] if bound[0] else float("nan"),
                               share_of_bound_top_1_pct=mine[1] / bound[1] if bound[1] else float("nan"))
    return Learnability(
        train_rows=len(train), test_rows=len(test), base_rate=float(labels.mean()),
        top_0_1_pct_hit_rate=bound[0], top_1_pct_hit_rate=bound[1],
        roc_auc=float(roc_auc_score(labels, scores)), top_inputs=tuple(gain.index[:5]), model=ranking,
    )


def to_markdown(result: Learnability, train_world: str, test_world: str) -> str:
    text = (
        "# Learnability\n\n"
        f"A plain LightGBM trained on the truth of every active case of {train_world} as of {TRAIN_AS_OF} "
        f"({result.train_rows:,} cases) ranks the active cases of {test_world} not under open investigation as of "
        f"{TEST_AS_OF} ({result.test_rows:,} cases, {100 * result.base_rate:.1f}% in error):\n\n"
        "| ranking | top 0.1% hit rate | top 1% hit rate | ROC-AUC | strongest inputs |\n|---|---:|---:|---:|---|\n"
        f"| bound (truth-trained) | {result.top_0_1_pct_hit_rate:.3f} | {result.top_1_pct_hit_rate:.3f} | "
        f"{result.roc_auc:.3f} | {', '.join(result.top_inputs)} |\n"
    )
    if result.model is not None:
        m = result.model
        text += (f"| model version {m.version} | {m.top_0_1_pct_hit_rate:.3f} | {m.top_1_pct_hit_rate:.3f} | "
                 f"{m.roc_auc:.3f} | |\n\nThe model reaches {m.share_of_bound_top_1_pct:.2f} of the bound at the top 1% "
                 f"and {m.share_of_bound_top_0_1_pct:.2f} at the top 0.1%.\n")
    return text
