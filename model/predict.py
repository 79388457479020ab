"""The prediction core shared by the API, the CLI and the batch scorer.

`Predictor.predict(texts, context=None, evidence=True)` scores each text as a whole and sentence by
sentence, combines the two (the rule chosen at training time), applies the per-category thresholds,
picks the recommendation and attaches evidence spans and advice.

Inference runs on a lean path over the fitted Pipeline: the same analyzers, vocabularies, idf
weights and coefficients, without scikit-learn's per-call validation and sparse-matrix overhead.
`tests/code/test_predict_core.py` proves it equal to `pipeline.predict_proba`.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from redflags.model.advice import advise
from redflags.model.policy import AdvicePolicy
from redflags.model.sentences import clause_spans, sentence_spans, strip_span
from redflags.model.stage import resolve_stage
from redflags.model.taxonomy import BY_ID, CATEGORIES

MAX_EVIDENCE = 3
_SMALL_NNZ = 2_000  # up to this many non-zeros, X @ W is done in numpy (cheaper than building a sparse matrix)


@dataclass
class Evidence:
    text: str
    start: int
    end: int


@dataclass
class RedFlag:
    category: str
    probability: float
    severity: int
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Recommendation:
    action: str
    confidence: float
    rationale: str
    script: str
    follow_up: str
    stage: str = "during"
    driver: str | None = None


@dataclass
class Prediction:
    model_version: str
    flagged: bool
    red_flags: list[RedFlag]
    scores: dict[str, float]
    recommendation: Recommendation

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API (hand-built: dataclasses.asdict deep-copies and is slow)."""
        rec = self.recommendation
        return {
            "model_version": self.model_version,
            "flagged": self.flagged,
            "red_flags": [{"category": f.category, "probability": f.probability, "severity": f.severity,
                           "evidence": [{"text": e.text, "start": e.start, "end": e.end} for e in f.evidence]}
                          for f in self.red_flags],
            "scores": dict(self.scores),
            "recommendation": {"action": rec.action, "confidence": rec.confidence, "rationale": rec.rationale,
                               "script": rec.script, "follow_up": rec.follow_up,
                               "stage": rec.stage, "driver": rec.driver},
        }


def stack_features(whole: np.ndarray, best: np.ndarray, n_sentences: np.ndarray, k: int) -> np.ndarray:
    """Inputs of the learned combination for category k: both logits, the text's length in sentences,
    and length x best-sentence logit (so a long letter can lean on its worst sentence)."""
    length = np.log1p(n_sentences)
    best_logit = _logit(best[:, k])
    return np.column_stack([_logit(whole[:, k]), best_logit, length, length * best_logit])


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass
class Combiner:
    """How whole-text and best-sentence probabilities become one probability per category.

    whole: the whole text only; max: the larger of the two; blend: the mean of whole and max; stack: a small
    logistic regression per category over both logits and the number of sentences, fitted on
    out-of-fold scores, so long texts can lean on their worst sentence without short benign
    sentences raising false alarms.
    """

    rule: str = "whole"
    coef: np.ndarray | None = None        # (categories, 4) for "stack"
    intercept: np.ndarray | None = None   # (categories,) for "stack"
    # Per category, a best-sentence probability at or above which the sentence alone decides
    # (chosen out of fold for high precision): a near-certain flag in one sentence of a long
    # letter is not diluted by the rest. None: no override.
    override: np.ndarray | None = None

    @property
    def uses_sentences(self) -> bool:
        """Whether the sentence scores matter at all (if not, texts are scored whole only)."""
        return self.rule != "whole" or self.override is not None

    def __call__(self, whole: np.ndarray, best: np.ndarray, n_sentences: np.ndarray,
                 split: np.ndarray | None = None) -> np.ndarray:
        """`split` marks the texts that were scored sentence by sentence (None: all of them); only
        those can be decided by one sentence, the population the override was tuned on."""
        return apply_override(self._combine(whole, best, n_sentences), best, self.override, split)

    def _combine(self, whole: np.ndarray, best: np.ndarray, n_sentences: np.ndarray) -> np.ndarray:
        if self.rule == "whole":
            return whole
        if self.rule == "max":
            return np.maximum(whole, best)
        if self.rule == "blend":
            return (whole + np.maximum(whole, best)) / 2.0
        if self.rule == "stack":  # stack_features for every category at once
            length = np.log1p(n_sentences)[:, None]
            best_logit = _logit(best)
            z = (_logit(whole) * self.coef[:, 0] + best_logit * self.coef[:, 1] + length * self.coef[:, 2]
                 + length * best_logit * self.coef[:, 3] + self.intercept)
            return _sigmoid(z)
        raise ValueError(f"unknown combination rule {self.rule!r}")


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


