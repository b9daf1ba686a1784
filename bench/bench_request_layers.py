"""Benchmark: what the layers every score request passes cost, in process (no network, no model): an async route
behind the role dependency (FastAPI's HTTPBearer, the failed-attempt limiter, the cached token lookup), with and
without the service's middleware (security headers, CSRF check, body size limit) and problem handlers. CPU time
per request (time.process_time, the best of 7 rounds of 5,000 ASGI calls), so that a busy machine reads less noisy
than by wall time.

Run:  .venv/bin/python bench/bench_request_layers.py
"""

from __future__ import annotations

import asyncio
import platform
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, Response

from riskrank.db import ensure_schema, get_engine
from riskrank.serving.auth import Authenticator, add_user
from riskrank.serving.csrf import CSRFProtect
from riskrank.serving.deps import require_investigator
from riskrank.serving.headers import SecurityHeaders
from riskrank.serving.limits import BodySizeLimit
from riskrank.serving.problems import install_problem_handlers
from riskrank.serving.ratelimit import FailedAuthLimiter


def make_app(engine: Any, auth: bool, middleware: bool) -> FastAPI:
    app = FastAPI()
    app.state.authenticator = Authenticator(engine)
    app.state.auth_limiter = FailedAuthLimiter()
    dependencies = [Depends(require_investigator)] if auth else []

    @app.get("/x", dependencies=dependencies)
    async def route() -> Response:
        return Response(b"{}", media_type="application/json")

    if middleware:
        app.add_middleware(CSRFProtect)
        app.add_middleware(BodySizeLimit, max_bytes=1 << 20)
        app.add_middleware(SecurityHeaders)
        install_problem_handlers(app)
    return app


async def per_request_us(app: FastAPI, token: str, calls: int = 5000, rounds: int = 7) -> float:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/x", "raw_path": b"/x", "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 8000), "headers": [(b"host", b"x"), (b"authorization", f"Bearer {token}".encode())]}
    statuses: set[int] = set()

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    for _ in range(1000):
        await app(dict(scope), receive, send)
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(calls):
            await app(dict(scope), receive, send)
        best = min(best, (time.process_time() - start) / calls * 1e6)
    assert statuses == {200}, statuses
    return best


def main() -> None:
    engine = get_engine(f"sqlite:///{tempfile.mkdtemp()}/ops.db")
    ensure_schema(engine)
    token = add_user(engine, "bench", "investigator")
    print(f"{datetime.now(UTC):%Y-%m-%d} {platform.node()} {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}")
    for auth, middleware in ((False, False), (True, False), (False, True), (True, True)):
        us = asyncio.run(per_request_us(make_app(engine, auth, middleware), token))
        print(f"auth={'yes' if auth else 'no ':3} middleware={'yes' if middleware else 'no ':3} {us:6.1f} us CPU per request")


if __name__ == "__main__":
    main()
