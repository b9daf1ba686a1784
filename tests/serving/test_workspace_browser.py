"""The investigator's workspace in a real headless Chromium (Debian's) via Playwright, on the real service
(uvicorn, SQLite, the fixture model from MLflow): sign in with a token, make and open a worklist, open a case
(reasons as a waterfall, signals on a timeline), record an outcome, and see it in the manager's dashboard.
Also: roles stay apart (an investigator cannot use the dashboard, a manager cannot open the workspace or a
case page), and no token or case id appears in any address the browser visited or any line the server logged."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from riskrank.db import outcomes
from riskrank.serving.csrf import SESSION_COOKIE
from riskrank.serving.tables import worklist_items
from tests.monitoring.test_dashboard_browser import _RECORD_CSP, ARGS, CHROMIUM
from tests.serving.conftest import LiveServer, add_role_users, fill_feature_store, make_settings

ADDRESS_CHANGE_DAYS = 40  # every case moved 40 days before the snapshot: one dated signal on each timeline


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def server_log(workspace: LiveServer) -> Iterator[_Lines]:
    """Every line the service logs (uvicorn's access and error logs, riskrank's own), after its filters ran.
    Attached once the server runs: uvicorn's logging setup replaces its loggers' handlers."""
    handler = _Lines()
    loggers = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error", "riskrank")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
    logging.getLogger("riskrank").setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def workspace(tmp_path: Path, shared_model_registry: Any, serve_app: Any) -> LiveServer:
    from riskrank.serving.app import create_app

    settings = make_settings(tmp_path, shared_model_registry)
    tokens = add_role_users(settings)
    frame = shared_model_registry.frame.drop(columns=["label"]).assign(days_since_address_change=float(ADDRESS_CHANGE_DAYS))
    fill_feature_store(settings, frame)
    app = create_app(settings, worklist_seed=3)
    url = serve_app(app, "info")  # info: the access log, with every path requested
    return LiveServer(url, settings, app, tokens, frame)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


def _page(browser: Any, visited: list[str], locale: str = "en-GB") -> Any:
    context = browser.new_context(locale=locale, viewport={"width": 1200, "height": 1400})
    page = context.new_page()
    page.add_init_script(_RECORD_CSP)
    page.on("request", lambda r: visited.append(r.url))
    return page


def _sign_in(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/workspace")
    assert page.url.endswith("/workspace/sign-in")  # no session: the sign-in page
    page.fill("#token", token)
    page.click("#sign-in button")


def test_sign_in_worklist_case_outcome_dashboard(browser: Any, workspace: LiveServer, server_log: _Lines) -> None:
    live, visited = workspace, []
    page = _page(browser, visited)
    _sign_in(page, live.url, live.tokens["investigator"])
    page.wait_for_selector("#new-worklist")
    assert page.locator("#user").inner_text() == "investigator-user"
    assert "No worklists yet" in page.inner_text("main")
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != live.tokens["investigator"]

    page.select_option("#benefit", "all")
    page.fill("#k", "5")
    page.click("#new-worklist button")
    page.wait_for_selector("#items")
    assert page.locator("#items tbody tr").count() == 5
    assert "Score" not in page.locator("#items thead").inner_text()  # scores hidden (worklist_show_scores off)
    page.goto(f"{live.url}/workspace")
    assert page.locator("#worklists tbody tr").count() == 1
    page.click("a.open-worklist")
    page.wait_for_selector("#items")

    page.locator("a.open-case").first.click()
    page.wait_for_selector("svg[data-chart=waterfall]")
    case_id = int(page.locator("#case-id").inner_text())
    assert re.search(r"at or above \d+ % of active", page.locator("#percentile").inner_text())
    bars = page.locator("svg[data-chart=waterfall] rect.bar")
    assert bars.count() >= 4  # the average case, reasons, this case
    assert page.locator("svg[data-chart=waterfall] rect.bar.raise").count() >= 1
    assert page.locator("svg[data-chart=waterfall] text.axis-title").text_content().startswith("contribution")
    assert page.locator("svg[data-chart=timeline] circle.event").count() == 1
    assert page.locator("#signals time").first.get_attribute("datetime") == "2024-05-21"  # 2024-06-30 - 40 days

    page.select_option("#action_type", "reclaimed")
    page.fill("#detected_sek", "12000")
    page.check("#disagreed")
    page.fill("#disagreement_reason", "the move was reported on time")
    page.click("#outcome button")
    page.wait_for_selector("#message.ok")
    assert page.locator("#message").inner_text() == "Outcome recorded."
    with live.engine.connect() as conn:
        rows = conn.execute(sa.select(outcomes)).mappings().all()
        handed = [r[0] for r in conn.execute(sa.select(worklist_items.c.case_id))]
        views = conn.execute(sa.text("select count(*) from audit_log where action = 'case_view'")).scalar()
    assert [(r["case_id"], r["action_type"], r["detected_sek"], r["disagreed_with_score"], r["recorded_by"])
            for r in rows] == [(case_id, "reclaimed", 12000.0, True, "investigator-user")]
    assert rows[0]["disagreement_reason"] == "the move was reported on time"
    assert views == 2  # the case opened, and shown again after the outcome: each view an audit entry
    assert page.evaluate("window.__csp") == []
    case_url = page.url.split("?")[0]

    # Three more outcomes through the API: with the browser's, four persons, enough for the dashboard to show
    # the count (fewer are suppressed).
    with live.client("investigator") as api:
        for i, other in enumerate([c for c in handed if c != case_id][:3]):
            answer = api.post("/v1/outcomes", json={"investigation_id": f"api-{i}", "case_id": other, "action": False,
                                                    "opened_date": "2024-07-01", "closed_date": "2024-07-20"})
            assert answer.status_code == 201, answer.text

    manager = _page(browser, visited)
    manager.goto(f"{live.url}/dashboard")
    manager.fill("#token", live.tokens["manager"])
    manager.click("#token-form button")
    manager.wait_for_selector(".card .value")
    card = manager.locator(".card", has_text="Closed investigations").locator(".value")
    assert card.inner_text() == "4"

    page.click("header form button")  # sign out
    page.wait_for_selector("#sign-in")
    page.goto(case_url)
    assert page.url.endswith("/workspace/sign-in")  # the session is gone

    tokens = list(live.tokens.values())
    assert visited and not [u for u in visited if any(token in u for token in tokens)]
    ids = [re.compile(rf"\b{c}\b") for c in handed]
    assert not [u for u in visited if any(i.search(u) for i in ids)]
    assert any("/workspace/cases/" in line for line in server_log.lines)  # the access log was captured
    assert not [line for line in server_log.lines if any(token in line for token in tokens)]
    assert not [line for line in server_log.lines if any(i.search(line) for i in ids)]


def test_roles_stay_apart(browser: Any, workspace: LiveServer) -> None:
    live, visited = workspace, []
    investigator = _page(browser, visited, locale="sv-SE")
    _sign_in(investigator, live.url, live.tokens["investigator"])
    investigator.wait_for_selector("#new-worklist")
    assert "Dina arbetslistor" in investigator.inner_text("h1")  # Swedish from the browser's language
    investigator.fill("#k", "2")
    investigator.click("#new-worklist button")
    investigator.locator("a.open-case").first.click()
    investigator.wait_for_selector("#outcome")
    case_url = investigator.url

    # The investigator's token does not open the managers' dashboard.
    investigator.goto(f"{live.url}/dashboard")
    investigator.fill("#token", live.tokens["investigator"])
    investigator.click("#token-form button")
    investigator.wait_for_selector("#status.error")
    assert "403" in investigator.locator("#status").inner_text()

    # A manager's token does not open the workspace, nor (signed in or by bearer token) a case page.
    manager = _page(browser, visited)
    response = None
    _sign_in(manager, live.url, live.tokens["manager"])
    manager.wait_for_selector("#message.error")
    assert "for investigators" in manager.locator("#message").inner_text()
    assert SESSION_COOKIE not in {c["name"] for c in manager.context.cookies()}
    response = manager.goto(case_url)
    assert response is not None and manager.url.endswith("/workspace/sign-in")
    answer = httpx.get(case_url, headers={"Authorization": f"Bearer {live.tokens['manager']}"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/workspace/sign-in"
    assert "outcome" not in answer.text
