"""CSRF protection for requests a browser authenticates with a cookie (double-submit token).

A browser sends cookies with a cross-site form POST, so any state-changing request that carries the session
cookie must also carry a token an attacker's page cannot read: the value of the CSRF cookie, repeated in the
`X-CSRF-Token` header (pages that POST with fetch) or in a `csrf_token` field of a url-encoded form. Pages
that sign a user in call `set_csrf_cookie` and put the token in their forms (or a <meta> their script reads).

Requests with an `Authorization` header are not checked: a browser never adds that header by itself, and a
cross-site page cannot set it without a CORS preflight this service does not allow, so bearer-token API
calls are not CSRF-prone. Today the service authenticates only by bearer token; this middleware guards any
page that signs in with the session cookie.
"""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskrank.serving.problems import problem_response

SESSION_COOKIE = "riskrank_session"
CSRF_COOKIE = "riskrank_csrf"
CSRF_HEADER = b"x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def set_csrf_cookie(response: Response, token: str, secure: bool = True) -> None:
    """The cookie half of the pair; the page repeats `token` in its forms or the X-CSRF-Token header."""
    response.set_cookie(CSRF_COOKIE, token, httponly=True, secure=secure, samesite="strict", path="/")


def _cookies(headers: dict[bytes, bytes]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get(b"cookie", b"").decode("latin-1"))
    except Exception:  # a malformed cookie header carries no session either
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


class CSRFProtect:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        cookies = _cookies(headers) if b"cookie" in headers else {}
        if SESSION_COOKIE not in cookies or b"authorization" in headers:
            await self.app(scope, receive, send)
            return
        expected = cookies.get(CSRF_COOKIE, "")
        sent = headers.get(CSRF_HEADER, b"").decode("latin-1")
        replay = receive
        if not sent and headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded"):
            try:
                body = await _read_body(receive)
            except HTTPException as exc:  # the body size limit, raised while reading
                await problem_response(exc.status_code, str(exc.detail))(scope, receive, send)
                return
            sent = parse_qs(body.decode("latin-1")).get(CSRF_FIELD, [""])[0]
            replay = _replaying(body, receive)
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            await problem_response(403, "missing or wrong CSRF token: a page's form or script must send the token it "
                                        "was given (X-CSRF-Token header or csrf_token field)")(scope, receive, send)
            return
        await self.app(scope, replay, send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, original: Receive) -> Receive:
    """The body read for the check, once more for the app; then the connection's own messages (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
