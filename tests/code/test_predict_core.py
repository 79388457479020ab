"""The prediction core on a tiny model: the lean path, the contract rules, evidence offsets."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from redflags.config import MAX_TEXT_CHARS
from redflags.model.predict import Predictor, combine
from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS
from tests.tiny import TINY, tiny_bundle

TEXTS = [t for t, _, _ in TINY] + [
    "",  # no features at all
    "Ünïcödé cafés — naïve façade…  and 🙂 emoji",
    "word " * 500,
    "He laughed at me. Then he asked my age! Then he asked for my bank details?\nOdd.",
]


def test_lean_path_equals_pipeline_probabilities(tiny_predictor):
    expected = tiny_predictor.pipeline.predict_proba(TEXTS)
    got = tiny_predictor.scorer.probabilities(TEXTS)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_clear_training_cases_come_back(tiny_predictor):
    for text, labels, _ in TINY:
        got = {f.category for f in tiny_predictor.predict([text])[0].red_flags}
        assert got == set(labels), text


def test_prediction_shape_and_evidence_offsets(tiny_predictor):
    text = "We had a nice chat. Then he laughed at my answers and kept checking his phone. Odd day."
    p = tiny_predictor.predict([text])[0]
    assert set(p.scores) == set(CATEGORIES)
    assert p.recommendation.action in RECOMMENDATIONS
    assert p.flagged and p.red_flags[0].category == "disrespect"
    ev = p.red_flags[0].evidence
    assert 1 <= len(ev) <= 3
    for e in ev:
        assert text[e.start:e.end] == e.text
    assert "laughed" in ev[0].text or "phone" in ev[0].text   # a rude clause, not the nice chat
    assert all("nice chat" not in e.text for e in ev[:1])


def test_order_and_empty_batch(tiny_predictor):
    texts = [t for t, _, _ in TINY]
    one_by_one = [[tiny_predictor.predict([t])[0].scores[c] for c in CATEGORIES] for t in texts]
    together = [[p.scores[c] for c in CATEGORIES] for p in tiny_predictor.predict(texts)]
    np.testing.assert_allclose(one_by_one, together, rtol=1e-12)
    assert tiny_predictor.predict([]) == []
    with pytest.raises(TypeError):
        tiny_predictor.predict("a single string")


def test_context_softens_end_interview_but_not_for_severe_flags(tiny_predictor):
    rude = "The manager mocked my degree and rolled his eyes at every answer."
    assert tiny_predictor.predict([rude])[0].recommendation.action == "end_interview"
    softened = tiny_predictor.predict([rude], context={"open_to_other_roles": True})[0].recommendation
    assert softened.action == "finish_then_withdraw" and "another role" in softened.rationale
    scam = "They asked me to pay for a training kit and send my bank details by chat."
    assert tiny_predictor.predict([scam], context={"open_to_other_roles": True})[0].recommendation.action == "end_interview"


def test_threshold_override(tiny_predictor):
    text = "A friendly panel, clear questions, and they told me the next steps."
    assert not tiny_predictor.predict([text])[0].flagged
    forced = tiny_predictor.predict([text], thresholds={"scam": 0.0})[0]
    assert [f.category for f in forced.red_flags] == ["scam"]
    with pytest.raises(ValueError, match="unknown category"):
        tiny_predictor.predict([text], thresholds={"rudeness": 0.2})
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        tiny_predictor.predict([text], thresholds={"scam": 1.5})


def test_no_flag_never_ends_the_interview():
    bundle = tiny_bundle()
    bundle["thresholds"] = {c: 1.0 for c in CATEGORIES}  # nothing can be flagged
    predictor = Predictor(bundle)
    for text, _, _ in TINY:
        assert predictor.predict([text])[0].recommendation.action != "end_interview"


@pytest.mark.parametrize("rule, expected", [("whole", [0.2, 0.9]), ("max", [0.5, 0.9]), ("blend", [0.35, 0.9])])
def test_combine_rules(rule, expected):
    whole, best = np.array([[0.2, 0.9]]), np.array([[0.5, 0.1]])
    np.testing.assert_allclose(combine(whole, best, rule)[0], expected)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=MAX_TEXT_CHARS // 20) | st.text(alphabet=st.characters(), min_size=1, max_size=300))
def test_any_unicode_text_gives_a_valid_prediction(tiny_predictor, text):
    p = tiny_predictor.predict([text])[0]
    assert all(0.0 <= v <= 1.0 for v in p.scores.values())
    assert p.recommendation.action in RECOMMENDATIONS
    assert 0.0 <= p.recommendation.confidence <= 1.0
    for flag in p.red_flags:
        for e in flag.evidence:
            assert 0 <= e.start < e.end <= len(text)
            assert text[e.start:e.end] == e.text


def test_to_dict_matches_dataclasses_asdict(tiny_predictor):
    from dataclasses import asdict

    p = tiny_predictor.predict(["He laughed at my answers. Then he checked his phone."])[0]
    assert p.to_dict() == asdict(p)


def test_stack_combiner_vectorised_equals_per_category_features():
    from redflags.model.predict import Combiner, _sigmoid, stack_features

    rng = np.random.default_rng(0)
    whole, best = rng.random((20, 9)), rng.random((20, 9))
    n = rng.integers(1, 30, 20).astype(float)
    coef, intercept = rng.normal(size=(9, 4)), rng.normal(size=9)
    got = Combiner("stack", coef, intercept)(whole, best, n)
    for k in range(9):
        np.testing.assert_allclose(got[:, k], _sigmoid(stack_features(whole, best, n, k) @ coef[k] + intercept[k]))




def test_char_ngram_cache_is_bounded_by_what_it_holds(tiny_predictor):
    from redflags.model.predict import _CharWbCounter

    counter = next(c for c, *_ in tiny_predictor.scorer.parts if isinstance(c, _CharWbCounter))
    counter.cache.clear()
    counter.cached_grams = 0
    huge = "ab" * 10_000   # one 20,000-character "word"
    expected = tiny_predictor.pipeline.predict_proba([huge])
    np.testing.assert_allclose(tiny_predictor.scorer.probabilities([huge]), expected, rtol=1e-10)
    assert huge not in counter.cache and counter.cached_grams == 0
    counter.MAX_CACHED_GRAMS = 1_000   # a small budget on this instance, so it must be cleared many times
    rng = np.random.default_rng(0)
    for _ in range(300):   # many distinct words of the longest cached length
        counter("".join(rng.choice(list("abcdefghij"), size=counter.MAX_CACHED_WORD)))
        assert counter.cached_grams <= counter.MAX_CACHED_GRAMS
    assert counter.cached_grams == sum(len(g) for g in counter.cache.values())
    del counter.MAX_CACHED_GRAMS


@pytest.fixture(scope="module")
def word_scorer():
    """A word-n-gram model (the shipped features), whose sentences are counted from one tokenisation."""
    from redflags.model.predict import LinearTextScorer
    from redflags.training.data import label_matrix
    from redflags.training.train import fit_final

    texts = [t for t, _, _ in TINY]
    params = {"features": "word", "word_ngram_max": 2, "min_df": 1, "C": 20.0, "class_weight": "balanced"}
    pipeline, _ = fit_final(texts, label_matrix([labels for _, labels, _ in TINY]), params, seed=0)
    scorer = LinearTextScorer(pipeline)
    assert scorer._word_units is not None
    return pipeline, scorer


UNIT_TEXTS = TEXTS + [
    "He laughed at me. Then he asked my age! Then he asked for my bank details? Odd, very odd, truly odd.",
    "Caf\u00e9 owner: \u201cwe\u2019re a family\u201d. I said no\u2026 He mocked my degree; unpaid trial shift, eight hours.",
    "\u0130stanbul office. The \u0392\u039f\u03a3. Next sentence\u0301 here. \ufb01ne print, decide today.",
    "e.g. 3.5 hours late. U.S.A. based. don't won't can't. word_with_underscore. end",
]


def _spans(text):
    from redflags.model.sentences import sentence_spans

    return sentence_spans(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=120) | st.sampled_from(UNIT_TEXTS),
                min_size=1, max_size=4))
def test_sentence_rows_from_one_tokenisation_equal_the_pipeline(word_scorer, texts):
    pipeline, scorer = word_scorer
    units = [_spans(t) for t in texts]
    docs = [d for t, u in zip(texts, units) for d in (t, *(t[s:e] for s, e in u))]
    indptr, indices, data = scorer.encode_units(texts, units)
    got = 1 / (1 + np.exp(-(scorer.linear(indptr, indices, data, scorer.coef) + scorer.intercept)))
    np.testing.assert_allclose(got, pipeline.predict_proba(docs), rtol=1e-10, atol=1e-12)


def test_the_one_tokenisation_path_is_taken_for_ordinary_text(word_scorer, monkeypatch):
    """Guard against the fast path silently never running (equality would still hold)."""
    _, scorer = word_scorer
    calls = []
    monkeypatch.setattr(scorer._word_units, "analyze", lambda doc: calls.append(doc) or {})
    text = UNIT_TEXTS[-4]
    counts = scorer._word_units.counts(text, _spans(text))
    assert len(counts) == len(_spans(text)) + 1 and not calls
    scorer._word_units.counts(UNIT_TEXTS[-2], _spans(UNIT_TEXTS[-2]))   # length-changing case folding: per span
    assert calls
