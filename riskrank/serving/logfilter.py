"""Keeps identifiers and secrets out of the access log: paths like /v1/cases/123/score are logged with the
case pseudonymised, and the values of secret-looking query parameters (token=..., key=...) are redacted."""

from __future__ import annotations

import logging
import re

from riskrank.serving.pseudonym import pseudonymise

_CASE_PATH = re.compile(r"(/v1/cases/)([^/?\s]+)")
_SECRET_QUERY = re.compile(r"([?&][^=&\s]*(?:token|key|secret|password|auth)[^=&\s]*=)[^&\s\"]*", re.IGNORECASE)


class PseudonymisePaths(logging.Filter):
    def __init__(self, key: str) -> None:
        super().__init__()
        self._key = key

    def _clean(self, value: object) -> object:
        if not isinstance(value, str):
            return value
        if "/v1/cases/" in value:
            value = _CASE_PATH.sub(lambda m: m.group(1) + "p-" + pseudonymise(m.group(2), self._key), value)
        if "=" in value:
            value = _SECRET_QUERY.sub(r"\1[redacted]", value)
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) for a in record.args)
        record.msg = self._clean(record.msg)
        return True


def install(key: str) -> None:
    """Attach the filter once to uvicorn's access and error loggers."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.filters = [f for f in logger.filters if not isinstance(f, PseudonymisePaths)]
        logger.addFilter(PseudonymisePaths(key))
