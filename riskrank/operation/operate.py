"""An operational period: the world continues past training, and the champion's worklists drive part of the
investigations.

Each month the champion scores the cases active on its first day (features as of that day, nothing later)
and hands out one worklist per benefit through serving's own worklist code, hidden random share included,
with k = the capacity share x the investigations the world opened for that benefit in the month. Each
handed-out case is investigated: opened within two weeks, closed after a handling time drawn from the world's
own investigations of the benefit, ending with action exactly when the world's truth has the case in error on
the opening day, with amounts, action type and police report drawn as the world's investigations of the
benefit have them. Investigations closed by the end of the period are recorded through serving's outcome
recording (`record_outcome`), which takes selection, model version and score from the worklist, as for real
outcomes. Cases on an earlier worklist of the period, or under an open investigation of the world, are left out.

It imports training and serving, so it sits beside demo.py, not in riskrank/simulation. The world's own
investigations are not changed: a case the model finds is not taken out of the world's later months.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from riskrank.fairness.policy import SENSITIVE_REFERENCES
from riskrank.world import OUTCOME_COLUMNS, World, in_error_on, under_open_investigation

GROUP_COLUMNS = tuple(SENSITIVE_REFERENCES)  # recorded with each outcome, for measurement only

OPERATION_USER = "operation"
OPENING_DELAY_DAYS = 14
FALLBACK_MONTHS = 6.0  # SEK months of error found or prevented where the world has no investigation of a benefit


@dataclass(frozen=True)
class OperationConfig:
    start: pd.Timestamp  # first day of the first operating month
    end: pd.Timestamp  # last day of the period: investigations closed later stay open (not recorded)
    capacity_share: float = 1.0
    random_share: float = 0.05
    seed: int = 0


@dataclass(frozen=True)
class OperationResult:
    months: int
    worklists: int
    handed_out: int
    recorded: int
    still_open: int


def world_as_of(world: World, cutoff: pd.Timestamp) -> World:
    """The world as known on `cutoff`: later cases, signals and investigations left out, later closings and
    case ends not yet known. Training on it keeps the operating months unseen."""
    cutoff = pd.Timestamp(cutoff)
    cases = world.cases.loc[world.cases["start_date"] <= cutoff].copy()
    cases.loc[cases["end_date"] > cutoff, "end_date"] = pd.NaT
    inv = world.investigations.loc[world.investigations["opened_date"] <= cutoff].copy()
    unknown = inv["closed_date"] > cutoff
    inv.loc[unknown, "closed_date"] = pd.NaT
    for column in OUTCOME_COLUMNS:
        if column in inv.columns:
            inv.loc[unknown, column] = None
    signals = world.signals.loc[world.signals["date"] <= cutoff]
    truth = None
    if world.truth is not None:  # errors that start (or end) later are not yet a fact on the cutoff
        truth = world.truth.loc[world.truth["case_id"].isin(cases["case_id"])].copy()
        for column in ("error_start", "error_end"):
            if column in truth.columns:
                truth.loc[truth[column] > cutoff, column] = pd.NaT
    meta = {**(world.meta or {}), "end_date": str(cutoff.date()), "known_as_of": str(cutoff.date())}
    return replace(world, cases=cases, signals=signals, investigations=inv, truth=truth, meta=meta)


def month_starts(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    return list(pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), end, freq="MS"))


class _OutcomeModel:
    """How investigations of a benefit end in this world: handling time, SEK per month in error, action type,
    police report; all drawn from the world's closed investigations before the period."""

    def __init__(self, world: World, truth: pd.DataFrame, before: pd.Timestamp, rng: np.random.Generator) -> None:
        self.rng = rng
        inv = world.investigations
        closed = inv.loc[inv["closed_date"].notna() & (inv["closed_date"] < before)]
        closed = closed.merge(world.cases[["case_id", "benefit"]], on="case_id").merge(
            truth[["case_id", "monthly_error_sek"]], on="case_id", how="left")
        closed["benefit"] = closed["benefit"].astype(str)
        self.handling = {b: g.to_numpy() for b, g in (closed["closed_date"] - closed["opened_date"]).dt.days.groupby(
            closed["benefit"])}
        self.all_handling = (closed["closed_date"] - closed["opened_date"]).dt.days.to_numpy()
        hits = closed.loc[closed["action"].fillna(False).astype(bool) & (closed["monthly_error_sek"] > 0)]
        per_month = hits["monthly_error_sek"]
        self.detected_months = (hits["detected_sek"] / per_month).groupby(hits["benefit"]).median().to_dict()
        self.prevented_months = (hits["prevented_sek"] / per_month).groupby(hits["benefit"]).median().to_dict()
        self.police = hits["police_report"].astype(bool).groupby(hits["benefit"]).mean().to_dict()
        self.action_types = {b: g.dropna().astype(str).to_numpy() for b, g in hits["action_type"].groupby(hits["benefit"])}

    def investigate(self, benefit: str, opened: pd.Timestamp, in_error: bool, monthly_error_sek: float) -> dict[str, Any]:
        days = self.handling.get(benefit)
        days = days if days is not None and len(days) else self.all_handling
        closed = opened + pd.Timedelta(days=int(self.rng.choice(days)) if len(days) else 60)
        report: dict[str, Any] = {"opened_date": opened.date(), "closed_date": closed.date(), "action": bool(in_error),
                                  "action_type": None, "detected_sek": 0.0, "prevented_sek": 0.0, "police_report": False}
        if in_error:
            types = self.action_types.get(benefit)
            per_month = max(float(monthly_error_sek), 0.0)
            report.update(
                action_type=str(self.rng.choice(types)) if types is not None and len(types) else "reduced",
                detected_sek=round(per_month * self.detected_months.get(benefit, FALLBACK_MONTHS)),
                prevented_sek=round(per_month * self.prevented_months.get(benefit, FALLBACK_MONTHS)),
                police_report=bool(self.rng.random() < self.police.get(benefit, 0.0)),
            )
        return report


