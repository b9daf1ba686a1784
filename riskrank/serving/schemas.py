"""Request and response bodies (they also make the OpenAPI documentation at /docs)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskrank.serving.deps import NOTICE
from riskrank.serving.worklist import OBJECTIVES
from riskrank.world import BENEFITS

if TYPE_CHECKING:
    BenefitName = str
    BenefitOrAll = str
    Objective = str
else:
    # Enums in the OpenAPI, from the one list of each (Literal of a tuple is Literal of its items).
    BenefitName = Literal[BENEFITS]
    BenefitOrAll = Literal[(*BENEFITS, "all")]
    Objective = Literal[OBJECTIVES]

# Ids are stored as 64-bit signed integers; larger ones cannot name a case (422, not a database overflow).
MAX_ID = 2**63 - 1


class ModelRef(BaseModel):
    name: str | None
    version: int | None
    alias: str | None


class Reason(BaseModel):
    feature: str
    value: Any = Field(description="The feature's value for this case (category name, number, true/false or null)")
    value_text: str = Field(description="The value in words with its unit, e.g. '612 days', 'no notification on record'")
    value_text_sv: str = Field(description="The same in Swedish, e.g. '612 dagar', 'ingen underrättelse registrerad'")
    unit: str | None = Field(description="SEK, days, months, hours, count or sd (standard deviations); null for "
                                         "categories, true/false and ratios")
    contribution: float = Field(description="Log-odds contribution to the score (TreeSHAP)")
    share: float | None = Field(description="contribution / (logit(score) - base_value): this feature's part of the "
                                            "distance from the average case (all features add up to 1); null for a case "
                                            "at the average")
    direction: Literal["raises", "lowers"]
    description: str
    description_sv: str


class ScoreResponse(BaseModel):
    case_id: int | None = None
    benefit: BenefitName | None
    score: float = Field(description="Estimated probability that the case is in error, calibrated to the active cases "
                                     "on the random control sample (the model card shows how well)")
    percentile: float | None = Field(description="Share (%) of active cases of the same benefit scoring at or below this")
    model: ModelRef
    base_value: float = Field(description="Log-odds before any feature; base_value + sum(contributions) = logit(score)")
    contributions: dict[str, float]
    reasons: list[Reason] = Field(description="Up to `top` features that raise the score, strongest first")
    reasons_lowering: list[Reason] = Field(description="Up to `top` features that lower the score, strongest first")
    features_as_of: date | None = None
    notice: str = NOTICE


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    features: dict[str, Any] = Field(description="Every model feature by name (see GET /v1/model); null only for float features")
    benefit: BenefitName | None = Field(None, description="Benefit for the percentile; defaults to features['benefit']")
    top: int = Field(5, ge=0, le=100)


class WorklistRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    benefit: BenefitOrAll = Field(description="A benefit key, or 'all'")
    k: int = Field(ge=1, le=5000, description="Capacity: how many cases to hand out")
    objective: Objective = "hit_rate"
    top: int = Field(5, ge=0, le=100, description="Reasons per case")


class WorklistItem(BaseModel):
    """A case to investigate. Score, percentile, expected SEK and reasons are null or empty unless the service
    shows scores in worklists (RISKRANK_WORKLIST_SHOW_SCORES); open the case's score for them."""

    position: int = Field(description="Place in the list; the order is random and carries no information")
    case_id: int
    benefit: BenefitName
    score: float | None
    percentile: float | None
    expected_sek: float | None
    reasons: list[Reason]
    reasons_lowering: list[Reason]


class Worklist(BaseModel):
    """A worklist as recorded. Fetched again (GET), it has each case's stored score when the service shows scores,
    but no percentile, expected SEK or reasons: open the case's score for those."""

    worklist_id: str
    created_at: datetime
    created_by: str
    benefit: BenefitName | None = Field(description="null: all benefits")
    k: int
    objective: Objective
    model: ModelRef
    features_as_of: date | None
    items: list[WorklistItem]
    notice: str = NOTICE


class WorklistCreated(Worklist):
    left_out_under_investigation: int = Field(
        0, description="Active cases left out because they are under open investigation (on a worklist, no outcome yet)")


class OutcomeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    investigation_id: str = Field(min_length=1, max_length=64)
    case_id: int = Field(ge=0, le=MAX_ID)
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
    benefit: BenefitName
    opened_date: date
    closed_date: date
    action: bool
    action_type: Literal["refused", "reduced", "stopped", "reclaimed"] | None
    detected_sek: float
    prevented_sek: float
    police_report: bool
    disagreed_with_score: bool
    disagreement_reason: str | None
    recorded_by: str
    recorded_at: datetime
    created: bool = Field(description="False when this investigation was already recorded with the same report")


class FailedVersion(BaseModel):
    version: int | None = Field(description="null: the registry or the alias could not be read")
    error: str
    at: datetime


class ModelInfo(BaseModel):
    name: str | None
    version: int | None
    alias: str | None
    trained_at: str | None
    feature_set_version: str | None
    feature_names: list[str]
    metrics: dict[str, float]
    features_as_of: date | None
    failed_version: FailedVersion | None
    notice: str = NOTICE


class ScoresStatus(BaseModel):
    cases: int
    as_of: date | None
    source: Literal["nightly", "feature_store"]
    run_id: int | None
    scored_at: datetime | None
    with_reasons: int


class HolderStatus(BaseModel):
    """What the model holder serves (POST /v1/model/reload answers with it after checking the registry)."""

    model_loaded: bool
    model_version: int | None
    features_as_of: date | None
    cases_in_snapshot: int
    scores: ScoresStatus | None
    failed_version: FailedVersion | None


class FailedVersionReason(BaseModel):
    version: int | None
    at: datetime
    reason: str


class Readiness(BaseModel):
    """/ready's answer, with 200 and with 503 alike (a status report, not a problem of the request)."""

    ready: bool
    reasons: list[str] = Field(description="What is missing; empty when ready")
    model_loaded: bool
    model_version: int | None
    features_as_of: date | None
    cases_in_snapshot: int
    scores: ScoresStatus | None
    database: Literal["ok", "unreachable"]
    feature_store: Literal["ok", "not available"]
    failed_version: FailedVersionReason | None
    warning: str | None = None


class Health(BaseModel):
    status: Literal["ok"]


class AuditEntry(BaseModel):
    seq: int
    at: str = Field(description="UTC, ISO 8601, exactly as hashed")
    actor: str
    action: str
    subject: str | None = Field(description="The case's pseudonym (HMAC-SHA256), never its id")
    model_version: str | None
    score: float | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditEntries(BaseModel):
    entries: list[AuditEntry]


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None
    problem: str | None
