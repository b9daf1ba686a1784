"""The groups recorded with outcomes for fairness measurement (sex, born abroad, age band): recorded from the case's
features, shown in aggregate to managers and auditors, never readable by the investigator role through any endpoint."""

from __future__ import annotations

import json

import sqlalchemy as sa

from riskrank.db import outcomes
from tests.serving.conftest import LiveServer

GROUPS = ("sex", "born_abroad", "age_band")


def _report(case_id: int) -> dict:
    return {"investigation_id": "inv-g1", "case_id": case_id, "opened_date": "2024-07-01", "closed_date": "2024-08-15",
            "action": False, "action_type": None, "detected_sek": 0.0, "prevented_sek": 0.0, "police_report": False,
            "disagreed_with_score": False, "disagreement_reason": None}


def _keys(value) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_outcomes_carry_the_groups_and_the_investigator_reads_none_of_them(live: LiveServer) -> None:
    seen: list[tuple[str, object]] = []
    with live.client() as client:  # everything the investigator role may call, each answer kept
        worklist = client.post("/v1/worklists", json={"benefit": "all", "k": 5})
        seen.append(("POST /v1/worklists", worklist.json()))
        case_id = worklist.json()["items"][0]["case_id"]
        seen.append(("GET worklist", client.get(f"/v1/worklists/{worklist.json()['worklist_id']}").json()))
        seen.append(("GET score", client.get(f"/v1/cases/{case_id}/score").json()))
        recorded = client.post("/v1/outcomes", json=_report(case_id))
        assert recorded.status_code == 201, recorded.text
        seen.append(("POST /v1/outcomes", recorded.json()))
        seen.append(("POST /v1/outcomes again", client.post("/v1/outcomes", json=_report(case_id)).json()))
        for path in ("/v1/metrics/dashboard", "/v1/metrics/hit-rate"):
            refused = client.get(path, params={"by": "sex"} if path.endswith("hit-rate") else None)
            assert refused.status_code == 403 and "manager or auditor" in refused.json()["detail"], path
    for where, body in seen:
        assert not _keys(body) & set(GROUPS), where
    with live.engine.connect() as conn:
        [row] = conn.execute(sa.select(outcomes)).mappings().all()
    frame = live.frame
    assert row["sex"] == frame.loc[frame["case_id"] == case_id, "sex"].iloc[0]
    # The fixture's feature store holds the neutral values store_frame gives features the fixture lacks.
    assert (row["born_abroad"], row["age_band"]) == (False, "0-29")

    for role in ("manager", "auditor"):  # the two roles that see the groups, in aggregate
        with live.client(role) as client:
            body = client.get("/v1/metrics/dashboard").json()
        assert {r["attribute"] for r in body["group_fairness"]} <= set(GROUPS), role
        assert all(r["suppressed"] for r in body["group_fairness"]), role  # one outcome: fewer than four persons


def test_no_response_schema_an_investigator_gets_names_a_group(live: LiveServer) -> None:
    schema = live.app.openapi()
    components = schema["components"]["schemas"]

    def names(node, depth: int = 0) -> set[str]:
        if depth > 20 or not isinstance(node, dict | list):
            return set()
        if isinstance(node, list):
            return {n for v in node for n in names(v, depth + 1)}
        if "$ref" in node:
            return names(components[node["$ref"].rsplit("/", 1)[1]], depth + 1)
        return set(node.get("properties", {})) | {n for v in node.values() for n in names(v, depth + 1)}

    for path, operations in schema["paths"].items():
        if path.startswith("/v1/metrics"):
            continue  # managers and auditors only (test above)
        for method, operation in operations.items():
            found = names(operation.get("responses", {})) & set(GROUPS)
            assert not found, (method, path, found, json.dumps(operation)[:200])
