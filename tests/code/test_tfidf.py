"""The exported TF-IDF scorer is the fitted scikit-learn pipeline, exactly: rows, probabilities, sentence
rows from one tokenisation, the bounded char cache, and a bundle that holds no scikit-learn objects."""
import io
import pickletools

import joblib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from redflags.model.sentences import sentence_spans
from redflags.model.tfidf import LinearScorer, TfidfFeatures, _CharWbGrams, strip_accents_unicode
from tests.tiny import TINY, tiny_bundle, tiny_pipeline

TEXTS = [t for t, _, _ in TINY] + [
    "",  # no features at all
    "Ünïcödé cafés — naïve façade…  and 🙂 emoji",
    "word " * 500,
    "He laughed at me. Then he asked my age! Then he asked for my bank details?\nOdd.",
]
UNIT_TEXTS = TEXTS + [
    "He laughed at me. Then he asked my age! Then he asked for my bank details? Odd, very odd, truly odd.",
    "Caf\u00e9 owner: \u201cwe\u2019re a family\u201d. I said no\u2026 He mocked my degree; unpaid trial shift, eight hours.",
    "\u0130stanbul office. The \u0392\u039f\u03a3. Next sentence\u0301 here. \ufb01ne print, decide today.",
    "e.g. 3.5 hours late. U.S.A. based. don't won't can't. word_with_underscore. end",
    "__ . He laughed at me. __ __! Then he asked my age? ... __init__ and so on. ok",   # tokens between sentences
    "one two. three. four five six seven. eight nine, ten eleven; twelve.",            # bigrams across sentences
]
_pieces = st.sampled_from(["He", "laughed", "at", "my", "age", "__", "_x_", "9", "Café", ".", "!", "?", ",", " ",
                           "\n", "...", "…", "'", "ΣΑΣ", "İ", "ﬁ", "e\u0301"])
any_texts = st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=120) | st.sampled_from(UNIT_TEXTS)
                     | st.lists(_pieces, max_size=40).map(" ".join) | st.lists(_pieces, max_size=40).map("".join),
                     min_size=1, max_size=4)


@pytest.fixture(scope="module", params=["word+char", "word"])
def fitted(request):
    """(pipeline, exported scorer) for both feature sets: word+char (a union) and word (one tokenisation)."""
    pipeline = tiny_pipeline(request.param)
    return pipeline, LinearScorer.from_pipeline(pipeline)


def _csr(pipeline, docs):
    return pipeline.named_steps["features"].transform(docs).toarray()


def _dense(parts, width):
    indptr, indices, data = parts
    out = np.zeros((len(indptr) - 1, width))
    for r in range(len(indptr) - 1):
        out[r, indices[indptr[r]:indptr[r + 1]]] = data[indptr[r]:indptr[r + 1]]
    return out


def test_rows_and_probabilities_equal_the_pipeline(fitted):
    pipeline, scorer = fitted
    np.testing.assert_allclose(_dense(scorer.encode(TEXTS), scorer.n_features), _csr(pipeline, TEXTS), atol=1e-12)
    np.testing.assert_allclose(scorer.probabilities(TEXTS), pipeline.predict_proba(TEXTS), rtol=1e-10, atol=1e-12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=any_texts)
def test_rows_of_texts_and_their_evidence_sentences_equal_the_pipeline(fitted, texts):
    pipeline, scorer = fitted
    units = [sentence_spans(t) for t in texts]
    docs = [d for t, u in zip(texts, units) for d in (t, *(t[s:e] for s, e in u))]
    got = _dense(scorer.encode(docs), scorer.n_features)
    np.testing.assert_allclose(got, _csr(pipeline, docs), atol=1e-12)
    np.testing.assert_allclose(scorer.probabilities(texts), pipeline.predict_proba(texts), rtol=1e-10, atol=1e-12)


@given(st.text(max_size=60))
def test_accent_stripping_is_scikit_learns(text):
    from sklearn.feature_extraction.text import strip_accents_unicode as reference

    assert strip_accents_unicode(text) == reference(text)


