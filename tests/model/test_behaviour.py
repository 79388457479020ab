"""Behaviour of the model trained on the real corpus: minimum functionality, invariance, direction.

Assertions are about flags and actions, never exact probabilities.
"""
from pathlib import Path

import pytest

from redflags.model.taxonomy import CATEGORIES

pytestmark = pytest.mark.training

REFERENCE = ("A director-level candidate took PTO twice. At the second interview the owner insulted her resume, "
             "said he wasn't sure they'd hire anyone at all and might make the role part-time, made veiled "
             "comments about her age and gender, and interrupted her constantly from her first sentence.")


# Known failures of the shipped model, kept as strict xfails: each fails today for a cause named in the
# model card ("Known failure modes"), and CI turns red the day one passes, so its mark must come off.
BURIED_FLAG = pytest.mark.xfail(strict=True, reason=(
    "a flag told in one sentence of a long text is diluted: in the corpus's long texts a high-scoring lone "
    "sentence is more often a hard negative than a buried flag, so the combination does not trust it"))
JUDGEMENT_IN_NEGATION = pytest.mark.xfail(strict=True, reason=(
    "word n-grams: the judgement word outweighs the negation or self-reference around it"))


def flags(predictor, text, context=None):
    return {f.category for f in predictor.predict([text], context=context)[0].red_flags}


def action(predictor, text, context=None):
    return predictor.predict([text], context=context)[0].recommendation.action


@pytest.mark.xfail(strict=True, reason="disrespect scores just under its threshold (0.07 below) on the summary")
def test_reference_case(real_predictor):
    got = flags(real_predictor, REFERENCE)
    assert {"disrespect", "discrimination", "bait_and_switch"} <= got
    assert action(real_predictor, REFERENCE) == "end_interview"


# Clear cases written for these tests (not in the corpus), one or two per category.
CLEAR = [
    ("disrespect", "The hiring manager laughed out loud at my portfolio and called my last job a joke."),
    ("disrespect", "She answered emails on her laptop the whole time and sighed whenever I spoke."),
    ("discrimination", "He asked whether I was planning to get pregnant soon because the last woman 'left to have babies'."),
    ("discrimination", "The owner said they prefer someone younger who'll fit with the team, and asked what year I was born."),
    ("harassment", "The recruiter kept complimenting my figure and suggested we finish the interview in his hotel room."),
    ("bait_and_switch", "The ad said salaried project manager; in the interview it turned out to be a commission-only door-to-door sales job."),
    ("unreasonable_task", "For the second round they wanted me to build their whole new website for free over the weekend."),
    ("disorganized_process", "Nobody was there when I arrived, the manager showed up an hour late and hadn't read my CV."),
    ("pressure_tactics", "They said the offer expires in one hour and I must resign from my current job today if I want it."),
    ("toxic_culture", "The director bragged that people here work eighty hours a week and that the last three hires quit crying."),
    ("scam", "After a chat on Telegram they offered me the job and asked me to pay $300 for my equipment and training."),
    ("scam", "They mailed me a check to deposit and asked me to wire part of it back for office supplies."),
]


@pytest.mark.parametrize("category, text", CLEAR)
def test_minimum_functionality(real_predictor, category, text):
    assert category in flags(real_predictor, text)


HARMLESS = [
    "Friendly panel, good questions about my experience, and they told me when I'd hear back.",
    "The take-home exercise took about an hour and was relevant to the job; we discussed it in the next round.",
    "They asked if I am authorised to work in the UK, which I am, then moved on to the technical questions.",
    "The recruiter explained the salary range up front and it matched the advert.",
]


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_accounts_are_not_flagged(real_predictor, text):
    assert flags(real_predictor, text) == set()
    assert action(real_predictor, text) == "continue"


# Invariance: names, pronouns, industry and irrelevant detail must not change the flags.
INVARIANCE = [
    ("The manager, Tom, laughed at my answers and called my degree worthless.",
     "The manager, Priya, laughed at my answers and called my degree worthless."),
    ("He asked me to pay for the training kit before I could start.",
     "She asked me to pay for the training kit before I could start."),
    ("At the bakery interview they wanted me to work an unpaid ten-hour trial shift.",
     "At the warehouse interview they wanted me to work an unpaid ten-hour trial shift."),
    ("They said the offer disappears unless I accept before leaving the room.",
     "It was raining, the coffee was decent, and the lobby had a fish tank. They said the offer disappears "
     "unless I accept before leaving the room."),
]


