"""Where the candidate is: still in the process (`during`) or telling of an interview that is over (`after`).

Most accounts are written afterwards ("he insulted my resume, should I have walked out?"): the
advice then says what they could have said and what to do now. Someone writing between rounds or
from the bathroom needs words for the room. A caller can say which; otherwise the text decides: a
finished interview told in the past tense is `after`, and an explicit present-moment cue wins.
"""
from __future__ import annotations

STAGES: tuple[str, ...] = ("during", "after")

# Cues that the writer is in the middle of it, or that the interview is still ahead (phrases,
# looked up as substrings of the lower-cased text: a C-speed scan, no regex backtracking).
_NOW_PHRASES = (
    "right now", "at the moment", "currently in ", "currently at ", "currently sitting", "on a break",
    "during the break", "in the middle of", "i'm in the interview", "i am in the interview", "i'm in the lobby",
    "i'm in the waiting room", "i'm in the bathroom", "i'm in the toilet", "i'm in the restroom",
    "i'm in my car", "i'm sitting in", "stepped out", "snuck out", "slipped out", "they're asking",
    "they are asking", "they're telling", "they're making", "they're offering", "they're saying",
    "he is asking", "she is asking", "he keeps asking", "she keeps asking", "he keeps saying", "she keeps saying",
    "should i leave", "should i walk out", "should i stay", "should i go back in", "interview tomorrow",
    "interview is tomorrow", "round tomorrow", "call tomorrow", "interview later today", "interview this afternoon",
    "interview next week", "interview on monday", "interview on tuesday", "interview on wednesday",
    "interview on thursday", "interview on friday", "i have an interview", "i've got an interview",
    "i have a second interview", "i have a final interview", "i have the final round",
)
_SUBJECTS = frozenset("i he she they we it interviewer manager recruiter owner boss hr panel".split())
_PAST_WORDS = frozenset(
    "was were said told asked made took got went had came left kept gave sent thought felt didn't wasn't "
    "weren't couldn't wouldn't saw met began spoke wrote rang called walked".split())
_TIME_PHRASES = ("yesterday", "last week", "last month", "last year", "last night", "last friday", "last monday",
                 "last tuesday", "last wednesday", "last thursday", "ago", "afterwards", "after the interview",
                 "at the end", "ended up", "never heard back", "ghosted")


def _tells_of_the_past(lowered: str) -> bool:
    """A subject followed by a past-tense verb ("he asked", "I walked"), or a time word of the past."""
    words = lowered.replace("\u2019", "'").split()
    for first, second in zip(words, words[1:]):
        if first.strip("\"'(,.") in _SUBJECTS:
            verb = second.strip("\"',.!?;:)")
            if verb in _PAST_WORDS or (len(verb) > 3 and verb.endswith("ed")):
                return True
    padded = f" {lowered} "
    return any(f" {phrase}" in padded for phrase in _TIME_PHRASES)


def infer_stage(text: str) -> str:
    """`during` on an explicit present-moment cue; else `after` when the text tells of past events."""
    lowered = text.lower().replace("\u2019", "'")
    if any(phrase in lowered for phrase in _NOW_PHRASES):
        return "during"
    return "after" if _tells_of_the_past(lowered) else "during"


def resolve_stage(text: str, requested: str | None) -> str:
    """The caller's stage when given (validated), else the one the text implies."""
    if requested is None:
        return infer_stage(text)
    if requested not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {requested!r}")
    return requested
