"""What resists the browser's attacks: every HTML page sends a Content-Security-Policy without inline script or
style and with frame-ancestors 'none', plus nosniff; the pages hold no inline script or style; a POST that a
browser authenticates with the session cookie needs the CSRF token, a bearer-token request does not."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from riskrank.serving.csrf import CSRF_COOKIE, SESSION_COOKIE, CSRFProtect
from tests.serving.conftest import LiveServer

PAGES = ["/dashboard", "/docs", "/dashboard?token=nope", "/workspace/sign-in"]  # signed-in pages: the browser test


class _Inline(HTMLParser):
    """Collects inline scripts, <style> elements, style= and on*= attributes, and the external sources."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.sources: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in named
            if named.get("src"):
                self.sources.append(named["src"] or "")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "link" and named.get("rel") == "stylesheet":
            self.sources.append(named.get("href") or "")
        self.inline += [f"{tag} {name}=" for name, _ in attrs if name == "style" or name.startswith("on")]

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"<script>{data[:40]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def _policy(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_policy_without_inline_script_and_no_framing(live: LiveServer, path: str) -> None:
    response = httpx.get(f"{live.url}{path}")
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = _policy(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    for directive in ("script-src", "style-src"):
        assert "'self'" in policy[directive]
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(policy[directive]), (path, directive)
    assert policy["default-src"] == ["'none'"]
    page = _Inline()
    page.feed(response.text)
    assert page.inline == [], (path, page.inline)


def test_the_dashboard_loads_its_script_and_style_from_files_with_their_types(live: LiveServer) -> None:
    page = _Inline()
    page.feed(httpx.get(f"{live.url}/dashboard").text)
    assert sorted(page.sources) == ["/dashboard/static/dashboard.css", "/dashboard/static/dashboard.js"]
    script = httpx.get(f"{live.url}/dashboard/static/dashboard.js")
    style = httpx.get(f"{live.url}/dashboard/static/dashboard.css")
    assert script.headers["content-type"].startswith("text/javascript") and "sessionStorage" in script.text
    assert style.headers["content-type"].startswith("text/css")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{live.url}/dashboard/static/secrets.py").status_code == 404


def test_api_answers_are_nosniff_too(live: LiveServer) -> None:
    with live.client("investigator") as client:
        for response in (client.get("/v1/cases/1000/score"), client.get("/v1/nothing-here")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert "content-security-policy" not in response.headers  # JSON is not a page


def _echo_app() -> TestClient:
    """The middleware around a route that shows what reached it (the body is replayed after a form is read)."""
    app = FastAPI()
    app.add_middleware(CSRFProtect)

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        return {"body": (await request.body()).decode()}

    return TestClient(app)


def test_a_cookie_authenticated_post_needs_the_csrf_token() -> None:
    client = _echo_app()
    session = {SESSION_COOKIE: "s", CSRF_COOKIE: "right-token"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    client.cookies.update(session)
    missing = client.post("/echo", json={"a": 1})
    wrong = client.post("/echo", json={"a": 1}, headers={"X-CSRF-Token": "guess"})
    wrong_field = client.post("/echo", content="csrf_token=guess&x=1", headers=form)
    by_header = client.post("/echo", json={"a": 1}, headers={"X-CSRF-Token": "right-token"})
    by_field = client.post("/echo", content="csrf_token=right-token&x=1", headers=form)
    for refused in (missing, wrong, wrong_field):
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
        assert "CSRF" in refused.json()["detail"]
    assert by_header.status_code == 200 and by_header.json() == {"body": '{"a":1}'}
    assert by_field.status_code == 200 and by_field.json() == {"body": "csrf_token=right-token&x=1"}


def test_no_csrf_cookie_means_no_valid_token_and_safe_or_bearer_requests_are_not_checked() -> None:
    client = _echo_app()
    client.cookies.update({SESSION_COOKIE: "s"})
    assert client.post("/echo", headers={"X-CSRF-Token": ""}).status_code == 403
    assert client.post("/echo", headers={"Authorization": "Bearer t"}).status_code == 200  # not CSRF-prone
    assert client.get("/echo").status_code == 405  # a GET passes the check (and finds no GET route)
    client.cookies.clear()
    assert client.post("/echo").status_code == 200  # no session cookie: nothing a browser adds by itself


def test_the_service_refuses_a_cookie_post_without_the_token(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, cookies={SESSION_COOKIE: "s", CSRF_COOKIE: "t"}) as client:
        response = client.post("/v1/outcomes", json={})
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
