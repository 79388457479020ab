"""The prediction core on a tiny model: the lean path, the contract rules, evidence offsets."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import dataclasses

from redflags.model.combine import combine
from redflags.model.inputs import MAX_TEXT_CHARS
from redflags.model.predict import Predictor
from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS
from tests.tiny import TINY, tiny_bundle

TEXTS = [t for t, _, _ in TINY] + [
    "",  # no features at all
    "Ünïcödé cafés — naïve façade…  and 🙂 emoji",
    "word " * 500,
    "He laughed at me. Then he asked my age! Then he asked for my bank details?\nOdd.",
]


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
    with pytest.raises(ValueError, match="from 0 to 1"):
        tiny_predictor.predict([text], thresholds={"scam": 1.5})


def test_no_flag_never_ends_the_interview():
    bundle = dataclasses.replace(tiny_bundle(), thresholds={c: 1.0 for c in CATEGORIES})  # nothing can be flagged
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
    from redflags.model.combine import Combiner, stack_features
    from redflags.model.tfidf import sigmoid as _sigmoid

    rng = np.random.default_rng(0)
    whole, best = rng.random((20, 9)), rng.random((20, 9))
    n = rng.integers(1, 30, 20).astype(float)
    coef, intercept = rng.normal(size=(9, 4)), rng.normal(size=9)
    got = Combiner("stack", coef, intercept)(whole, best, n)
    for k in range(9):
        np.testing.assert_allclose(got[:, k], _sigmoid(stack_features(whole, best, n, k) @ coef[k] + intercept[k]))




