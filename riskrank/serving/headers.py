"""Browser-facing headers, as ASGI middleware: every response gets `X-Content-Type-Options: nosniff`; every HTML
page also gets a Content-Security-Policy (scripts and styles only from the service's own files, nothing
inline, no framing) and `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`. A page that needs
more (the API docs load Swagger UI from its CDN) sets its own policy, which is kept."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_PAGE = [(b"content-security-policy", PAGE_POLICY.encode()), (b"x-frame-options", b"DENY")]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append(_NOSNIFF)
                content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    headers += [h for h in _PAGE if h[0] not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
