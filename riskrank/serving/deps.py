"""FastAPI dependencies: the app's shared objects, and bearer-token auth by role."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, Security, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from riskrank.serving.auth import Authenticator, User
from riskrank.serving.holder import ModelHolder
from riskrank.serving.problems import error_responses
from riskrank.serving.ratelimit import FailedAuthLimiter
from riskrank.serving.snapshot import Snapshot
from riskrank.settings import Settings

# What every token-protected operation can answer besides its own statuses (any request may carry a big body).
AUTH_ERRORS = error_responses(401, 403, 413, 422, 429, 503)
# The same for an operation that takes a JSON body: one that cannot be parsed is a 400.
BODY_AUTH_ERRORS = error_responses(400, 401, 403, 413, 422, 429, 503)

NOTICE = "The score is a ranking aid for choosing which cases to investigate, never a decision about a case."


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_holder(request: Request) -> ModelHolder:
    return request.app.state.holder


# The dependencies every score request runs are async: FastAPI runs a sync dependency in its thread pool, and
# those hops (three per request) cost more than the work they do. Nothing in them blocks, except a token
# lookup that misses the cache, which goes to the thread pool. FastAPI's HTTPBearer is async too, and the
# failed-attempt limiter takes no lock while no address has failed.


async def get_snapshot(request: Request) -> Snapshot:
    """The snapshot this request uses from start to end, even if a new model is swapped in meanwhile."""
    snapshot = request.app.state.holder.current
    if snapshot is None:
        # The holder tries again every model_poll_seconds: a retry after that can succeed by itself.
        wait = max(1, math.ceil(request.app.state.settings.model_poll_seconds))
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no model is loaded yet; see /ready",
                            headers={"Retry-After": str(wait)})
    return snapshot


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


# The security scheme in the OpenAPI (the Authorize button in /docs). auto_error=False: the 401s below say what
# was wrong and count towards the failed-attempt limit.
bearer = HTTPBearer(auto_error=False, description="A token from `riskrank users add NAME --role ROLE`")


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _refuse_if_over_limit(request: Request) -> None:
    limiter: FailedAuthLimiter = request.app.state.auth_limiter
    if (wait := limiter.retry_after(_address(request))) is not None:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed authentication attempts from this "
                            f"address; retry in {wait} s", headers={"Retry-After": str(wait)})


async def _lookup(request: Request, token: str) -> User:
    authenticator: Authenticator = request.app.state.authenticator
    user = authenticator.cached(token) or await run_in_threadpool(authenticator.user_for, token)
    if user is None:
        request.app.state.auth_limiter.failed(_address(request))
        raise _unauthorized("unknown, inactive or expired token")
    return user


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> User:
    """The token's user, or a 401 (or 429 while the client's address is over the failed-attempt limit)."""
    _refuse_if_over_limit(request)
    if credentials is None:
        if not request.headers.get("authorization"):
            raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
        request.app.state.auth_limiter.failed(_address(request))
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    return await _lookup(request, credentials.credentials.strip())


async def check_token(request: Request, token: str) -> User:
    """The same check for a token pasted into the workspace's sign-in form: expiry, deactivation and the
    failed-attempt limit apply alike."""
    _refuse_if_over_limit(request)
    return await _lookup(request, token.strip())


def require_role(*roles: str) -> Callable[..., Awaitable[User]]:
    # One dependency per route (on the bearer scheme) and the authentication as a plain call: each level of
    # FastAPI dependencies costs about 12 us a request, the call about 1 us.
    async def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Security(bearer)) -> User:
        user = await authenticate(request, credentials)
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role!r} may not do this; needs {' or '.join(roles)}")
        return user

    return dependency


require_investigator = require_role("investigator")
require_manager = require_role("manager")
require_data_scientist = require_role("data_scientist")
require_auditor = require_role("auditor")
# The manager metrics and dashboard, which show fairness by every measured group (sex, born abroad, age band):
# managers follow them, auditors check them; investigators never see the groups.
require_metrics_reader = require_role("manager", "auditor")
