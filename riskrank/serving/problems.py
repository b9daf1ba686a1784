"""Every error as RFC 9457 problem details (`application/problem+json`): one schema, one set of handlers.

`type` is always "about:blank" (RFC 9457 section 4.2.1): the status says what kind of problem it is, `title` is
the status's phrase, `detail` says in words what was wrong with this request, and a 422 lists every problem
in `errors` (FastAPI's {loc, msg, type}, without the offending input).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("riskrank.serving")


class ProblemItem(BaseModel):
    loc: list[str | int] = Field(description="Where the problem is, e.g. [\"body\", \"features\", \"age\"]")
    msg: str
    type: str = Field(description="A machine-readable kind, e.g. missing, int_parsing, unknown_feature")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field("about:blank", description="Always about:blank: the status says what kind of problem it is")
    title: str = Field(description="The HTTP status phrase, e.g. 'Unprocessable Content'")
    status: int = Field(description="The HTTP status code, repeated")
    detail: str = Field(description="What was wrong with this request, in words")
    errors: list[ProblemItem] | None = Field(None, description="Only on 422: every problem in the request")


_DESCRIPTIONS: dict[int, str] = {
    400: "The body could not be parsed (not JSON, or not UTF-8)",
    401: "No bearer token, or an unknown, inactive or expired one (WWW-Authenticate: Bearer)",
    403: "The token's role may not use this operation (or a page's POST lacks its CSRF token)",
    404: "No such case or worklist",
    409: "Conflicts with what is already recorded",
    413: "The request body is larger than the service accepts",
    422: "The request is malformed; `errors` lists every problem",
    429: "Too many failed authentication attempts from this address; see Retry-After",
    503: "No model loaded yet, or the database is busy or unreachable (see Retry-After and /ready)",
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an operation can return, each a Problem in application/problem+json."""
    entries: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"description": _DESCRIPTIONS[code], "content": {MEDIA_TYPE: {"schema": _PROBLEM_REF}}}
        if code in (429, 503):
            entry["headers"] = _RETRY_AFTER
        entries[code] = entry
    return entries


def problem_response(status: int, detail: str, *, errors: Sequence[Mapping[str, Any]] | None = None,
                     headers: Mapping[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": _title(status), "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = list(errors)
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=dict(headers or {}))


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _items(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's validation errors without `input` and `ctx` (the input may be anything the client sent); a short
    scalar input is named in the message, so that "Input should be ..." says what came instead."""
    return [{"loc": [part if isinstance(part, int) else str(part) for part in e.get("loc", ())],
             "msg": str(e.get("msg", "")) + _got(e.get("input")), "type": str(e.get("type", "invalid"))} for e in errors]


def _got(value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool) and len(repr(value)) <= 40:
        return f", got {value!r}"
    return ""


def _summary(items: list[dict[str, Any]]) -> str:
    parts = [f"{'.'.join(str(p) for p in item['loc'][1:] or item['loc'])}: {item['msg']}" for item in items[:10]]
    more = f" (and {len(items) - 10} more)" if len(items) > 10 else ""
    return "; ".join(parts) + more if parts else "the request is malformed"


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    return problem_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    items = _items(exc.errors())
    if any(item["type"] == "json_invalid" for item in items):
        # Not JSON at all is a syntax error of the whole body (400), not a problem with a field's value.
        return problem_response(400, "the body is not valid JSON")
    return problem_response(422, _summary(items), errors=items)


def problem_openapi(app: FastAPI) -> None:
    """The OpenAPI document with the Problem schema, and FastAPI's default 422 (HTTPValidationError as
    application/json, which this app never sends) replaced by a Problem."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            _, defs = models_json_schema([(Problem, "serialization")], ref_template="#/components/schemas/{model}")
            schemas.update(defs["$defs"])
            for path in document.get("paths", {}).values():
                for operation in path.values():
                    response = operation.get("responses", {}).get("422")
                    if response is not None and "HTTPValidationError" in str(response.get("content")):
                        operation["responses"]["422"] = error_responses(422)[422]
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    """Problem details for HTTP errors (routing's 404/405 included) and validation errors; the app adds its own
    handlers for database and audit failures with problem_response."""
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
