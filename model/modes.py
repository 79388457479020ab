"""The two feature modes and what each measured, for `/v1/model` and the model card.

Why: a served model knows its own figures (its sidecar), not the other mode's; a user choosing between
the default TF-IDF mode and the opt-in encoder mode needs both side by side. `modes.json` is written by
`bench/encoder_mode.py` from two models trained on the same corpus and split, measured in one run.
"""
from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

MODES = ("tfidf", "tfidf+encoder")


@cache
def feature_modes() -> dict[str, Any]:
    """{"measured": ..., "tfidf": {...}, "tfidf+encoder": {...}}: held-out and real-account macro F1 and
    advice accuracy, ms per 100-word text and batch rows/s per mode; {} if the file is missing."""
    try:
        text = resources.files("redflags.model").joinpath("modes.json").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return {}
    return json.loads(text)
