"""No case id in clear text in the access log: the filter rewrites uvicorn's access-log arguments."""

from __future__ import annotations

import logging
import re

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
