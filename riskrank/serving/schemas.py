"""Request and response bodies (they also make the OpenAPI documentation at /docs)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskrank.serving.deps import NOTICE


class ModelRef(BaseModel):
    name: str | None
    version: int | None
    alias: str | None


class Reason(BaseModel):
    feature: str
    value: Any = Field(description="The feature's value for this case (category name, number, true/false or null)")
    contribution: float = Field(description="Log-odds contribution to the score (TreeSHAP)")
    direction: Literal["raises", "lowers"]
    description: str
    description_sv: str


class ScoreResponse(BaseModel):
    case_id: int | None = None
    benefit: str | None
    score: float = Field(description="Estimated probability that an investigation of this case ends with action")
    percentile: float | None = Field(description="Share (%) of active cases of the same benefit scoring at or below this")
    model: ModelRef
    base_value: float = Field(description="Log-odds before any feature; base_value + sum(contributions) = logit(score)")
    contributions: dict[str, float]
    reasons: list[Reason]
    features_as_of: str | None = None
    notice: str = NOTICE


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    features: dict[str, Any] = Field(description="Every model feature by name (see GET /v1/model); null only for float features")
    benefit: str | None = Field(None, description="Benefit for the percentile; defaults to features['benefit']")
    top: int = Field(5, ge=0, le=100)


class WorklistRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    benefit: str = Field(description="A benefit key, or 'all'")
    k: int = Field(ge=1, le=5000, description="Capacity: how many cases to hand out")
    objective: Literal["hit_rate", "expected_sek"] = "hit_rate"
    top: int = Field(5, ge=0, le=100, description="Reasons per case")


class WorklistItem(BaseModel):
    position: int
    case_id: int
    benefit: str
    score: float
    percentile: float | None
    expected_sek: float | None
    reasons: list[Reason]


class WorklistResponse(BaseModel):
    worklist_id: str
    benefit: str | None
    k: int
    objective: str
    model: ModelRef
    features_as_of: str | None
    left_out_under_investigation: int = Field(
        0, description="Active cases left out because they are under open investigation (on a worklist, no outcome yet)")
    items: list[WorklistItem]
    notice: str = NOTICE


class OutcomeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    investigation_id: str = Field(min_length=1, max_length=64)
    case_id: int
    opened_date: date
    closed_date: date
    action: bool = Field(description="The investigation led to an action (refused, reduced, stopped or reclaimed)")
    action_type: Literal["refused", "reduced", "stopped", "reclaimed"] | None = None
    detected_sek: float = Field(0.0, ge=0, allow_inf_nan=False)
    prevented_sek: float = Field(0.0, ge=0, allow_inf_nan=False)
    police_report: bool = False
    disagreed_with_score: bool = False
    disagreement_reason: str | None = Field(None, max_length=2000)
    selection: Literal["impulse", "fk_initiated"] | None = Field(
        None, description="Only for cases that did not come from a worklist: how the case came in"
    )

    @model_validator(mode="after")
    def _consistent(self) -> OutcomeRequest:
        problems = []
        if self.closed_date < self.opened_date:
            problems.append("closed_date is before opened_date")
        if self.action and self.action_type is None:
            problems.append("action_type is required when action is true")
        if not self.action and self.action_type is not None:
            problems.append("action_type must be empty when action is false")
        if not self.action and (self.detected_sek or self.prevented_sek):
            problems.append("detected_sek and prevented_sek must be 0 when action is false")
        if self.disagreed_with_score and not (self.disagreement_reason or "").strip():
            problems.append("disagreement_reason is required when disagreed_with_score is true")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class OutcomeResponse(BaseModel):
    investigation_id: str
    case_id: int
    benefit: str
    opened_date: date
    closed_date: date
    action: bool
    action_type: str | None
    detected_sek: float
    prevented_sek: float
    police_report: bool
    disagreed_with_score: bool
    disagreement_reason: str | None
    recorded_by: str
    recorded_at: datetime
    created: bool = Field(description="False when this investigation was already recorded with the same report")


class ModelInfo(BaseModel):
    name: str | None
    version: int | None
    alias: str | None
    trained_at: str | None
    feature_set_version: str | None
    feature_names: list[str]
    metrics: dict[str, float]
    features_as_of: str | None
    failed_version: dict[str, Any] | None
    notice: str = NOTICE
