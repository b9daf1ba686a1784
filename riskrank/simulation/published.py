"""The agency's published figures (calibration.json, the package copy) and the lookups the world needs."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
YEARS = (2022, 2023, 2024)


@lru_cache
def calibration() -> dict:
    return json.loads(CALIBRATION_FILE.read_text())


def block(benefit: str, path: str) -> dict:
    """The block at dotted `path` under a benefit, e.g. 'control_investigations.closed_count'."""
    node = calibration()["benefits"][benefit]
    for part in path.split("."):
        node = node[part]
    return node


def value(benefit: str, path: str, year: int, sex: str = "total") -> float | None:
    values = block(benefit, path)["values"].get(str(year), {})
    return values.get(sex) if isinstance(values, dict) else values


RECIPIENTS = "volumes.recipients_persons"
CLOSED = "control_investigations.closed_count"
SHARE_WITH_ACTION = "control_investigations.share_with_action_pct"
DETECTED_KSEK = "control_investigations.detected_erroneous_ksek"
PREVENTED_KSEK = "control_investigations.prevented_erroneous_ksek"
POLICE = "control_investigations.police_reports"
CAUSE_TIMING = "detected_erroneous_payments.cause_by_timing_pct_of_amount"


def cause_shares(benefit: str, year: int = 2024) -> dict[str, float]:
    """Tabell 71 shares (application / unreported_change / fth), normalised; falls back to the agency total."""
    keys = {"application": "at_application", "unreported_change": "changed_circumstances",
            "fth": "wrong_insurance_affiliation"}
    raw = {}
    for cause, key in keys.items():
        v = value(benefit, f"{CAUSE_TIMING}.{key}", year)
        raw[cause] = float(v) if v is not None else 0.0
    total = sum(raw.values())
    if total <= 0:
        return {"application": 0.03, "unreported_change": 0.88, "fth": 0.09}
    return {k: v / total for k, v in raw.items()}


def agency_notification_share(year: int) -> float:
    """Tabell 82: investigations from other agencies' notifications as a share of all closed (Tabell 74 total)."""
    cal = calibration()
    notified = cal["agency_level"]["notifications_from_other_agencies_tabell82"]["investigations"]["values"][str(year)]["total"]
    total = cal["benefits"]["totalt"]["control_investigations"]["closed_count"]["values"][str(year)]["total"]
    return notified / total


def agency_notifications(year: int) -> tuple[float, float]:
    """Tabell 82: (investigations from other agencies' notifications, their police reports) in `year`."""
    block = calibration()["agency_level"]["notifications_from_other_agencies_tabell82"]
    return (float(block["investigations"]["values"][str(year)]["total"]),
            float(block["police_reports"]["values"][str(year)]["total"]))


def required(benefit: str, path: str, year: int, sex: str = "total") -> float:
    """`value` for figures the world is built from: a missing one is an error in calibration.json, not a zero."""
    found = value(benefit, path, year, sex)
    if found is None:
        raise KeyError(f"calibration.json has no {path} for {benefit}, {year}, {sex}")
    return float(found)
