"""Serving test helpers: a real uvicorn server on a free localhost port, users with tokens, a feature source."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from riskrank.settings import Settings
from tests.fixtures.models import ModelRegistry


class FrameFeatureSource:
    """The feature store's read contract (get, latest_frame, latest_as_of) over an in-memory frame.

    Used where riskrank.features.store.FeatureStore is not importable yet; the same tests run against
    the real store when it is (see `feature_source` below).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame.drop(columns=["label"], errors="ignore")

    def get(self, case_id: int) -> dict[str, Any] | None:
        rows = self.frame[self.frame["case_id"] == case_id]
        if rows.empty:
            return None
        return {k: (v.item() if hasattr(v, "item") else v) for k, v in rows.iloc[-1].to_dict().items()}

    def latest_frame(self, benefit: str | None = None) -> pd.DataFrame:
        return self.frame if benefit is None else self.frame[self.frame["benefit"] == benefit]

    def latest_as_of(self) -> date | None:
        return pd.Timestamp(self.frame["as_of"].max()).date() if len(self.frame) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    settings: Settings
    app: Any
    tokens: dict[str, str]

    def client(self, role: str | None = "investigator", **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)

    @property
    def engine(self):
        return self.app.state.engine


def make_settings(tmp_path: Path, registry: ModelRegistry, **overrides: Any) -> Settings:
    values = {
        "database_url": f"sqlite:///{tmp_path / 'ops.db'}",
        "mlflow_tracking_uri": registry.tracking_uri,
        "model_name": registry.model_name,
        "pseudonym_key": "test-key",
        "model_poll_seconds": 0.2,
        **overrides,
    }
    return Settings(**values)


def add_role_users(settings: Settings) -> dict[str, str]:
    from riskrank.db import get_engine
    from riskrank.serving.auth import ROLES, add_user
    from riskrank.serving.tables import create_serving_tables

    engine = get_engine(settings.database_url)
    create_serving_tables(engine)
    return {role: add_user(engine, f"{role}-user", role) for role in ROLES}


@pytest.fixture
def serve_app() -> Iterator[Any]:
    """Start apps under a real uvicorn server in a thread; every server started is stopped at teardown."""
    import uvicorn

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> str:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=30)


def feature_source_for(frame: pd.DataFrame, settings: Settings) -> Any:
    """The real FeatureStore filled with `frame` when that part exists, else the in-memory stand-in."""
    try:
        from riskrank.features.store import FeatureStore
    except ImportError:
        return FrameFeatureSource(frame)
    from riskrank.db import get_engine

    store = FeatureStore(get_engine(settings.database_url))
    data = frame.drop(columns=["label"], errors="ignore")
    store.write(data, pd.Timestamp(data["as_of"].max()).date())
    return store


def start_live(tmp_path: Path, registry: ModelRegistry, serve_app: Any, seed: int | None = 1, **overrides: Any) -> LiveServer:
    from riskrank.serving.app import create_app

    settings = make_settings(tmp_path, registry, **overrides)
    tokens = add_role_users(settings)
    app = create_app(settings, feature_source=FrameFeatureSource(registry.frame), worklist_seed=seed)
    url = serve_app(app)
    return LiveServer(url, settings, app, tokens)


@pytest.fixture
def live(tmp_path: Path, shared_model_registry: ModelRegistry, serve_app: Any) -> LiveServer:
    """A server on the session's shared registry (champion = version 1) and a fresh operational database."""
    return start_live(tmp_path, shared_model_registry, serve_app)
