"""A tiny model trained in memory, for code and app tests that must not depend on the real corpus."""
from __future__ import annotations

from redflags.model.bundle import ModelBundle
from redflags.model.policy import AdvicePolicy
from redflags.model.taxonomy import CATEGORIES
from redflags.training.data import label_matrix
from redflags.training.train import fit_final, make_bundle

# A few lines per category, in different words, and harmless ones; enough for a model that
# separates them, not a model of anything real.
TINY = [
    ("He laughed at my answers and kept checking his phone while I spoke.", ["disrespect"], "end_interview"),
    ("The manager mocked my degree and rolled his eyes at every answer.", ["disrespect"], "end_interview"),
    ("She asked how old I was and said they want young energy on the team.", ["discrimination"], "end_interview"),
    ("They asked if I planned to have kids soon and whether my husband minds.", ["discrimination"], "end_interview"),
    ("He commented on my body and asked me out for drinks at his hotel.", ["harassment"], "end_interview"),
    ("The owner touched my knee and said I'd look pretty at the front desk.", ["harassment"], "end_interview"),
    ("The posting said full-time salaried but now it is commission only.", ["bait_and_switch"], "finish_then_withdraw"),
    ("Advertised as remote; in the room they said five days on-site, lower pay.", ["bait_and_switch"], "finish_then_withdraw"),
    ("They wanted a complete marketing plan for free before the second round.", ["unreasonable_task"], "finish_then_withdraw"),
    ("Asked to work an unpaid eight-hour trial shift and clean the kitchen.", ["unreasonable_task"], "finish_then_withdraw"),
    ("The interviewer was forty minutes late and had not read my resume.", ["disorganized_process"], "proceed_with_caution"),
    ("They rescheduled three times and nobody knew which role it was for.", ["disorganized_process"], "proceed_with_caution"),
    ("Accept the offer today or it is gone, he said, and wanted my current salary.", ["pressure_tactics"], "finish_then_withdraw"),
    ("They demanded I resign from my job this afternoon before deciding.", ["pressure_tactics"], "finish_then_withdraw"),
    ("He bragged that everyone works seventy-hour weeks and answers texts at midnight.", ["toxic_culture"], "finish_then_withdraw"),
    ("The boss screamed at a staff member in front of me; people quit all the time.", ["toxic_culture"], "finish_then_withdraw"),
    ("They asked me to pay for a training kit and send my bank details by chat.", ["scam"], "end_interview"),
    ("Offer came on a messaging app with no interview; deposit this check, wire back the rest.", ["scam"], "end_interview"),
    ("A friendly panel, clear questions, and they told me the next steps.", [], "continue"),
    ("Nice chat about the team; the one-hour coding exercise was fair.", [], "continue"),
    ("They asked about my availability and explained the pay range openly.", [], "continue"),
    ("We talked about the projects, and the recruiter followed up the next day.", [], "continue"),
    ("Nobody asked about my kids; the questions were about the work.", [], "continue"),
    ("The office was calm, the interview started on time, and I liked them.", [], "continue"),
]


def tiny_pipeline(features: str = "word+char"):
    """A fitted scikit-learn Pipeline on TINY: what the exported scorer must reproduce."""
    texts = [t for t, _, _ in TINY]
    Y = label_matrix([labels for _, labels, _ in TINY])
    params = {"features": features, "word_ngram_max": 2, "min_df": 1, "C": 20.0, "class_weight": "balanced"}
    return fit_final(texts, Y, params, seed=0)[0]


def tiny_bundle() -> ModelBundle:
    return make_bundle(tiny_pipeline(), AdvicePolicy(margin=0.05, kind="severity"), "whole",
                       {c: 0.5 for c in CATEGORIES}, "tiny", {"params": {"features": "word+char"}})
