"""The FastAPI application: routers per resource, auth and database as dependencies, the model holder in app.state."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import sqlalchemy as sa
from fastapi import FastAPI, Request
from starlette.responses import Response

from riskrank.db import ensure_schema, get_engine
from riskrank.errors import UserError
from riskrank.serving import logfilter, walcheckpoint
from riskrank.serving.audit_chain import AuditUnavailable
from riskrank.serving.audit_writer import GroupWriter
from riskrank.serving.auth import Authenticator
from riskrank.serving.csrf import CSRFProtect
from riskrank.serving.deps import AUTH_ERRORS, NOTICE, require_metrics_reader
from riskrank.serving.deps import get_engine as engine_dependency
from riskrank.serving.docs_page import add_docs
from riskrank.serving.featuresource import FeatureSource, default_feature_source, reads_locally
from riskrank.serving.headers import SecurityHeaders
from riskrank.serving.holder import ModelHolder
from riskrank.serving.limits import BodySizeLimit
from riskrank.serving.problems import install_problem_handlers, problem_openapi, problem_response
from riskrank.serving.ratelimit import FailedAuthLimiter
from riskrank.serving.routers import audit_log, cases, health, model, outcomes, score, worklists
from riskrank.serving.walcheckpoint import WalCheckpointer
from riskrank.serving.workspace import routes as workspace
from riskrank.settings import DEFAULT_PSEUDONYM_KEY, Settings, get_settings

log = logging.getLogger("riskrank.serving")

DESCRIPTION = f"""
Scores benefit cases for control investigation (kontrollutredning) with the reasons behind each score.

**{NOTICE}** Investigators decide; every score, worklist and outcome is written to a hash-chained audit log.

Roles (bearer tokens from `riskrank users add NAME --role ROLE`; use **Authorize**): investigator (scores,
worklists, outcomes), manager (metrics, dashboard, worklists), data_scientist (model information and reload),
auditor (audit log, metrics, dashboard). The groups recorded with outcomes for fairness measurement (sex, born abroad,
age band) are shown in aggregate by the metrics alone, to managers and auditors; no investigator response carries them.
Every error is an RFC 9457 problem (`application/problem+json`, schema `Problem`).
"""

_DEFAULT = object()
RETRY_AFTER_SECONDS = 2


def _include_monitoring(app: FastAPI) -> None:
    """Manager metrics and the dashboard come from the monitoring part, when it is installed."""
    try:
        from riskrank.monitoring.dashboard import make_router
    except ImportError:
        log.warning("riskrank.monitoring.dashboard not available: /v1/metrics/hit-rate and /dashboard are not served")
        return
    app.include_router(make_router(require_metrics_reader, engine_dependency), responses=AUTH_ERRORS)


def create_app(
    settings: Settings | None = None,
    feature_source: Any = _DEFAULT,
    worklist_seed: int | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """Build the app. `feature_source` defaults to the feature store on settings.database_url;
    `worklist_seed` makes the random share of worklists reproducible (tests); `freeze_heap` (for the process that
    only serves, `riskrank serve`) moves what is loaded at startup out of the garbage collector's reach."""
    settings = settings or get_settings()
    if settings.pseudonym_key == DEFAULT_PSEUDONYM_KEY:
        if not settings.demo:
            raise UserError("refusing to serve with the default pseudonym key: anyone could reverse the pseudonyms in the "
                            "logs and the audit log. Set RISKRANK_PSEUDONYM_KEY to a long random secret.")
        log.warning("demo: serving with the default pseudonym key; never do this with real data")
    engine = get_engine(settings.database_url, settings.database_busy_timeout_seconds)
    source: FeatureSource | None = default_feature_source(engine) if feature_source is _DEFAULT else feature_source
    holder = ModelHolder(settings, source)
    audit_writer = GroupWriter(engine)
    checkpointer = WalCheckpointer(engine) if walcheckpoint.applies_to(engine) else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ensure_schema(engine)
        if checkpointer is not None:
            checkpointer.start()  # SQLite's checkpoints off the request path (walcheckpoint.py)
        logfilter.install(settings.pseudonym_key)  # again: uvicorn may have reconfigured its loggers since create_app
        holder.start()
        if freeze_heap:
            # Everything loaded so far (the libraries, the model, the snapshot) lives as long as the process: out of
            # the collector's reach, a full collection no longer walks it (0.1-0.7 s pauses at startup's heap size).
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            holder.stop()
            audit_writer.stop()  # commits what is queued; requests still waiting on it then answer
            if checkpointer is not None:
                checkpointer.stop()

    app = FastAPI(title="riskrank", version="1", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None,
                  swagger_ui_oauth2_redirect_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.holder = holder
    app.state.explain_inline = reads_locally(source)  # see routers/cases.py
    app.state.audit_writer = audit_writer
    app.state.authenticator = Authenticator(engine)
    app.state.auth_limiter = FailedAuthLimiter()
    app.state.worklist_rng = np.random.default_rng(worklist_seed) if worklist_seed is not None else None
    logfilter.install(settings.pseudonym_key)

    for module in (health, cases, score, worklists, outcomes, model, audit_log):
        app.include_router(module.router)
    _include_monitoring(app)
    workspace.install(app)
    add_docs(app)
    # Outermost last: security headers on every answer (413 and CSRF refusals included), the size limit around
    # the CSRF check's reading of a form body.
    app.add_middleware(CSRFProtect)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    install_problem_handlers(app)
    problem_openapi(app)

    @app.exception_handler(sa.exc.OperationalError)
    async def database_unavailable(request: Request, exc: sa.exc.OperationalError) -> Response:
        # A locked SQLite file or a lost PostgreSQL connection: nothing was written, the client may retry.
        log.warning("database unavailable (%s) in %s %s", type(exc.orig).__name__, request.method, _route(request))
        return problem_response(503, "the database is busy or unreachable; nothing was recorded, retry later",
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(AuditUnavailable)
    async def audit_unavailable(request: Request, exc: AuditUnavailable) -> Response:
        log.error("audit log refused an entry, nothing recorded in %s: %s", _route(request), exc)
        return problem_response(503, "the audit log cannot take entries, so nothing can be recorded; an operator must "
                                "run `riskrank audit-log verify`")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # Logged without the request path (it may hold a case id); the user gets no stack trace.
        log.error("unexpected %s in %s %s", type(exc).__name__, request.method, _route(request), exc_info=exc)
        return problem_response(500, "internal error; it has been logged")

    return app


def _route(request: Request) -> str:
    """The route template (/v1/cases/{case_id}/score), never the path itself: it may hold a case id."""
    route = request.scope.get("route")
    return getattr(route, "path", "?")
