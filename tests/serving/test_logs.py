"""No case id in clear text in the access log: the filter rewrites uvicorn's access-log arguments."""

from __future__ import annotations

import logging
import re

import httpx

from riskrank.serving.logfilter import PseudonymisePaths
from riskrank.serving.pseudonym import pseudonymise


def test_access_log_paths_are_pseudonymised() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/cases/4711/score?top=5", "1.1", 200), None,
    )
    assert PseudonymisePaths("k").filter(record)
    line = record.getMessage()
    assert "4711" not in line
    assert f"/v1/cases/p-{pseudonymise('4711', 'k')}/score?top=5" in line


def test_pseudonyms_are_keyed() -> None:
    assert pseudonymise(4711, "a") == pseudonymise("4711", "a") != pseudonymise(4711, "b")
    assert len(pseudonymise(4711, "a")) == 16


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_live_server_logs_no_case_id(tmp_path, shared_model_registry, serve_app) -> None:
    from tests.serving.conftest import start_live

    live = start_live(tmp_path, shared_model_registry, serve_app, log_level="debug")
    collect = _Collect()
    loggers = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error", "riskrank")]
    for logger in loggers:
        logger.addHandler(collect)
    old_level = logging.getLogger("riskrank").level
    logging.getLogger("riskrank").setLevel(logging.DEBUG)
    try:
        with live.client() as client:
            assert client.get("/v1/cases/1234/score").status_code == 200
            assert client.get("/v1/cases/98765432/score").status_code == 404
            assert client.post("/v1/outcomes", json={
                "investigation_id": "inv-log", "case_id": 1234, "opened_date": "2024-07-01", "closed_date": "2024-07-02",
                "action": False, "selection": "impulse"}).status_code == 201
    finally:
        for logger in loggers:
            logger.removeHandler(collect)
        logging.getLogger("riskrank").setLevel(old_level)
    text = "\n".join(collect.lines)
    assert f"/v1/cases/p-{pseudonymise('1234', 'test-key')}/score" in text  # the access log did record the request
    # Whole numbers only: "1234" may legitimately appear inside a port or a timing.
    assert not re.search(r"\b(1234|98765432)\b", text) and "inv-log" not in text


def test_no_token_case_id_or_investigation_detail_in_any_log_of_a_full_run(tmp_path, shared_model_registry, serve_app) -> None:
    """Every endpoint as every role, errors included (404, 409, 422, 401, a failing database write), with every
    logger at DEBUG and SQLAlchemy logging its statements: nothing identifying or secret may appear."""
    from tests.serving.conftest import start_live

    live = start_live(tmp_path, shared_model_registry, serve_app, log_level="debug")
    collect = _Collect()
    collect.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    # The test's own HTTP client logs the URLs it calls; those are not the service's logs.
    collect.addFilter(lambda record: not record.name.startswith(("httpx", "httpcore")))
    root = logging.getLogger()
    old = {name: logging.getLogger(name).level for name in ("", "riskrank", "sqlalchemy.engine.Engine")}
    # Root, and every logger that does not pass its records on (uvicorn's, and SQLAlchemy's once MLflow configured it).
    services = [root] + [logger for logger in logging.Logger.manager.loggerDict.values()
                         if isinstance(logger, logging.Logger) and not logger.propagate]
    for logger in services:
        logger.addHandler(collect)
    root.setLevel(logging.DEBUG)
    logging.getLogger("riskrank").setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine.Engine").setLevel(logging.INFO)  # statements (parameters must stay hidden)
    case_ids = [int(c) for c in live.frame["case_id"].iloc[[3, 17, 42]]]
    secrets = ["KU-2031-7777", "moved to Malmö on 3 March"]
    report = {"investigation_id": secrets[0], "case_id": case_ids[0], "opened_date": "2024-07-01", "closed_date": "2024-08-01",
              "action": False, "selection": "impulse", "disagreed_with_score": True, "disagreement_reason": secrets[1]}
    try:
        with live.client() as client:
            for case_id in case_ids:
                assert client.get(f"/v1/cases/{case_id}/score", params={"top": 3}).status_code == 200
            assert client.get("/v1/cases/987654321/score").status_code == 404
            features = {k: v for k, v in live.frame.iloc[0].items() if k not in ("case_id", "as_of", "sex")}
            features = {k: (v.item() if hasattr(v, "item") else v) for k, v in features.items()}
            features = {k: (None if v != v else v) for k, v in features.items()}
            assert client.post("/v1/score", json={"features": features}).status_code == 200
            assert client.post("/v1/worklists", json={"benefit": "all", "k": 10}).status_code == 201
            assert client.post("/v1/outcomes", json=report).status_code == 201
            assert client.post("/v1/outcomes", json={**report, "action": True, "action_type": "reduced"}).status_code == 409
            with live.engine.begin() as conn:  # a failing write: the error path logs too
                conn.exec_driver_sql("CREATE TRIGGER t BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'x'); END")
            assert client.post("/v1/outcomes", json={**report, "investigation_id": "KU-2031-8888"}).status_code == 503
            with live.engine.begin() as conn:
                conn.exec_driver_sql("DROP TRIGGER t")
        with httpx.Client(base_url=live.url, headers={"Authorization": "Bearer not-a-token-at-all"}) as client:
            assert client.get("/v1/model").status_code == 401
        for role, path in (("manager", "/v1/metrics/hit-rate"), ("data_scientist", "/v1/model"), ("auditor", "/v1/audit-log"),
                           ("auditor", "/v1/audit-log/verify"), ("investigator", "/v1/model")):
            with live.client(role) as client:
                assert client.get(path).status_code in (200, 403)
        with live.client(None) as client:
            assert client.get("/dashboard", params={"token": live.tokens["manager"]}).status_code == 400
            assert client.get("/ready").status_code == 200
    finally:
        for logger in services:
            logger.removeHandler(collect)
        for name, level in old.items():
            logging.getLogger(name).setLevel(level)
    text = "\n".join(collect.lines)
    assert "/v1/cases/p-" in text and "INSERT INTO audit_log" in text  # the access log and SQL logging really ran
    for token in live.tokens.values():
        assert token not in text
    for case_id in [*case_ids, 987654321]:
        assert not re.search(rf"\b{case_id}\b", text), case_id
    for secret in [*secrets, "KU-2031-8888"]:
        assert secret not in text
