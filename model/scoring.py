"""Score texts whole and, when long enough to dilute a flag, sentence by sentence, in one batch of rows."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
    extra: np.ndarray | None = None         # whole-text scores of the weights' extra columns, n x e
    # per split text, its sentence spans and their probabilities (kept for evidence); empty otherwise
    sentences: list[tuple[list[tuple[int, int]], np.ndarray | None]] = field(default_factory=list)


def score_texts(scorer: LinearScorer, texts: Sequence[str], sentences: bool = True,
                weights: np.ndarray | None = None) -> Scored:
    """Score each text whole and, when it is long enough to dilute a flag, sentence by sentence.

    Short texts (under UNIT_MIN_WORDS words) are scored whole only: a survey answer of a few sentences is
    not diluted, and skipping its sentences halves the work of a batch. With `sentences=False` (a model
    whose combination ignores sentences) no text is split. `weights` (features x (categories + e)): the
    scorer's coefficients followed by e more columns, whose whole-text scores are computed in the same
    product (the advice policy's text severity); stacked once by the caller, not per call.
    """
    weights = scorer.coef if weights is None else weights
    parts = [_score_group(scorer, texts[lo:lo + TEXT_GROUP], sentences, weights)
             for lo in range(0, len(texts), TEXT_GROUP)]
    if len(parts) == 1:
        return parts[0]
    k = len(scorer.intercept)
    extra = weights.shape[1] > k
    if not parts:
        empty = np.zeros((0, k))
        return Scored(empty, empty, np.zeros(0, dtype=bool), np.zeros(0),
                      np.zeros((0, weights.shape[1] - k)) if extra else None)
    return Scored(np.vstack([p.whole for p in parts]), np.vstack([p.best_sentence for p in parts]),
                  np.concatenate([p.split for p in parts]), np.concatenate([p.n_sentences for p in parts]),
                  np.vstack([p.extra for p in parts]) if extra else None,
                  [s for p in parts for s in p.sentences])


def _score_group(scorer: LinearScorer, texts: Sequence[str], sentences: bool, weights: np.ndarray) -> Scored:
    units: list[list[tuple[int, int]]] = []
    n_sentences = np.ones(len(texts))
    for i, text in enumerate(texts):
        spans = sentence_spans(text) if sentences else []
        n_sentences[i] = max(1, len(spans))
        units.append(spans if len(spans) > 1 and len(text.split()) >= UNIT_MIN_WORDS else [])
    sizes = np.array([1 + len(u) for u in units], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    k = len(scorer.intercept)
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
    extra = linear[first, k:] if weights.shape[1] > k else None
    sentences = [(spans, probs[start + 1:start + size] if size > 1 else None)
                 for spans, start, size in zip(units, first.tolist(), sizes.tolist())]
    return Scored(whole, best, split, n_sentences, extra, sentences)
