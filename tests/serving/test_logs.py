"""No case id in clear text in the access log: the filter rewrites uvicorn's access-log arguments."""

from __future__ import annotations

import logging

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
