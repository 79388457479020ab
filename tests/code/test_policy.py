"""The advice policy: its contract and its monotonicity hold for every input, not only the ones we picked."""
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from redflags.model.policy import (FLAGGED_ACTIONS, RANK, AdvicePolicy, OrdinalModel, contract_violations,
                                   fit_ordinal, policy_features)
from redflags.model.stage import infer_stage, resolve_stage
from redflags.model.taxonomy import CATEGORIES

N = len(CATEGORIES)
unit = st.floats(0.0, 1.0, allow_nan=False)
prob_vectors = arrays(np.float64, N, elements=unit)
thresholds = arrays(np.float64, N, elements=st.floats(0.05, 0.95, allow_nan=False))


@st.composite
def policies(draw):
    margin = draw(st.floats(0.0, 0.3, allow_nan=False))
    if draw(st.booleans()):
        return AdvicePolicy(margin, "severity")
    weights = draw(arrays(np.float64, 2 * N + 1, elements=st.floats(0.0, 5.0, allow_nan=False)))
    cuts = np.sort(draw(arrays(np.float64, len(FLAGGED_ACTIONS) - 1, elements=st.floats(-5, 20, allow_nan=False))))
    return AdvicePolicy(margin, "ordinal", OrdinalModel(weights, cuts))


@settings(max_examples=300, deadline=None)
@given(policies(), prob_vectors, thresholds, st.booleans())
def test_contract_holds_for_any_probabilities(policy, p, cut, open_to_other_roles):
    decision = policy.decide(p[None, :], cut, open_to_other_roles)[0]
    flags = p >= cut
    assert contract_violations([decision.action], flags[None, :]) == []
    assert 0.0 <= decision.confidence <= 1.0
    if decision.softened:
        assert open_to_other_roles and decision.action == "finish_then_withdraw"


@settings(max_examples=300, deadline=None)
@given(policies(), prob_vectors, thresholds, st.integers(0, N - 1), unit, st.booleans())
def test_raising_one_probability_never_softens_the_advice(policy, p, cut, k, new_value, open_to_other_roles):
    raised = p.copy()
    raised[k] = max(p[k], new_value)
    before, after = policy.decide(np.vstack([p, raised]), cut, open_to_other_roles)
    assert RANK[after.action] >= RANK[before.action]


# One case per branch of the policy (thresholds 0.5 everywhere; comments say which branch).
CUT = np.full(N, 0.5)


def _probs(**values):
    p = np.full(N, 0.01)
    for name, value in values.items():
        p[CATEGORIES.index(name)] = value
    return p


@pytest.mark.parametrize("probs, context, action, rule", [
    (_probs(), False, "continue", "no_flag"),                                              # nothing close
    (_probs(toxic_culture=0.45), False, "proceed_with_caution", "ambiguous"),               # within the margin
    (_probs(scam=0.9), True, "end_interview", "always_end"),                               # never softened
    (_probs(discrimination=0.6, disorganized_process=0.9), False, "end_interview", "always_end"),
    (_probs(disorganized_process=0.9), False, "proceed_with_caution", "severity"),          # severity 1
    (_probs(bait_and_switch=0.8), False, "finish_then_withdraw", "severity"),               # severity 2
    (_probs(disrespect=0.8), False, "end_interview", "severity"),                           # severity 3
    (_probs(disrespect=0.8), True, "finish_then_withdraw", "severity"),                     # softened
])
def test_each_branch(probs, context, action, rule):
    decision = AdvicePolicy(0.1, "severity").decide(probs[None, :], CUT, context)[0]
    assert (decision.action, decision.rule) == (action, rule)


def test_driver_names_the_flag_behind_the_action():
    decision = AdvicePolicy(0.0, "severity").decide(_probs(scam=0.7, harassment=0.95, toxic_culture=0.99)[None, :],
                                                    CUT)[0]
    assert decision.driver == "harassment"


