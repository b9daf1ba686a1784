"""Roles over HTTP: missing or bad token 401, wrong role 403; tokens stored only as hashes."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from riskrank.errors import UserError
from riskrank.serving.auth import add_user
from riskrank.serving.tables import users
from tests.serving.conftest import LiveServer

CASE = 1000


def test_missing_and_bad_tokens_are_401(live: LiveServer) -> None:
    with live.client(role=None) as client:
        missing = client.get(f"/v1/cases/{CASE}/score")
        bad = client.get(f"/v1/cases/{CASE}/score", headers={"Authorization": "Bearer not-a-token"})
        basic = client.get(f"/v1/cases/{CASE}/score", headers={"Authorization": "Basic dXNlcjpwdw=="})
    for response in (missing, bad, basic):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert "missing" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", f"/v1/cases/{CASE}/score", "investigator"),
        ("POST", "/v1/worklists", "investigator"),
        ("POST", "/v1/outcomes", "investigator"),
        ("GET", "/v1/model", "data_scientist"),
        ("POST", "/v1/model/reload", "data_scientist"),
        ("GET", "/v1/audit-log", "auditor"),
        ("GET", "/v1/audit-log/verify", "auditor"),
        # the monitoring part's router, behind serving's auth: managers and auditors (it shows every measured group)
        ("GET", "/v1/metrics/hit-rate", ("manager", "auditor")),
        ("GET", "/v1/metrics/dashboard", ("manager", "auditor")),
    ],
)
def test_each_endpoint_admits_only_its_role(live: LiveServer, method: str, path: str, allowed: str | tuple) -> None:
    roles = (allowed,) if isinstance(allowed, str) else allowed
    for role in live.tokens:
        with live.client(role=role) as client:
            response = client.request(method, path, json={} if method == "POST" else None)
        if role in roles:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, path)
            assert all(r in response.json()["detail"] for r in roles)


def test_health_needs_no_token(live: LiveServer) -> None:
    with live.client(role=None) as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["model_version"] == 1 and ready.json()["database"] == "ok"


def test_tokens_are_stored_hashed(live: LiveServer) -> None:
    token = live.tokens["manager"]
    with live.engine.connect() as conn:
        stored = conn.execute(sa.select(users.c.token_sha256).where(users.c.name == "manager-user")).scalar_one()
        everything = " ".join(str(v) for row in conn.execute(sa.select(users)) for v in row)
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in everything


def test_add_user_refuses_bad_input(live: LiveServer) -> None:
    with pytest.raises(UserError, match="unknown role"):
        add_user(live.engine, "eve", "admin")
    with pytest.raises(UserError, match="already exists"):
        add_user(live.engine, "manager-user", "manager")
