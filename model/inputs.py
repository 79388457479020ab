"""The input contract every way in shares (HTTP API, batch files, CLI): what a text, a threshold and a
context may be, and the messages that say what is wrong. The API's schemas, the batch scorer's row
check and the CLI all call these functions, so a text accepted by one is accepted by all.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redflags.model.taxonomy import CATEGORIES

MAX_TEXT_CHARS = 20_000
STAGES = ("during", "after")
OFFSET_UNIT = "Unicode code points"   # evidence offsets: Python str indices, not UTF-16 units or bytes
TEXT_RULE = f"1 to {MAX_TEXT_CHARS:,} characters (Unicode code points), not only white space"


class InputError(ValueError):
    """An input that cannot be scored; the message says what is wrong, in the user's terms."""


def text_problem(value: Any) -> str:
    """Why `value` cannot be scored as a text, or '' when it can."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing text"
    if not isinstance(value, str):
        return f"the text must be a string, not {type(value).__name__}"
    if not value.strip():
        return "blank text (empty or only white space)"
    if len(value) > MAX_TEXT_CHARS:
        return f"text over {MAX_TEXT_CHARS:,} characters ({len(value):,}); shorten it or split it into parts"
    return ""


def require_text(value: Any) -> str:
    """`value` if it is a scorable text, else InputError saying why."""
    problem = text_problem(value)
    if problem:
        raise InputError(problem)
    return value


def check_thresholds(thresholds: Mapping[str, Any] | None) -> dict[str, float]:
    """Per-category decision thresholds overriding the model's: known categories, numbers in [0, 1]."""
    out: dict[str, float] = {}
    for category, value in (thresholds or {}).items():
        if category not in CATEGORIES:
            raise InputError(f"unknown category in thresholds: {category!r}; the categories are "
                             f"{', '.join(CATEGORIES)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
            raise InputError(f"the threshold for {category} must be a number from 0 to 1, got {value!r}")
        out[category] = float(value)
    return out


def parse_threshold(option: str) -> tuple[str, float]:
    """A command-line threshold `CATEGORY=VALUE` (for example `scam=0.3`)."""
    category, sep, value = option.partition("=")
    if not sep:
        raise InputError(f"a threshold is CATEGORY=VALUE, for example scam=0.3; got {option!r}")
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"the threshold for {category} must be a number from 0 to 1, got {value!r}") from None
    return category, check_thresholds({category.strip(): number})[category.strip()]


@dataclass(frozen=True)
class Context:
    """What the candidate tells us beside the text."""

    open_to_other_roles: bool = False   # softens end_interview to finish_then_withdraw (never for the worst)
    stage: str | None = None            # "during" or "after"; None: inferred from the text

    @classmethod
    def from_mapping(cls, context: Mapping[str, Any] | None) -> "Context":
        context = dict(context or {})
        unknown = set(context) - {"open_to_other_roles", "stage"}
        if unknown:
            raise InputError(f"unknown context field(s): {', '.join(sorted(unknown))}")
        open_to_other_roles = context.get("open_to_other_roles", False)
        if not isinstance(open_to_other_roles, bool):
            raise InputError("context.open_to_other_roles must be true or false")
        stage = context.get("stage")
        if stage is not None and stage not in STAGES:
            raise InputError(f"context.stage must be one of {', '.join(STAGES)}, got {stage!r}")
        return cls(open_to_other_roles, stage)