class _FrameSource:
    """Serving's FeatureSource over features computed in memory: the month's frame for scoring and worklists, and
    the benefit and the measured groups (sex, born abroad, age band) of every case scored in the period for recording
    outcomes."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.frame = pd.DataFrame()
        self.as_of: date | None = None

    def add(self, frame: pd.DataFrame, as_of: date) -> None:
        self.frame, self.as_of = frame, as_of
        groups = {c: (frame[c].astype(object) if c in frame.columns else pd.Series(None, index=frame.index)).tolist()
                  for c in GROUP_COLUMNS}
        for i, (case_id, benefit) in enumerate(zip(frame["case_id"].tolist(), frame["benefit"].astype(str).tolist(),
                                                   strict=True)):
            self.rows[int(case_id)] = {"benefit": benefit, **{c: groups[c][i] for c in GROUP_COLUMNS}}

    def get(self, case_id: int) -> dict[str, Any] | None:
        return self.rows.get(int(case_id))

    def latest_as_of(self) -> date | None:
        return self.as_of

    def latest_frame(self, benefit: str | None = None) -> pd.DataFrame:
        return self.frame if benefit is None else self.frame[self.frame["benefit"].astype(str) == benefit]

    def frames(self, as_of: Any, case_ids: np.ndarray | None = None, rows: int = 100_000) -> Iterator[pd.DataFrame]:
        frame = self.frame if case_ids is None else self.frame[self.frame["case_id"].isin(case_ids)]
        for start in range(0, len(frame), rows):
            yield frame.iloc[start : start + rows]


def _capacity(world: World, month: pd.Timestamp, share: float) -> dict[str, int]:
    inv = world.investigations
    opened = inv.loc[(inv["opened_date"] >= month) & (inv["opened_date"] < month + pd.offsets.MonthBegin(1))]
    counts = opened.merge(world.cases[["case_id", "benefit"]], on="case_id")["benefit"].astype(str).value_counts()
    return {b: max(1, round(share * int(n))) for b, n in counts.items()}


def operate(world: World, model, engine: Engine, config: OperationConfig, pseudonym_key: str,
            progress: Callable[[str], None] | None = None) -> OperationResult:
    """Run the champion `model` (a ScoringModel) over the period; worklists and outcomes go to `engine`."""
    from riskrank.db import ensure_schema
    from riskrank.features.pipeline import features_as_of
    from riskrank.serving.outcomes import record_outcome
    from riskrank.serving.snapshot import from_features
    from riskrank.serving.worklist import make_worklist

    truth = world.truth
    if truth is None:
        raise ValueError("an operational period needs the world's truth table to know what investigations find")
    ensure_schema(engine)
    rng = np.random.default_rng(config.seed)
    outcomes = _OutcomeModel(world, truth, config.start, rng)
    errors = truth.drop_duplicates("case_id").set_index("case_id")["monthly_error_sek"]
    source, picked, pending = _FrameSource(), set[int](), list[dict[str, Any]]()
    months = month_starts(config.start, config.end)
    worklists = 0
    for month in months:
        frame = features_as_of(world, month)
        frame = frame.loc[~frame["case_id"].isin(picked)
                          & ~under_open_investigation(world.investigations, frame["case_id"], month)]
        source.add(frame, month.date())
        snapshot = from_features(model, source, month.date())
        for benefit, k in sorted(_capacity(world, month, config.capacity_share).items()):
            if benefit not in snapshot.sorted_scores:
                continue
            listed = make_worklist(engine, snapshot, user=OPERATION_USER, benefit=benefit, k=k, objective="hit_rate",
                                   share=config.random_share, top=0, pseudonym_key=pseudonym_key, rng=rng)
            worklists += 1
            case_ids = np.array([item["case_id"] for item in listed["items"]], dtype=np.int64)
            opened = month + pd.to_timedelta(rng.integers(0, OPENING_DELAY_DAYS, len(case_ids)), unit="D")
            found = in_error_on(truth, case_ids, opened.to_numpy())
            for case_id, day, hit in zip(case_ids.tolist(), opened, found.tolist(), strict=True):
                picked.add(case_id)
                report = outcomes.investigate(benefit, day, hit, float(errors.get(case_id, 0.0)))
                pending.append({"investigation_id": f"OP-v{model.version}-{month:%Y%m}-{case_id}", "case_id": case_id,
                                **report})
        if progress is not None:
            progress(f"{month:%Y-%m}: {worklists} worklists so far, {len(pending):,} cases handed out")
    recorded = 0
    for report in sorted(pending, key=lambda r: r["closed_date"]):
        if pd.Timestamp(report["closed_date"]) > config.end:
            continue
        # record_outcome reads only the benefit and the measured groups of a case from its feature source.
        report = {**report, "disagreed_with_score": False, "disagreement_reason": None}
        record_outcome(engine, source, report, selection=None, user=OPERATION_USER,
                       pseudonym_key=pseudonym_key)
        recorded += 1
    return OperationResult(len(months), worklists, len(pending), recorded, len(pending) - recorded)
