"""Failed authentication attempts per client address: the 31st wrong token within a minute gets 429 with
Retry-After, as problem details; the limiter is bounded in memory. The clock is injected, never waited on."""

from __future__ import annotations

from riskrank.serving.ratelimit import FailedAuthLimiter
from tests.serving.conftest import LiveServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_31st_failure_within_a_minute_is_refused_until_the_oldest_ages_out() -> None:
    clock = Clock()
    limiter = FailedAuthLimiter(limit=30, window=60, clock=clock)
    for _ in range(30):
        assert limiter.retry_after("10.0.0.1") is None
        limiter.failed("10.0.0.1")
        clock.now += 1
    assert limiter.retry_after("10.0.0.1") == 30  # the first failure (at 1000) leaves the window at 1060; now 1030
    assert limiter.retry_after("10.0.0.2") is None  # per address
    clock.now = 1060.0
    assert limiter.retry_after("10.0.0.1") is None  # one failure aged out: one more attempt
    limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 1


def test_failures_spread_over_more_than_a_minute_are_never_refused() -> None:
    clock = Clock()
    limiter = FailedAuthLimiter(limit=30, window=60, clock=clock)
    for _ in range(200):
        assert limiter.retry_after("10.0.0.1") is None
        limiter.failed("10.0.0.1")
        clock.now += 2.1  # 29 failures per minute


def test_the_limiter_forgets_the_stalest_address_beyond_its_bound() -> None:
    clock = Clock()
    limiter = FailedAuthLimiter(limit=2, window=60, max_addresses=100, clock=clock)
    for _ in range(2):
        limiter.failed("first")
    for n in range(1000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
        assert limiter.tracked() <= 100
    assert limiter.retry_after("first") is None  # forgotten, not refused forever
    clock.now += 61
    assert limiter.retry_after("10.0.3.231") is None and limiter.tracked() <= 100


def test_the_31st_wrong_token_gets_429_with_retry_after_and_then_even_a_good_one_waits(live: LiveServer) -> None:
    clock = Clock()
    live.app.state.auth_limiter = FailedAuthLimiter(clock=clock)
    with live.client(role=None) as client:
        wrong = {"Authorization": "Bearer not-a-token"}
        statuses = [client.get("/v1/cases/1000/score", headers=wrong).status_code for _ in range(30)]
        refused = client.get("/v1/cases/1000/score", headers=wrong)
        good_but_waiting = client.get("/v1/cases/1000/score", headers={"Authorization": f"Bearer {live.tokens['investigator']}"})
        clock.now += 61
        good = client.get("/v1/cases/1000/score", headers={"Authorization": f"Bearer {live.tokens['investigator']}"})
    assert statuses == [401] * 30
    for response in (refused, good_but_waiting):
        assert response.status_code == 429
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) == 60
        assert response.json()["status"] == 429 and "too many failed authentication attempts" in response.json()["detail"]
    assert good.status_code == 200


def test_missing_tokens_and_good_tokens_do_not_count(live: LiveServer) -> None:
    clock = Clock()
    live.app.state.auth_limiter = FailedAuthLimiter(clock=clock)
    with live.client(role=None) as client:
        assert {client.get("/v1/model").status_code for _ in range(40)} == {401}
    with live.client("investigator") as client:
        assert {client.get("/v1/cases/1000/score").status_code for _ in range(40)} == {200}
    assert live.app.state.auth_limiter.tracked() == 0
