"""Recording investigation outcomes into the shared `outcomes` table, idempotently by investigation id.

`selection` comes from the worklist that handed the case out (model or random), so investigators never
state it for worklist cases; cases that came in otherwise (impulse, fk_initiated) say so in the report.
The same report sent twice returns the stored record; a different report for the same id is a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from riskrank.db import outcomes
from riskrank.serving import audit_chain
from riskrank.serving.featuresource import FeatureSource
from riskrank.serving.pseudonym import pseudonymise
from riskrank.serving.tables import worklist_items, worklists

# Fields of the report itself: a second report with the same investigation id must match on all of them.
REPORT_FIELDS: tuple[str, ...] = (
    "case_id", "opened_date", "closed_date", "action", "action_type", "detected_sek", "prevented_sek", "police_report",
    "disagreed_with_score", "disagreement_reason",
)


class OutcomeConflict(Exception):
    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"investigation already recorded with different {', '.join(fields)}")
        self.fields = fields


class OutcomeRejected(Exception):
    """The report cannot be recorded as given (unknown case, missing selection)."""


@dataclass(frozen=True)
class Recorded:
    record: dict[str, Any]
    created: bool


def _stored(engine: Engine, investigation_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(outcomes).where(outcomes.c.investigation_id == investigation_id)).mappings().first()
    return dict(row) if row else None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    if isinstance(a, datetime | date) and isinstance(b, datetime | date):
        return a.isoformat()[:10] == b.isoformat()[:10]
    return a == b


def _differences(stored: dict[str, Any], report: dict[str, Any]) -> list[str]:
    return [f for f in REPORT_FIELDS if not _same(stored[f], report[f])]


def _originating_worklist_item(engine: Engine, case_id: int) -> dict[str, Any] | None:
    """The worklist hand-out this investigation came from: the first one of the case after its last recorded
    outcome. A later worklist that lists the case again (while the investigation runs) never relabels it,
    so a random-sample case keeps `random` and the hit-rate comparison stays unbiased."""
    with engine.connect() as conn:
        last_outcome = conn.execute(
            sa.select(sa.func.max(outcomes.c.recorded_at)).where(outcomes.c.case_id == case_id)
        ).scalar()
        query = (
            sa.select(worklist_items, worklists.c.model_version)
            .join(worklists, worklists.c.worklist_id == worklist_items.c.worklist_id)
            .where(worklist_items.c.case_id == case_id)
        )
        if last_outcome is not None:
            query = query.where(worklist_items.c.created_at > last_outcome)
        row = conn.execute(query.order_by(worklist_items.c.created_at.asc()).limit(1)).mappings().first()
    return dict(row) if row else None


def _known(value: Any) -> bool:
    return value is not None and value == value  # NaN (a missing feature) is unknown too


def measurement_groups(features: dict[str, Any] | None) -> dict[str, Any]:
    """The groups the fairness gate judges, from the case's features, for measurement only (db.outcomes): sex,
    born_abroad and the age band at the features' date; None where unknown."""
    features = features or {}
    sex, born, band = (features.get(k) for k in ("sex", "born_abroad", "age_band"))
    return {"sex": str(sex) if _known(sex) else None, "born_abroad": bool(born) if _known(born) else None,
            "age_band": str(band) if _known(band) else None}


def _audit_details(record: dict[str, Any], pseudonym_key: str) -> dict[str, Any]:
    return {
        "investigation": pseudonymise(record["investigation_id"], pseudonym_key),
        "action": record["action"], "action_type": record["action_type"], "detected_sek": record["detected_sek"],
        "prevented_sek": record["prevented_sek"], "police_report": record["police_report"],
        "disagreed_with_score": record["disagreed_with_score"],
    }


def record_outcome(
    engine: Engine, feature_source: FeatureSource | None, report: dict[str, Any], selection: str | None, user: str,
    pseudonym_key: str,
) -> Recorded:
    """Record the report and its audit entry in one transaction: both are stored or neither is."""
    stored = _stored(engine, report["investigation_id"])
    if stored is not None:
        diff = _differences(stored, report)
        if diff:
            raise OutcomeConflict(diff)
        return Recorded(stored, created=False)

    case_id = report["case_id"]
    features = feature_source.get(case_id) if feature_source is not None else None
    item = _originating_worklist_item(engine, case_id)
    if item is not None:
        chosen, benefit, model_version, score = item["selection"], item["benefit"], item["model_version"], item["score"]
    else:
        if selection is None:
            raise OutcomeRejected(
                f"case {case_id} was not handed out by a worklist; say how it came in: selection impulse or fk_initiated"
            )
        chosen, model_version, score = selection, None, None
        benefit = features.get("benefit") if features else None
    if benefit is None:
        raise OutcomeRejected(f"case {case_id} is neither on a worklist nor in the feature store")
    record = {
        **report,
        "benefit": str(benefit),
        **measurement_groups(features),
        "selection": chosen,
        "model_version": None if model_version is None else str(model_version),
        "score": score,
        "recorded_by": user,
        "recorded_at": datetime.now(UTC),
    }

    def insert(conn: Connection) -> None:
        conn.execute(outcomes.insert().values(**record))

    try:
        audit_chain.append(
            engine, actor=user, action="outcome", subject=pseudonymise(case_id, pseudonym_key),
            model_version=record["model_version"], score=record["score"], details=_audit_details(record, pseudonym_key),
            together_with=insert,
        )
    except sa.exc.IntegrityError:
        # Another request recorded the same investigation between our read and write: compare with that one.
        stored = _stored(engine, report["investigation_id"])
        if stored is None:
            raise
        diff = _differences(stored, report)
        if diff:
            raise OutcomeConflict(diff) from None
        return Recorded(stored, created=False)
    return Recorded(_stored(engine, report["investigation_id"]) or record, created=True)
