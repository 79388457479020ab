"""Baselines the model must beat, evaluated in the same run: keyword rules, the prior, and the ten-line
TF-IDF + logistic regression script a newcomer would write first."""
from __future__ import annotations

import re

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

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


class TenLineBaseline:
    """Word 1-2-gram TF-IDF + one-vs-rest logistic regression (balanced) for the flags (cut at 0.5) and a
    multinomial logistic regression on the same features for the action: the ten-line script."""

    def __init__(self, texts: list[str], Y: np.ndarray, recommendations: np.ndarray, seed: int = 0) -> None:
        self.flags_model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                                         OneVsRestClassifier(LogisticRegression(max_iter=1000, class_weight="balanced",
                                                                            random_state=seed)))
        self.flags_model.fit(texts, Y)
        vec = self.flags_model.steps[0][1]
        self.action_model = LogisticRegression(max_iter=1000, random_state=seed).fit(vec.transform(texts),
                                                                                    recommendations)

    def predict(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(flags, probabilities, actions) for `texts`."""
        P = self.flags_model.predict_proba(texts)
        actions = self.action_model.predict(self.flags_model.steps[0][1].transform(texts))
        return (P >= 0.5).astype(int), P, [str(a) for a in actions]


def text_recommender_accuracy(features, train_texts: list[str], train_rec: np.ndarray, test_texts: list[str],
                              test_rec: np.ndarray, seed: int = 0) -> float:
    """Held-out accuracy of the action classifier the project used before the advice policy: a
    multinomial logistic regression on the model's own TF-IDF features, trained on the text alone."""
    model = LogisticRegression(C=2.0, max_iter=3000, class_weight="balanced", random_state=seed)
    model.fit(features.transform(train_texts), train_rec)
    return round(float((model.predict(features.transform(test_texts)) == test_rec).mean()), 4)
