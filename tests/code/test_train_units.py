"""Training helpers on tiny in-memory data: split, thresholds, baselines, calibration error."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redflags.model.taxonomy import CATEGORIES
from redflags.training.baselines import keyword_actions, keyword_flags
from redflags.training.evaluate import expected_calibration_error
from redflags.training.train import split, tune_thresholds


def test_split_is_stratified_disjoint_and_reproducible():
    rng = np.random.default_rng(0)
    Y = (rng.random((400, len(CATEGORIES))) < 0.15).astype(int)
    rec = np.array(["continue", "end_interview"] * 200)
    a = split(Y, rec, 0.25, seed=1)
    b = split(Y, rec, 0.25, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    train, test = a
    assert not set(train) & set(test) and len(train) + len(test) == 400
    assert abs(len(test) - 100) <= 2
    # every category keeps roughly its share in the held-out part
    assert np.all(np.abs(Y[test].mean(0) - Y.mean(0)) < 0.05)


def test_thresholds_maximise_f1_and_keep_the_recall_floor():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.5, 0.4, 0.3, 0.1, 0.1])
    Y = np.tile(y[:, None], (1, len(CATEGORIES)))
    P = np.tile(p[:, None], (1, len(CATEGORIES)))
    th = tune_thresholds(Y, P, recall_floor=1.0, floor_categories=("scam",))
    assert 0.6 < th["disrespect"] <= 0.7      # best F1: catch 3 of 4, no false positive
    assert th["scam"] <= 0.2                   # the floor forces every positive to be caught


def _thresholds_by_sklearn_metrics(Y, P, recall_floor, floor_categories, low=0.05, high=0.95):
    """The reference: one threshold at a time through scikit-learn's f1_score and recall_score."""
    from sklearn.metrics import f1_score, recall_score

    grid = np.round(np.arange(low, high + 1e-9, 0.01), 2)
    out = {}
    for k, category in enumerate(CATEGORIES):
        y, p = Y[:, k], P[:, k]
        best_t, best_f1 = 0.5, -1.0
        floor = recall_floor if category in floor_categories else 0.0
        for t in grid:
            pred = p >= t
            if y.sum() and recall_score(y, pred, zero_division=0) < floor:
                continue
            f1 = f1_score(y, pred, zero_division=0)
            if f1 > best_f1:
                best_t, best_f1 = float(t), f1
        out[category] = best_t if best_f1 >= 0 else float(low)
    return out


@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.sampled_from([0.0, 0.5, 0.85, 1.0]),
       st.booleans())
@settings(max_examples=15, deadline=None)
def test_thresholds_equal_scikit_learns_metrics(seed, n, floor, rounded):
    """The grid computed at once equals the threshold-by-threshold search with scikit-learn's metrics, ties,
    empty categories and unreachable floors included (rounded probabilities make ties on the grid). A narrow
    grid (0.40-0.60) over probabilities around it keeps the reference's thousands of metric calls quick."""
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, len(CATEGORIES))) < rng.random(len(CATEGORIES))).astype(int)
    P = rng.uniform(0.3, 0.7, (n, len(CATEGORIES)))
    if rounded:
        P = np.round(P, 2)
    floors = ("discrimination", "harassment", "scam")
    assert (tune_thresholds(Y, P, floor, floors, 0.4, 0.6)
            == _thresholds_by_sklearn_metrics(Y, P, floor, floors, 0.4, 0.6))


@pytest.mark.parametrize("text, category", [
    ("He kept interrupting me", "disrespect"),
    ("They want me to pay for training", "scam"),
])
def test_keyword_baseline(text, category):
    flags = keyword_flags([text])
    assert flags[0, CATEGORIES.index(category)] == 1
    assert keyword_actions(flags)[0] in {"end_interview", "finish_then_withdraw", "proceed_with_caution"}
    assert keyword_actions(np.zeros((1, len(CATEGORIES)), dtype=int)) == ["continue"]


def test_ece_is_zero_when_calibrated_and_large_when_not():
    y = np.array([0, 1] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, y.astype(float)) == pytest.approx(0.0)
    assert expected_calibration_error(y, 1.0 - y) == pytest.approx(1.0)


def test_sentence_override_threshold_keeps_precision():
    from redflags.training.train import sentence_overrides

    rng = np.random.default_rng(1)
    n = 400
    Y = np.zeros((n, len(CATEGORIES)), dtype=int)
    Y[:100, 0] = 1
    best = rng.random((n, len(CATEGORIES))) * 0.6          # nothing confident ...
    best[:100, 0] = 0.95                                    # ... except true positives of category 0
    best[100:105, 0] = 0.97                                 # and a few confident mistakes
    over = sentence_overrides(Y, best, np.ones(n, dtype=bool), precision=0.9)
    assert 0.5 <= over[0] <= 0.95
    assert np.all(over[1:] == 1.01)


def test_sentence_override_is_tuned_and_applied_on_split_texts_only():
    """Unsplit texts' "best sentence" is the text itself; the override must not count or touch them."""
    from redflags.model.combine import apply_override
    from redflags.training.train import sentence_overrides

    n = 200
    Y = np.zeros((n, len(CATEGORIES)), dtype=int)
    best = np.full((n, len(CATEGORIES)), 0.1)
    split = np.arange(n) < 100
    Y[:50, 0] = 1
    best[:50, 0] = 0.9          # split texts: a confident sentence is always right
    best[100:, 0] = 0.9         # unsplit texts: just as confident, always wrong
    over = sentence_overrides(Y, best, split, precision=0.9)
    assert over[0] <= 0.9        # qualifies on its own population; counting the unsplit would sink it
    combined = np.full((n, len(CATEGORIES)), 0.2)
    applied = apply_override(combined, best, over, split)
    assert np.all(applied[:50, 0] == 0.9) and np.all(applied[100:, 0] == 0.2)


def test_stacker_never_lets_a_worse_sentence_lower_the_probability():
    """Even on data where the best sentence is anti-correlated with the label, its weight stays >= 0."""
    from redflags.training.train import fit_stacker

    rng = np.random.default_rng(3)
    n = 600
    Y = (rng.random((n, len(CATEGORIES))) < 0.3).astype(int)
    whole = np.clip(Y * 0.6 + rng.random(Y.shape) * 0.4, 0.01, 0.99)
    best = np.clip(1.0 - Y * 0.5 - rng.random(Y.shape) * 0.4, 0.01, 0.99)   # misleading on purpose
    sentences = rng.integers(1, 30, n).astype(float)
    combiner = fit_stacker(whole, best, sentences, Y)
    assert (combiner.coef[:, 1] >= 0).all() and (combiner.coef[:, 3] >= 0).all()
    grid = np.linspace(0.01, 0.99, 50)
    for k in range(len(CATEGORIES)):
        w = np.full((50, len(CATEGORIES)), 0.3)
        b = np.tile(grid[:, None], (1, len(CATEGORIES)))
        out = combiner(w, b, np.full(50, 12.0))[:, k]
        assert np.all(np.diff(out) >= -1e-12)
