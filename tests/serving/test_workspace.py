"""The investigator workspace over real HTTP (uvicorn, SQLite, the fixture model): the sign-in form checks a
token as the API does (expiry, failed-attempt limit, role), a session ends with its token, every POST needs the
session's CSRF token, a bad outcome form records nothing, handles belong to one session, and the pages speak
Swedish or English. The charts' geometry is checked directly."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx
import sqlalchemy as sa

from riskrank.db import outcomes
from riskrank.serving.auth import Authenticator, add_user_token, deactivate_user
from riskrank.serving.csrf import SESSION_COOKIE
from riskrank.serving.ratelimit import FailedAuthLimiter
from riskrank.serving.tables import worklists
from riskrank.serving.workspace import charts, i18n
from tests.serving.conftest import LiveServer

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HANDLE = re.compile(r'href="/workspace/cases/([A-Za-z0-9_-]+)"')


def _browser(live: LiveServer, language: str = "en") -> httpx.Client:
    return httpx.Client(base_url=live.url, headers={"Accept-Language": language}, timeout=30)


def _signed_in(live: LiveServer, token: str | None = None) -> tuple[httpx.Client, str]:
    client = _browser(live)
    answer = client.post("/workspace/sign-in", data={"token": token or live.tokens["investigator"]})
    assert answer.status_code == 303 and answer.headers["location"] == "/workspace"
    page = client.get("/workspace")
    assert page.status_code == 200
    return client, _CSRF.search(page.text).group(1)


def _case_handle(client: httpx.Client, csrf: str) -> str:
    made = client.post("/workspace/worklists", data={"benefit": "all", "k": "3", "csrf_token": csrf})
    assert made.status_code == 303
    return _HANDLE.search(client.get(made.headers["location"]).text).group(1)


def _outcomes(live: LiveServer) -> list:
    with live.engine.connect() as conn:
        return conn.execute(sa.select(outcomes)).mappings().all()


def test_sign_in_counts_failed_tokens_like_the_api(live: LiveServer) -> None:
    live.app.state.auth_limiter = FailedAuthLimiter(limit=3)
    client = _browser(live)
    for _ in range(3):
        answer = client.post("/workspace/sign-in", data={"token": "not-a-token"})
        assert answer.status_code == 401 and "Unknown, inactive or expired token" in answer.text
    answer = client.post("/workspace/sign-in", data={"token": live.tokens["investigator"]})
    assert answer.status_code == 429 and "Too many failed attempts" in answer.text  # refused before the token is looked at
    assert SESSION_COOKIE not in client.cookies


def test_an_expired_token_cannot_sign_in(live: LiveServer) -> None:
    issued = add_user_token(live.engine, "old-investigator", "investigator", expires_days=1,
                            now=datetime.now(UTC) - timedelta(days=2))
    answer = _browser(live).post("/workspace/sign-in", data={"token": issued.token})
    assert answer.status_code == 401


def test_other_roles_are_refused_with_403(live: LiveServer) -> None:
    for role in ("manager", "data_scientist", "auditor"):
        client = _browser(live)
        answer = client.post("/workspace/sign-in", data={"token": live.tokens[role]})
        assert answer.status_code == 403 and "for investigators" in answer.text
        assert SESSION_COOKIE not in client.cookies


def test_a_deactivated_user_is_signed_out(live: LiveServer) -> None:
    live.app.state.authenticator = Authenticator(live.engine, ttl_seconds=0)
    client, _ = _signed_in(live)
    deactivate_user(live.engine, "investigator-user")
    answer = client.get("/workspace")
    assert answer.status_code == 303 and answer.headers["location"] == "/workspace/sign-in"


def test_posts_need_the_sessions_csrf_token(live: LiveServer) -> None:
    client, csrf = _signed_in(live)
    for sent in ({}, {"csrf_token": "forged"}):
        answer = client.post("/workspace/worklists", data={"benefit": "all", "k": "3", **sent})
        assert answer.status_code == 403
    with live.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(worklists)).scalar() == 0
    assert client.post("/workspace/worklists", data={"benefit": "all", "k": "3", "csrf_token": csrf}).status_code == 303


def test_a_bad_worklist_request_says_why(live: LiveServer) -> None:
    client, csrf = _signed_in(live)
    for k in ("0", "many"):
        answer = client.post("/workspace/worklists", data={"benefit": "all", "k": k, "csrf_token": csrf})
        assert answer.status_code == 422 and "k" in answer.text


def test_a_bad_outcome_form_records_nothing_and_a_good_one_once(live: LiveServer) -> None:
    client, csrf = _signed_in(live)
    handle = _case_handle(client, csrf)
    page = client.get(f"/workspace/cases/{handle}").text
    investigation = re.search(r'name="investigation_id" value="([^"]+)"', page).group(1)
    form = {"csrf_token": csrf, "investigation_id": investigation, "opened_date": "2024-07-01",
            "closed_date": "2024-07-10", "action_type": "none", "disagreed": "on", "disagreement_reason": ""}
    answer = client.post(f"/workspace/cases/{handle}/outcome", data=form)
    assert answer.status_code == 422 and "disagreement_reason is required" in answer.text
    assert _outcomes(live) == []
    answer = client.post(f"/workspace/cases/{handle}/outcome", data={**form, "closed_date": "2024-06-01",
                                                                     "disagreement_reason": "known family"})
    assert answer.status_code == 422 and "closed_date is before opened_date" in answer.text
    good = {**form, "disagreement_reason": "known family"}
    answer = client.post(f"/workspace/cases/{handle}/outcome", data=good)
    assert answer.status_code == 303 and answer.headers["location"].endswith("recorded=new")
    answer = client.post(f"/workspace/cases/{handle}/outcome", data=good)  # sent twice: recorded once
    assert answer.headers["location"].endswith("recorded=again")
    assert "already recorded" in client.get(answer.headers["location"]).text
    [row] = _outcomes(live)
    assert row["disagreed_with_score"] and row["disagreement_reason"] == "known family"
    assert row["selection"] in ("model", "random")  # from the worklist, never stated in the form


def test_handles_belong_to_their_session(live: LiveServer) -> None:
    client, csrf = _signed_in(live)
    handle = _case_handle(client, csrf)
    other, _ = _signed_in(live)
    assert other.get(f"/workspace/cases/{handle}").status_code == 404
    assert client.get(f"/workspace/cases/{handle}").status_code == 200


def test_language_from_the_query_then_the_browser() -> None:
    assert i18n.choose(None, None, "en-GB,en;q=0.9") == "en"
    assert i18n.choose(None, None, "de-DE, sv;q=0.5, en;q=0.4") == "sv"
    assert i18n.choose(None, None, None) == "sv"
    assert i18n.choose("en", "sv", "sv-SE") == "en"
    assert i18n.choose("xx", "en", "sv-SE") == "en"
    assert set(i18n.WORDS) == {k for k, v in i18n.WORDS.items() if set(v) == set(i18n.LANGUAGES)}


def test_pages_speak_swedish_or_english(live: LiveServer) -> None:
    assert "Logga in" in _browser(live, "sv-SE").get("/workspace/sign-in").text
    assert "Sign in" in _browser(live, "en-GB").get("/workspace/sign-in").text
    assert "Logga in" in _browser(live, "en-GB").get("/workspace/sign-in?lang=sv").text


def _reason(feature: str, contribution: float) -> dict:
    return {"feature": feature, "contribution": contribution, "description": feature, "description_sv": feature,
            "value_text": "1", "value_text_sv": "1"}


def test_the_waterfall_adds_up_from_the_average_case_to_the_case() -> None:
    body = {"base_value": -1.0, "contributions": {"a": 1.0, "b": -0.5, "c": 0.2},
            "reasons": [_reason("a", 1.0)], "reasons_lowering": [_reason("b", -0.5)]}
    chart = charts.waterfall(body, i18n.words("en"), "en")
    labels = [row["label"] for row in chart["rows"]]
    assert labels == ["average case", "a: 1", "other features", "b: 1", "this case"]
    average, a, other, b, case = chart["rows"]
    assert a["x"] == average["x"] + 2 and other["x"] == round(a["x"] + a["w"], 1)  # each bar starts where the last ended
    assert round(b["x"] + b["w"], 1) == round(other["x"] + other["w"], 1)  # a lowering bar ends where the level was
    assert abs(case["x"] + 2 - b["x"]) <= 0.2  # and the case sits at base + all contributions (-0.3)
    assert [a["cls"], other["cls"], b["cls"]] == ["raise", "other", "lower"]


def test_the_timeline_dates_signals_from_days_since_features() -> None:
    timeline = charts.timeline({"as_of": date(2024, 6, 30), "days_since_address_change": 40.0,
                                "days_since_notification": float("nan")}, "en")
    assert timeline is not None
    assert [e["date"] for e in timeline["events"]] == [date(2024, 5, 21)]
    assert timeline["missing"] == ["no notification on record"]
    assert charts.timeline(None, "en") is None
