"""Held-out evaluation of the model and of both baselines, in one run, with the same metrics."""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (accuracy_score, brier_score_loss, confusion_matrix, f1_score,
                             precision_recall_fscore_support)

from redflags.model.predict import Prediction
from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS
from redflags.training.baselines import keyword_actions, keyword_flags, majority_action, prior_probabilities


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Weighted mean gap between predicted probability and observed frequency over equal-width bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def score_system(Y: np.ndarray, flags: np.ndarray, P: np.ndarray, rec_true: np.ndarray, rec_pred: list[str]) -> dict[str, Any]:
    """Per-category P/R/F1/support, micro/macro F1, calibration, recommendation accuracy and confusion."""
    precision, recall, f1, support = precision_recall_fscore_support(Y, flags, zero_division=0)
    per_category = {
        c: {"precision": round(float(precision[k]), 4), "recall": round(float(recall[k]), 4),
            "f1": round(float(f1[k]), 4), "support": int(support[k]),
            "brier": round(float(brier_score_loss(Y[:, k], P[:, k])), 4),
            "ece": round(expected_calibration_error(Y[:, k], P[:, k]), 4)}
        for k, c in enumerate(CATEGORIES)
    }
    cm = confusion_matrix(rec_true, rec_pred, labels=list(RECOMMENDATIONS))
    return {
        "per_category": per_category,
        "micro_f1": round(float(f1_score(Y, flags, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(Y, flags, average="macro", zero_division=0)), 4),
        "recommendation_accuracy": round(float(accuracy_score(rec_true, rec_pred)), 4),
        "recommendation_confusion": {"labels": list(RECOMMENDATIONS), "matrix": cm.tolist()},
    }


def evaluate(predictions: list[Prediction], texts: list[str], Y: np.ndarray, rec: np.ndarray,
             Y_train: np.ndarray, rec_train: np.ndarray) -> dict[str, Any]:
    """Evaluate the model's predictions (made by the same predict() users call) and the two baselines
    on held-out data."""
    P = np.array([[p.scores[c] for c in CATEGORIES] for p in predictions])
    flags = np.array([[int(c in {f.category for f in p.red_flags}) for c in CATEGORIES] for p in predictions])
    model = score_system(Y, flags, P, rec, [p.recommendation.action for p in predictions])

    kw = keyword_flags(texts)
    keyword = score_system(Y, kw, kw.astype(float), rec, keyword_actions(kw))

    prior_P = prior_probabilities(Y_train, len(texts))
    prior_flags = (prior_P >= 0.5).astype(int)
    prior = score_system(Y, prior_flags, prior_P, rec, majority_action(rec_train, len(texts)))
    return {"n_test": len(texts), "model": model, "baselines": {"keyword_rules": keyword, "prior_majority": prior},
            "test_probabilities": P.tolist()}


def error_examples(predictions: list[Prediction], ids: list[str], Y: np.ndarray, rec: np.ndarray,
                   limit: int = 12) -> list[dict[str, Any]]:
    """The held-out rows the model gets most wrong (ids and label sets only: no text goes into reports)."""
    preds = predictions
    rows = []
    for rid, y, r, p in zip(ids, Y, rec, preds):
        truth = {c for k, c in enumerate(CATEGORIES) if y[k]}
        got = {f.category for f in p.red_flags}
        wrong = len(truth ^ got) + int(p.recommendation.action != r)
        if wrong:
            rows.append({"id": rid, "missed": sorted(truth - got), "extra": sorted(got - truth),
                         "recommendation": r, "predicted": p.recommendation.action, "errors": wrong})
    rows.sort(key=lambda row: -row["errors"])
    return rows[:limit]
