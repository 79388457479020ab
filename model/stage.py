"""Where the candidate is: still in the process (`during`) or telling of an interview that is over (`after`).

Most accounts are written afterwards ("he insulted my resume, should I have walked out?"): the
advice then says what they could have said and what to do now. Someone writing between rounds or
from the bathroom needs words for the room. A caller can say which; otherwise the text decides: a
finished interview told in the past tense is `after`, and an explicit present-moment cue wins.
"""
from __future__ import annotations

import re

STAGES: tuple[str, ...] = ("during", "after")

# Cues that the writer is in the middle of it, or that the interview is still ahead.
_NOW = re.compile(
    r"\b(right now|at the moment|currently (in|at|sitting)|(on|during) (a|the) break|in the middle of|"
    r"(i'?m|i am) (in|at|sitting in) (the|an|my) (interview|lobby|waiting room|bathroom|toilet|restroom|car)|"
    r"(stepped|snuck|slipped) out|they(?:'re| are) (asking|telling|making|offering|saying)|"
    r"(he|she) (is|keeps) (asking|saying|telling)|should i (leave|walk out|stay|go back in)|"
    r"(interview|call|meeting|round) (is )?(tomorrow|later today|this afternoon|next week|on (mon|tues|wednes|thurs|fri)day)|"
    r"(i have|i've got|i got) (an|the|a second|a final) (interview|round) (tomorrow|next|on|later|this))\b",
    re.IGNORECASE)
# Past-tense telling: common irregular pasts, "-ed" verbs after a subject, and time words.
_PAST = re.compile(
    r"\b(i|he|she|they|we|it|interviewer|manager|recruiter|owner)\s+(\w+ed|was|were|said|told|asked|made|"
    r"took|got|went|had|came|left|kept|gave|sent|thought|felt|didn'?t|wasn'?t|weren'?t)\b|"
    r"\b(yesterday|last (week|month|year|night|friday|monday|tuesday|wednesday|thursday|saturday|sunday)|"
    r"ago|afterwards|after the interview|at the end|ended up|never heard back|ghosted)\b",
    re.IGNORECASE)


def infer_stage(text: str) -> str:
    """`during` on an explicit present-moment cue; else `after` when the text tells of past events."""
    if _NOW.search(text):
        return "during"
    return "after" if _PAST.search(text) else "during"


def resolve_stage(text: str, requested: str | None) -> str:
    """The caller's stage when given (validated), else the one the text implies."""
    if requested is None:
        return infer_stage(text)
    if requested not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {requested!r}")
    return requested
