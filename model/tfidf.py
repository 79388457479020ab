"""The fast TF-IDF scorer: category logits from exported vocabularies, idf weights and coefficients.

Training fits scikit-learn's TfidfVectorizer and one-vs-rest LogisticRegression; `LinearScorer.from_pipeline`
exports what they learned as plain data (`TfidfFeatures`, arrays), so a served model holds no
scikit-learn objects: loading it unpickles dicts and arrays, imports no scikit-learn, and does not
break when scikit-learn is upgraded. Scoring a batch tokenises each text once in Python (the same
analyzers scikit-learn uses) and builds every TF-IDF row with a handful of numpy calls for the
whole batch. `tests/code/test_tfidf.py` proves the rows and probabilities equal the pipeline's.
"""
from __future__ import annotations

import re
import unicodedata
from itertools import compress
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

CsrParts = tuple[np.ndarray, np.ndarray, np.ndarray]   # (indptr, indices, data) of TF-IDF rows

# A scoring sentence is a run of word tokens between end marks (. ! ? … or a line break); one of more than
# MAX_SENTENCE_TOKENS tokens is cut into windows of SENTENCE_WINDOW. Defined on tokens, so finding them
# costs nothing beyond the tokenisation itself (evidence shows character spans: model/sentences.py).
SENTENCE_PATTERN = re.compile(r"\w{2,}|[.!?…\n]")
MAX_SENTENCE_TOKENS = 30
SENTENCE_WINDOW = 15
_DEFAULT_TOKEN_PATTERNS = (r"(?u)\b\w\w+\b", r"\b\w\w+\b")   # scikit-learn's (str patterns are Unicode)
_SMALL_NNZ = 2_000   # up to this many non-zeros, X @ W is done in numpy (cheaper than building a sparse matrix)


def strip_accents_unicode(text: str) -> str:
    """scikit-learn's `strip_accents="unicode"`: NFKD, then drop combining marks (ASCII passes untouched)."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def token_sentences(pre: str) -> list[list[str]]:
    """The scoring sentences of a preprocessed text, as token lists (the reference definition)."""
    out, current = [], []
    for piece in SENTENCE_PATTERN.findall(pre):
        if len(piece) == 1:   # an end mark (word tokens have two or more characters)
            if current:
                out.append(current)
            current = []
        else:
            current.append(piece)
    if current:
        out.append(current)
    return [window for sentence in out for window in
            ([sentence] if len(sentence) <= MAX_SENTENCE_TOKENS else
             [sentence[i:i + SENTENCE_WINDOW] for i in range(0, len(sentence), SENTENCE_WINDOW)])]


def _windowed(segment: np.ndarray) -> np.ndarray:
    """Consecutive sentence numbers for tokens labelled by (nondecreasing) segment, long segments cut into
    windows as `token_sentences` cuts them."""
    if not len(segment):
        return segment
    new = np.r_[True, segment[1:] != segment[:-1]]
    starts = np.flatnonzero(new)
    lengths = np.diff(np.r_[starts, len(segment)])
    position = np.arange(len(segment)) - np.repeat(starts, lengths)
    window = np.where(np.repeat(lengths, lengths) > MAX_SENTENCE_TOKENS, position // SENTENCE_WINDOW, 0)
    change = new | np.r_[False, window[1:] != window[:-1]]
    return np.cumsum(change) - 1


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


@dataclass(frozen=True, eq=False)
class TfidfFeatures:
    """What one fitted TfidfVectorizer learned, as plain data (word or char_wb n-grams, l2-normalised)."""

    analyzer: str                  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    lowercase: bool
    strip_accents: str | None      # None or "unicode"
    token_pattern: str
    sublinear_tf: bool
    vocabulary: dict[str, int]
    idf: np.ndarray

    @classmethod
    def from_vectorizer(cls, vec) -> "TfidfFeatures":
        """Export a fitted TfidfVectorizer; refuse settings the scorer does not reproduce exactly."""
        unsupported = [name for name, bad in [
            ("analyzer", vec.analyzer not in ("word", "char_wb")), ("norm", vec.norm != "l2"),
            ("use_idf", not vec.use_idf), ("preprocessor", vec.preprocessor is not None),
            ("tokenizer", vec.tokenizer is not None), ("stop_words", vec.stop_words is not None),
            ("strip_accents", vec.strip_accents not in (None, "unicode")),
            ("token_pattern", vec.analyzer == "word" and re.compile(vec.token_pattern).groups != 0)] if bad]
        if unsupported:
            raise ValueError(f"the TF-IDF scorer cannot reproduce a vectorizer with these settings: {unsupported}")
        return cls(vec.analyzer, tuple(vec.ngram_range), bool(vec.lowercase), vec.strip_accents, vec.token_pattern,
                   bool(vec.sublinear_tf), {str(k): int(v) for k, v in vec.vocabulary_.items()},
                   np.asarray(vec.idf_, dtype=float))

    def __post_init__(self) -> None:
        if sorted(self.vocabulary.values()) != list(range(len(self.vocabulary))) or len(self.idf) != len(self.vocabulary):
            raise ValueError("a vocabulary must number its terms 0..n-1, one idf weight each")
        if any("\n" in term for term in self.vocabulary):   # cannot happen: n-grams never hold white space
            raise ValueError("a vocabulary term holds a line break")

    def __reduce__(self):
        """Pickle the vocabulary as one string of terms in index order: a model loads in a fraction of the
        time a dict of some 100,000 strings takes through joblib's (pure Python) unpickler."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return (_features_from_terms, (self.analyzer, self.ngram_range, self.lowercase, self.strip_accents,
                                       self.token_pattern, self.sublinear_tf, "\n".join(terms), self.idf))

    def preprocess(self, text: str) -> str:
        if self.lowercase:
            text = text.lower()
        if self.strip_accents == "unicode":
            text = strip_accents_unicode(text)
        return text


