"""The unlabelled rows of positive-unlabelled learning: uninvestigated active cases at month-end snapshots.

The investigated cases are not a sample of the population the model ranks (about half of them end with action,
against a few per cent of active cases in error), so a model fitted on them alone learns what sets the
investigated apart, not what sets the erroneous apart. Adding a sample of the cases nobody investigated, label 0
("unlabelled": most of them are innocent, some are not), at a small weight, shows the model the population it
will rank (measured in docs/training.md, bench/bench_learning.py).

Which case is an unlabelled row at snapshot d (a month-end) of split S (train: the last `snapshots` month-ends
before the validation months; valid: the month-ends of the validation months, so that early stopping judges the
same mixture), with S's cutoff T (the start of the next split):
- active on d, and not under open investigation on d (it would be a labelled row, or no find);
- no investigation opened after d and before min(d + gap_days, T): a case the agency was about to investigate
  was already suspected on d, and its label 0 would contradict the label its investigation gives. Only what was
  known at the cutoff is read, so the rule looks at no investigation opened after T;
- all its investigated rows, if any, lie in S (rows of one case stay in one split), and a case drawn for the
  training snapshots is not drawn for the validation ones.
Features are those of the case as of d, like any key of compute_features; the sample is uniform per snapshot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.errors import UserError
from riskrank.world import World, active_cases, under_open_investigation
from riskrank.world_blocks import WorldOnDisk

UNLABELLED = "unlabelled"  # the `selection` value of an unlabelled row
# Chosen on held-out worlds (bench/bench_learning.py, docs/training.md "Learning from the whole population").
DEFAULT_ROWS = 36_000
DEFAULT_WEIGHT = 0.05
DEFAULT_SNAPSHOTS = 12
GAP_DAYS = 180


@dataclass(frozen=True)
class UnlabelledConfig:
    rows: int = DEFAULT_ROWS  # unlabelled rows in the training split (0: the investigated rows alone)
    weight: float = DEFAULT_WEIGHT  # each unlabelled row's weight; investigated rows weigh 1
    snapshots: int = DEFAULT_SNAPSHOTS
    gap_days: int = GAP_DAYS
    seed: int = 0

    def validate(self) -> None:
        if self.rows < 0:
            raise UserError(f"--unlabelled-rows must be 0 or more, got {self.rows}")
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise UserError(f"--unlabelled-weight must be a number above 0, got {self.weight}")
        if self.snapshots < 1 or self.gap_days < 0:
            raise UserError("unlabelled rows need at least one snapshot and a gap of 0 days or more")

    @property
    def per_snapshot(self) -> int:
        return math.ceil(self.rows / self.snapshots)


NONE = UnlabelledConfig(rows=0)


def month_ends_before(cutoff: pd.Timestamp, n: int) -> list[pd.Timestamp]:
    """The last `n` month-ends strictly before `cutoff`, oldest first."""
    last = (pd.Timestamp(cutoff) - pd.Timedelta(days=1)).to_period("M")
    return [(last - i).to_timestamp(how="end").normalize() for i in reversed(range(n))]


def month_ends_between(start: pd.Timestamp, cutoff: pd.Timestamp) -> list[pd.Timestamp]:
    """Every month-end on or after `start` and strictly before `cutoff`."""
    ends = pd.date_range(start, pd.Timestamp(cutoff) - pd.Timedelta(days=1), freq="ME")
    return [pd.Timestamp(d).normalize() for d in ends]


def eligible(world: World | WorldOnDisk, date: pd.Timestamp, cutoff: pd.Timestamp, gap_days: int) -> np.ndarray:
    """Case ids that may be an unlabelled row on `date` (module docstring), before the split rule."""
    inv = world.investigations
    case_ids = active_cases(world.cases, date)["case_id"].to_numpy(np.int64)
    case_ids = case_ids[~under_open_investigation(inv, case_ids, date)]
    horizon = min(date + pd.Timedelta(days=gap_days), cutoff)
    soon = inv.loc[(inv["opened_date"] > date) & (inv["opened_date"] < horizon), "case_id"].to_numpy()
    return case_ids[~np.isin(case_ids, soon)]


def sample_keys(world: World | WorldOnDisk, dates: list[pd.Timestamp], cutoff: pd.Timestamp, per_snapshot: int,
                excluded: np.ndarray, config: UnlabelledConfig, rng: np.random.Generator) -> pd.DataFrame:
    """(case_id, as_of) keys: up to `per_snapshot` eligible cases at each date, none of them in `excluded`."""
    frames = []
    for date in dates:
        pool = eligible(world, date, cutoff, config.gap_days)
        pool = np.sort(pool[~np.isin(pool, excluded)])
        picked = rng.choice(pool, size=min(per_snapshot, len(pool)), replace=False) if per_snapshot else pool[:0]
        frames.append(pd.DataFrame({"case_id": np.sort(picked).astype(np.int64),
                                    "as_of": np.full(len(picked), date.to_datetime64(), dtype="datetime64[us]")}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"case_id": [], "as_of": []})


def unlabelled_keys(world: World | WorldOnDisk, valid_start: pd.Timestamp, test_start: pd.Timestamp, case_split: pd.Series,
                    config: UnlabelledConfig) -> pd.DataFrame:
    """Keys of the unlabelled rows with their split: `config.rows` in train (at the last `config.snapshots`
    month-ends before `valid_start`) and as many per snapshot at the validation months' month-ends.
    `case_split`: the split of each investigated case (index case_id), whose rows must stay in it."""
    config.validate()
    if config.rows == 0:
        return pd.DataFrame({"case_id": pd.Series([], dtype=np.int64), "as_of": pd.Series([], dtype="datetime64[us]"),
                             "split": pd.Series([], dtype=object)})
    rng = np.random.default_rng(config.seed)
    not_train = case_split.index[case_split != "train"].to_numpy()
    train = sample_keys(world, month_ends_before(valid_start, config.snapshots), valid_start, config.per_snapshot,
                        not_train, config, rng)
    not_valid = np.union1d(case_split.index[case_split != "valid"].to_numpy(), train["case_id"].to_numpy())
    valid = sample_keys(world, month_ends_between(valid_start, test_start), test_start, config.per_snapshot,
                        not_valid, config, rng)
    return pd.concat([train.assign(split="train"), valid.assign(split="valid")], ignore_index=True)
