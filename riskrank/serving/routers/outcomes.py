"""POST /v1/outcomes: record what an investigation found (idempotent by investigation id)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from riskrank.serving import audit
from riskrank.serving.auth import User
from riskrank.serving.deps import require_investigator
from riskrank.serving.outcomes import OutcomeConflict, OutcomeRejected, record_outcome
from riskrank.serving.pseudonym import pseudonymise
from riskrank.serving.schemas import OutcomeRequest, OutcomeResponse

router = APIRouter(prefix="/v1", tags=["outcomes"])


@router.post(
    "/outcomes",
    response_model=OutcomeResponse,
    status_code=201,
    summary="Record an investigation's outcome",
    responses={
        200: {"description": "Already recorded with the same report; the stored record is returned"},
        409: {"description": "Already recorded with a different report"},
    },
)
def report_outcome(
    request: Request, response: Response, body: OutcomeRequest, user: User = Depends(require_investigator)
) -> dict:
    app = request.app
    report = body.model_dump(exclude={"selection"})
    try:
        recorded = record_outcome(app.state.engine, app.state.holder.feature_source, report, body.selection, user.name)
    except OutcomeConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except OutcomeRejected as exc:
        raise HTTPException(422, str(exc)) from None
    record = recorded.record
    if recorded.created:
        audit.append(
            app.state.engine, actor=user.name, action="outcome",
            subject=pseudonymise(record["case_id"], app.state.settings.pseudonym_key), model_version=record["model_version"],
            score=record["score"],
            details={
                "investigation": pseudonymise(record["investigation_id"], app.state.settings.pseudonym_key),
                "action": record["action"], "action_type": record["action_type"], "detected_sek": record["detected_sek"],
                "prevented_sek": record["prevented_sek"], "police_report": record["police_report"],
                "disagreed_with_score": record["disagreed_with_score"],
            },
        )
    else:
        response.status_code = 200
    return {**record, "created": recorded.created}
