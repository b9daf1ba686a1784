"""POST /v1/worklists: the k cases to investigate next, each with its top reasons; GET /v1/worklists/{id}: one again."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from riskrank.errors import UserError
from riskrank.serving.auth import User
from riskrank.serving.deps import AUTH_ERRORS, BODY_AUTH_ERRORS, NOTICE, get_snapshot, require_investigator, require_role
from riskrank.serving.problems import error_responses
from riskrank.serving.pseudonym import pseudonymise
from riskrank.serving.schemas import Worklist, WorklistCreated, WorklistRequest
from riskrank.serving.snapshot import Snapshot
from riskrank.serving.worklist import StoredWorklist, make_worklist, stored_worklist

router = APIRouter(prefix="/v1", tags=["worklists"])
require_reader = require_role("investigator", "manager")
_LOCATION = {"Location": {"description": "Where the worklist can be fetched again", "schema": {"type": "string"}}}


@router.post(
    "/worklists",
    response_model=WorklistCreated,
    status_code=201,
    summary="Make a ranked worklist",
    responses={**BODY_AUTH_ERRORS, 201: {"description": "The worklist, recorded", "headers": _LOCATION}},
)
def create_worklist(
    request: Request,
    response: Response,
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
    response.headers["Location"] = f"/v1/worklists/{result['worklist_id']}"
    return {**result, "notice": NOTICE}


@router.get(
    "/worklists/{worklist_id}",
    response_model=Worklist,
    summary="A worklist made before (its maker or a manager); the random share stays hidden",
    responses={**AUTH_ERRORS, **error_responses(404)},
)
def get_worklist(
    request: Request,
    worklist_id: uuid.UUID = Path(description="The worklist_id a POST /v1/worklists answered with"),
    user: User = Depends(require_reader),
) -> dict:
    app = request.app
    stored = stored_worklist(app.state.engine, str(worklist_id))
    # Another investigator's worklist is answered as if it did not exist: its existence is nothing of theirs.
    if stored is None or (user.role != "manager" and stored.created_by != user.name):
        raise HTTPException(404, "no such worklist among those you may see")
    settings = app.state.settings
    show = settings.worklist_show_scores
    items = [_item(row, show) for row in stored.items]
    audit_worklist_view(app, user.name, stored)
    return {**_head(stored, settings.model_name), "items": items, "notice": NOTICE}


def audit_worklist_view(app: Any, user: str, stored: StoredWorklist) -> None:
    """Like the worklist's creation, showing it again (API or workspace) is an audit entry naming every case
    (pseudonymised)."""
    settings = app.state.settings
    app.state.audit_writer.append(
        actor=user, action="worklist_view", model_version=stored.model_version,
        details={"worklist_id": stored.worklist_id, "scores_shown": settings.worklist_show_scores,
                 "items": [{"case": pseudonymise(row["case_id"], settings.pseudonym_key), "score": row["score"]}
                           for row in stored.items]},
    )


def _head(stored: StoredWorklist, model_name: str) -> dict[str, Any]:
    version = stored.model_version
    return {
        "worklist_id": stored.worklist_id, "created_at": stored.created_at, "created_by": stored.created_by,
        "benefit": stored.benefit, "k": stored.k, "objective": stored.objective,
        "model": {"name": model_name, "version": int(version) if version and version.isdigit() else None, "alias": None},
        "features_as_of": stored.features_as_of,
    }


def _item(row: dict[str, Any], show_scores: bool) -> dict[str, Any]:
    """Every item alike: the stored score only where the service shows scores, never the selection."""
    return {"position": row["position"], "case_id": row["case_id"], "benefit": row["benefit"],
            "score": row["score"] if show_scores else None, "percentile": None, "expected_sek": None,
            "reasons": [], "reasons_lowering": []}
