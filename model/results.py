"""What a prediction returns: flags with evidence spans, scores and a recommendation (the API's JSON shape)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Evidence:
    """A span of the submitted text: `text == submitted[start:end]`, offsets in Unicode code points."""
    text: str
    start: int
    end: int


@dataclass
class RedFlag:
    category: str
    probability: float
    severity: int
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Recommendation:
    action: str
    confidence: float
    rationale: str
    script: str
    follow_up: str
    stage: str = "during"
    driver: str | None = None


@dataclass
class Prediction:
    model_version: str
    flagged: bool
    red_flags: list[RedFlag]
    scores: dict[str, float]
    recommendation: Recommendation

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API (hand-built: dataclasses.asdict deep-copies and is slow)."""
        rec = self.recommendation
        return {
            "model_version": self.model_version,
            "flagged": self.flagged,
            "red_flags": [{"category": f.category, "probability": f.probability, "severity": f.severity,
                           "evidence": [{"text": e.text, "start": e.start, "end": e.end} for e in f.evidence]}
                          for f in self.red_flags],
            "scores": dict(self.scores),
            "recommendation": {"action": rec.action, "confidence": rec.confidence, "rationale": rec.rationale,
                               "script": rec.script, "follow_up": rec.follow_up,
                               "stage": rec.stage, "driver": rec.driver},
        }
