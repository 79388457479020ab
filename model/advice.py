"""Words for the recommendation: a rationale naming the flags, a script to say, and follow-up advice.

Written for this project. The script depends on the action and on the most serious flag, because
"I'd like to stop here" reads differently after a rude remark than after a request for bank details.
"""
from __future__ import annotations

from collections.abc import Mapping

from redflags.model.policy import Decision
from redflags.model.taxonomy import BY_ID, RECOMMENDATION_MEANING

# What the candidate can say in the room, per action; for end_interview and
# proceed_with_caution it depends on the flag that drove the advice.
END_SCRIPTS: dict[str, str] = {
    "scam": ("I'm not comfortable sharing any personal or financial details, and I won't be sending any "
             "money. I'm going to end our conversation here. Thank you."),
    "harassment": ("I'd like to stop the interview now. I don't think this is the right environment for me. "
                   "Thank you for your time."),
    "discrimination": ("I'd rather keep this conversation to my qualifications for the role. I don't think "
                       "we're the right fit, so I'll end the interview here. Thank you for your time."),
    "disrespect": ("I appreciate your time, but I don't think this role is the right fit for me, so I'd like "
                   "to end the interview here. Thank you."),
    "bait_and_switch": ("This sounds quite different from the role that was advertised, so I don't think it's "
                        "the right fit for me. I'll stop here. Thanks for explaining it."),
    "unreasonable_task": ("I'm not able to take on that amount of unpaid work as part of an application. If "
                          "that is a required step, I'll withdraw here. Thank you."),
    "pressure_tactics": ("I don't make decisions like this on the spot, so I'll have to decline. Thank you for "
                         "your time."),
    "toxic_culture": ("Thank you for being open about how the team works. I don't think it's the right fit for "
                      "me, so I'd like to end things here."),
    "disorganized_process": ("Given how the process has gone, I don't think this is the right fit for me. "
                             "Thank you for your time."),
}

CAUTION_QUESTIONS: dict[str, str] = {
    "disorganized_process": ("Could you walk me through the rest of the process: who I'd meet next, and when "
                             "you expect to decide?"),
    "toxic_culture": ("What do typical working hours look like for the team, and how long have people on it "
                      "been there?"),
    "bait_and_switch": ("Could you confirm the title, hours, pay and location in writing? They seem to differ "
                        "from the posting."),
    "pressure_tactics": ("I'd like a few days to consider any offer. Is that possible?"),
    "unreasonable_task": ("How long do you expect the exercise to take, and how is it used afterwards?"),
    "disrespect": ("Could we come back to my experience with that? I'd like to finish my answer."),
    "discrimination": ("Can you tell me how that relates to the requirements of the role?"),
    "harassment": ("I'd like to keep this to the role, please."),
    "scam": ("Before I share anything else, can you send the offer and the company's details from a company "
             "e-mail address so I can verify them?"),
}

FOLLOW_UP: dict[str, str] = {
    "continue": "Send the usual short thank-you note within a day, mentioning one thing you discussed.",
    "proceed_with_caution": ("Send a brief thank-you note, and ask in it for whatever was unclear (the next "
                             "steps, the terms in writing). Check reviews and talk to a current employee "
                             "before accepting anything."),
    "finish_then_withdraw": ("A thank-you note is optional. Within a day or two, send a short, courteous "
                             "e-mail withdrawing: thank them for their time and say you have decided the role "
                             "is not the right fit. No explanation is owed."),
    "end_interview": ("No thank-you note is needed. If you want a record, send a one-line e-mail confirming "
                      "that you have withdrawn. Write down what was said, with the date and names, while you "
                      "remember it."),
}
SCAM_FOLLOW_UP = ("Share nothing more and send no money. Stop replying, keep the messages, and report the "
                  "posting to the job board and to your local fraud-reporting service. If you already gave "
                  "bank details, call your bank now.")
DISCRIMINATION_FOLLOW_UP = (" If you think a question was unlawful, write down the exact words; an employment "
                            "adviser can tell you your options.")

CONTINUE_SCRIPT = ("Nothing special to say: answer as usual, and at the end ask about next steps and when "
                   "you can expect to hear back.")
AFTER_CONTINUE_SCRIPT = "Nothing in the account called for saying anything different."
WITHDRAW_SCRIPT = ("Stay polite and finish the interview. If a follow-up is expected, you can say: \"Thank you, "
                   "I'll think it over and get back to you.\"")


