"""Split an anecdote into sentence and clause spans with character offsets into the original text.

Why: evidence is returned as spans with `text[start:end]` equal to the quoted words, so a reader can find
them. (Scoring uses sentences defined on tokens, found in the tokenisation pass itself:
`redflags.model.tfidf.token_sentences`; both end sentences at . ! ? … and line breaks.)
"""
from __future__ import annotations

import re

# A sentence ends at . ! ? or … (with any closing quotes/brackets), or at a line break.
_SENTENCE = re.compile(r"[^.!?…\n]*(?:[.!?…]+[\"'”’)\]]*|\n|$)")
_MAX_WORDS = 30          # a long "sentence" is cut at commas/semicolons into pieces of about half this
_CLAUSE = re.compile(r"[^,;:]*(?:[,;:]|$)")
_WORD = re.compile(r"\S+")
_ALNUM = re.compile(r"[^\W_]")   # a letter or digit: exactly str.isalnum() (\w is isalnum() or "_")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return (start, end) spans of the non-blank sentences of `text`, stripped of outer white space."""
    spans: list[tuple[int, int]] = []
    alnum = _ALNUM.search
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        if start == end:
            continue
        # n words take at least 2n - 1 characters: a shorter sentence needs no splitting (the usual case)
        pieces = ((start, end),) if end - start < 2 * _MAX_WORDS + 1 else _split_long(text, start, end)
        for s, e in pieces:
            piece = text[s:e]
            kept = piece.lstrip()
            s += len(piece) - len(kept)
            e = s + len(kept.rstrip())
            if e > s and alnum(text, s, e):
                spans.append((s, e))
    return spans


def _split_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    if len(text[start:end].split()) <= _MAX_WORDS:
        return [(start, end)]
    pieces, piece_start, words = [], start, 0
    for match in _CLAUSE.finditer(text, start, end):
        if match.start() == match.end():
            continue
        words += len(match.group().split())
        if words >= _MAX_WORDS // 2:
            pieces.append((piece_start, match.end()))
            piece_start, words = match.end(), 0
    if piece_start < end:
        pieces.append((piece_start, end))
    return [window for s, e in pieces for window in _word_windows(text, s, e)]


def _word_windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a clause with no punctuation to speak of into windows of half the sentence limit."""
    words = list(_WORD.finditer(text, start, end))
    if len(words) <= _MAX_WORDS:
        return [(start, end)]
    step = _MAX_WORDS // 2
    return [(words[i].start(), words[min(i + step, len(words)) - 1].end()) for i in range(0, len(words), step)]


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) moved inwards past white space (str.strip's white space, which is str.isspace's)."""
    piece = text[start:end]
    kept = piece.lstrip()
    start += len(piece) - len(kept)
    return start, start + len(kept.rstrip())


_CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+[-–—]\s+|\s+(?:and|but|then)\s+(?=\w)")
_MIN_CLAUSE_WORDS = 3


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans cut further at commas, semicolons, dashes and 'and/but/then', for evidence.

    Pieces under three words are joined to their neighbour, so a highlight is a phrase, not a word.
    """
    return [clause for start, end in sentence_spans(text) for clause in clauses_of(text, start, end)]


def clauses_of(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The clauses of one sentence span (what `clause_spans` gives for it)."""
    pieces, piece_start = [], start
    for match in _CLAUSE_BREAK.finditer(text, start, end):
        pieces.append((piece_start, match.start() + (1 if text[match.start()] in ",;:" else 0)))
        piece_start = match.end()
    pieces.append((piece_start, end))
    merged: list[tuple[int, int]] = []
    for s, e in pieces:
        s, e = strip_span(text, s, e)
        if e <= s:
            continue
        if merged and (len(text[s:e].split()) < _MIN_CLAUSE_WORDS
                       or len(text[merged[-1][0]:merged[-1][1]].split()) < _MIN_CLAUSE_WORDS):
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged
