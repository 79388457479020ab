"""The label contract of ../shared/TAXONOMY.md as code: everything else imports its ids from here."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """One red-flag category: its id, what it covers and how serious a hit is (1 mild .. 3 egregious)."""

    id: str
    title: str
    description: str
    severity: int


CATEGORY_LIST: tuple[Category, ...] = (
    Category("disrespect", "Disrespect",
             "Rude, demeaning or dismissive treatment of the candidate.", 3),
    Category("discrimination", "Discrimination",
             "Remarks or questions tied to a protected characteristic, open or veiled.", 3),
    Category("harassment", "Harassment",
             "Sexual or intimidating conduct toward the candidate.", 3),
    Category("bait_and_switch", "Bait and switch",
             "The job, its terms, or its very existence differ from what was advertised or said earlier.", 2),
    Category("unreasonable_task", "Unreasonable task",
             "Asked to do unpaid real work or an absurd or disproportionate task.", 2),
    Category("disorganized_process", "Disorganized process",
             "Disregard for the candidate's time or a chaotic process.", 1),
    Category("pressure_tactics", "Pressure tactics",
             "Pushing the candidate to commit or disclose under pressure.", 2),
    Category("toxic_culture", "Toxic culture",
             "What the interview reveals about how the workplace treats its people.", 2),
    Category("scam", "Scam",
             "Signs that the 'job' is a fraud.", 3),
)

CATEGORIES: tuple[str, ...] = tuple(c.id for c in CATEGORY_LIST)
BY_ID: dict[str, Category] = {c.id: c for c in CATEGORY_LIST}

# Categories under which the candidate's wish for a future with the employer never softens the advice.
NEVER_SOFTENED: frozenset[str] = frozenset({"harassment", "discrimination", "scam"})

RECOMMENDATIONS: tuple[str, ...] = ("continue", "proceed_with_caution", "finish_then_withdraw", "end_interview")
RECOMMENDATION_MEANING: dict[str, str] = {
    "continue": "No red flag, or a trivial one: carry on as usual and send the usual thank-you.",
    "proceed_with_caution": "Mild or ambiguous flags: finish, ask pointed questions, verify before accepting.",
    "finish_then_withdraw": "A real mismatch or a concerning flag: stay polite, finish, withdraw later by e-mail.",
    "end_interview": "Egregious conduct: it is reasonable to stop now, thank them and leave.",
}


def severity(category: str) -> int:
    """Severity of a category id (raises KeyError for an unknown id)."""
    return BY_ID[category].severity
