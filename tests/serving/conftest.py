"""Serving test helpers: a real uvicorn server on a free localhost port, users with tokens, a feature source."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from riskrank.settings import Settings
from tests.fixtures.models import ModelRegistry


def store_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The fixture frame widened to every registry feature, as the real FeatureStore requires.

    The fixture model's inputs are registry features; the others get neutral values (0, false, NaN, first category).
    """
    from riskrank.features.registry import CATEGORIES, FEATURES

    out = {"case_id": frame["case_id"], "as_of": frame["as_of"]}
    for f in FEATURES:
        if f.name in frame.columns:
            out[f.name] = frame[f.name]
        elif f.dtype == "category":
            out[f.name] = pd.Categorical([CATEGORIES[f.name][0]] * len(frame), categories=list(CATEGORIES[f.name]))
        else:
            out[f.name] = {"float": np.nan, "int": 0, "bool": False}[f.dtype]
    return pd.DataFrame(out)


def fill_feature_store(settings: Settings, frame: pd.DataFrame) -> None:
    from riskrank.db import get_engine
    from riskrank.features.store import FeatureStore

    FeatureStore(get_engine(settings.database_url)).write(store_frame(frame), pd.Timestamp(frame["as_of"].max()).date())


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
    frame: pd.DataFrame | None = None  # the features in the store (fixture frame), for expected values

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
    from riskrank.db import ensure_schema, get_engine
    from riskrank.serving.auth import ROLES, add_user

    engine = get_engine(settings.database_url)
    ensure_schema(engine)
    return {role: add_user(engine, f"{role}-user", role) for role in ROLES}


@pytest.fixture
def serve_app() -> Iterator[Any]:
    """Start apps under a real uvicorn server in a thread; every server started is stopped at teardown."""
    import uvicorn

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any, log_level: str = "warning") -> str:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on"))
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


def start_live(
    tmp_path: Path, registry: ModelRegistry, serve_app: Any, seed: int | None = 1, log_level: str = "warning", **overrides: Any
) -> LiveServer:
    from riskrank.serving.app import create_app

    settings = make_settings(tmp_path, registry, **overrides)
    tokens = add_role_users(settings)
    frame = registry.frame.drop(columns=["label"])
    fill_feature_store(settings, frame)
    app = create_app(settings, worklist_seed=seed)  # reads the real FeatureStore on settings.database_url
    url = serve_app(app, log_level)
    return LiveServer(url, settings, app, tokens, frame)


@pytest.fixture
def live(tmp_path: Path, shared_model_registry: ModelRegistry, serve_app: Any) -> LiveServer:
    """A server on the session's shared registry (champion = version 1) and a fresh operational database."""
    return start_live(tmp_path, shared_model_registry, serve_app)
