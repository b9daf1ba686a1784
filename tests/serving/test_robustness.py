"""Inputs that once gave 500s, undocumented statuses, unbounded bodies, and secrets in URLs and SQL errors."""

from __future__ import annotations

import logging

import httpx
import pytest
import sqlalchemy as sa

from riskrank.errors import UserError
from riskrank.serving.logfilter import PseudonymisePaths
from tests.serving.conftest import LiveServer, make_settings


@pytest.mark.parametrize("path", [
    "/v1/cases/99999999999999999999/score", "/v1/cases/9223372036854775808/score", "/v1/cases/-1/score",
])
def test_case_ids_beyond_64_bits_are_refused_with_422(live: LiveServer, path: str) -> None:
    with live.client() as client:
        response = client.get(path)
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["path", "case_id"]


def test_audit_log_offsets_and_outcome_case_ids_beyond_64_bits_are_refused(live: LiveServer) -> None:
    with live.client("auditor") as client:
        assert client.get("/v1/audit-log", params={"after": 2**63}).status_code == 422
    report = {"investigation_id": "inv-big", "case_id": 2**64, "opened_date": "2024-07-01", "closed_date": "2024-07-02",
              "action": False, "selection": "impulse"}
    with live.client() as client:
        response = client.post("/v1/outcomes", json=report)
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["body", "case_id"]


def test_every_operation_documents_its_error_statuses(live: LiveServer) -> None:
    spec = httpx.get(f"{live.url}/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            if path.startswith("/v1/"):
                assert {"401", "403", "422", "503"} <= documented, (method, path, documented)
            if method == "post":
                assert "413" in documented, (method, path)
    assert "404" in spec["paths"]["/v1/cases/{case_id}/score"]["get"]["responses"]
    assert "409" in spec["paths"]["/v1/outcomes"]["post"]["responses"]
    assert "503" in spec["paths"]["/ready"]["get"]["responses"]


def test_request_bodies_over_the_limit_get_413(tmp_path, shared_model_registry, serve_app) -> None:
    from tests.serving.conftest import start_live

    live = start_live(tmp_path, shared_model_registry, serve_app, max_body_bytes=2000)
    big = {"features": {"benefit": "barnbidrag", "padding": "x" * 5000}}
    with live.client() as client:
        declared = client.post("/v1/score", json=big)
        streamed = client.post("/v1/score", content=(b"x" * 1000 for _ in range(5)),
                               headers={"Content-Type": "application/json"})  # chunked: no Content-Length
        small = client.post("/v1/worklists", json={"benefit": "barnbidrag", "k": 2})
    assert declared.status_code == 413 and "larger than 2000 bytes" in declared.json()["detail"]
    assert streamed.status_code == 413
    assert small.status_code == 201


def test_secret_query_values_are_redacted_from_the_access_log() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/dashboard?benefit=x&token=s3cret&api_key=k3y", "1.1", 400), None)
    assert PseudonymisePaths("k").filter(record)
    line = record.getMessage()
    assert "s3cret" not in line and "k3y" not in line and "benefit=x" in line and "token=[redacted]" in line


def test_the_dashboard_refuses_a_token_in_its_address(live: LiveServer) -> None:
    response = httpx.get(f"{live.url}/dashboard", params={"token": live.tokens["manager"]})
    assert response.status_code == 400 and live.tokens["manager"] not in response.text
    page = httpx.get(f"{live.url}/dashboard").text + httpx.get(f"{live.url}/dashboard/static/dashboard.js").text
    assert "location.search" not in page and 'name="token"' not in page  # neither the script nor the form puts it there


def test_sql_errors_never_show_bound_parameters(tmp_path) -> None:
    from riskrank.db import get_engine

    engine = get_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id TEXT PRIMARY KEY, note TEXT)")
    statement = sa.text("INSERT INTO t VALUES (:id, :note)")
    with engine.begin() as conn:
        conn.execute(statement, {"id": "KU-2025-0001", "note": "the move was reported on paper"})
    with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as conn:
        conn.execute(statement, {"id": "KU-2025-0001", "note": "the move was reported on paper"})
    assert "KU-2025-0001" not in str(caught.value) and "reported on paper" not in str(caught.value)


def test_the_service_refuses_the_default_pseudonym_key_unless_it_is_the_demo(tmp_path, shared_model_registry) -> None:
    from riskrank.serving.app import create_app
    from riskrank.settings import DEFAULT_PSEUDONYM_KEY

    with pytest.raises(UserError, match="default pseudonym key"):
        create_app(make_settings(tmp_path, shared_model_registry, pseudonym_key=DEFAULT_PSEUDONYM_KEY))
    assert create_app(make_settings(tmp_path, shared_model_registry, pseudonym_key=DEFAULT_PSEUDONYM_KEY, demo=True))
