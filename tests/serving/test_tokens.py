"""Tokens expire (users add --expires-days, default 90) and can be rotated (the old one stops working)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from riskrank.errors import UserError
from riskrank.serving.auth import Authenticator, add_user_token, rotate_user
from riskrank.serving.tables import users
from tests.serving.conftest import LiveServer

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_token_expires_after_its_days_even_when_cached(live: LiveServer) -> None:
    issued = add_user_token(live.engine, "eva", "investigator", expires_days=90, now=NOW)
    assert issued.expires_at == NOW + timedelta(days=90)
    wall = {"now": (NOW + timedelta(days=89)).timestamp()}
    auth = Authenticator(live.engine, ttl_seconds=3600, wall_clock=lambda: wall["now"])
    assert auth.user_for(issued.token) is not None and auth.cached(issued.token) is not None
    wall["now"] = (NOW + timedelta(days=90, seconds=1)).timestamp()
    assert auth.cached(issued.token) is None and auth.user_for(issued.token) is None


def test_the_default_expiry_is_90_days(live: LiveServer) -> None:
    issued = add_user_token(live.engine, "ulf", "manager", now=NOW)
    with live.engine.connect() as conn:
        stored = conn.execute(sa.select(users.c.expires_at).where(users.c.name == "ulf")).scalar_one()
    assert stored.replace(tzinfo=stored.tzinfo or UTC) == NOW + timedelta(days=90) == issued.expires_at


def test_an_expired_token_is_a_401_over_http(live: LiveServer) -> None:
    expired = add_user_token(live.engine, "old", "investigator", expires_days=30, now=datetime.now(UTC) - timedelta(days=31))
    with live.client(role=None) as client:
        response = client.get("/v1/cases/1000/score", headers={"Authorization": f"Bearer {expired.token}"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert "expired" in response.json()["detail"]


def test_rows_without_an_expiry_never_expire(live: LiveServer) -> None:
    """Users made before tokens had an expiry have a null expires_at: their tokens keep working."""
    issued = add_user_token(live.engine, "legacy", "auditor")
    with live.engine.begin() as conn:
        conn.execute(users.update().where(users.c.name == "legacy").values(expires_at=None))
    far = Authenticator(live.engine, wall_clock=lambda: (NOW + timedelta(days=36500)).timestamp())
    assert far.user_for(issued.token) is not None


def test_rotation_replaces_the_token(live: LiveServer) -> None:
    first = add_user_token(live.engine, "rita", "data_scientist", now=NOW - timedelta(days=80))
    second = rotate_user(live.engine, "rita", expires_days=10, now=NOW)
    assert second.token != first.token and second.expires_at == NOW + timedelta(days=10)
    auth = Authenticator(live.engine, wall_clock=lambda: NOW.timestamp())
    assert auth.user_for(first.token) is None
    user = auth.user_for(second.token)
    assert user is not None and (user.name, user.role) == ("rita", "data_scientist")
    with pytest.raises(UserError, match="no active user 'nobody'"):
        rotate_user(live.engine, "nobody")
    with pytest.raises(UserError, match="expires-days must be between 1 and 3650"):
        rotate_user(live.engine, "rita", expires_days=0)
