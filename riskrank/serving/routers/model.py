"""GET /v1/model (which model serves) and POST /v1/model/reload (check the registry now)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from riskrank.serving.auth import User
from riskrank.serving.deps import AUTH_ERRORS, get_snapshot, require_data_scientist
from riskrank.serving.schemas import HolderStatus, ModelInfo
from riskrank.serving.snapshot import Snapshot

router = APIRouter(prefix="/v1/model", tags=["model"], responses=AUTH_ERRORS)


@router.get("", response_model=ModelInfo, summary="The serving model: version, alias, training date, features, key metrics")
def model_info(
    request: Request, user: User = Depends(require_data_scientist), snapshot: Snapshot = Depends(get_snapshot)
) -> dict:
    model, failure = snapshot.model, request.app.state.holder.failure
    metrics = {k: float(v) for k, v in (model.meta.get("metrics") or {}).items() if isinstance(v, int | float)}
    return {
        "name": model.name,
        "version": model.version,
        "alias": model.alias,
        "trained_at": model.meta.get("trained_at"),
        "feature_set_version": model.meta.get("feature_set_version"),
        "feature_names": model.feature_names,
        "metrics": metrics,
        "features_as_of": snapshot.as_of.isoformat() if snapshot.as_of else None,
        "failed_version": None if failure is None else {"version": failure.version, "error": failure.error, "at": failure.at},
    }


@router.post("/reload", response_model=HolderStatus,
             summary="Check the champion alias now and swap in a moved version (retries a failed one)")
def reload_model(request: Request, user: User = Depends(require_data_scientist)) -> dict:
    return request.app.state.holder.refresh(force=True)
