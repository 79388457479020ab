"""Score texts whole and, when long enough to dilute a flag, sentence by sentence, in one batch of rows."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from redflags.model.tfidf import LinearScorer, sigmoid

Embed = Callable[[Sequence[str]], np.ndarray]   # texts -> embeddings (n x dimension): the encoder block

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
    embeddings: np.ndarray | None = None    # each text's encoder embedding (the encoder mode), n x dimension


def score_texts(scorer: LinearScorer, texts: Sequence[str], sentences: bool = True,
                weights: np.ndarray | None = None, embed: Embed | None = None) -> Scored:
    """Score each text whole and, when it is long enough to dilute a flag, sentence by sentence.

    Sentences are `redflags.model.tfidf.token_sentences` (runs of tokens between end marks), found in the
    same pass as the tokens. Short texts (under UNIT_MIN_WORDS words) are scored whole only: a survey
    answer of a few sentences is not diluted. With `sentences=False` (a model
    whose combination ignores sentences) no text is split. `weights` (features x (categories + e)): the
    scorer's coefficients followed by e more columns, whose whole-text scores are computed in the same
    product (the advice policy's text severity); stacked once by the caller, not per call.
    `embed`: the sentence encoder, for a scorer with a dense block. It reads each text once (in batches of
    TEXT_GROUP texts), and a sentence row carries its text's embedding beside its own TF-IDF: a sentence is
    scored as "these words, in this account". Encoding each sentence on its own as well cost the encoder
    twice the time and, trained on whole texts, read short sentences out of context (bench/README.md).
    """
    weights = scorer.coef if weights is None else weights
    if scorer.dense_dim and embed is None:
        raise ValueError("this model has a sentence-encoder block: score_texts needs `embed`")
    parts = [_score_group(scorer, texts[lo:lo + TEXT_GROUP], sentences, weights, embed)
             for lo in range(0, len(texts), TEXT_GROUP)]
    if len(parts) == 1:
        return parts[0]
    k = len(scorer.intercept)
    extra = weights.shape[1] > k
    if not parts:
        empty = np.zeros((0, k))
        return Scored(empty, empty, np.zeros(0, dtype=bool), np.zeros(0),
                      np.zeros((0, weights.shape[1] - k)) if extra else None,
                      np.zeros((0, scorer.dense_dim)) if scorer.dense_dim else None)
    return Scored(np.vstack([p.whole for p in parts]), np.vstack([p.best_sentence for p in parts]),
                  np.concatenate([p.split for p in parts]), np.concatenate([p.n_sentences for p in parts]),
                  np.vstack([p.extra for p in parts]) if extra else None,
                  np.vstack([p.embeddings for p in parts]) if scorer.dense_dim else None)


def _score_group(scorer: LinearScorer, texts: Sequence[str], sentences: bool, weights: np.ndarray,
                 embed: Embed | None) -> Scored:
    rows, sizes, n_sentences = scorer.encode_sentences(texts, UNIT_MIN_WORDS if sentences else None)
    first = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    k = len(scorer.intercept)
    embeddings = offset = None
    if scorer.dense_dim:   # one encoding per text; its sentence rows share the text's dense scores
        embeddings = np.asarray(embed(list(texts)), dtype=float)
        offset = np.repeat(scorer.dense_scores(embeddings, weights), sizes, axis=0)
    linear = scorer.linear(rows, weights, offset)
    probs = sigmoid(linear[:, :k] + scorer.intercept)
    whole = probs[first]
    split = sizes > 1
    best = whole.copy()
    if split.any():   # the best sentence of each split text (a short text's best "sentence" is itself)
        sentence_rows = np.ones(len(probs), dtype=bool)
        sentence_rows[first] = False
        starts = np.r_[0, np.cumsum(sizes - 1)[:-1]][split]   # each split text's first sentence row
        best[split] = np.maximum.reduceat(probs[sentence_rows], starts, axis=0)
    extra = linear[first, k:] if weights.shape[1] > k else None
    return Scored(whole, best, split, n_sentences.astype(float), extra, embeddings)
