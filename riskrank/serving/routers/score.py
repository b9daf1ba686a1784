"""POST /v1/score: score features supplied in the body (for the case-handling system)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError

from riskrank.serving.auth import User
from riskrank.serving.deps import BODY_AUTH_ERRORS, NOTICE, get_snapshot, require_investigator
from riskrank.serving.jsonbody import json_response
from riskrank.serving.schemas import ScoreRequest, ScoreResponse
from riskrank.serving.scoring import audit_reasons, score_payload
from riskrank.serving.snapshot import Snapshot
from riskrank.serving.validation import feature_problems

router = APIRouter(prefix="/v1", tags=["score"], responses=BODY_AUTH_ERRORS)


@router.post(
    "/score",
    response_model=ScoreResponse,
    summary="Score features given in the body; every unknown, missing or badly typed feature is named in a 422",
)
def score_features(
    request: Request,
    body: ScoreRequest,
    user: User = Depends(require_investigator),
    snapshot: Snapshot = Depends(get_snapshot),
) -> Response:
    problems = feature_problems(body.features, snapshot.explainer)
    benefit = body.benefit if body.benefit is not None else body.features.get("benefit")
    if benefit is not None and not isinstance(benefit, str):
        problems.append({"loc": ["body", "benefit"], "msg": "benefit must be a string", "type": "string_type"})
    if problems:
        raise RequestValidationError(problems)
    row = snapshot.model.row_array(body.features)
    payload = {**score_payload(snapshot, row, benefit, body.top), "notice": NOTICE}
    # Committed before the response (shared with concurrent score requests by the group-commit writer).
    request.app.state.audit_writer.append(
        actor=user.name, action="score_body", model_version=snapshot.version, score=payload["score"],
        details={"reasons": audit_reasons(payload)},
    )
    return json_response(payload)
