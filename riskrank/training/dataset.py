"""The training set: one row per closed investigation, with its case's features as of the day it opened, and
(positive-unlabelled learning, training/unlabelled.py) a sample of uninvestigated active cases at month-end
snapshots, label 0, weight `UnlabelledConfig.weight`. With unlabelled rows, the investigated rows are seen as of
the month-end before the investigation opened, like the unlabelled ones (anchor_dates; measured in
docs/training.md: as of the opening date the fit learns the freshness of the trigger, not the error).

Split by time, never at random. The newest `test_months` months of opening dates bound the test period, the
`valid_months` before them the validation period (early stopping), everything older the training period. A row
belongs to the period in which its label became known: an investigation's closing date, not its opening date,
so no label from an investigation closed on or after the start of the validation months (the training cutoff)
reaches the training rows. Rows of one case stay in one split: a case investigated more than once goes wholly to
the split of its latest label (never earlier, which would move a label before its cutoff). A random split would
let the model learn from the future of the months it is tested on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from riskrank.errors import UserError
from riskrank.training.unlabelled import NONE as NO_UNLABELLED
from riskrank.training.unlabelled import UNLABELLED, UnlabelledConfig, unlabelled_keys
from riskrank.world import World, after_burn_in
from riskrank.world_blocks import WorldOnDisk

LABEL = "label"
VALUE = "value_sek"
SPLIT = "split"
SPLITS = ("train", "valid", "test")
WEIGHT = "row_weight"  # 1 for an investigated row, UnlabelledConfig.weight for an unlabelled one
ANCHOR_OPENING = "opening"
ANCHOR_MONTH_END = "month_end"


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
    frame: pd.DataFrame  # features + LABEL, VALUE, SPLIT, WEIGHT, selection, opened_date, closed_date, investigation_id
    bounds: SplitBounds
    data_hash: str

    def part(self, name: str) -> pd.DataFrame:
        return self.frame.loc[self.frame[SPLIT] == name]

    def investigated(self, name: str) -> pd.DataFrame:
        """The split's closed investigations, without the unlabelled rows."""
        part = self.part(name)
        return part.loc[part["selection"].astype(str) != UNLABELLED]

    @property
    def has_unlabelled(self) -> bool:
        return bool((self.frame["selection"].astype(str) == UNLABELLED).any())

    @property
    def weighted(self) -> bool:
        """Whether any row weighs other than 1 (then the fit must honour WEIGHT)."""
        return bool((self.frame[WEIGHT] != 1.0).any())


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


def case_splits(row_split: pd.Series, case_ids: pd.Series) -> pd.Series:
    """Each row's split moved to the latest split of any row of its case."""
    rank = row_split.map({name: i for i, name in enumerate(SPLITS)})
    latest = rank.groupby(case_ids.to_numpy()).transform("max")
    return latest.map(dict(enumerate(SPLITS))).astype(object)


def closed_investigations(world: World | WorldOnDisk) -> pd.DataFrame:
    inv = after_burn_in(world.investigations, world.meta)  # the burn-in is history for the features, not rows
    closed = inv.loc[inv["closed_date"].notna()].copy()
    if closed.empty:
        raise UserError("the world has no closed investigations to learn from")
    closed[LABEL] = closed["action"].astype(bool).astype(int)
    closed[VALUE] = closed["detected_sek"].fillna(0.0) + closed["prevented_sek"].fillna(0.0)
    return closed