def test_char_ngram_cache_is_bounded_by_what_it_holds():
    pipeline = tiny_pipeline("word+char")
    scorer = LinearScorer.from_pipeline(pipeline)
    counter = next(c for c in scorer._counters if isinstance(c, _CharWbGrams))
    huge = "ab" * 10_000   # one 20,000-character "word"
    np.testing.assert_allclose(scorer.probabilities([huge]), pipeline.predict_proba([huge]), rtol=1e-10)
    assert huge not in counter.cache and counter.cached_grams == 0
    counter.MAX_CACHED_GRAMS = 1_000   # a small budget on this instance, so it must be cleared many times
    rng = np.random.default_rng(0)
    for _ in range(300):   # many distinct words of the longest cached length
        counter.ids("".join(rng.choice(list("abcdefghij"), size=counter.MAX_CACHED_WORD)))
        assert counter.cached_grams <= counter.MAX_CACHED_GRAMS
    assert counter.cached_grams == sum(len(g) for g in counter.cache.values())


def test_unsupported_vectorizer_settings_are_refused():
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(stop_words=["zebra"], norm="l1").fit(["apple banana", "banana cherry"])
    with pytest.raises(ValueError, match="norm.*stop_words|stop_words.*norm"):
        TfidfFeatures.from_vectorizer(vec)


def test_the_bundle_pickles_no_scikit_learn_object():
    """Loading a model needs no scikit-learn, and an upgrade of it cannot break a saved model."""
    buffer = io.BytesIO()
    joblib.dump(tiny_bundle(), buffer)
    buffer.seek(0)
    raw = joblib.load(buffer)
    data = io.BytesIO()
    import pickle
    pickle.dump(raw, data)
    modules = {arg for op, arg, _ in pickletools.genops(data.getvalue())
               if op.name in ("GLOBAL", "STACK_GLOBAL", "SHORT_BINUNICODE", "BINUNICODE") and isinstance(arg, str)}
    assert not [m for m in modules if m.startswith("sklearn")]
    assert any(m.startswith("redflags.model.bundle") for m in modules)


def test_features_survive_a_pickle_round_trip_exactly():
    import pickle

    scorer = LinearScorer.from_pipeline(tiny_pipeline("word+char"))
    for features in scorer.features:
        back = pickle.loads(pickle.dumps(features))
        assert back.vocabulary == features.vocabulary and np.array_equal(back.idf, features.idf)
        assert (back.analyzer, back.ngram_range, back.token_pattern) == (features.analyzer, features.ngram_range,
                                                                         features.token_pattern)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=any_texts, min_words=st.sampled_from([0, 3, 40]))
def test_sentence_rows_are_the_pipeline_on_each_token_sentence(fitted, texts, min_words):
    """The batch encoder (one tokenisation) gives, per text, its row and, when split, one row per scoring
    sentence equal to scikit-learn on that sentence's tokens joined by spaces; counts agree with the
    reference definition."""
    from redflags.model.tfidf import token_sentences

    pipeline, scorer = fitted
    parts, sizes, n_sentences = scorer.encode_sentences(texts, min_words)
    docs, want_sizes, want_n = [], [], []
    for text in texts:
        sentences = token_sentences(scorer.features[0].preprocess(text))
        split = len(sentences) > 1 and len(text.split()) >= min_words
        docs += [text, *(" ".join(s) for s in sentences)] if split else [text]
        want_sizes.append(1 + len(sentences) if split else 1)
        want_n.append(max(1, len(sentences)))
    assert sizes.tolist() == want_sizes and n_sentences.tolist() == want_n
    np.testing.assert_allclose(_dense(parts, scorer.n_features), _csr(pipeline, docs), atol=1e-12)


def test_token_sentences_end_at_marks_and_cut_long_runs():
    from redflags.model.tfidf import token_sentences

    assert token_sentences("he laughed. then? ok fine!\nnext line…end") == [
        ["he", "laughed"], ["then"], ["ok", "fine"], ["next", "line"], ["end"]]
    long = " ".join(f"w{i:02d}" for i in range(31))
    assert [len(s) for s in token_sentences(long)] == [15, 15, 1]
    assert token_sentences("i. a. ...") == []