def test_fit_ordinal_learns_an_order_with_non_negative_weights():
    rng = np.random.default_rng(0)
    probs = rng.random((400, N))
    flags = probs >= 0.5
    X = policy_features(probs, flags)
    severity = flags.sum(axis=1)
    y = np.clip(severity - 2, 0, 2)   # more flags, firmer action
    model = fit_ordinal(X, y, l2=1.0)
    assert (model.weights >= 0).all() and np.all(np.diff(model.cuts) >= 0)
    accuracy = (model.predict_index(X) == y).mean()
    assert accuracy > 0.8
    np.testing.assert_allclose(model.class_probabilities(X).sum(axis=1), 1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "neural"}, "unknown advice policy kind"),
    ({"kind": "ordinal"}, "needs its fitted model"),
    ({"kind": "ordinal", "ordinal": OrdinalModel(-np.ones(2 * N + 1), np.array([0.0, 1.0]))}, "non-negative"),
    ({"kind": "ordinal", "ordinal": OrdinalModel(np.ones(2 * N + 1), np.array([1.0, 0.0]))}, "increasing"),
    ({"margin": 1.5}, "margin"),
])
def test_a_broken_policy_is_refused_when_built(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AdvicePolicy(**kwargs)


@pytest.mark.parametrize("text, stage", [
    ("He insulted my resume and I never sent the thank-you note.", "after"),            # past-tense telling
    ("They asked how old I was, yesterday, at the second round.", "after"),
    ("I'm in the bathroom right now, they want me to pay for my own laptop.", "during"),  # a present cue wins
    ("They're asking for my bank details before the offer. Should I walk out?", "during"),
    ("Can an employer ask about my kids?", "during"),                                    # no telling at all
    ("I have an interview tomorrow and the recruiter only talks on Telegram.", "during"),
])
def test_stage_follows_the_text(text, stage):
    assert infer_stage(text) == stage


def test_a_requested_stage_wins_and_a_bad_one_is_refused():
    assert resolve_stage("He was rude yesterday.", "during") == "during"
    with pytest.raises(ValueError, match="stage must be one of"):
        resolve_stage("text", "before")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=5), st.booleans())
def test_predictions_keep_the_contract_on_random_texts(tiny_predictor, texts, open_to_other_roles):
    predictions = tiny_predictor.predict(texts, context={"open_to_other_roles": open_to_other_roles}, evidence=False)
    flags = np.array([[c in {f.category for f in p.red_flags} for c in CATEGORIES] for p in predictions])
    assert contract_violations([p.recommendation.action for p in predictions], flags) == []
    for p in predictions:
        assert p.recommendation.stage in {"during", "after"}
        if p.red_flags:
            assert p.red_flags[0].category in p.recommendation.rationale.lower().replace(" ", "_") or \
                p.recommendation.driver in {f.category for f in p.red_flags}


def _reference_decision(policy, p, cut, flags, idx, conf, open_to_other_roles):
    """The per-row rules as first written (one row at a time): the vectorised `decide` must agree."""
    from redflags.model.policy import _ALWAYS_END_MASK, _SEVERITY, Decision

    if not flags.any():
        near = np.flatnonzero(p >= cut - policy.margin) if policy.margin > 0 else np.zeros(0, dtype=int)
        if len(near):
            k = int(near[np.argmax(p[near] - cut[near])])
            return Decision("proceed_with_caution", float(p[k] / max(cut[k], 1e-9)), "ambiguous", CATEGORIES[k])
        return Decision("continue", float(1.0 - np.max(p / np.maximum(cut, 1e-9)).clip(0, 1)), "no_flag", None)
    severe = flags & _ALWAYS_END_MASK
    if severe.any():
        k = int(np.flatnonzero(severe)[np.argmax(p[severe])])
        return Decision("end_interview", float(p[k]), "always_end", CATEGORIES[k])
    action = FLAGGED_ACTIONS[idx]
    k = int(max(np.flatnonzero(flags), key=lambda j: (_SEVERITY[j], p[j])))
    if open_to_other_roles and action == "end_interview":
        return Decision("finish_then_withdraw", conf, policy.kind, CATEGORIES[k], softened=True)
    return Decision(action, conf, policy.kind, CATEGORIES[k])


@settings(max_examples=300, deadline=None)
@given(policies(), st.lists(prob_vectors, min_size=1, max_size=6), thresholds, st.lists(st.booleans(), min_size=6,
                                                                                        max_size=6))
@example(AdvicePolicy(0.0, "severity"), [np.array([0.0, 0.0, 0.0, 1.0 - 2 ** -53, 1.0, 0, 0, 0, 0])],
         np.full(N, 0.5), [False] * 6)   # two flags of one severity a rounding error apart (found by CI)
def test_vectorised_decisions_equal_the_row_by_row_rules(policy, rows, cut, soft):
    P = np.array(rows)
    soft = np.array(soft[: len(P)])
    flags = P >= cut[None, :]
    idx, conf = policy.flagged_index(P, flags)
    got = policy.decide(P, cut, soft)
    want = [_reference_decision(policy, P[i], cut, flags[i], int(idx[i]), float(conf[i]), bool(soft[i]))
            for i in range(len(P))]
    assert got == want