# What to do now, once the interview is over, per action.
AFTER_FOLLOW_UP: dict[str, str] = {
    "continue": "Send the usual short thank-you note within a day, mentioning one thing you discussed.",
    "proceed_with_caution": ("Send a brief thank-you note and ask in it for what was unclear (the next steps, the "
                             "terms in writing). Check reviews and talk to a current employee before accepting."),
    "finish_then_withdraw": ("A thank-you note is optional. If you no longer want the role, send a short, courteous "
                             "e-mail withdrawing within a day or two; no explanation is owed."),
    "end_interview": ("No thank-you note is needed. If you want a record, send a one-line e-mail withdrawing. Write "
                      "down what was said, with the date and names, while you remember it."),
}


def _title(category: str) -> str:
    return BY_ID[category].title.lower()


def _names(categories: list[str], probs: Mapping[str, float]) -> str:
    parts = [f"{_title(c)} ({probs[c]:.2f})" for c in categories]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def rationale_for(decision: Decision, flagged: list[str], probs: Mapping[str, float],
                  thresholds: Mapping[str, float]) -> str:
    """Which flag, with which probability, drove the action, and why that action (the taxonomy's words)."""
    meaning = RECOMMENDATION_MEANING[decision.action]
    driver = decision.driver
    if decision.rule == "no_flag":
        top = max(probs, key=lambda c: probs[c] / max(thresholds[c], 1e-9))
        return (f"No red flag reached its threshold (the closest, {_title(top)}, scored {probs[top]:.2f} against "
                f"{thresholds[top]:.2f}). {meaning}")
    if decision.rule == "ambiguous":
        return (f"No red flag reached its threshold, but {_title(driver)} came close ({probs[driver]:.2f} against "
                f"{thresholds[driver]:.2f}), so the signs are ambiguous. {meaning}")
    flags = f"Flagged: {_names(flagged, probs)}."
    if decision.rule == "always_end":
        why = (f"{BY_ID[driver].title} ({probs[driver]:.2f}) is one of the flags (discrimination, harassment, "
               f"a scam) that always make it reasonable to stop.")
    elif decision.rule == "severity":
        why = (f"The most serious flag, {_title(driver)} ({probs[driver]:.2f}), has severity "
               f"{BY_ID[driver].severity} of 3, which calls for this action.")
    else:
        others = len(flagged) - 1
        why = (f"The learned policy weighs {_title(driver)} ({probs[driver]:.2f})"
               + (f" together with {others} other flag{'s' if others > 1 else ''}" if others else "")
               + " and gives this action.")
    text = f"{flags} {why} {meaning}"
    if decision.softened:
        text += (" Because you want a future with this employer in another role, finishing politely serves you "
                 "better than walking out.")
    return text


def advise(decision: Decision, flagged: list[str], probs: Mapping[str, float], thresholds: Mapping[str, float],
           stage: str = "during") -> tuple[str, str, str]:
    """Return (rationale, script, follow_up) for a decision; `flagged` is most serious first.

    `during`: the script is what to say now. `after`: what the candidate could have said, and the
    follow-up is what to do now (thank-you or not, withdraw or not, keep a record, report a scam).
    """
    action = decision.action
    top = flagged[0] if flagged else decision.driver
    if action == "end_interview" and top:
        script = END_SCRIPTS[top]
    elif action == "proceed_with_caution" and top:
        script = f"Ask: \"{CAUTION_QUESTIONS[top]}\""
    elif action == "finish_then_withdraw":
        script = WITHDRAW_SCRIPT
        if top:
            script += f" If you want to test the concern first, ask: \"{CAUTION_QUESTIONS[top]}\""
    else:
        script = CONTINUE_SCRIPT
    follow_up = (AFTER_FOLLOW_UP if stage == "after" else FOLLOW_UP)[action]
    if stage == "after":
        script = (AFTER_CONTINUE_SCRIPT if action == "continue" else "What you could have said: " + script)
    if "scam" in flagged:
        follow_up = SCAM_FOLLOW_UP
    elif "discrimination" in flagged:
        follow_up += DISCRIMINATION_FOLLOW_UP
    return rationale_for(decision, flagged, probs, thresholds), script, follow_up
