"""Score texts whole and, when long enough to dilute a flag, sentence by sentence, in one batch of rows."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from redflags.model.sentences import sentence_spans
from redflags.model.tfidf import LinearScorer, sigmoid

UNIT_MIN_WORDS = 40   # shorter texts are not split: their best sentence is the text itself
TEXT_GROUP = 512      # texts encoded together, which bounds the memory of a large batch


@dataclass
class Scored:
    """Intermediate scores of a batch of texts."""

    whole: np.ndarray                       # whole-text probabilities, n x categories
    best_sentence: np.ndarray               # best sentence's probability per category, n x categories
    split: np.ndarray                       # which texts were scored sentence by sentence
    n_sentences: np.ndarray                 # sentences per text (at least 1)
    extra: np.ndarray | None = None         # whole-text scores for `extra_weights` columns, n x e


def score_texts(scorer: LinearScorer, texts: Sequence[str], sentences: bool = True,
                extra_weights: np.ndarray | None = None) -> Scored:
    """Score each text whole and, when it is long enough to dilute a flag, sentence by sentence.

    Short texts (under UNIT_MIN_WORDS words) are scored whole only: a survey answer of a few sentences is
    not diluted, and skipping its sentences halves the work of a batch. With `sentences=False` (a model
    whose combination ignores sentences) no text is split. `extra_weights` (features x e) adds linear
    scores of the whole texts computed in the same product (the advice policy's text severity).
    """
    parts = [_score_group(scorer, texts[lo:lo + TEXT_GROUP], sentences, extra_weights)
             for lo in range(0, len(texts), TEXT_GROUP)]
    if len(parts) == 1:
        return parts[0]
    k = len(scorer.intercept)
    if not parts:
        empty = np.zeros((0, k))
        return Scored(empty, empty, np.zeros(0, dtype=bool), np.zeros(0),
                      None if extra_weights is None else np.zeros((0, extra_weights.shape[1])))
    return Scored(np.vstack([p.whole for p in parts]), np.vstack([p.best_sentence for p in parts]),
                  np.concatenate([p.split for p in parts]), np.concatenate([p.n_sentences for p in parts]),
                  None if extra_weights is None else np.vstack([p.extra for p in parts]))


def _score_group(scorer: LinearScorer, texts: Sequence[str], sentences: bool,
                 extra_weights: np.ndarray | None) -> Scored:
    units: list[list[tuple[int, int]]] = []
    n_sentences = np.ones(len(texts))
    for i, text in enumerate(texts):
        spans = sentence_spans(text) if sentences else []
        n_sentences[i] = max(1, len(spans))
        units.append(spans if len(spans) > 1 and len(text.split()) >= UNIT_MIN_WORDS else [])
    sizes = np.array([1 + len(u) for u in units], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    k = len(scorer.intercept)
    weights = scorer.coef if extra_weights is None else np.hstack([scorer.coef, extra_weights])
    linear = scorer.linear(scorer.encode_units(texts, units), weights)
    probs = sigmoid(linear[:, :k] + scorer.intercept)
    whole = probs[first]
    split = sizes > 1
    best = whole.copy()
    if split.any():   # the best sentence of each split text (a short text's best "sentence" is itself)
        sentence_rows = np.ones(len(probs), dtype=bool)
        sentence_rows[first] = False
        starts = np.concatenate([[0], np.cumsum(sizes - 1)[:-1]])[split]   # each split text's first sentence
        best[split] = np.maximum.reduceat(probs[sentence_rows], starts, axis=0)
    extra = linear[first, k:] if extra_weights is not None else None
    return Scored(whole, best, split, n_sentences, extra)
