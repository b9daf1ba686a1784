"""The metrics endpoints over a real uvicorn server: JSON values, auth, and 422s naming the problem."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.monitoring.builders import dashboard_outcomes
from tests.monitoring.conftest import INVESTIGATOR_TOKEN, MANAGER_TOKEN

AUTH = {"Authorization": f"Bearer {MANAGER_TOKEN}"}


def test_hit_rate_by_benefit_matches_a_plain_count(service_url: str) -> None:
    frame = dashboard_outcomes()
    response = httpx.get(f"{service_url}/v1/metrics/hit-rate", params={"by": "benefit"}, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["by"] == ["benefit"] and body["cost_per_investigation_sek"] > 0
    rows = {r["benefit"]: r for r in body["rows"]}
    for benefit in ("barnbidrag", "sjukpenning"):
        mine = frame[frame["benefit"] == benefit]
        assert rows[benefit]["closed"] == len(mine)
        assert rows[benefit]["hit_rate"] == pytest.approx(mine["action"].mean())
        assert rows[benefit]["detected_sek"] == pytest.approx(mine["detected_sek"].sum())
    assert rows["total"]["closed"] == len(frame)


def test_hit_rate_by_sex_and_period_filter(service_url: str) -> None:
    frame = dashboard_outcomes()
    q1 = frame[frame["closed_date"] <= "2024-03-31"]
    response = httpx.get(f"{service_url}/v1/metrics/hit-rate", headers=AUTH,
                         params={"by": "selection,sex", "from": "2024-01-01", "to": "2024-03-31", "benefit": "barnbidrag"})
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    mine = q1[q1["benefit"] == "barnbidrag"]
    total = next(r for r in rows if r["selection"] == "total" and r["sex"] == "total")
    assert total["closed"] == len(mine)  # includes unknown sex
    women = next(r for r in rows if r["selection"] == "total" and r["sex"] == "F")
    assert women["closed"] == (mine["sex"] == "F").sum()
    small = [r for r in rows if r["suppressed"]]
    assert all(r["closed"] is None and r["hit_rate"] is None for r in small)


def _by_hand(k: int, n: int) -> tuple[float, float]:
    """The 95 % percentile bootstrap interval of k/n written out: resample the n investigations 2000 times
    (a multinomial over the two cells, with action and without, seeded 0), take the 2.5 and 97.5 percentiles."""
    drawn = np.random.default_rng(0).multinomial(n, [k / n, 1 - k / n], size=2000)[:, 0] / n
    low, high = np.quantile(drawn, [0.025, 0.975])
    return float(low), float(high)


def test_hit_rates_carry_a_95_percent_interval(small_service_url: str) -> None:
    response = httpx.get(f"{small_service_url}/v1/metrics/hit-rate", params={"by": "month,selection"}, headers=AUTH)
    assert response.status_code == 200, response.text
    rows = {(r["month"], r["selection"]): r for r in response.json()["rows"]}
    # builders.hand_built_outcomes: March, model-selected: 5 of 7 with action; April, random sample: 4 of 6.
    for key, (k, n) in {("2024-03", "model"): (5, 7), ("2024-04", "random"): (4, 6), ("total", "total"): (11, 20)}.items():
        row = rows[key]
        assert (row["closed"], row["hit_rate"]) == (n, pytest.approx(k / n))
        assert (row["hit_rate_low"], row["hit_rate_high"]) == pytest.approx(_by_hand(k, n))
        assert row["hit_rate_low"] < row["hit_rate"] < row["hit_rate_high"]
    # Three random-sample investigations in March: suppressed, and so is their interval.
    small = rows[("2024-03", "random")]
    assert small["suppressed"] and small["hit_rate_low"] is None and small["hit_rate_high"] is None


@pytest.mark.parametrize(("params", "message"), [
    ({"by": "benefit,county"}, "unknown breakdown 'county'"),
    ({"by": "month", "from": "2024-13-01"}, "from: Input should be a valid date"),
    ({"by": "month", "to": "yesterday"}, "to: Input should be a valid date"),
    ({"by": "month", "from": "2024-06-01", "to": "2024-01-01"}, "is after to"),
    ({"by": "month", "benefit": "lottery"}, "benefit: Input should be 'barnbidrag'"),
])
def test_bad_queries_get_422_naming_the_problem(service_url: str, params: dict, message: str) -> None:
    response = httpx.get(f"{service_url}/v1/metrics/hit-rate", params=params, headers=AUTH)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]


def test_metrics_need_a_manager_token_but_the_page_does_not(service_url: str) -> None:
    assert httpx.get(f"{service_url}/v1/metrics/hit-rate").status_code == 401
    investigator = {"Authorization": f"Bearer {INVESTIGATOR_TOKEN}"}
    assert httpx.get(f"{service_url}/v1/metrics/dashboard", headers=investigator).status_code == 403
    page = httpx.get(f"{service_url}/dashboard")
    assert page.status_code == 200 and "<svg" not in page.text and "Manager token" in page.text
    assert "barnbidrag" not in page.text  # the page holds no data


def test_dashboard_json_has_every_chart(service_url: str) -> None:
    frame = dashboard_outcomes()
    body = httpx.get(f"{service_url}/v1/metrics/dashboard", headers=AUTH).json()
    assert body["benefits"] == ["barnbidrag", "sjukpenning"]
    assert {r["selection"] for r in body["hit_rate_by_month"]} == {"model", "random", "impulse", "fk_initiated"}
    model = frame[frame["selection"] == "model"]
    random = frame[frame["selection"] == "random"]
    assert body["lift"]["lift"] == pytest.approx(model["action"].mean() / random["action"].mean())
    assert body["lift"]["low"] < body["lift"]["lift"] < body["lift"]["high"]
    assert len(body["lift_by_quarter"]) == 4
    assert sum(r["detected_sek"] or 0 for r in body["detected_by_month"]) <= frame["detected_sek"].sum()
    assert {r["sex"] for r in body["fairness"]} == {"F", "M"}
    assert body["drift"]["score"]["status"] in ("moderate", "shift")  # random-sample scores rose in Q4
    assert body["model"] == {"serving_version": "3", "source": "outcomes"}
    one = httpx.get(f"{service_url}/v1/metrics/dashboard", params={"benefit": "sjukpenning"}, headers=AUTH).json()
    assert one["summary"]["closed"] == (frame["benefit"] == "sjukpenning").sum()


def test_serving_model_version_from_the_mlflow_champion_alias(shared_model_registry, tmp_path) -> None:
    from riskrank.monitoring.dashboard import _mlflow_champion
    from riskrank.settings import Settings

    found = _mlflow_champion(Settings(mlflow_tracking_uri=shared_model_registry.tracking_uri))
    assert found == {"serving_version": "1", "source": "mlflow champion alias"}
    missing = tmp_path / "nowhere" / "mlflow.db"
    assert _mlflow_champion(Settings(mlflow_tracking_uri=f"sqlite:///{missing}")) is None
    assert not missing.exists()  # looking never creates an MLflow database
