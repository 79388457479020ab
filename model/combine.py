"""How a text's whole-text and best-sentence probabilities become one probability per category.

A flag told in one sentence of a long letter is diluted when the letter is scored whole; the rule
chosen at training time (by out-of-fold macro F1) decides how much the worst sentence counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redflags.model.tfidf import sigmoid

RULES = ("whole", "max", "blend", "stack")


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def stack_features(whole: np.ndarray, best: np.ndarray, n_sentences: np.ndarray, k: int) -> np.ndarray:
    """Inputs of the learned combination for category k: both logits, the text's length in sentences,
    and length x best-sentence logit (so a long letter can lean on its worst sentence)."""
    length = np.log1p(n_sentences)
    best_logit = logit(best[:, k])
    return np.column_stack([logit(whole[:, k]), best_logit, length, length * best_logit])


def apply_override(combined: np.ndarray, best: np.ndarray, override: np.ndarray | None,
                   split: np.ndarray | None = None) -> np.ndarray:
    """Where a sentence's own probability reaches the category's override level, it decides (only in
    texts that were split into sentences, when `split` says which)."""
    if override is None:
        return combined
    hit = best >= override
    if split is not None:
        hit &= np.asarray(split, dtype=bool)[:, None]
    return np.where(hit, np.maximum(combined, best), combined)


@dataclass
class Combiner:
    """whole: the whole text only; max: the larger of the two; blend: the mean of whole and max; stack: a
    small logistic regression per category over both logits and the number of sentences, fitted on
    out-of-fold scores, so long texts can lean on their worst sentence without short benign sentences
    raising false alarms.
    """

    rule: str = "whole"
    coef: np.ndarray | None = None        # (categories, 4) for "stack"
    intercept: np.ndarray | None = None   # (categories,) for "stack"
    # Per category, a best-sentence probability at or above which the sentence alone decides (chosen out
    # of fold for high precision among split texts). None: no override.
    override: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError for a rule this code cannot apply (also run on a combiner read from disk)."""
        if self.rule not in RULES:
            raise ValueError(f"unknown combination rule {self.rule!r}; known: {', '.join(RULES)}")
        if self.rule == "stack" and (self.coef is None or self.intercept is None):
            raise ValueError("the stack rule needs its fitted coefficients")
        if self.override is not None and np.shape(self.override) != np.shape(self.intercept if self.intercept is not
                                                                               None else self.override):
            raise ValueError("the sentence override needs one level per category")

    @property
    def uses_sentences(self) -> bool:
        """Whether the sentence scores matter at all (if not, texts are scored whole only)."""
        return self.rule != "whole" or self.override is not None

    def __call__(self, whole: np.ndarray, best: np.ndarray, n_sentences: np.ndarray,
                 split: np.ndarray | None = None) -> np.ndarray:
        """`split` marks the texts that were scored sentence by sentence (None: all of them); only those
        can be decided by one sentence, the population the override was tuned on."""
        return apply_override(self._combine(whole, best, n_sentences), best, self.override, split)

    def _combine(self, whole: np.ndarray, best: np.ndarray, n_sentences: np.ndarray) -> np.ndarray:
        if self.rule == "whole":
            return whole
        if self.rule == "max":
            return np.maximum(whole, best)
        if self.rule == "blend":
            return (whole + np.maximum(whole, best)) / 2.0
        # stack: stack_features for every category at once
        length = np.log1p(n_sentences)[:, None]
        best_logit = logit(best)
        z = (logit(whole) * self.coef[:, 0] + best_logit * self.coef[:, 1] + length * self.coef[:, 2]
             + length * best_logit * self.coef[:, 3] + self.intercept)
        return sigmoid(z)


def combine(whole: np.ndarray, sentence_max: np.ndarray, rule: str) -> np.ndarray:
    """The fixed (parameter-free) combination rules."""
    return Combiner(rule)(whole, sentence_max, np.ones(len(whole)))
