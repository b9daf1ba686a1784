"""Liveness (/health) and readiness (/ready: a model is loaded and the database answers)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from riskrank.serving.deps import get_engine, get_holder
from riskrank.serving.holder import ModelHolder

router = APIRouter(tags=["health"])


@router.get("/health", summary="The process is up")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="A model is loaded and the database is reachable (503 otherwise)")
def ready(holder: ModelHolder = Depends(get_holder), engine: Engine = Depends(get_engine)) -> JSONResponse:
    status = holder.status()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        status["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        status["database"] = f"unreachable: {type(exc).__name__}"
    status["feature_store"] = "ok" if holder.feature_source is not None else "not available"
    is_ready = status["model_loaded"] and status["database"] == "ok"
    status["ready"] = is_ready
    if status["failed_version"] is not None:
        status["warning"] = (
            f"model version {status['failed_version']['version']} failed to load; still serving version {status['model_version']}"
        )
    return JSONResponse(status, status_code=200 if is_ready else 503)
