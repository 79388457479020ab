"""Held-out evaluation of the model and of both baselines, in one run, with the same metrics."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (accuracy_score, brier_score_loss, confusion_matrix, f1_score,
                             precision_recall_fscore_support)

from redflags.model.policy import contract_violations
from redflags.model.results import Prediction
from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS
from redflags.training.baselines import (TenLineBaseline, keyword_actions, keyword_flags, majority_action,
                                         prior_probabilities)

LENGTH_BANDS = (("under 40 words", 0, 40), ("40-150 words", 40, 151), ("over 150 words", 151, 10**9))


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
             Y_train: np.ndarray, rec_train: np.ndarray, train_texts: list[str] | None = None,
             seed: int = 0) -> dict[str, Any]:
    """Evaluate the model's predictions (made by the same predict() users call) and the baselines on
    held-out data: keyword rules, the prior, and (given `train_texts`) the ten-line TF-IDF script."""
    P = np.array([[p.scores[c] for c in CATEGORIES] for p in predictions]).reshape(len(predictions), len(CATEGORIES))
    flags = np.array([[int(c in {f.category for f in p.red_flags}) for c in CATEGORIES] for p in predictions],
                     dtype=int).reshape(len(predictions), len(CATEGORIES))
    actions = [p.recommendation.action for p in predictions]
    model = score_system(Y, flags, P, rec, actions)
    model["contract_violations"] = len(contract_violations(actions, flags))
    words = np.array([len(t.split()) for t in texts])
    model["by_length"] = {}
    for name, low, high in LENGTH_BANDS:
        band = (words >= low) & (words < high)
        if band.any():
            model["by_length"][name] = {
                "rows": int(band.sum()),
                "macro_f1": round(float(f1_score(Y[band], flags[band], average="macro", zero_division=0)), 4),
                "recommendation_accuracy": round(float(accuracy_score(rec[band], np.asarray(actions)[band])), 4)}

    kw = keyword_flags(texts)
    baselines = {"keyword_rules": score_system(Y, kw, kw.astype(float), rec, keyword_actions(kw))}
    prior_P = prior_probabilities(Y_train, len(texts))
    baselines["prior_majority"] = score_system(Y, (prior_P >= 0.5).astype(int), prior_P, rec,
                                               majority_action(rec_train, len(texts)))
    if train_texts is not None:
        ten_flags, ten_P, ten_actions = TenLineBaseline(train_texts, Y_train, rec_train, seed).predict(texts)
        baselines["ten_line_tfidf_lr"] = score_system(Y, ten_flags, ten_P, rec, ten_actions)
    return {"n_test": len(texts), "model": model, "baselines": baselines, "test_probabilities": P.tolist()}


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


def evaluate_labelled(predictor, path: str | Path, text_column: str = "text", train_data: str | Path | None = None,
                      config=None) -> dict[str, Any]:
    """Score a labelled CSV (the corpus format; extra columns allowed) with `predictor` and evaluate it
    beside the baselines. The prior and the ten-line baseline learn from the training split of
    `train_data` (the corpus the model was trained on) when it is given."""
    from redflags.config import TrainConfig
    from redflags.training.data import load_anecdotes
    from redflags.training.train import split

    labelled = load_anecdotes(path, text_column=text_column, extra_columns=True)
    texts, Y, rec = labelled.texts, labelled.Y, labelled.recommendations
    predictions = predictor.predict(texts, evidence=False)
    if train_data is not None:
        config = config or TrainConfig()
        corpus = load_anecdotes(train_data)
        train_idx, _ = split(corpus.Y, corpus.recommendations, config.test_size, config.seed)
        train_texts = [corpus.texts[i] for i in train_idx]
        Y_train, rec_train = corpus.Y[train_idx], corpus.recommendations[train_idx]
    else:
        train_texts, Y_train, rec_train = None, np.zeros((1, len(CATEGORIES))), np.array(["continue"])
    metrics = evaluate(predictions, texts, Y, rec, Y_train, rec_train, train_texts,
                       seed=config.seed if config else 0)
    if train_data is None:
        metrics["baselines"].pop("prior_majority")
    metrics["source"] = {"file": str(path), "sha256": labelled.sha256, "rows": len(labelled),
                         "model_version": predictor.version}
    metrics["worst_errors"] = error_examples(predictions, labelled.frame["id"].tolist(), Y, rec, limit=25)
    return metrics