def data_hash(frame: pd.DataFrame) -> str:
    """sha256 over the rows (order-independent: sorted by investigation id, then case and date for the unlabelled
    rows) and the column names."""
    ordered = frame.sort_values([c for c in ("investigation_id", "case_id", "as_of") if c in frame.columns])
    ordered = ordered.reset_index(drop=True)
    ordered = ordered[sorted(ordered.columns)]
    digest = hashlib.sha256(",".join(ordered.columns).encode())
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def anchor_dates(closed: pd.DataFrame, cases: pd.DataFrame, anchor: str) -> pd.Series:
    """The date each investigated row's features are taken as of: the opening date ("opening"), or the end of the
    month before it opened ("month_end"; the case's start if it started later), the kind of date an unlabelled row is
    seen on, so that the two kinds of rows differ in their label, not in how fresh the trigger of an investigation is."""
    if anchor == ANCHOR_OPENING:
        return closed["opened_date"]
    if anchor != ANCHOR_MONTH_END:
        raise ValueError(f"unknown anchor {anchor!r}")
    month_end = (closed["opened_date"].dt.to_period("M") - 1).dt.to_timestamp(how="end").dt.normalize()
    start = cases.set_index("case_id")["start_date"].reindex(closed["case_id"]).to_numpy()
    return month_end.where(month_end.to_numpy() >= start, pd.Series(start, index=closed.index))


def build_training_set(world: World | WorldOnDisk, config: SplitConfig | None = None, engine: str = "pandas", client=None,
                       unlabelled: UnlabelledConfig | None = None, anchor: str | None = None) -> TrainingSet:
    """Closed investigations joined to their case's features as of their anchor date (`anchor`; default: the
    opening date without unlabelled rows, the month-end before it with them), split by when their label became
    known; plus the unlabelled rows of `unlabelled` (None or rows=0: none)."""
    from riskrank.features.blocks import features_of

    config = config or SplitConfig()
    unlabelled = unlabelled or NO_UNLABELLED
    unlabelled.validate()
    anchor = anchor or (ANCHOR_MONTH_END if unlabelled.rows else ANCHOR_OPENING)
    closed = closed_investigations(world)
    bounds = split_bounds(closed["opened_date"], config)
    split = case_splits(assign_split(closed["closed_date"], bounds), closed["case_id"])
    counts = split.value_counts()
    missing = [s for s in SPLITS if counts.get(s, 0) == 0]
    if missing:
        raise UserError(f"time split leaves no closed investigations in {', '.join(missing)} "
                        f"(validation from {bounds.valid_start.date()}, test from {bounds.test_start.date()}); "
                        "use fewer test/validation months or a longer world")
    outcome = closed[["investigation_id", "case_id", "opened_date", "closed_date", "selection", LABEL, VALUE]].assign(
        **{"as_of": anchor_dates(closed, world.cases, anchor).to_numpy(dtype="datetime64[us]"), SPLIT: split.to_numpy(),
           WEIGHT: 1.0})
    outcome["selection"] = outcome["selection"].astype(str)
    extra = unlabelled_keys(world, bounds.valid_start, bounds.test_start,
                            pd.Series(split.to_numpy(), index=closed["case_id"].to_numpy()).groupby(level=0).first(),
                            unlabelled)
    if len(extra):
        outcome = pd.concat([outcome, pd.DataFrame({
            "investigation_id": pd.NA, "case_id": extra["case_id"].to_numpy(), "opened_date": pd.NaT,
            "closed_date": pd.NaT, "selection": UNLABELLED, LABEL: 0, VALUE: 0.0,
            "as_of": extra["as_of"].to_numpy(dtype="datetime64[us]"), SPLIT: extra["split"].to_numpy(),
            WEIGHT: float(unlabelled.weight)})], ignore_index=True)
        outcome["investigation_id"] = outcome["investigation_id"].astype("Int64")
    keys = outcome[["case_id", "as_of"]].drop_duplicates(ignore_index=True)
    feats = features_of(world, keys, engine=engine, client=client)  # a WorldOnDisk a block of persons at a time
    if len(feats) != len(keys):
        raise RuntimeError(f"compute_features returned {len(feats)} rows for {len(keys)} keys")
    outcome["as_of"] = outcome["as_of"].astype(feats["as_of"].dtype)
    frame = outcome.merge(feats, on=["case_id", "as_of"], how="left", validate="many_to_one")
    return TrainingSet(frame=frame.reset_index(drop=True), bounds=bounds, data_hash=data_hash(frame))
