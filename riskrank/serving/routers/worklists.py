"""POST /v1/worklists: the k cases to investigate next, each with its top reasons."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request

from riskrank.errors import UserError
from riskrank.serving.auth import User
from riskrank.serving.deps import AUTH_ERRORS, NOTICE, get_snapshot, require_investigator
from riskrank.serving.schemas import WorklistRequest, WorklistResponse
from riskrank.serving.snapshot import Snapshot
from riskrank.serving.worklist import make_worklist

router = APIRouter(prefix="/v1", tags=["worklists"], responses=AUTH_ERRORS)


@router.post("/worklists", response_model=WorklistResponse, status_code=201, summary="Make a ranked worklist")
def create_worklist(
    request: Request,
    body: WorklistRequest,
    user: User = Depends(require_investigator),
    snapshot: Snapshot = Depends(get_snapshot),
) -> dict:
    settings = request.app.state.settings
    rng = request.app.state.worklist_rng or np.random.default_rng()
    try:
        result = make_worklist(
            request.app.state.engine, snapshot, user=user.name, benefit=None if body.benefit == "all" else body.benefit,
            k=body.k, objective=body.objective, share=settings.random_share, top=body.top, pseudonym_key=settings.pseudonym_key,
            show_scores=settings.worklist_show_scores,
            rng=rng,
        )
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    return {**result, "notice": NOTICE}