def _features_from_terms(analyzer, ngram_range, lowercase, strip_accents, token_pattern, sublinear_tf, terms, idf):
    vocabulary = dict(zip(terms.split("\n"), range(len(idf)))) if len(idf) else {}
    return TfidfFeatures(analyzer, ngram_range, lowercase, strip_accents, token_pattern, sublinear_tf, vocabulary, idf)


class _WordGrams:
    """Vocabulary indices of a text's word n-grams, as scikit-learn's word analyzer makes them."""

    def __init__(self, features: TfidfFeatures) -> None:
        self.features = features
        # scikit-learn's default pattern finds exactly the runs of two or more word characters, which the
        # plainer pattern finds faster (no boundary checks); any other pattern is used as it is
        self.pattern = re.compile(r"\w{2,}" if features.token_pattern in _DEFAULT_TOKEN_PATTERNS
                                  else features.token_pattern)
        self.get = features.vocabulary.get
        self.min_n, self.max_n = features.ngram_range
        # scikit-learn's default pattern: the tokens `encode_sentences` finds in its single pass
        self.word_tokens = features.token_pattern in _DEFAULT_TOKEN_PATTERNS

    def _gram_ids(self, tokens: list[str], n: int) -> list[int]:
        get = self.get
        if n == 1:
            return [get(t, -1) for t in tokens]
        if n == 2:
            return [get(a + " " + b, -1) for a, b in zip(tokens, tokens[1:])]
        return [get(" ".join(tokens[i:i + n]), -1) for i in range(len(tokens) - n + 1)]

    def ids(self, pre: str) -> list[int]:
        """N-gram indices of an already preprocessed text (repeats kept: they are the counts; -1: unknown)."""
        return self.ids_of_tokens(self.pattern.findall(pre))

    def ids_of_tokens(self, tokens: list[str]) -> list[int]:
        """Vocabulary indices of the tokens' n-grams, -1 for an n-gram outside the vocabulary (dropped later,
        for a whole batch at once)."""
        if self.min_n == 1 and self.max_n == 2:   # the shipped features: one pass each, no per-n loop
            get = self.get
            return [get(t, -1) for t in tokens] + [get(a + " " + b, -1) for a, b in zip(tokens, tokens[1:])]
        out: list[int] = []
        for n in range(self.min_n, min(self.max_n, len(tokens)) + 1):
            out += self._gram_ids(tokens, n)
        return out


