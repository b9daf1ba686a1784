"""The outcome form's fields -> the API's OutcomeRequest (one set of rules for the API and the workspace)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qs

from pydantic import ValidationError

from riskrank.serving.schemas import OutcomeRequest

ACTIONS = ("none", "refused", "reduced", "stopped", "reclaimed")


def parse_form(body: bytes) -> dict[str, str]:
    """A url-encoded form body as one value per field (the last one sent)."""
    return {key: values[-1] for key, values in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def defaults(investigation_id: str, today: date) -> dict[str, Any]:
    return {"investigation_id": investigation_id, "opened_date": today.isoformat(), "closed_date": today.isoformat(),
            "action_type": "none", "detected_sek": "0", "prevented_sek": "0", "police_report": False, "disagreed": False,
            "disagreement_reason": ""}


def shown(fields: dict[str, str]) -> dict[str, Any]:
    """What was sent, to show again in the form next to the errors."""
    return {**{k: fields.get(k, "") for k in ("investigation_id", "opened_date", "closed_date", "action_type", "detected_sek",
                                             "prevented_sek", "disagreement_reason")},
            "police_report": "police_report" in fields, "disagreed": "disagreed" in fields}


def _amount(text: str) -> Any:
    text = text.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    return text or 0


def outcome_request(fields: dict[str, str], case_id: int) -> tuple[OutcomeRequest | None, list[str]]:
    """The validated report, or None and the reasons in the API's words."""
    action_type = fields.get("action_type", "none")
    if action_type not in ACTIONS:
        return None, [f"action: unknown action {action_type!r}"]
    reason = fields.get("disagreement_reason", "").strip()
    report = {
        "investigation_id": fields.get("investigation_id", "").strip(), "case_id": case_id,
        "opened_date": fields.get("opened_date", ""), "closed_date": fields.get("closed_date", ""),
        "action": action_type != "none", "action_type": None if action_type == "none" else action_type,
        "detected_sek": _amount(fields.get("detected_sek", "")), "prevented_sek": _amount(fields.get("prevented_sek", "")),
        "police_report": "police_report" in fields, "disagreed_with_score": "disagreed" in fields,
        "disagreement_reason": reason or None,
    }
    try:
        return OutcomeRequest.model_validate(report), []
    except ValidationError as exc:
        return None, [f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()]
