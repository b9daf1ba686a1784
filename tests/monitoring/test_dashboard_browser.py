"""The dashboard in a real headless Chromium (Debian's) via Playwright: it loads, the charts draw data
points, the benefit filter changes them, and a screenshot is kept in test-artifacts/dashboard.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.monitoring.builders import dashboard_outcomes
from tests.monitoring.conftest import MANAGER_TOKEN

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


def _card(page, label: str) -> str:
    return page.locator(".card", has_text=label).locator(".value").inner_text()


# Playwright's init script runs before the page's own and outside its Content-Security-Policy.
_RECORD_CSP = ("window.__csp = []; "
               "document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective));")


def test_dashboard_draws_charts_and_filters_by_benefit(browser, service_url: str) -> None:
    page = browser.new_page(viewport={"width": 1300, "height": 1500})
    page.add_init_script(_RECORD_CSP)
    response = page.goto(f"{service_url}/dashboard")
    assert response is not None and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.fill("#token", MANAGER_TOKEN)
    page.click("#token-form button")
    page.wait_for_selector("svg[data-chart=hit-rate] circle.point", timeout=15_000)
    assert "token" not in page.url  # the form never puts the token in the address
    assert page.evaluate("sessionStorage.getItem('riskrank-manager-token')") == MANAGER_TOKEN
    frame = dashboard_outcomes()
    assert _card(page, "Closed investigations") == f"{len(frame):,}".replace(",", "\u00a0")
    all_points = page.locator("svg[data-chart=hit-rate] circle.point").count()
    # 12 months x model, random, impulse; agency-initiated has 3 a month, fewer than four persons: suppressed.
    assert all_points == 12 * 3
    assert page.locator("svg[data-chart=hit-rate] circle.point[data-series=fk_initiated]").count() == 0
    assert page.locator("svg[data-chart=lift] circle.point").count() == 5  # four quarters and the whole period
    assert page.locator("svg[data-chart=detected] rect.bar").count() == 24
    assert page.locator("svg[data-chart=fairness] circle.point").count() >= 3
    assert page.locator("svg[data-chart=drift] rect.bar").count() >= 1
    assert "version 3" in page.locator("#model").inner_text()
    first_title = page.locator("svg[data-chart=hit-rate] circle.point title").first.text_content()
    # One number format (Swedish by default): decimal commas everywhere, never a decimal point.
    shown = page.locator(".card .value").all_inner_texts() + page.locator("svg text, svg title").all_text_contents()
    assert any(re.search(r"\d,\d", text) for text in shown)
    assert [text for text in shown if re.search(r"\d\.\d", text)] == []

    page.select_option("#benefit", "sjukpenning")
    page.wait_for_selector("body[data-loaded-benefit=sjukpenning]", timeout=15_000)
    sjuk = frame[frame["benefit"] == "sjukpenning"]
    assert _card(page, "Closed investigations") == str(len(sjuk))
    # With one benefit, months with fewer than four investigations of a method are suppressed: fewer points.
    assert page.locator("svg[data-chart=hit-rate] circle.point").count() < all_points
    assert page.locator("svg[data-chart=hit-rate] circle.point title").first.text_content() != first_title
    page.fill("#from", "2024-10-01")
    page.dispatch_event("#from", "change")
    page.wait_for_selector("#status:has-text('closed 2024-10-01')", timeout=15_000)
    last_quarter = sjuk[sjuk["closed_date"] >= "2024-10-01"]
    assert _card(page, "Closed investigations") == str(len(last_quarter))
    page.fill("#from", "")
    page.dispatch_event("#from", "change")
    page.wait_for_selector("#status:has-text('Showing sjukpenning.')", timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.select_option("#benefit", "barnbidrag")
    page.wait_for_selector("body[data-loaded-benefit=barnbidrag]", timeout=15_000)
    assert "Score drift needs" in page.locator("#chart-drift").inner_text()  # too few random-sample scores for one benefit
    page.select_option("#benefit", "")
    page.wait_for_selector("body[data-loaded-benefit='']", timeout=15_000)
    assert page.locator("svg[data-chart=drift] rect.bar").count() == 1  # the score; no feature snapshots here
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
    assert page.evaluate("window.__csp") == []  # the whole page works under its policy: nothing was blocked
    page.close()


def test_dashboard_asks_for_a_token_and_reports_a_wrong_one(browser, service_url: str) -> None:
    page = browser.new_page()
    page.goto(f"{service_url}/dashboard")
    assert "Enter a manager token" in page.locator("#status").inner_text()
    assert page.locator("svg circle.point").count() == 0
    page.fill("#token", "not-a-real-token")
    page.click("#token-form button")
    page.wait_for_selector("#status.error", timeout=15_000)
    assert "401" in page.locator("#status").inner_text()
    page.close()