def combine(whole: np.ndarray, sentence_max: np.ndarray, rule: str) -> np.ndarray:
    """The fixed (parameter-free) combination rules."""
    return Combiner(rule)(whole, sentence_max, np.ones(len(whole)))


class _AnalyzerCounter:
    """Vocabulary index -> count for one document, through the vectorizer's own analyzer."""

    def __init__(self, analyzer, vocab: dict[str, int]) -> None:
        self.analyzer, self.vocab = analyzer, vocab

    def __call__(self, doc: str) -> dict[int, int]:
        vocab = self.vocab
        out: dict[int, int] = {}
        for token, count in Counter(self.analyzer(doc)).items():
            j = vocab.get(token)
            if j is not None:
                out[j] = count
        return out


_WORD_CHAR = re.compile(r"\w")


class _WordUnitsCounter:
    """Counts of a word-n-gram vectorizer for a text and its sentences from one tokenisation.

    Sentences are spans of the text, so their tokens are the text's tokens that lie inside them. That
    holds exactly when preprocessing a sentence gives the same characters as the matching slice of the
    preprocessed text and the span is bounded by non-word characters; both are checked per text, and
    a text that fails either is analysed span by span as scikit-learn would (`tests/code` proves the
    rows equal the pipeline's).
    """

    def __init__(self, vec) -> None:
        self.preprocess = vec.build_preprocessor()
        self.pattern = re.compile(vec.token_pattern)
        self.analyze = _AnalyzerCounter(vec.build_analyzer(), vec.vocabulary_)
        self.vocab = vec.vocabulary_
        self.max_n = vec.ngram_range[1]

    @staticmethod
    def supports(vec) -> bool:
        return (vec.analyzer == "word" and vec.tokenizer is None and vec.preprocessor is None
                and vec.stop_words is None and vec.ngram_range[0] == 1
                and re.compile(vec.token_pattern).groups == 0)

    def _bounded(self, text: str, pre: str, start: int, end: int) -> bool:
        return (self.preprocess(text[start:end]) == pre[start:end]
                and (start == 0 or not _WORD_CHAR.match(pre[start - 1]))
                and (end == len(pre) or not _WORD_CHAR.match(pre[end])))

    def counts(self, text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(vocabulary indices, counts) for the text, then for text[s:e] for each span."""
        pre = self.preprocess(text)
        if not spans or len(pre) != len(text) or not all(self._bounded(text, pre, s, e) for s, e in spans):
            return [_as_arrays(self.analyze(doc)) for doc in (text, *(text[s:e] for s, e in spans))]
        matches = list(self.pattern.finditer(pre))
        tokens = [m.group() for m in matches]
        token_starts = np.array([m.start() for m in matches], dtype=np.int64)
        get = self.vocab.get
        # which span each token position falls in (-1: none); spans are disjoint and in order
        span_starts = np.array([s for s, _ in spans], dtype=np.int64)
        span_ends = np.array([e for _, e in spans], dtype=np.int64)
        owner = np.searchsorted(span_starts, token_starts, side="right") - 1
        inside = (owner >= 0) & (token_starts < span_ends[np.maximum(owner, 0)])
        owner = np.where(inside, owner, -1)
        ids, owners = [], []
        for n in range(1, self.max_n + 1):
            if len(tokens) < n:
                break
            grams = np.array([get(" ".join(tokens[i:i + n]), -1) for i in range(len(tokens) - n + 1)], dtype=np.int64)
            same = owner[: len(grams)] if n == 1 else np.where(owner[: len(grams)] == owner[n - 1:], owner[: len(grams)], -1)
            ids.append(grams)
            owners.append(same)
        if not ids:
            empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
            return [empty] * (1 + len(spans))
        ids_all, owner_all = np.concatenate(ids), np.concatenate(owners)
        known = ids_all >= 0
        whole_idx, whole_cnt = np.unique(ids_all[known], return_counts=True)
        out = [(whole_idx, whole_cnt.astype(float))]
        keep = known & (owner_all >= 0)
        width = len(self.vocab)
        keys, counts = np.unique(owner_all[keep] * width + ids_all[keep], return_counts=True)
        bounds = np.searchsorted(keys, np.arange(len(spans) + 1) * width)
        for j in range(len(spans)):
            a, b = bounds[j], bounds[j + 1]
            out.append((keys[a:b] - j * width, counts[a:b].astype(float)))
        return out


def _as_arrays(counts: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return (np.fromiter(counts.keys(), dtype=np.int64, count=len(counts)),
            np.fromiter(counts.values(), dtype=float, count=len(counts)))


class _CharWbCounter:
    """The same counts as sklearn's char_wb analyzer, with each word's n-gram indices cached.

    char_wb n-grams never cross white space, so a word's n-grams depend on the word alone; words
    repeat (Zipf), so most are looked up once. Mirrors TfidfVectorizer._char_wb_ngrams exactly
    (proved against the pipeline in tests/code/test_predict_core.py).
    """

    # Bounded by what it holds, not by entries: a crafted 20,000-character "word" would otherwise
    # pin tens of thousands of n-gram indices per entry. Long words are counted, never cached.
    MAX_CACHED_WORD = 64          # characters
    MAX_CACHED_GRAMS = 1_000_000  # n-gram indices held across all entries (tens of MB at most)

    def __init__(self, vec) -> None:
        self.preprocess = vec.build_preprocessor()
        self.vocab = vec.vocabulary_
        self.min_n, self.max_n = vec.ngram_range
        self.cache: dict[str, tuple[int, ...]] = {}
        self.cached_grams = 0

    def _word(self, word: str) -> tuple[int, ...]:
        w = " " + word + " "
        w_len = len(w)
        vocab = self.vocab
        found = []
        for n in range(self.min_n, self.max_n + 1):
            offset = 0
            j = vocab.get(w[0:n])
            if j is not None:
                found.append(j)
            while offset + n < w_len:
                offset += 1
                j = vocab.get(w[offset:offset + n])
                if j is not None:
                    found.append(j)
            if offset == 0:  # a short word (w_len < n) is counted once
                break
        return tuple(found)

    def __call__(self, doc: str) -> dict[int, int]:
        cache = self.cache
        found: list[int] = []
        extend = found.extend
        for word in self.preprocess(doc).split():
            grams = cache.get(word)
            if grams is None:
                grams = self._word(word)
                if len(word) <= self.MAX_CACHED_WORD:
                    if self.cached_grams + len(grams) > self.MAX_CACHED_GRAMS:
                        cache.clear()
                        self.cached_grams = 0
                    cache[word] = grams
                    self.cached_grams += len(grams)
            extend(grams)
        return Counter(found)


class LinearTextScorer:
    """Category logits straight from the fitted TF-IDF vectorizers and one-vs-rest coefficients."""

    def __init__(self, pipeline) -> None:
        union = pipeline.named_steps["features"]
        self.parts = []
        offset = 0
        for _, vec in union.transformer_list:
            if vec.norm != "l2" or not vec.use_idf:
                raise ValueError("the lean path supports l2-normalised TF-IDF vectorizers only")
            if vec.analyzer == "char_wb":
                counter = _CharWbCounter(vec)
            else:
                analyzer, vocab = vec.build_analyzer(), vec.vocabulary_
                counter = _AnalyzerCounter(analyzer, vocab)
            self.parts.append((counter, vec.idf_, vec.sublinear_tf, offset))
            offset += len(vec.idf_)
        self.n_features = offset
        self._counters = [(counter, off) for counter, _, _, off in self.parts]
        # one tokenisation per text for whole text and sentences, when the features allow it
        vectorizers = [vec for _, vec in union.transformer_list]
        self._word_units = (_WordUnitsCounter(vectorizers[0])
                            if len(vectorizers) == 1 and _WordUnitsCounter.supports(vectorizers[0]) else None)
        self._offsets = np.array([off for _, _, _, off in self.parts], dtype=np.int64)
        self._idf = np.concatenate([idf for _, idf, _, _ in self.parts])
        flags = {sub for _, _, sub, _ in self.parts}
        self._sublinear = flags.pop() if len(flags) == 1 else None
        self._sublinear_mask = np.concatenate([np.full(len(idf), sub) for _, idf, sub, _ in self.parts])
        estimators = pipeline.named_steps["clf"].estimators_
        self.coef = np.zeros((offset, len(estimators)))
        self.intercept = np.zeros(len(estimators))
        for k, est in enumerate(estimators):
            if hasattr(est, "coef_"):
                self.coef[:, k] = est.coef_.ravel()
                self.intercept[k] = est.intercept_[0]
            else:  # a category with one class in training: sklearn's constant predictor
                self.intercept[k] = 50.0 if float(np.ravel(est.y_)[0]) > 0.5 else -50.0

    def encode(self, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR parts (indptr, indices, data) of the TF-IDF rows, exactly as the vectorizers would make them.

        Counting is per document in Python; tf, idf and the l2 norm of every (document, vectorizer)
        segment are then computed in a few vectorised numpy calls for the whole batch.
        """
        return self._rows([[_as_arrays(counter(doc)) for counter, _ in self._counters] for doc in docs])

    def encode_units(self, texts: Sequence[str], units: Sequence[Sequence[tuple[int, int]]]):
        """Rows for each text followed by one per span of its `units` (the same as `encode` on those
        strings), tokenising each text once when the features are word n-grams alone."""
        if self._word_units is None:
            return self.encode([d for text, spans in zip(texts, units) for d in (text, *(text[s:e] for s, e in spans))])
        return self._rows([[counts] for text, spans in zip(texts, units)
                           for counts in self._word_units.counts(text, spans)])

    def _rows(self, per_doc: list[list[tuple[np.ndarray, np.ndarray]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR parts from per-document, per-vectorizer (vocabulary indices, counts) arrays."""
        segments = [seg for segs in per_doc for seg in segs]
        seg_ends = np.cumsum([len(i) for i, _ in segments]) if segments else np.zeros(0, dtype=np.int64)
        flat_idx = np.concatenate([i for i, _ in segments]) if segments else np.zeros(0, dtype=np.int64)
        flat_cnt = np.concatenate([c for _, c in segments]) if segments else np.zeros(0)
        n_docs = len(per_doc)
        idx = np.array(flat_idx, dtype=np.int64)
        ends = np.array(seg_ends, dtype=np.int64)
        starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
        lengths = ends - starts
        if len(self.parts) > 1:  # each vectorizer's indices start at its offset in the union
            idx += np.repeat(np.tile(self._offsets, n_docs), lengths)
        tf = np.array(flat_cnt, dtype=float)
        if self._sublinear is None:
            tf = np.where(self._sublinear_mask[idx], np.log(tf) + 1.0, tf) if len(tf) else tf
        elif self._sublinear:
            tf = np.log(tf) + 1.0
        values = tf * self._idf[idx]
        sq = np.concatenate([[0.0], np.cumsum(values * values)])
        norms = np.sqrt(sq[ends] - sq[starts])
        norms[norms == 0] = 1.0
        values /= np.repeat(norms, lengths)
        indptr = np.concatenate([[0], ends[len(self.parts) - 1::len(self.parts)]])
        return indptr, idx, values

    def linear(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Rows of X @ weights for the CSR parts: scipy's compiled product for a batch; for a handful of
        non-zeros (one short text, an API call) numpy alone, which skips scipy's set-up cost."""
        n = len(indptr) - 1
        if len(indices) > _SMALL_NNZ:
            return np.asarray(sp.csr_matrix((data, indices, indptr), shape=(n, weights.shape[0])) @ weights)
        out = np.zeros((n, weights.shape[1]))
        if len(indices):
            cums = np.vstack([np.zeros((1, weights.shape[1])), np.cumsum(data[:, None] * weights[indices], axis=0)])
            out[:] = cums[indptr[1:]] - cums[indptr[:-1]]
        return out

    def unit_probabilities(self, text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """Probabilities of text[s:e] for each span, from one tokenisation of the text where possible."""
        indptr, indices, data = self.encode_units([text], [spans])
        return _sigmoid(self.linear(indptr, indices, data, self.coef) + self.intercept)[1:]

    def probabilities(self, docs: Sequence[str]) -> np.ndarray:
        indptr, indices, data = self.encode(docs)
        return _sigmoid(self.linear(indptr, indices, data, self.coef) + self.intercept)


@dataclass
class Scored:
    """Intermediate scores of a batch of texts."""

    whole: np.ndarray                           # whole-text probabilities, n x 9
    best_sentence: np.ndarray                   # best sentence's probability per category, n x 9
    spans: list[list[tuple[int, int]]]          # sentence spans per text
    per_sentence: list[np.ndarray | None]       # per text: sentences x 9, or None if not scored by sentence
    whole_rows: tuple[np.ndarray, np.ndarray, np.ndarray]  # CSR parts of the whole-text TF-IDF rows
    probs: np.ndarray | None = None             # combined, set by Predictor.score

    @property
    def split(self) -> np.ndarray:
        """Which texts were scored sentence by sentence."""
        return np.array([p is not None for p in self.per_sentence], dtype=bool)

    @property
    def n_sentences(self) -> np.ndarray:
        return np.array([max(1, len(s)) for s in self.spans], dtype=float)


UNIT_MIN_WORDS = 40   # shorter texts are not split: their best sentence is the text itself
_TEXT_GROUP = 512     # texts encoded together, which bounds the memory of a large batch


def score_texts(scorer: LinearTextScorer, texts: Sequence[str], sentences: bool = True) -> Scored:
    """Score each text whole and, when it is long enough to dilute a flag, sentence by sentence.

    Short texts (under UNIT_MIN_WORDS words) are scored whole only: a survey answer of a few
    sentences is not diluted, and skipping its sentences halves the work of a batch. With
    `sentences=False` (a model whose combination ignores sentences) no text is split.
    """
    parts = [_score_group(scorer, texts[lo:lo + _TEXT_GROUP], sentences)
             for lo in range(0, len(texts), _TEXT_GROUP)]
    if not parts:
        empty = np.zeros((0, scorer.coef.shape[1]))
        return Scored(empty, empty, [], [], (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)))
    if len(parts) == 1:
        return parts[0]
    ptrs, idx, data, shift = [np.zeros(1, dtype=np.int64)], [], [], 0
    for part in parts:
        p_ptr, p_idx, p_data = part.whole_rows
        ptrs.append(p_ptr[1:] + shift)
        idx.append(p_idx)
        data.append(p_data)
        shift += len(p_idx)
    return Scored(np.vstack([p.whole for p in parts]), np.vstack([p.best_sentence for p in parts]),
                  [s for p in parts for s in p.spans], [s for p in parts for s in p.per_sentence],
                  (np.concatenate(ptrs), np.concatenate(idx), np.concatenate(data)))


def _score_group(scorer: LinearTextScorer, texts: Sequence[str], sentences: bool = True) -> Scored:
    owners: list[tuple[int, int]] = []
    spans: list[list[tuple[int, int]]] = []
    units: list[list[tuple[int, int]]] = []
    n_rows = 0
    for text in texts:
        text_spans = sentence_spans(text) if sentences else []
        split = len(text_spans) > 1 and len(text.split()) >= UNIT_MIN_WORDS
        units.append(text_spans if split else [])
        owners.append((n_rows, n_rows + 1 + len(units[-1])))
        n_rows = owners[-1][1]
        spans.append(text_spans)
    indptr, indices, data = scorer.encode_units(texts, units)
    probs = _sigmoid(scorer.linear(indptr, indices, data, scorer.coef) + scorer.intercept)
    whole_idx = [first for first, _ in owners]
    whole = probs[whole_idx]
    # per text: sentence probabilities when scored, else None (a short text's best "sentence" is itself)
    per_sentence = [probs[first + 1:end] if end - first > 1 else None for first, end in owners]
    best = np.vstack([p.max(axis=0) if p is not None else probs[first]
                      for p, (first, _) in zip(per_sentence, owners)])
    return Scored(whole, best, spans, per_sentence, _select_rows(indptr, indices, data, whole_idx))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


class Predictor:
    """A loaded model bundle, ready to score texts. Build it with `redflags.model.artifact.load_predictor`."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self.pipeline = bundle["pipeline"]
        self.policy: AdvicePolicy = bundle["policy"]
        if not isinstance(self.policy, AdvicePolicy):
            raise ValueError(f"the bundle's advice policy is a {type(self.policy).__name__}, not an AdvicePolicy")
        self.policy.validate()
        self.combine_rule: str = bundle["combine"]
        params = bundle.get("combiner") or {}
        self.combiner = Combiner(self.combine_rule, params.get("coef"), params.get("intercept"),
                                 params.get("override"))
        self.thresholds = np.array([bundle["thresholds"][c] for c in CATEGORIES], dtype=float)
        self.metadata: dict[str, Any] = dict(bundle.get("metadata", {}))
        self.version: str = str(self.metadata.get("model_version", "unversioned"))
        self.scorer = LinearTextScorer(self.pipeline)
        if self.policy.reads_text and len(self.policy.text_coef) != self.scorer.n_features:
            raise ValueError(f"the advice policy's text severity has {len(self.policy.text_coef)} weights, the "
                             f"features have {self.scorer.n_features}")

    # -- scoring -------------------------------------------------------------------------------
    def score(self, texts: Sequence[str]) -> "Scored":
        """Combined category probabilities (n x 9), with what evidence needs."""
        scored = score_texts(self.scorer, texts, self.combiner.uses_sentences)
        scored.probs = self.combiner(scored.whole, scored.best_sentence, scored.n_sentences, scored.split)
        return scored

    def text_severity(self, scored: "Scored") -> np.ndarray | None:
        """The advice policy's text severity score of each whole text, when the policy reads one."""
        if not self.policy.reads_text:
            return None
        coef = self.policy.text_coef[:, None]
        return self.scorer.linear(*scored.whole_rows, coef)[:, 0] + self.policy.text_intercept

    def predict(self, texts: Sequence[str], context: Mapping[str, Any] | None = None, evidence: bool = True,
                thresholds: Mapping[str, float] | None = None) -> list[Prediction]:
        """Score `texts`; `context` may say {"open_to_other_roles": true, "stage": "during" | "after"};
        `thresholds` overrides per category.

        Returns one Prediction per text, in order.
        """
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts, not a single string")
        cut = self.thresholds.copy()
        for category, value in (thresholds or {}).items():
            if category not in BY_ID:
                raise ValueError(f"unknown category in thresholds: {category!r}")
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"threshold for {category} must be in [0, 1], got {value}")
            cut[CATEGORIES.index(category)] = float(value)
        context = dict(context or {})
        open_to_other_roles = bool(context.get("open_to_other_roles", False))
        requested_stage = context.get("stage")
        if not texts:
            return []
        stages = [resolve_stage(text, requested_stage) for text in texts]
        scored = self.score(texts)
        probs = scored.probs
        decisions = self.policy.decide(probs, cut, open_to_other_roles, self.text_severity(scored))
        thresholds_by_category = dict(zip(CATEGORIES, (float(t) for t in cut)))
        out = []
        for i, text in enumerate(texts):
            hits = [k for k in range(len(CATEGORIES)) if probs[i, k] >= cut[k]]
            # most serious first, then most probable
            hits.sort(key=lambda k: (-BY_ID[CATEGORIES[k]].severity, -probs[i, k]))
            flagged = [CATEGORIES[k] for k in hits]
            scores = {c: float(probs[i, k]) for k, c in enumerate(CATEGORIES)}
            decision = decisions[i]

            clauses: dict[str, Any] = {}

            def evidence_for(k, text=text, clauses=clauses):
                """Evidence is ranked over clauses (finer than the sentences used for scoring)."""
                if "spans" not in clauses:
                    clauses["spans"] = clause_spans(text)
                    clauses["probs"] = (self.scorer.unit_probabilities(text, clauses["spans"])
                                        if clauses["spans"] else np.zeros((0, len(CATEGORIES))))
                return _evidence(text, clauses["spans"], clauses["probs"][:, k], cut[k])

            rationale, script, follow_up = advise(decision, flagged, scores, thresholds_by_category, stages[i])
            red_flags = [
                RedFlag(category=CATEGORIES[k], probability=float(probs[i, k]),
                        severity=BY_ID[CATEGORIES[k]].severity,
                        evidence=evidence_for(k) if evidence else [])
                for k in hits
            ]
            out.append(Prediction(
                model_version=self.version,
                flagged=bool(hits),
                red_flags=red_flags,
                scores=scores,
                recommendation=Recommendation(decision.action, decision.confidence, rationale, script, follow_up,
                                              stages[i], decision.driver),
            ))
        return out


def _select_rows(indptr, indices, data, rows):
    """CSR parts of the given rows only."""
    new_ptr = [0]
    idx_parts, data_parts = [], []
    for r in rows:
        a, b = indptr[r], indptr[r + 1]
        idx_parts.append(indices[a:b])
        data_parts.append(data[a:b])
        new_ptr.append(new_ptr[-1] + (b - a))
    if not idx_parts:
        return np.asarray(new_ptr), indices[:0], data[:0]
    return np.asarray(new_ptr), np.concatenate(idx_parts), np.concatenate(data_parts)


def _evidence(text: str, spans: list[tuple[int, int]], sentence_probs: np.ndarray, threshold: float) -> list[Evidence]:
    """Up to three clauses ranked by their own probability for the category; the best one always."""
    if not spans:
        start, end = strip_span(text, 0, len(text))
        return [Evidence(text[start:end], start, end)] if end > start else []
    if len(spans) == 1:
        s, e = spans[0]
        return [Evidence(text[s:e], s, e)]
    order = np.argsort(-sentence_probs, kind="stable")
    chosen = [order[0]] + [j for j in order[1:MAX_EVIDENCE] if sentence_probs[j] >= 0.5 * threshold]
    return [Evidence(text[spans[j][0]:spans[j][1]], spans[j][0], spans[j][1]) for j in chosen]
