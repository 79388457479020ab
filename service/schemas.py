"""Request and response schemas: they validate requests and generate the OpenAPI document."""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from redflags.model.inputs import MAX_TEXT_CHARS, OFFSET_UNIT, TEXT_RULE, InputError, check_thresholds, require_text
from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS

CategoryId = Literal[CATEGORIES]  # type: ignore[valid-type]
ActionId = Literal[RECOMMENDATIONS]  # type: ignore[valid-type]


def core_rule(check: Callable[[Any], Any]) -> AfterValidator:
    """Run one of the core's input checks (`redflags.model.inputs`) with its own message, so the API says
    exactly what the batch scorer and the CLI say about the same input."""
    def run(value):
        try:
            return check(value)
        except InputError as exc:
            raise PydanticCustomError("invalid_input", str(exc)) from None
    return AfterValidator(run)


# The rule itself is the core's; the JSON-schema keywords only describe it in the OpenAPI document.
Text = Annotated[str, core_rule(require_text), Field(
    description=f"The anecdote: {TEXT_RULE}.",
    json_schema_extra={"minLength": 1, "maxLength": MAX_TEXT_CHARS, "pattern": r"\S"})]
Thresholds = Annotated[dict[CategoryId, Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]] | None,
                       core_rule(lambda v: None if v is None else check_thresholds(v)),
                       Field(description="Per-category decision thresholds in [0, 1] that override the model's.")]


# Requests are validated strictly: 0 is not a boolean and "1" is not a number.
class Context(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    open_to_other_roles: bool = Field(False, description="The candidate wants a future with this employer "
                                                         "in another role: softens end_interview to "
                                                         "finish_then_withdraw, except under harassment, "
                                                         "discrimination or a scam.")
    stage: Literal["during", "after"] | None = Field(
        None, description="Where the candidate is: `during` (the script is what to say now) or `after` (what "
                          "they could have said, and what to do now). Default: `after` when the text tells of a "
                          "finished interview in the past tense, else `during`.")


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: Text
    context: Context | None = None
    evidence: bool = True
    thresholds: Thresholds = None


class EvidenceOut(BaseModel):
    """A span of the submitted text. Offsets count Unicode code points (as Python's str does), not
    UTF-16 units: in JavaScript slice `Array.from(text)`, not `text` itself."""
    text: str
    start: int = Field(ge=0, description=f"Offset of the first character, counted in {OFFSET_UNIT}.")
    end: int = Field(ge=0, description=f"Offset just past the last character, counted in {OFFSET_UNIT}.")


class RedFlagOut(BaseModel):
    category: CategoryId
    probability: float = Field(ge=0, le=1)
    severity: int = Field(ge=1, le=3)
    evidence: list[EvidenceOut]


class RecommendationOut(BaseModel):
    action: ActionId
    confidence: float = Field(ge=0, le=1)
    rationale: str
    script: str
    follow_up: str
    stage: Literal["during", "after"] = Field(description="The stage the advice was written for.")
    driver: CategoryId | None = Field(None, description="The category whose flag (or near-flag) drove the action.")


class ClassifyResponse(BaseModel):
    model_version: str
    flagged: bool
    red_flags: list[RedFlagOut]
    scores: dict[CategoryId, float]
    recommendation: RecommendationOut


class BatchItem(BaseModel):
    """One item; validated on its own so that a bad item does not fail the batch."""
    model_config = ConfigDict(strict=True)
    id: str | int | None = None
    text: Text


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    items: list[dict] = Field(min_length=1, max_length=1000,
                              description="Up to 1,000 objects {id?, text}; each is validated on its own.")
    context: Context | None = None
    evidence: bool = True
    thresholds: Thresholds = None


class ItemError(BaseModel):
    detail: str


class BatchResult(BaseModel):
    index: int
    id: str | int | None = None
    result: ClassifyResponse | None = None
    error: ItemError | None = None


class BatchResponse(BaseModel):
    model_version: str
    count: int
    errors: int
    results: list[BatchResult]


class Problem(BaseModel):
    """RFC 9457 problem details."""
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict] | None = None


class CategoryOut(BaseModel):
    id: CategoryId
    title: str
    description: str
    severity: int


class LabelsResponse(BaseModel):
    categories: list[CategoryOut]
    recommendations: dict[ActionId, str]


class ModelResponse(BaseModel):
    model_version: str
    features: str = Field(description='"tfidf" (the default mode) or "tfidf+encoder" (the opt-in encoder mode)')
    metadata: dict
    modes: dict = Field(description="both modes' measured figures (held-out and real-account macro F1 and advice "
                                    "accuracy, ms per 100-word text, batch rows/s), whichever is served")


class HealthResponse(BaseModel):
    status: str
    model_version: str | None = None
    detail: str | None = None