@pytest.mark.parametrize("a, b", INVARIANCE)
def test_invariance(real_predictor, a, b):
    assert flags(real_predictor, a) == flags(real_predictor, b)
    assert flags(real_predictor, a)  # and they are not trivially empty


BASE = "The interview was a normal panel with three people asking about my last project."


def test_direction_adding_an_insult_adds_disrespect(real_predictor):
    assert "disrespect" not in flags(real_predictor, BASE)
    assert "disrespect" in flags(real_predictor, BASE + " Then the lead rolled his eyes and said my answers were idiotic.")


def test_direction_negating_a_flag_removes_it(real_predictor):
    flagged = "They asked whether I had kids and if my husband would mind me travelling."
    negated = "Nobody asked about kids or my husband; the questions were all about the work."
    assert "discrimination" in flags(real_predictor, flagged)
    assert "discrimination" not in flags(real_predictor, negated)


def test_one_bad_sentence_in_a_long_letter_is_not_diluted(real_predictor):
    ordinary = ("I arrived ten minutes early and the receptionist offered me water. The office was bright and "
                "the team seemed busy but friendly. We talked through my last two projects, the tools I use, and "
                "how I handle deadlines. They showed me the floor plan and the kitchen. ") * 4
    letter = ordinary + "Near the end he asked me to transfer a $200 deposit for the laptop before my start date. " + ordinary
    assert len(letter.split()) > 250
    assert "scam" in flags(real_predictor, letter)


def test_context_moves_end_interview_except_for_severe_flags(real_predictor):
    rude = "The VP called my presentation 'amateur hour' and laughed at my answers with his colleague."
    assert flags(real_predictor, rude) == {"disrespect"}
    assert action(real_predictor, rude) == "end_interview"
    assert action(real_predictor, rude, {"open_to_other_roles": True}) == "finish_then_withdraw"
    scam = CLEAR[-2][1]
    assert action(real_predictor, scam, {"open_to_other_roles": True}) == "end_interview"


def test_evidence_points_inside_the_flagged_sentence(real_predictor):
    text = ("We met at their office downtown. The team lead was pleasant. Then the owner asked me to send my bank "
            "details and a copy of my passport on WhatsApp before any offer. I left soon after.")
    p = real_predictor.predict([text])[0]
    scam = next(f for f in p.red_flags if f.category == "scam")
    bad = "Then the owner asked me to send my bank details and a copy of my passport on WhatsApp before any offer."
    start = text.index(bad)
    assert start <= scam.evidence[0].start and scam.evidence[0].end <= start + len(bad)
    assert all(text[e.start:e.end] == e.text for e in scam.evidence)


# The telling register: plain statements with the writer's own judgement word, written for these tests.
TELLING = [
    ("disrespect", "The interviewer was incredibly rude to me."),
    ("disrespect", "She was sarcastic, rude and insulting the whole time."),
    ("disrespect", "Most condescending hiring manager I've ever met, he talked down to me for an hour."),
    ("discrimination", "That was blatant age discrimination, he asked my birth year twice."),
    ("discrimination", "Pretty sure I didn't get it because I'm a woman, he said the site lads wouldn't take orders from me."),
    ("discrimination", "So sexist. He asked who would look after my kids if I worked late."),
    ("harassment", "Creepy guy, kept staring at my chest and asked if I was single."),
    ("harassment", "He was so inappropriate, said I'd look better in a shorter skirt."),
    ("harassment", "The manager blocked the door and said I wasn't leaving until I agreed to dinner with him."),
    ("bait_and_switch", "Total bait and switch, the salary was ten grand less than the ad said."),
    ("bait_and_switch", "Applied for a remote analyst job, turned out to be on-site commission-only sales."),
    ("bait_and_switch", "Misleading ad: they told me at the interview the full-time role is actually 15 hours a week."),
    ("unreasonable_task", "They wanted a full marketing strategy for free before the second round, basically free labour."),
    ("unreasonable_task", "Unpaid trial shift of ten hours, they just wanted free work out of us."),
    ("unreasonable_task", "The take-home was a week-long project building a production feature for their app."),
    ("disorganized_process", "Seven rounds of interviews over three months and then they ghosted me."),
    ("disorganized_process", "Total waste of my time, the interviewer never showed up and nobody told me."),
    ("disorganized_process", "Disorganized mess: rescheduled four times and the panel hadn't read my CV."),
    ("pressure_tactics", "Super pushy, he said accept right now or the offer is gone."),
    ("pressure_tactics", "They gave me an exploding offer, two hours to sign, and kept calling."),
    ("pressure_tactics", "They kept demanding my current salary after I said I'd rather not share it."),
    ("toxic_culture", "Toxic place, the manager screamed at a cashier right in front of me."),
    ("toxic_culture", "Huge red flag, he bragged that everyone works weekends and nobody lasts a year."),
    ("toxic_culture", "They said 'we're a family here' and expect replies to messages at midnight."),
    ("scam", "It was obviously a scam, they wanted me to buy my own equipment with a cheque they'd send."),
    ("scam", "Felt like a scam from the first message, interview only over Telegram and they asked for my bank details."),
    ("scam", "Fake job, they asked me to pay a training fee before starting."),
]


