"""GET /v1/cases/{case_id}/score: a case's score, percentile and reasons, from the feature store."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from riskrank.serving.auth import User
from riskrank.serving.deps import AUTH_ERRORS, NOTICE, get_snapshot, require_investigator
from riskrank.serving.featuresource import model_row
from riskrank.serving.jsonbody import json_response
from riskrank.serving.problems import error_responses
from riskrank.serving.pseudonym import pseudonymise
from riskrank.serving.schemas import MAX_ID, ScoreResponse
from riskrank.serving.scoring import audit_reasons, explained_payload, score_payload
from riskrank.serving.snapshot import Snapshot

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=AUTH_ERRORS)
log = logging.getLogger("riskrank.serving.cases")


@router.get(
    "/{case_id}/score",
    response_model=ScoreResponse,
    summary="Score a case from its stored features, with its top reasons",
    responses=error_responses(404),
)
async def case_score(
    request: Request,
    case_id: int = Path(ge=0, le=MAX_ID),
    top: int = Query(5, ge=0, le=100, description="How many reasons to show"),
    user: User = Depends(require_investigator),
    snapshot: Snapshot = Depends(get_snapshot),
) -> Response:
    # Async, so a ranked case (what investigators open from worklists) takes no thread-pool hop: its body is built
    # from memory in microseconds on the event loop, and the audit entry is awaited from the group-commit writer.
    app = request.app
    settings = app.state.settings
    position = snapshot.position(case_id)
    stored = _stored_payload(snapshot, position, case_id, top)
    if stored is not None:
        explained, as_of = stored, snapshot.as_of
    elif app.state.explain_inline:
        # The feature store on SQLite: one local index seek of the model's columns and one TreeSHAP call (about
        # 0.2 ms together) cost less on the loop than the hop to a worker thread and back.
        explained, as_of = _explain_from_store(app, snapshot, position, case_id, top)
    else:
        # A database over the network blocks for a round trip (seconds while it restarts): off the event loop.
        explained, as_of = await run_in_threadpool(_explain_from_store, app, snapshot, position, case_id, top)
    body = {"case_id": case_id, **explained, "features_as_of": as_of.isoformat() if as_of is not None else None, "notice": NOTICE}
    subject = pseudonymise(case_id, settings.pseudonym_key)
    committed = app.state.audit_writer.append_async(
        actor=user.name, action="score", subject=subject, model_version=snapshot.version, score=body["score"],
        details={"reasons": audit_reasons(body)},
    )
    response = json_response(body)  # serialised while the writer thread commits
    # The response goes out only after the entry is committed (group commit shares that commit with concurrent requests).
    await committed
    log.debug("scored case %s with model %s", subject, snapshot.version)
    return response


def _stored_payload(snapshot: Snapshot, position: int | None, case_id: int, top: int) -> dict[str, Any] | None:
    """Ranked high in the nightly run: score and explanation were stored; no model call. None otherwise."""
    stored = snapshot.stored_explanation(case_id) if position is not None else None
    if stored is None or position is None:
        return None
    row, contributions = stored
    return explained_payload(snapshot, row, contributions, snapshot.base_value, float(snapshot.scores[position]),
                             str(snapshot.benefits[position]), top)


def explain_case(app: Any, snapshot: Snapshot, case_id: int, top: int) -> tuple[dict[str, Any], Any]:
    """A case's score body (without case id or notice) and its features' as-of date, as the score route makes
    it; blocking (the workspace's case page calls it from the thread pool). HTTPException 404 without features."""
    position = snapshot.position(case_id)
    body = _stored_payload(snapshot, position, case_id, top)
    if body is not None:
        return body, snapshot.as_of
    return _explain_from_store(app, snapshot, position, case_id, top)


def _explain_from_store(
    app: Any, snapshot: Snapshot, position: int | None, case_id: int, top: int
) -> tuple[dict[str, Any], Any]:
    """Scored but not explained ahead (or not scored: not active on the snapshot's date, or missed by the nightly
    run): explain from the case's latest stored features. Returns the body and the features' as-of date."""
    source = app.state.holder.feature_source
    found = model_row(source, snapshot.model, case_id) if source is not None else None
    if found is None:
        raise HTTPException(404, f"no features stored for case {case_id}")
    as_of, benefit, row = found
    # The snapshot's score where these are the features it scored (the store may already hold a newer date).
    same_date = position is not None and as_of == snapshot.as_of
    score = float(snapshot.scores[position]) if same_date else None
    return score_payload(snapshot, row, benefit, top, score), as_of
