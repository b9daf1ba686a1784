"""FastAPI dependencies: the app's shared objects, and bearer-token auth by role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from riskrank.serving.auth import Authenticator, User
from riskrank.serving.holder import ModelHolder
from riskrank.serving.snapshot import Snapshot
from riskrank.settings import Settings

_ERRORS: dict[int, str] = {
    401: "No bearer token, or an unknown or inactive one",
    403: "The token's role may not use this operation",
    404: "No such case",
    409: "Conflicts with what is already recorded",
    413: "The request body is larger than the service accepts",
    422: "The request is malformed; `detail` names every problem",
    503: "No model loaded yet, or the database is busy or unreachable (see Retry-After and /ready)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an operation can return (every body is {"detail": ...})."""
    return {code: {"description": _ERRORS[code]} for code in codes}


# What every token-protected operation can answer besides its own statuses (any request may carry a big body).
AUTH_ERRORS = error_responses(401, 403, 413, 422, 503)

NOTICE = "The score is a ranking aid for choosing which cases to investigate, never a decision about a case."


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_holder(request: Request) -> ModelHolder:
    return request.app.state.holder


# The dependencies every score request runs are async: FastAPI runs a sync dependency in its thread pool, and
# those hops (three per request) cost more than the work they do. Nothing in them blocks, except a token
# lookup that misses the cache, which goes to the thread pool.


async def get_snapshot(request: Request) -> Snapshot:
    """The snapshot this request uses from start to end, even if a new model is swapped in meanwhile."""
    snapshot = request.app.state.holder.current
    if snapshot is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no model is loaded yet; see /ready")
    return snapshot


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


async def current_user(request: Request) -> User:
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    authenticator: Authenticator = request.app.state.authenticator
    user = authenticator.cached(token.strip()) or await run_in_threadpool(authenticator.user_for, token.strip())
    if user is None:
        raise _unauthorized("unknown or inactive token")
    return user


def require_role(*roles: str) -> Callable[..., Awaitable[User]]:
    async def dependency(user: User = Depends(current_user)) -> User:
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role!r} may not do this; needs {' or '.join(roles)}")
        return user

    return dependency


require_investigator = require_role("investigator")
require_manager = require_role("manager")
require_data_scientist = require_role("data_scientist")
require_auditor = require_role("auditor")
