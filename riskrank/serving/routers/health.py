"""Liveness (/health) and readiness (/ready: a model is loaded and the database answers)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from riskrank.serving.deps import get_engine, get_holder
from riskrank.serving.holder import ModelHolder
from riskrank.serving.problems import error_responses
from riskrank.serving.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="The process is up", responses=error_responses(413))
def health() -> dict[str, str]:
    return {"status": "ok"}


def _failure_reason(failure: dict[str, Any]) -> str:
    """What failed, in words; the exception text (paths, URLs, library internals) stays in the server log."""
    if failure["version"] is None:
        return "the model registry could not be reached, or it has no champion alias"
    return f"model version {failure['version']} could not be loaded (artifact or META unusable)"


@router.get(
    "/ready",
    summary="A model is loaded and the database is reachable (503 otherwise, saying what is missing)",
    response_model=Readiness,
    responses={**error_responses(413), 503: {"description": "Not ready: `reasons` says what failed", "model": Readiness}},
)
def ready(holder: ModelHolder = Depends(get_holder), engine: Engine = Depends(get_engine)) -> JSONResponse:
    status = holder.status()
    reasons = []
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        status["database"] = "ok"
    except sa.exc.SQLAlchemyError:
        status["database"] = "unreachable"
        reasons.append("the operational database does not answer")
    status["feature_store"] = "ok" if holder.feature_source is not None else "not available"
    failure = status["failed_version"]
    if failure is not None:
        status["failed_version"] = {"version": failure["version"], "at": failure["at"], "reason": _failure_reason(failure)}
    if not status["model_loaded"]:
        reasons.append("no model is loaded" + (f": {_failure_reason(failure)}" if failure else " yet"))
    is_ready = not reasons
    status["ready"] = is_ready
    status["reasons"] = reasons
    if failure is not None and status["model_loaded"]:
        status["warning"] = (
            f"model version {failure['version']} failed to load; still serving version {status['model_version']}"
        )
    return JSONResponse(status, status_code=200 if is_ready else 503)
