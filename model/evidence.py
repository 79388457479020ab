"""Evidence: the parts of the text that carry a flag, as spans a reader can check.

A flag is shown by the sentences that score highest for its category on their own (up to three; the best
always, the others only when they come near the threshold by themselves). A long sentence is narrowed to
the clause that carries the flag when that clause alone scores at least as high as its sentence, so a
highlight is a whole sentence or a whole clause, never a fragment cut mid-phrase.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from redflags.model.results import Evidence
from redflags.model.sentences import clauses_of, sentence_spans, strip_span

Probabilities = Callable[[list[str]], np.ndarray]   # texts -> category probabilities (the full model's)

MAX_EVIDENCE = 3
LONG_SENTENCE_WORDS = 20   # longer sentences are narrowed to their flag-carrying clause
SUPPORT = 0.5              # a further sentence is shown when it reaches this fraction of the threshold alone


def _span(text: str, start: int, end: int) -> Evidence:
    return Evidence(text[start:end], start, end)


def select_evidence(probabilities: Probabilities, text: str, categories: Sequence[int],
                    thresholds: np.ndarray) -> dict[int, list[Evidence]]:
    """Evidence spans (character offsets) for each category index in `categories` (the flagged ones);
    `probabilities` scores spans as texts of their own."""
    if not categories:
        return {}
    sentences = sentence_spans(text)
    if len(sentences) <= 1:
        start, end = sentences[0] if sentences else strip_span(text, 0, len(text))
        return {k: [_span(text, start, end)] if end > start else [] for k in categories}
    sentence_probs = probabilities([text[s:e] for s, e in sentences])
    chosen: dict[int, list[int]] = {}
    for k in categories:
        order = np.argsort(-sentence_probs[:, k], kind="stable")
        chosen[k] = [int(order[0])] + [int(j) for j in order[1:MAX_EVIDENCE]
                                       if sentence_probs[j, k] >= SUPPORT * thresholds[k]]
    long = sorted({j for picks in chosen.values() for j in picks
                   if len(text[sentences[j][0]:sentences[j][1]].split()) > LONG_SENTENCE_WORDS})
    clauses = _clauses_within(text, [sentences[j] for j in long])
    clause_probs = (probabilities([text[s:e] for cs in clauses.values() for s, e in cs]) if clauses else None)
    rows: dict[tuple[int, int], int] = {}
    for c in (c for cs in clauses.values() for c in cs):
        rows[c] = len(rows)
    out: dict[int, list[Evidence]] = {}
    for k, picks in chosen.items():
        spans = []
        for j in picks:
            span = sentences[j]
            inner = clauses.get(span, [])
            if len(inner) > 1:
                best = max(inner, key=lambda c: clause_probs[rows[c], k])
                if clause_probs[rows[best], k] >= sentence_probs[j, k]:
                    span = best
            spans.append(_span(text, *span))
        out[k] = spans
    return out


def _clauses_within(text: str, spans: list[tuple[int, int]]) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """The clauses of each sentence span, in text order."""
    return {(s, e): clauses_of(text, s, e) for s, e in spans}
