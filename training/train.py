"""Fit the red-flag model: split, cross-validated search, thresholds, recommender, final fit.

Everything that is chosen (features, C, the sentence combination rule, thresholds, the recommender's
inputs) is chosen by cross-validation on the training split; the held-out split is only evaluated.
"""
from __future__ import annotations

import itertools
import logging
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold, MultilabelStratifiedShuffleSplit
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score, recall_score
from sklearn.pipeline import Pipeline

from redflags import __version__
from redflags.config import TrainConfig
from redflags.model.pipeline import build_classifier, build_features, build_recommender
from redflags.model.predict import Combiner, LinearTextScorer, apply_override, score_texts, stack_features
from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS

log = logging.getLogger(__name__)

REC_MODES = ("probs", "tfidf", "both")
REC_C = (0.5, 2.0)


def stratification_matrix(Y: np.ndarray, recommendations: np.ndarray) -> np.ndarray:
    """Labels, a no-flag column and one-hot recommendations, so splits keep all three balanced."""
    rec = np.array([[r == a for a in RECOMMENDATIONS] for r in recommendations], dtype=int)
    none = (Y.sum(axis=1) == 0).astype(int)[:, None]
    return np.hstack([Y, none, rec])


def split(Y: np.ndarray, recommendations: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified (multi-label) train/test split."""
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    S = stratification_matrix(Y, recommendations)
    train_idx, test_idx = next(splitter.split(np.zeros(len(Y)), S))
    return np.sort(train_idx), np.sort(test_idx)


def folds(Y: np.ndarray, recommendations: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    kf = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(kf.split(np.zeros(len(Y)), stratification_matrix(Y, recommendations)))


def tune_thresholds(Y: np.ndarray, P: np.ndarray, recall_floor: float, floor_categories: tuple[str, ...],
                    low: float = 0.05, high: float = 0.95) -> dict[str, float]:
    """Per category, the threshold with the best F1; for floor categories only among those keeping recall."""
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
        if best_f1 < 0:  # the floor is out of reach even at the lowest threshold
            best_t = float(low)
        out[category] = best_t
    return out


def apply_thresholds(P: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    return (P >= np.array([thresholds[c] for c in CATEGORIES])).astype(int)


@dataclass
class SearchResult:
    params: dict[str, Any]
    score: float
    table: list[dict[str, Any]] = field(default_factory=list)


def _features_params(config: TrainConfig):
    g = config.grid
    return list(itertools.product(g.features, g.word_ngram_max, g.min_df))


def _fold_job(texts: np.ndarray, Y: np.ndarray, train_i: np.ndarray, val_i: np.ndarray, feat: str, nmax: int,
              min_df: int, classifiers: list[tuple[float, str]], seed: int):
    """Vectorize one fold once, then fit every classifier setting on it (the vectorizer is the slow part)."""
    union = build_features(feat, nmax, min_df)
    X_tr = union.fit_transform(texts[train_i])
    X_val = union.transform(texts[val_i])
    fitted = {}
    for C, cw in classifiers:
        clf = build_classifier(C, None if cw == "none" else cw, seed).fit(X_tr, Y[train_i])
        fitted[(C, cw)] = (clf, clf.predict_proba(X_val))
    return union, X_tr, X_val, fitted


def cross_validate(texts: list[str], Y: np.ndarray, fold_list, config: TrainConfig, n_jobs: int = 2):
    """Grid search by mean average precision; returns the best params and, for them, per fold the
    fitted pipeline (to score sentences out of fold) and the fold's TF-IDF matrices."""
    texts_arr = np.array(texts, dtype=object)
    feature_grid = _features_params(config)
    classifiers = list(itertools.product(config.grid.C, config.grid.class_weight))
    jobs = [(f, k) for f in feature_grid for k in range(len(fold_list))]
    done = Parallel(n_jobs=n_jobs)(
        delayed(_fold_job)(texts_arr, Y, fold_list[k][0], fold_list[k][1], *f, classifiers, config.seed)
        for f, k in jobs)
    results = dict(zip(jobs, done))
    table, fitted = [], {}
    for feat, nmax, min_df in feature_grid:
        per_fold = [results[((feat, nmax, min_df), k)] for k in range(len(fold_list))]
        matrices = [(union, X_tr, X_val) for union, X_tr, X_val, _ in per_fold]
        for C, cw in classifiers:
            oof = np.zeros(Y.shape)
            pipes = []
            for (_, val_i), (union, _, _, models) in zip(fold_list, per_fold):
                clf, proba = models[(C, cw)]
                oof[val_i] = proba
                pipes.append(Pipeline([("features", union), ("clf", clf)]))
            ap = float(np.mean([average_precision_score(Y[:, k], oof[:, k]) for k in range(Y.shape[1])]))
            params = {"features": feat, "word_ngram_max": nmax, "min_df": min_df, "C": C, "class_weight": cw}
            table.append({**params, "mean_average_precision": round(ap, 4)})
            fitted[tuple(params.values())] = (pipes, matrices)
            log.info("cv %s -> mean AP %.4f", params, ap)
    best = max(table, key=lambda row: row["mean_average_precision"])
    params = {k: best[k] for k in ("features", "word_ngram_max", "min_df", "C", "class_weight")}
    pipes, matrices = fitted[tuple(params.values())]
    return SearchResult(params, best["mean_average_precision"], table), pipes, matrices


def out_of_fold_scores(texts: list[str], fold_list, pipes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold whole-text and best-sentence probabilities, and each text's number of sentences."""
    n = len(texts)
    whole = np.zeros((n, len(CATEGORIES)))
    best = np.zeros((n, len(CATEGORIES)))
    n_sentences = np.ones(n)
    for (_, val_i), pipe in zip(fold_list, pipes):
        scored = score_texts(LinearTextScorer(pipe), [texts[i] for i in val_i])
        whole[val_i], best[val_i], n_sentences[val_i] = scored.whole, scored.best_sentence, scored.n_sentences
    return whole, best, n_sentences


def fit_stacker(whole: np.ndarray, best: np.ndarray, n_sentences: np.ndarray, Y: np.ndarray,
                seed: int) -> Combiner:
    """Per category, a logistic regression over `stack_features` (whole and best-sentence logits, length)."""
    coef = np.zeros((Y.shape[1], 4))
    intercept = np.zeros(Y.shape[1])
    for k in range(Y.shape[1]):
        model = LogisticRegression(C=1.0, max_iter=1000, random_state=seed)
        model.fit(stack_features(whole, best, n_sentences, k), Y[:, k])
        coef[k], intercept[k] = model.coef_[0], model.intercept_[0]
    return Combiner("stack", coef, intercept)


def sentence_overrides(Y: np.ndarray, best: np.ndarray, n_sentences: np.ndarray,
                       precision: float = 0.9, min_hits: int = 10) -> np.ndarray:
    """Per category, the lowest best-sentence probability at which, among texts of more than one
    sentence, the category is right at least `precision` of the time (out-of-fold scores, at least
    `min_hits` texts); 1.01 (never) where no threshold qualifies."""
    grid = np.round(np.arange(0.5, 0.991, 0.01), 2)
    out = np.full(Y.shape[1], 1.01)
    for k in range(Y.shape[1]):
        for t in grid:
            hits = (best[:, k] >= t) & (n_sentences > 1)
            if hits.sum() >= min_hits and Y[hits, k].mean() >= precision:
                out[k] = t
                break
    return out


def choose_combination(Y, whole, best, n_sentences, fold_list, config: TrainConfig):
    """Pick the whole/sentence combination with the best out-of-fold macro F1 at its tuned thresholds.

    The learned "stack" rule is itself fitted out of fold here, so it is compared fairly.
    Returns (combiner fitted on all rows, thresholds, table, combined out-of-fold probabilities).
    """
    rows, choice = [], None
    for rule in config.combine.candidates:
        if rule == "stack":
            P = np.zeros(Y.shape)
            for train_i, val_i in fold_list:
                stacker = fit_stacker(whole[train_i], best[train_i], n_sentences[train_i], Y[train_i], config.seed)
                P[val_i] = stacker(whole[val_i], best[val_i], n_sentences[val_i])
            combiner = fit_stacker(whole, best, n_sentences, Y, config.seed)
        else:
            combiner = Combiner(rule)
            P = combiner(whole, best, n_sentences)
        th = tune_thresholds(Y, P, config.thresholds.recall_floor, config.thresholds.floor_categories,
                             config.thresholds.min_threshold, config.thresholds.max_threshold)
        macro = float(f1_score(Y, apply_thresholds(P, th), average="macro", zero_division=0))
        rows.append({"rule": rule, "macro_f1": round(macro, 4)})
        if choice is None or macro > choice[1] + 1e-9:
            choice = (combiner, macro, th, P)
    combiner, macro, th, P = choice
    # The sentence override, kept unless it costs more macro F1 than the config allows.
    override = sentence_overrides(Y, best, n_sentences, precision=config.combine.override_precision)
    P_over = apply_override(P, best, override)  # P: the out-of-fold combined probabilities
    th_over = tune_thresholds(Y, P_over, config.thresholds.recall_floor, config.thresholds.floor_categories,
                              config.thresholds.min_threshold, config.thresholds.max_threshold)
    macro_over = float(f1_score(Y, apply_thresholds(P_over, th_over), average="macro", zero_division=0))
    rows.append({"rule": f"{combiner.rule}+sentence_override", "macro_f1": round(macro_over, 4),
                 "override": {c: float(t) for c, t in zip(CATEGORIES, override)}})
    if macro_over >= macro - config.combine.override_max_cost:
        combiner.override = override
        return combiner, th_over, rows, P_over
    return combiner, th, rows, P


def _rec_design(mode: str, X, P: np.ndarray):
    if mode == "probs":
        return P
    if mode == "tfidf":
        return X
    return sp.hstack([X, sp.csr_matrix(P)]).tocsr()


def choose_recommender(rec: np.ndarray, fold_list, matrices, P_oof: np.ndarray, seed: int):
    """Cross-validated accuracy of the recommender on category probabilities, on TF-IDF, or on both."""
    rows = []
    for mode, C in itertools.product(REC_MODES, REC_C):
        correct = 0
        for (train_i, val_i), (_, X_tr, X_val) in zip(fold_list, matrices):
            model = build_recommender(C, seed).fit(_rec_design(mode, X_tr, P_oof[train_i]), rec[train_i])
            correct += int((model.predict(_rec_design(mode, X_val, P_oof[val_i])) == rec[val_i]).sum())
        rows.append({"inputs": mode, "C": C, "accuracy": round(correct / len(rec), 4)})
    best = max(rows, key=lambda r: r["accuracy"])
    return best["inputs"], best["C"], rows


def fit_final(texts: list[str], Y: np.ndarray, rec: np.ndarray, params: dict[str, Any], rec_mode: str,
              rec_C: float, P_for_rec: np.ndarray, seed: int) -> tuple[Pipeline, Any]:
    """Fit the persisted Pipeline and the recommender on all of (texts, Y, rec).

    `P_for_rec` are out-of-fold category probabilities: the recommender must learn from probabilities
    like those it will see on new texts, not from the in-sample ones of the final fit.
    """
    union = build_features(params["features"], params["word_ngram_max"], params["min_df"])
    X = union.fit_transform(np.array(texts, dtype=object))
    cw = None if params["class_weight"] == "none" else params["class_weight"]
    clf = build_classifier(params["C"], cw, seed).fit(X, Y)
    recommender = build_recommender(rec_C, seed).fit(_rec_design(rec_mode, X, P_for_rec), rec)
    return Pipeline([("features", union), ("clf", clf)]), recommender


def make_bundle(pipeline: Pipeline, recommender, rec_mode: str, rule: str, thresholds: dict[str, float],
                corpus_sha256: str = "", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The persisted object: the fitted pipeline, recommender, decision settings and metadata."""
    now = datetime.now(timezone.utc)
    return {
        "pipeline": pipeline,
        "recommender": recommender,
        "rec_features": rec_mode,
        "combine": rule,
        "thresholds": dict(thresholds),
        "metadata": {
            "model_version": f"{__version__}+{corpus_sha256[:8] or 'adhoc'}.{now:%Y%m%d%H%M%S}",
            "trained_at": now.isoformat(timespec="seconds"),
            "corpus_sha256": corpus_sha256,
            "package_version": __version__,
            "sklearn_version": sklearn.__version__,
            "python_version": platform.python_version(),
            "combine_rule": rule,
            "recommender_inputs": rec_mode,
            "thresholds": dict(thresholds),
            **(extra or {}),
        },
    }


def train_bundle(texts: list[str], Y: np.ndarray, rec: np.ndarray, config: TrainConfig,
                 corpus_sha256: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit everything on (texts, Y, rec) and return (bundle, selection report)."""
    started = time.perf_counter()
    fold_list = folds(Y, rec, config.cv_folds, config.seed)
    search, pipes, matrices = cross_validate(texts, Y, fold_list, config)
    whole, best, n_sentences = out_of_fold_scores(texts, fold_list, pipes)
    combiner, thresholds, combine_rows, P_oof = choose_combination(Y, whole, best, n_sentences, fold_list, config)
    rule = combiner.rule
    override_kept = combiner.override is not None
    rec_mode, rec_C, rec_rows = choose_recommender(rec, fold_list, matrices, P_oof, config.seed)

    pipeline, recommender = fit_final(texts, Y, rec, search.params, rec_mode, rec_C, P_oof, config.seed)
    selection = {
        "grid": search.table, "chosen": search.params, "cv_mean_average_precision": search.score,
        "combination": combine_rows, "combine_rule": rule, "override_kept": override_kept, "thresholds": thresholds,
        "recommender": rec_rows, "recommender_inputs": rec_mode, "recommender_C": rec_C,
        "cv_seconds": round(time.perf_counter() - started, 1),
    }
    bundle = make_bundle(pipeline, recommender, rec_mode, rule, thresholds, corpus_sha256,
                         {"n_train": len(texts), "params": search.params})
    bundle["combiner"] = {"coef": combiner.coef, "intercept": combiner.intercept, "override": combiner.override}
    return bundle, selection
