"""Two baselines the model must beat, evaluated in the same run: keyword rules and the prior."""
from __future__ import annotations

import re

import numpy as np

from redflags.model.taxonomy import BY_ID, CATEGORIES

# Hand-written keyword rules: what a quick, reasonable first attempt would look for.
KEYWORDS: dict[str, str] = {
    "disrespect": r"\b(rude|insult\w*|mock\w*|laugh\w* at|yell\w*|scream\w*|interrupt\w*|sarcas\w*|on (his|her|their) phone|belittl\w*|condescend\w*|eye[- ]?roll\w*|smirk\w*)\b",
    "discrimination": r"\b(age|old|young|retir\w*|pregnan\w*|kids|children|married|husband|wife|religio\w*|church|accent|race|disabilit\w*|gay|gender|woman|women|veteran)\b",
    "harassment": r"\b(flirt\w*|date|dinner|touch\w*|hotel|body|looks|pretty|sexy|threat\w*|blocked the door|hand on)\b",
    "bait_and_switch": r"\b(part[- ]time|commission|different (role|job)|not (the|what) (was )?advertised|lower (pay|salary)|not sure (they|we)'?r?e? hiring|on[- ]site|posting said)\b",
    "unreasonable_task": r"\b(unpaid|for free|trial shift|take[- ]home|marketing plan|clean\w*|full (feature|project)|weekend project)\b",
    "disorganized_process": r"\b(late|no[- ]show|reschedul\w*|wait\w*|hadn'?t read|didn'?t read|forgot|rounds|cancel\w*)\b",
    "pressure_tactics": r"\b(right now|on the spot|today only|offer (is|would be) gone|deadline|current salary|decide (now|today)|exploding)\b",
    "toxic_culture": r"\b(family|hours a week|weekends|burn\w*|everyone quits|turnover|midnight|hustle|screamed at (his|her) staff)\b",
    "scam": r"\b(pay for|training fee|check|cheque|bank details|ssn|social security|telegram|whatsapp|signal|gmail|crypto|wire|gift cards?)\b",
}
_COMPILED = {c: re.compile(p, re.IGNORECASE) for c, p in KEYWORDS.items()}


def keyword_flags(texts: list[str]) -> np.ndarray:
    """Binary (n x 9): does any keyword of the category occur in the text."""
    return np.array([[int(bool(_COMPILED[c].search(t))) for c in CATEGORIES] for t in texts], dtype=int)


def keyword_actions(flags: np.ndarray) -> list[str]:
    """The obvious rule: the most severe flag decides the action."""
    out = []
    for row in flags:
        sev = max((BY_ID[c].severity for c, hit in zip(CATEGORIES, row) if hit), default=0)
        out.append(["continue", "proceed_with_caution", "finish_then_withdraw", "end_interview"][sev])
    return out


def prior_probabilities(Y_train: np.ndarray, n: int) -> np.ndarray:
    """Each category's training prevalence, for every text."""
    return np.tile(Y_train.mean(axis=0), (n, 1))


def majority_action(recommendations: np.ndarray, n: int) -> list[str]:
    values, counts = np.unique(recommendations, return_counts=True)
    return [str(values[np.argmax(counts)])] * n
