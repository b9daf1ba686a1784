"""POST /v1/outcomes: record what an investigation found (idempotent by investigation id)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from riskrank.serving.auth import User
from riskrank.serving.deps import BODY_AUTH_ERRORS, require_investigator
from riskrank.serving.outcomes import OutcomeConflict, OutcomeRejected, record_outcome
from riskrank.serving.problems import error_responses
from riskrank.serving.schemas import OutcomeRequest, OutcomeResponse

router = APIRouter(prefix="/v1", tags=["outcomes"])


@router.post(
    "/outcomes",
    response_model=OutcomeResponse,
    status_code=201,
    summary="Record an investigation's outcome",
    responses={
        **BODY_AUTH_ERRORS,
        **error_responses(409),
        200: {"description": "Already recorded with the same report; the stored record is returned"},
    },
)
def report_outcome(
    request: Request, response: Response, body: OutcomeRequest, user: User = Depends(require_investigator)
) -> dict:
    app = request.app
    report = body.model_dump(exclude={"selection"})
    try:
        recorded = record_outcome(app.state.engine, app.state.holder.feature_source, report, body.selection, user.name,
                                  app.state.settings.pseudonym_key)
    except OutcomeConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except OutcomeRejected as exc:
        raise HTTPException(422, str(exc)) from None
    record = recorded.record
    if not recorded.created:
        response.status_code = 200
    return {**record, "created": recorded.created}
