"""Worklists: the k cases to investigate next for a benefit (or all), by hit rate or expected SEK.

A share of every worklist (settings.random_share) is drawn uniformly at random from the active cases,
so hit rates can be measured without the model's selection bias. The random cases are drawn first,
from all active cases, and the model fills the rest. Nothing in the response tells them apart: the
cases are handed out in a random order (an order by score would put the random ones last), and scores,
percentiles and reasons are shown only when settings.worklist_show_scores asks for them (a random case's
low score would give it away). Which is which is recorded only in the database (worklist_items.selection).
Cases under open investigation (handed out on a worklist, no outcome recorded since) are left out, and the
response says how many.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from riskrank.db import outcomes
from riskrank.errors import UserError
from riskrank.serving import audit_chain
from riskrank.serving.pseudonym import pseudonymise
from riskrank.serving.scoring import audit_reasons, explain_rows
from riskrank.serving.snapshot import Snapshot
from riskrank.serving.tables import worklist_items, worklists


class Objective(StrEnum):
    hit_rate = "hit_rate"
    expected_sek = "expected_sek"  # score x the benefit's mean SEK found


OBJECTIVES: tuple[str, ...] = tuple(Objective)
MAX_K = 5000


@dataclass(frozen=True)
class Pick:
    row: int
    selection: str  # model | random
    priority: float  # the objective's value


def random_count(k: int, share: float, rng: np.random.Generator) -> int:
    """k x share, rounded at random (up with probability equal to the fraction) so the share holds on average."""
    exact = k * share
    whole = math.floor(exact)
    return whole + int(rng.random() < exact - whole)


def cases_under_open_investigation(engine: Engine) -> np.ndarray:
    """Case ids handed out on a worklist with no outcome recorded for them since: still being investigated."""
    handed = (sa.select(worklist_items.c.case_id, sa.func.max(worklist_items.c.created_at).label("handed_out"))
              .group_by(worklist_items.c.case_id).subquery())
    reported = (sa.select(outcomes.c.case_id, sa.func.max(outcomes.c.recorded_at).label("recorded"))
                .group_by(outcomes.c.case_id).subquery())
    query = (sa.select(handed.c.case_id).outerjoin(reported, reported.c.case_id == handed.c.case_id)
             .where(sa.or_(reported.c.recorded.is_(None), reported.c.recorded < handed.c.handed_out)))
    with engine.connect() as conn:
        return np.array([row[0] for row in conn.execute(query)], dtype=np.int64)


def choose(snapshot: Snapshot, benefit: str | None, k: int, objective: str, share: float, rng: np.random.Generator,
           left_out: np.ndarray | None = None) -> list[Pick]:
    if objective not in OBJECTIVES:
        raise UserError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if not 1 <= k <= MAX_K:
        raise UserError(f"k must be between 1 and {MAX_K}, got {k}")
    if not 0.0 <= share <= 1.0:
        raise UserError(f"random share must be between 0 and 1, got {share}")
    rows = snapshot.active_rows(benefit)
    if left_out is not None:
        rows = rows[~np.isin(snapshot.case_ids[rows], left_out)]
    if len(rows) == 0:
        raise UserError(f"no active cases for benefit {benefit!r} in the feature store" if benefit else "no active cases")
    k = min(k, len(rows))
    scores = snapshot.scores[rows]
    if objective == "expected_sek":
        values = snapshot.model.expected_value_sek_by_benefit
        per_row = np.array([values.get(str(b), 0.0) for b in snapshot.benefits[rows]], dtype=np.float64)
        priority = scores * per_row
    else:
        priority = scores
    n_random = min(random_count(k, share, rng), k)
    random_pos = rng.choice(len(rows), size=n_random, replace=False) if n_random else np.empty(0, dtype=np.int64)
    taken = np.zeros(len(rows), dtype=bool)
    taken[random_pos] = True
    # Highest priority first; ties by case id so the same inputs give the same list.
    order = np.lexsort((snapshot.case_ids[rows], -priority))
    model_pos = order[~taken[order]][: k - n_random]
    picks = [Pick(int(rows[p]), "random", float(priority[p])) for p in random_pos.tolist()]
    picks += [Pick(int(rows[p]), "model", float(priority[p])) for p in model_pos.tolist()]
    return [picks[i] for i in rng.permutation(len(picks)).tolist()]  # an order that carries no information


def make_worklist(
    engine: Engine,
    snapshot: Snapshot,
    *,
    user: str,
    benefit: str | None,
    k: int,
    objective: str,
    share: float,
    top: int,
    pseudonym_key: str,
    show_scores: bool = False,
    rng: np.random.Generator | None = None,
) -> dict[str, Any]:
    """Choose, record (worklist tables and audit log) and return the worklist as investigators see it: scores,
    percentiles and reasons only with `show_scores`, otherwise null and empty for every case alike."""
    if benefit is not None and benefit not in snapshot.sorted_scores:
        known = ", ".join(sorted(snapshot.sorted_scores)) or "none"
        raise UserError(f"no active cases for benefit {benefit!r}; benefits with active cases: {known}")
    under_investigation = cases_under_open_investigation(engine)
    n_left_out = int(np.isin(snapshot.case_ids[snapshot.active_rows(benefit)], under_investigation).sum())
    picks = choose(snapshot, benefit, k, objective, share, rng or np.random.default_rng(), left_out=under_investigation)
    rows = np.array([p.row for p in picks], dtype=np.int64)
    scores = snapshot.scores[rows]
    hidden: dict[str, list[dict[str, Any]]] = {"reasons": [], "reasons_lowering": []}
    explained = explain_rows(snapshot, snapshot.X[rows], top, scores)[3] if show_scores else [hidden] * len(picks)
    worklist_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    items = []
    for position, (pick, score, why) in enumerate(zip(picks, scores.tolist(), explained, strict=True), start=1):
        benefit_of_case = str(snapshot.benefits[pick.row])
        items.append(
            {
                "position": position,
                "case_id": int(snapshot.case_ids[pick.row]),
                "benefit": benefit_of_case,
                "score": score if show_scores else None,
                "percentile": snapshot.percentile(score, benefit_of_case) if show_scores else None,
                "expected_sek": pick.priority if show_scores and objective == "expected_sek" else None,
                **why,
            }
        )
    def record(conn: Connection) -> None:
        conn.execute(
            worklists.insert().values(
                worklist_id=worklist_id, created_at=now, created_by=user, benefit=benefit, k=len(picks), objective=objective,
                random_share=share, model_version=str(snapshot.version), features_as_of=snapshot.as_of,
            )
        )
        conn.execute(
            worklist_items.insert(),
            [
                {"worklist_id": worklist_id, "position": item["position"], "case_id": item["case_id"], "benefit": item["benefit"],
                 "selection": pick.selection, "score": score, "created_at": now}
                for item, pick, score in zip(items, picks, scores.tolist(), strict=True)
            ],
        )

    # The worklist and its audit entry commit together: a recorded worklist is always audited.
    audit_chain.append(
        engine, actor=user, action="worklist", model_version=snapshot.version, together_with=record,
        details={
            "worklist_id": worklist_id, "benefit": benefit, "k": len(items), "objective": objective,
            "scores_shown": show_scores,
            "items": [
                {
                    "case": pseudonymise(item["case_id"], pseudonym_key),
                    "score": score,  # the score the selection used, whether shown or not
                    "reasons": audit_reasons(item),
                }
                for item, score in zip(items, scores.tolist(), strict=True)
            ],
        },
    )
    model = snapshot.model
    return {
        "worklist_id": worklist_id,
        "created_at": now,
        "created_by": user,
        "benefit": benefit,
        "k": len(items),
        "objective": objective,
        "model": {"name": model.name, "version": model.version, "alias": model.alias},
        "features_as_of": snapshot.as_of.isoformat() if snapshot.as_of else None,
        "left_out_under_investigation": n_left_out,
        "items": items,
    }


@dataclass(frozen=True)
class StoredWorklist:
    worklist_id: str
    created_at: datetime
    created_by: str
    benefit: str | None
    k: int
    objective: str
    model_version: str | None
    features_as_of: Any
    items: list[dict[str, Any]]  # position, case_id, benefit, score (the selection stays in the database)


def stored_worklist(engine: Engine, worklist_id: str) -> StoredWorklist | None:
    """A recorded worklist and its items in their handed-out order; None if there is none with that id."""
    with engine.connect() as conn:
        head = conn.execute(sa.select(worklists).where(worklists.c.worklist_id == worklist_id)).mappings().first()
        if head is None:
            return None
        rows = conn.execute(
            sa.select(worklist_items.c.position, worklist_items.c.case_id, worklist_items.c.benefit, worklist_items.c.score)
            .where(worklist_items.c.worklist_id == worklist_id).order_by(worklist_items.c.position)
        ).mappings().all()
    created_at = head["created_at"]
    return StoredWorklist(
        worklist_id=worklist_id, created_at=created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC),
        created_by=head["created_by"], benefit=head["benefit"], k=head["k"], objective=head["objective"],
        model_version=head["model_version"], features_as_of=head["features_as_of"], items=[dict(r) for r in rows],
    )


def worklists_of(engine: Engine, user: str, limit: int = 50) -> list[dict[str, Any]]:
    """The worklists `user` made, newest first (the workspace's list): id, created_at, benefit, k."""
    query = (sa.select(worklists.c.worklist_id, worklists.c.created_at, worklists.c.benefit, worklists.c.k)
             .where(worklists.c.created_by == user).order_by(worklists.c.created_at.desc()).limit(limit))
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
