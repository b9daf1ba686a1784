"""A real service for the dashboard tests: the monitoring router in a FastAPI app with a fixed-token manager
check, on a real SQLite database, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import hmac
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Header, HTTPException

from tests.monitoring.builders import dashboard_outcomes, hand_built_outcomes, insert_outcomes

MANAGER_TOKEN = "test-manager-token-8f2c"
INVESTIGATOR_TOKEN = "test-investigator-token-11aa"


def require_manager(authorization: str | None = Header(None)) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    token = authorization.removeprefix("Bearer ").strip()
    if hmac.compare_digest(token, MANAGER_TOKEN):
        return "manager"
    if hmac.compare_digest(token, INVESTIGATOR_TOKEN):
        raise HTTPException(403, "role 'investigator' may not do this; needs manager")
    raise HTTPException(401, "unknown token")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_db(tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    path: Path = tmp_path_factory.mktemp("dashboard") / "ops.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    insert_outcomes(engine, dashboard_outcomes())
    return engine


@pytest.fixture(scope="module")
def service_url(dashboard_db: sa.Engine) -> Iterator[str]:
    with serve(dashboard_db) as url:
        yield url


@pytest.fixture(scope="module")
def small_service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service over the 20 hand-built outcomes (builders.hand_built_outcomes)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('small') / 'ops.db'}")
    insert_outcomes(engine, hand_built_outcomes())
    with serve(engine) as url:
        yield url


@contextmanager
def serve(engine: sa.Engine) -> Iterator[str]:
    import uvicorn

    from riskrank.monitoring.dashboard import make_router
    from riskrank.serving.headers import SecurityHeaders
    from riskrank.serving.problems import install_problem_handlers

    app = FastAPI()  # as the service mounts the router: its error format and its pages' headers
    app.include_router(make_router(require_manager, lambda: engine))
    app.add_middleware(SecurityHeaders)
    install_problem_handlers(app)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