class _CharWbGrams:
    """Vocabulary indices of scikit-learn's char_wb n-grams, with each word's indices cached.

    char_wb n-grams never cross white space, so a word's n-grams depend on the word alone; words repeat
    (Zipf), so most are looked up once. The cache is bounded by what it holds, not by entries: a crafted
    20,000-character "word" would otherwise pin tens of thousands of indices. Long words are never cached.
    """

    MAX_CACHED_WORD = 64          # characters
    MAX_CACHED_GRAMS = 1_000_000  # n-gram indices held across all entries (tens of MB at most)

    def __init__(self, features: TfidfFeatures) -> None:
        self.vocab = features.vocabulary
        self.min_n, self.max_n = features.ngram_range
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

    def ids(self, pre: str) -> list[int]:
        cache = self.cache
        found: list[int] = []
        for word in pre.split():
            grams = cache.get(word)
            if grams is None:
                grams = self._word(word)
                if len(word) <= self.MAX_CACHED_WORD:
                    if self.cached_grams + len(grams) > self.MAX_CACHED_GRAMS:
                        cache.clear()
                        self.cached_grams = 0
                    cache[word] = grams
                    self.cached_grams += len(grams)
            found.extend(grams)
        return found


class _RowBuilder:
    """Collects (row, feature index) occurrences of a batch, then makes the TF-IDF rows in one pass."""

    def __init__(self) -> None:
        self.n_rows = 0
        self.ids: list[int] = []          # feature index of every occurrence, row after row
        self.lengths: list[int] = []      # occurrences per added piece
        self.rows: list[int] = []         # the row of each added piece

    def new_rows(self, n: int) -> int:
        first = self.n_rows
        self.n_rows += n
        return first

    def add(self, row: int, ids: list[int]) -> None:
        self.ids.extend(ids)
        self.lengths.append(len(ids))
        self.rows.append(row)

    def occurrences(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, feature index) of every occurrence of a known n-gram (the -1s of unknown ones dropped)."""
        rows = np.repeat(np.array(self.rows, dtype=np.int64), self.lengths)
        ids = np.array(self.ids, dtype=np.int64)
        known = ids >= 0
        return rows[known], ids[known]


def dense_part(pipeline):
    """The pipeline's encoder block (`redflags.model.pipeline.EmbeddingFeatures`: a last feature part with
    `dense_dim` and `weight`), or None; found by shape, so serving never imports scikit-learn."""
    last = pipeline.named_steps["features"].transformer_list[-1][1]
    return last if hasattr(last, "dense_dim") and hasattr(last, "weight") else None


class LinearScorer:
    """Category logits (and any extra linear scores) of TF-IDF rows, from exported features.

    With `dense_dim` > 0 the coefficients have that many more rows, for a dense block after the TF-IDF
    columns (the opt-in sentence encoder's embeddings, its weight already folded into the coefficients);
    the caller passes each row's dense vector to `linear`.
    """

    def __init__(self, features: Sequence[TfidfFeatures], coef: np.ndarray, intercept: np.ndarray,
                 dense_dim: int = 0) -> None:
        self.features = tuple(features)
        sizes = [len(f.idf) for f in self.features]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.n_features = int(self.offsets[-1])   # TF-IDF columns
        self.dense_dim = int(dense_dim)
        self.coef = np.asarray(coef, dtype=float)
        self.intercept = np.asarray(intercept, dtype=float)
        if self.coef.shape != (self.n_features + self.dense_dim, len(self.intercept)):
            raise ValueError(f"coefficients of shape {self.coef.shape} do not fit {self.n_features} features"
                             f"{f' + {self.dense_dim} dense' if self.dense_dim else ''} and "
                             f"{len(self.intercept)} categories")
        self._idf = np.concatenate([f.idf for f in self.features])
        self._sublinear = np.concatenate([np.full(len(f.idf), f.sublinear_tf) for f in self.features])
        self._counters = [_WordGrams(f) if f.analyzer == "word" else _CharWbGrams(f) for f in self.features]
        # one tokenisation per text for the text and its sentences, when the features are word n-grams alone
        self._word_units = self._counters[0] if len(self._counters) == 1 and isinstance(self._counters[0], _WordGrams) \
            else None

    @classmethod
    def from_pipeline(cls, pipeline) -> "LinearScorer":
        """Export a fitted Pipeline([("features", FeatureUnion of TfidfVectorizers), ("clf", OneVsRest LR)]).

        A last union part with `dense_dim` and `weight` attributes (the sentence encoder's block,
        `redflags.model.pipeline.EmbeddingFeatures`) becomes the dense block, its weight folded into the
        coefficients so that the scorer takes unweighted embeddings."""
        parts = [part for _, part in pipeline.named_steps["features"].transformer_list]
        dense = dense_part(pipeline)
        features = [TfidfFeatures.from_vectorizer(vec) for vec in (parts[:-1] if dense is not None else parts)]
        estimators = pipeline.named_steps["clf"].estimators_
        n_sparse = sum(len(f.idf) for f in features)
        n = n_sparse + (dense.dense_dim if dense is not None else 0)
        coef, intercept = np.zeros((n, len(estimators))), np.zeros(len(estimators))
        for k, est in enumerate(estimators):
            if hasattr(est, "coef_"):
                coef[:, k] = est.coef_.ravel()
                intercept[k] = est.intercept_[0]
            else:  # a category with one class in training: scikit-learn's constant predictor
                intercept[k] = 50.0 if float(np.ravel(est.y_)[0]) > 0.5 else -50.0
        if dense is None:
            return cls(features, coef, intercept)
        coef[n_sparse:] *= dense.weight
        return cls(features, coef, intercept, dense.dense_dim)

    # -- rows -------------------------------------------------------------------------------------
    def _add_doc(self, rows: _RowBuilder, row: int, doc: str) -> None:
        for counter, features, offset in zip(self._counters, self.features, self.offsets):
            ids = counter.ids(features.preprocess(doc))
            rows.add(row, [j + offset if j >= 0 else -1 for j in ids] if offset else ids)

    def encode(self, docs: Sequence[str]) -> CsrParts:
        """CSR parts of the TF-IDF rows of `docs`, exactly as the fitted vectorizers would make them."""
        rows = _RowBuilder()
        for doc in docs:
            self._add_doc(rows, rows.new_rows(1), doc)
        return self._tfidf(rows)

    def encode_sentences(self, texts: Sequence[str], min_words: int | None) -> tuple[CsrParts, np.ndarray, np.ndarray]:
        """Rows for each text followed, when it has at least `min_words` words (None: never) and more than one
        sentence, by one row per sentence (`token_sentences`); also each text's number of rows and of sentences.

        With word n-grams alone (the shipped features) this is one tokenisation of the batch: the tokens and
        sentence ends come from one regex pass per text, the n-gram lookups are done once per token, and
        which rows an occurrence counts in is worked out with numpy for the whole batch. Otherwise each
        sentence is encoded as its tokens joined by spaces (what the sentence row means either way).
        """
        words = self._word_units
        if words is None or not words.word_tokens or words.min_n != 1 or words.max_n > 2:
            return self._encode_sentences_slowly(texts, min_words)
        preprocess, findall, get = words.features.preprocess, SENTENCE_PATTERN.findall, words.get
        pieces = [findall(preprocess(text)) for text in texts]
        n_texts = len(texts)
        piece_text = np.repeat(np.arange(n_texts), [len(p) for p in pieces])
        flat = [t for p in pieces for t in p]
        is_end = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat)) == 1   # word tokens have 2+ chars
        tokens = list(compress(flat, (~is_end).tolist()))
        token_text = piece_text[~is_end]
        # sentence of each token: a new one after each end mark and at each text's start; then long ones cut
        starts_text = np.r_[True, piece_text[1:] != piece_text[:-1]] if len(flat) else np.zeros(0, dtype=bool)
        segment = np.cumsum(is_end | starts_text)[~is_end]
        sentence = _windowed(segment)
        n = len(tokens)
        first_of_sentence = np.r_[True, sentence[1:] != sentence[:-1]] if n else np.zeros(0, dtype=bool)
        n_sentences = np.maximum(np.bincount(token_text[first_of_sentence], minlength=n_texts), 1)
        word_counts = np.array([len(t.split()) for t in texts], dtype=np.int64)
        split = (n_sentences > 1) & (word_counts >= (min_words if min_words is not None else np.iinfo(np.int64).max))
        sizes = np.where(split, 1 + n_sentences, 1)
        first_row = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
        # row of each token's sentence (-1 where its text is not split)
        text_first_token = np.minimum(np.searchsorted(token_text, np.arange(n_texts)), max(n - 1, 0))
        sentence_in_text = sentence - sentence[text_first_token][token_text] if n else sentence
        token_split = split[token_text]
        sentence_row = np.where(token_split, first_row[token_text] + 1 + sentence_in_text, -1)
        unigrams = np.array([get(t, -1) for t in tokens], dtype=np.int64)
        bigrams = np.array([get(a + " " + b, -1) for a, b in zip(tokens, tokens[1:])], dtype=np.int64)
        same_text = token_text[1:] == token_text[:-1]
        same_sentence = same_text & (sentence[1:] == sentence[:-1]) & token_split[:-1]
        row_of = np.concatenate([first_row[token_text], sentence_row[token_split], first_row[token_text[:-1][same_text]],
                                 sentence_row[:-1][same_sentence]])
        ids = np.concatenate([unigrams, unigrams[token_split], bigrams[same_text], bigrams[same_sentence]])
        known = ids >= 0
        return self._tfidf_of(row_of[known], ids[known], int(sizes.sum())), sizes, n_sentences

    def _encode_sentences_slowly(self, texts: Sequence[str], min_words: int | None):
        docs, sizes, n_sentences = [], [], []
        for text in texts:
            sentences = token_sentences(self.features[0].preprocess(text))
            split = min_words is not None and len(sentences) > 1 and len(text.split()) >= min_words
            docs += [text, *(" ".join(s) for s in sentences)] if split else [text]
            sizes.append(1 + len(sentences) if split else 1)
            n_sentences.append(max(1, len(sentences)))
        return self.encode(docs), np.array(sizes, dtype=np.int64), np.array(n_sentences, dtype=np.int64)

    def _tfidf(self, rows: _RowBuilder) -> CsrParts:
        return self._tfidf_of(*rows.occurrences(), rows.n_rows)

    def _tfidf_of(self, row_of: np.ndarray, ids: np.ndarray, n_rows: int) -> CsrParts:
        """Counts -> (sublinear) tf x idf -> l2 norm per row and vectorizer, for the whole batch at once, from
        the (row, feature index) of every occurrence of a known n-gram."""
        width = self.n_features
        keys, counts = np.unique(row_of * width + ids, return_counts=True)
        row_of = keys // width
        cols = keys - row_of * width
        tf = counts.astype(float)
        tf = np.where(self._sublinear[cols], np.log(tf) + 1.0, tf)
        values = tf * self._idf[cols]
        n_parts = len(self.features)
        segment = row_of if n_parts == 1 else row_of * n_parts + np.searchsorted(self.offsets[1:], cols, side="right")
        norms = np.sqrt(np.bincount(segment, weights=values * values, minlength=n_rows * n_parts))
        norms[norms == 0] = 1.0
        values /= norms[segment]
        indptr = np.searchsorted(row_of, np.arange(n_rows + 1))
        return indptr, cols, values

    # -- products ---------------------------------------------------------------------------------
    def linear(self, rows: CsrParts, weights: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
        """Rows of X @ weights: scipy's compiled product for a batch; for a handful of non-zeros (one
        short text, an API call) numpy alone, which skips scipy's set-up cost. With a dense block, `offset`
        (`dense_scores` of the rows' embeddings, one row or one per row) is added."""
        indptr, indices, data = rows
        n = len(indptr) - 1
        if self.dense_dim and offset is None:
            raise ValueError("this scorer has a dense block: linear() needs its scores (dense_scores)")
        sparse_weights = weights[:self.n_features]
        if len(indices) > _SMALL_NNZ:
            out = np.asarray(sp.csr_matrix((data, indices, indptr), shape=(n, self.n_features)) @ sparse_weights)
        else:
            out = np.zeros((n, weights.shape[1]))
            if len(indices):
                cums = np.vstack([np.zeros((1, weights.shape[1])),
                                  np.cumsum(data[:, None] * sparse_weights[indices], axis=0)])
                out[:] = cums[indptr[1:]] - cums[indptr[:-1]]
        if offset is not None:
            out += offset
        return out

    def dense_scores(self, dense: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The dense block's part of the linear scores: embeddings (m x dense_dim) @ the weights' last rows.
        Computed once per text; its sentence rows and evidence spans share it."""
        if np.ndim(dense) != 2 or np.shape(dense)[1] != self.dense_dim or not self.dense_dim:
            raise ValueError(f"this scorer's dense block takes rows of {self.dense_dim} values, got shape "
                             f"{np.shape(dense)}")
        return np.asarray(dense, dtype=float) @ weights[self.n_features:]

    def probabilities(self, docs: Sequence[str], dense: np.ndarray | None = None) -> np.ndarray:
        """Probabilities of `docs`; with a dense block, `dense` gives each doc's embedding (or one for all)."""
        offset = self.dense_scores(dense, self.coef) if dense is not None else None
        return sigmoid(self.linear(self.encode(docs), self.coef, offset) + self.intercept)