@pytest.mark.parametrize("category, text", TELLING)
def test_plain_statements_with_judgement_words(real_predictor, category, text):
    assert category in flags(real_predictor, text)


# Their negations, and judgements the writer rejects or turns on themself, are not flags.
NOT_FLAGS = [
    ("disrespect", "Nobody was rude; they were just busy and a bit brief."),
    ("disrespect", "I wouldn't call him rude, just very direct."),
    pytest.param("disrespect", "I was the rude one honestly, I turned up late and flustered.",
                 marks=JUDGEMENT_IN_NEGATION),
    ("scam", "I thought it was a scam at first, but I checked the company and it's legit; the interview was normal."),
    pytest.param("toxic_culture", "My last job was toxic, so I asked about turnover here and the answer was reassuring.",
                 marks=JUDGEMENT_IN_NEGATION),
    pytest.param("discrimination", "No discrimination that I noticed; they only asked if I had the right to work here.",
                 marks=JUDGEMENT_IN_NEGATION),
]


@pytest.mark.parametrize("category, text", NOT_FLAGS)
def test_negated_rejected_and_self_applied_judgements(real_predictor, category, text):
    assert category not in flags(real_predictor, text)


REFERENCE_LETTER = Path(__file__).resolve().parents[3] / "shared" / "dev" / "reference_letter.txt"
REFERENCE_FLAGS = {"disrespect", "discrimination", "bait_and_switch"}


def _reference_holds(predictor, text):
    p = predictor.predict([text])[0]
    cut = dict(zip(CATEGORIES, predictor.thresholds))
    margins = {c: p.scores[c] - cut[c] for c in REFERENCE_FLAGS}
    assert all(m >= 0.10 for m in margins.values()), margins
    assert p.recommendation.action == "end_interview"


@pytest.mark.xfail(strict=True, reason="disrespect under its threshold and bait_and_switch under the 0.10 margin")
def test_reference_case_clears_its_thresholds(real_predictor):
    _reference_holds(real_predictor, REFERENCE)


@pytest.mark.skipif(not REFERENCE_LETTER.exists(), reason="../shared/dev is not beside this checkout")
@BURIED_FLAG
def test_reference_letter_at_full_length(real_predictor):
    letter = REFERENCE_LETTER.read_text(encoding="utf-8")
    _reference_holds(real_predictor, letter)
    assert real_predictor.predict([letter])[0].recommendation.stage == "after"


# The advice follows the flags (the cases a new user met on the page).
@pytest.mark.parametrize("text, expected", [
    ("They asked me to pay for my own background check before starting.", "end_interview"),
    ("They asked how old I was and said they wanted someone younger.", "end_interview"),
    ("Friendly interviewers and a clear timeline.", "continue"),
])
def test_advice_follows_the_flags(real_predictor, text, expected):
    assert action(real_predictor, text) == expected


@pytest.mark.parametrize("text", ["He was rude to me.", "The hiring manager yelled at me when I asked about the salary"])
def test_rudeness_is_never_told_to_carry_on(real_predictor, text):
    p = real_predictor.predict([text])[0]
    assert "disrespect" in {f.category for f in p.red_flags}
    assert p.recommendation.action != "continue"
    assert "disrespect" in p.recommendation.rationale.lower()
