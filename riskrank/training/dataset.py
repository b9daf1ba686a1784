"""The training set: one row per closed investigation, with its case's features as of the day it opened.

Split by time, never at random: the newest `test_months` months of opening dates are the test set, the
`valid_months` before them the validation set (early stopping), everything older the training set. A random
split would let the model learn from the future of the months it is tested on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from riskrank.errors import UserError
from riskrank.world import World, after_burn_in

LABEL = "label"
VALUE = "value_sek"
SPLIT = "split"
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class SplitConfig:
    test_months: int = 6
    valid_months: int = 6

    def validate(self) -> None:
        if self.test_months < 1 or self.valid_months < 1:
            raise UserError(f"test and validation need at least one month each, got {self.test_months} and {self.valid_months}")


@dataclass(frozen=True)
class SplitBounds:
    """First opening date of the validation and test periods, and the last opening date seen."""

    valid_start: pd.Timestamp
    test_start: pd.Timestamp
    last_opened: pd.Timestamp

    def as_dict(self) -> dict[str, str]:
        return {k: str(v.date()) for k, v in vars(self).items()}


@dataclass
class TrainingSet:
    frame: pd.DataFrame  # features + LABEL, VALUE, SPLIT, selection, opened_date, investigation_id
    bounds: SplitBounds
    data_hash: str

    def part(self, name: str) -> pd.DataFrame:
        return self.frame.loc[self.frame[SPLIT] == name]


def split_bounds(opened: pd.Series, config: SplitConfig) -> SplitBounds:
    config.validate()
    last = pd.Timestamp(opened.max())
    last_month = last.to_period("M")
    test_start = (last_month - (config.test_months - 1)).to_timestamp()
    valid_start = (last_month - (config.test_months + config.valid_months - 1)).to_timestamp()
    return SplitBounds(valid_start=valid_start, test_start=test_start, last_opened=last)


def assign_split(opened: pd.Series, bounds: SplitBounds) -> pd.Series:
    split = pd.Series("train", index=opened.index, dtype=object)
    split[opened >= bounds.valid_start] = "valid"
    split[opened >= bounds.test_start] = "test"
    return split


def closed_investigations(world: World) -> pd.DataFrame:
    inv = after_burn_in(world.investigations, world.meta)  # the burn-in is history for the features, not rows
    closed = inv.loc[inv["closed_date"].notna()].copy()
    if closed.empty:
        raise UserError("the world has no closed investigations to learn from")
    closed[LABEL] = closed["action"].astype(bool).astype(int)
    closed[VALUE] = closed["detected_sek"].fillna(0.0) + closed["prevented_sek"].fillna(0.0)
    return closed


def data_hash(frame: pd.DataFrame) -> str:
    """sha256 over the rows (order-independent: sorted by investigation id) and the column names."""
    ordered = frame.sort_values("investigation_id").reset_index(drop=True)
    ordered = ordered[sorted(ordered.columns)]
    digest = hashlib.sha256(",".join(ordered.columns).encode())
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def build_training_set(world: World, config: SplitConfig | None = None, engine: str = "pandas", client=None) -> TrainingSet:
    """Closed investigations joined to their case's features as of the opening date, split by time."""
    from riskrank.features.pipeline import compute_features

    config = config or SplitConfig()
    closed = closed_investigations(world)
    bounds = split_bounds(closed["opened_date"], config)
    split = assign_split(closed["opened_date"], bounds)
    counts = split.value_counts()
    missing = [s for s in SPLITS if counts.get(s, 0) == 0]
    if missing:
        raise UserError(f"time split leaves no closed investigations in {', '.join(missing)} "
                        f"(validation from {bounds.valid_start.date()}, test from {bounds.test_start.date()}); "
                        "use fewer test/validation months or a longer world")
    keys = pd.DataFrame({"case_id": closed["case_id"].to_numpy(), "as_of": closed["opened_date"].to_numpy()})
    keys = keys.drop_duplicates(ignore_index=True)
    feats = compute_features(world, keys, engine=engine, client=client)
    if len(feats) != len(keys):
        raise RuntimeError(f"compute_features returned {len(feats)} rows for {len(keys)} keys")
    outcome = closed[["investigation_id", "case_id", "opened_date", "selection", LABEL, VALUE]].assign(
        **{SPLIT: split.to_numpy()})
    frame = outcome.merge(feats, left_on=["case_id", "opened_date"], right_on=["case_id", "as_of"], how="left",
                          validate="many_to_one")
    return TrainingSet(frame=frame.reset_index(drop=True), bounds=bounds, data_hash=data_hash(frame))
