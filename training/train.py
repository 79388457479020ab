"""Fit the red-flag model: split, cross-validated search, thresholds, advice policy, final fit.

Everything that is chosen (features, C, the sentence combination rule, thresholds, the advice
policy) is chosen by cross-validation on the training split; the held-out split is only evaluated.
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import sklearn
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold, MultilabelStratifiedShuffleSplit
from joblib import Parallel, delayed
from scipy.optimize import minimize
from sklearn.linear_model import Ridge
from sklearn.metrics import average_precision_score, f1_score
from sklearn.pipeline import Pipeline

from redflags import __version__
from redflags.config import TrainConfig
from redflags.model.bundle import ModelBundle
from redflags.model.combine import Combiner, apply_override, stack_features
from redflags.model.encoder import EncoderBlock
from redflags.model.pipeline import EmbeddingFeatures, build_classifier, build_features
from redflags.model.policy import (RANK, AdvicePolicy, choose_margin, fit_ordinal, learned_branch_target,
                                   policy_features)
from redflags.model.scoring import Embed, score_texts
from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS
from redflags.model.tfidf import LinearScorer, dense_part
from redflags.training.embeddings import EmbeddingCache

log = logging.getLogger(__name__)

ORDINAL_L2 = (0.1, 1.0, 10.0)
TEXT_SEVERITY_ALPHA = 1.0


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
    """Per category, the threshold with the best F1 (the lowest of equals); for floor categories only among
    those keeping recall. Every threshold of the grid at once: F1 and recall as scikit-learn computes them
    (2 tp / (true + predicted), tp / true; 0 where undefined), which a test holds equal to its metrics."""
    grid = np.round(np.arange(low, high + 1e-9, 0.01), 2)
    out = {}
    for k, category in enumerate(CATEGORIES):
        y = Y[:, k].astype(bool)
        predicted = P[:, k][:, None] >= grid[None, :]            # rows x thresholds
        tp = (predicted & y[:, None]).sum(axis=0).astype(float)
        true, denominator = float(y.sum()), y.sum() + predicted.sum(axis=0)
        f1 = np.where(denominator > 0, 2.0 * tp / np.maximum(denominator, 1), 0.0)
        floor = recall_floor if category in floor_categories else 0.0
        allowed = tp / true >= floor if true else np.ones(len(grid), dtype=bool)
        candidates = np.flatnonzero(allowed)
        # the floor out of reach even at the lowest threshold: the lowest
        out[category] = float(grid[candidates[np.argmax(f1[candidates])]]) if len(candidates) else float(low)
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


def fit_weighted(clf, X, Y: np.ndarray, sample_weight: np.ndarray | None = None):
    """`clf.fit(X, Y)`, with per-row weights when given (the user's extra labels weigh more than a corpus
    row). OneVsRestClassifier passes weights on only through scikit-learn's metadata routing."""
    if sample_weight is None:
        return clf.fit(X, Y)
    with sklearn.config_context(enable_metadata_routing=True):
        clf.estimator.set_fit_request(sample_weight=True)
        return clf.fit(X, Y, sample_weight=sample_weight)


def _fold_job(texts: np.ndarray, Y: np.ndarray, train_i: np.ndarray, val_i: np.ndarray, feat: str, nmax: int,
              min_df: int, classifiers: list[tuple[float, str]], seed: int, sample_weight: np.ndarray | None = None,
              encoder: EmbeddingFeatures | None = None):
    """Vectorize one fold once, then fit every classifier setting on it (the vectorizer is the slow part)."""
    union = build_features(feat, nmax, min_df, encoder)
    X_tr = union.fit_transform(texts[train_i])
    X_val = union.transform(texts[val_i])
    fitted = {}
    weights = None if sample_weight is None else sample_weight[train_i]
    for C, cw in classifiers:
        clf = fit_weighted(build_classifier(C, None if cw == "none" else cw, seed), X_tr, Y[train_i], weights)
        fitted[(C, cw)] = (clf, clf.predict_proba(X_val))
    return union, X_tr, X_val, fitted


def cross_validate(texts: list[str], Y: np.ndarray, fold_list, config: TrainConfig, n_jobs: int = 2,
                   progress=None, sample_weight: np.ndarray | None = None, encoder: EmbeddingFeatures | None = None):
    """Grid search by mean average precision; returns the best params and, for them, per fold the
    fitted pipeline (to score sentences out of fold) and the fold's (train, validation) TF-IDF matrices.
    `progress` (a training.progress.TrainingProgress; default silent) shows a bar over the fits. `encoder`
    (the encoder mode's block, its embeddings precomputed for `texts`) joins every fold's features."""
    from redflags.training.progress import TrainingProgress

    texts_arr = np.array(texts, dtype=object)
    feature_grid = _features_params(config)
    classifiers = list(itertools.product(config.grid.C, config.grid.class_weight))
    jobs = [(f, k) for f in feature_grid for k in range(len(fold_list))]
    done = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fold_job)(texts_arr, Y, fold_list[k][0], fold_list[k][1], *f, classifiers, config.seed, sample_weight,
                           encoder)
        for f, k in jobs)
    progress = progress or TrainingProgress(enabled=False)
    results = {}
    with progress.bar(len(jobs) * len(classifiers), "folds x candidates", " fits") as bar:
        for job, result in zip(jobs, done):  # in order, as each fold's fits finish
            results[job] = result
            bar.update(len(classifiers))
    table, fitted = [], {}
    for feat, nmax, min_df in feature_grid:
        per_fold = [results[((feat, nmax, min_df), k)] for k in range(len(fold_list))]
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
            fitted[tuple(params.values())] = (pipes, [(X_tr, X_val) for _, X_tr, X_val, _ in per_fold])
            log.info("cv %s -> mean AP %.4f", params, ap)
    best = max(table, key=lambda row: row["mean_average_precision"])
    params = {k: best[k] for k in ("features", "word_ngram_max", "min_df", "C", "class_weight")}
    pipes, matrices = fitted[tuple(params.values())]
    return SearchResult(params, best["mean_average_precision"], table), pipes, matrices


def out_of_fold_scores(texts: list[str], fold_list, pipes, embed: Embed | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold whole-text and best-sentence probabilities, each text's number of sentences, and
    whether it was scored sentence by sentence (`embed`: the encoder, for the encoder mode)."""
    n = len(texts)
    whole = np.zeros((n, len(CATEGORIES)))
    best = np.zeros((n, len(CATEGORIES)))
    n_sentences = np.ones(n)
    split = np.zeros(n, dtype=bool)
    for (_, val_i), pipe in zip(fold_list, pipes):
        scored = score_texts(LinearScorer.from_pipeline(pipe), [texts[i] for i in val_i], embed=embed)
        whole[val_i], best[val_i], n_sentences[val_i] = scored.whole, scored.best_sentence, scored.n_sentences
        split[val_i] = scored.split
    return whole, best, n_sentences, split


def fit_stacker(whole: np.ndarray, best: np.ndarray, n_sentences: np.ndarray, Y: np.ndarray,
                l2: float = 1.0) -> Combiner:
    """Per category, a logistic regression over `stack_features` (whole and best-sentence logits, length),
    with the best-sentence weights (alone and times length) held at or above zero: a more damning
    sentence can never lower the text's probability. Unconstrained, the fit learned negative weights
    from a corpus whose long texts dwell on their flag throughout, and so buried a flag told in one
    sentence of a long real letter. L-BFGS-B with bounds (scikit-learn's solvers take none)."""
    coef = np.zeros((Y.shape[1], 4))
    intercept = np.zeros(Y.shape[1])
    bounds = [(None, None), (0.0, None), (None, None), (0.0, None), (None, None)]
    for k in range(Y.shape[1]):
        F, y = stack_features(whole, best, n_sentences, k), Y[:, k].astype(float)

        def loss(w, F=F, y=y):
            z = F @ w[:4] + w[4]
            # log(1 + e^z) - y z, stable, plus the same L2 penalty as LogisticRegression(C=1/l2)
            return (np.logaddexp(0.0, z) - y * z).sum() + 0.5 * l2 * (w[:4] @ w[:4])

        w = minimize(loss, np.array([1.0, 0.1, 0.0, 0.0, 0.0]), method="L-BFGS-B", bounds=bounds).x
        coef[k], intercept[k] = w[:4], w[4]
    return Combiner("stack", coef, intercept)


def sentence_overrides(Y: np.ndarray, best: np.ndarray, split: np.ndarray,
                       precision: float = 0.9, min_hits: int = 10) -> np.ndarray:
    """Per category, the lowest best-sentence probability at which, among texts scored sentence by
    sentence (`split`, the population it is applied to), the category is right at least `precision`
    of the time (out-of-fold scores, at least `min_hits` texts); 1.01 (never) where none qualifies."""
    grid = np.round(np.arange(0.5, 0.991, 0.01), 2)
    out = np.full(Y.shape[1], 1.01)
    for k in range(Y.shape[1]):
        for t in grid:
            hits = (best[:, k] >= t) & split
            if hits.sum() >= min_hits and Y[hits, k].mean() >= precision:
                out[k] = t
                break
    return out


def choose_combination(Y, whole, best, n_sentences, split, fold_list, config: TrainConfig):
    """Pick the whole/sentence combination with the best out-of-fold macro F1 at its tuned thresholds.

    The learned "stack" rule is itself fitted out of fold here, so it is compared fairly.
    Returns (combiner fitted on all rows, thresholds, table, combined out-of-fold probabilities).
    """
    rows, choice = [], None
    for rule in config.combine.candidates:
        if rule == "stack":
            P = np.zeros(Y.shape)
            for train_i, val_i in fold_list:
                stacker = fit_stacker(whole[train_i], best[train_i], n_sentences[train_i], Y[train_i])
                P[val_i] = stacker(whole[val_i], best[val_i], n_sentences[val_i])
            combiner = fit_stacker(whole, best, n_sentences, Y)
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
    if not config.combine.sentence_override:
        return combiner, th, rows, P
    # The sentence override, kept unless it costs more macro F1 than the config allows.
    override = sentence_overrides(Y, best, split, precision=config.combine.override_precision)
    P_over = apply_override(P, best, override, split)  # P: the out-of-fold combined probabilities
    th_over = tune_thresholds(Y, P_over, config.thresholds.recall_floor, config.thresholds.floor_categories,
                              config.thresholds.min_threshold, config.thresholds.max_threshold)
    macro_over = float(f1_score(Y, apply_thresholds(P_over, th_over), average="macro", zero_division=0))
    rows.append({"rule": f"{combiner.rule}+sentence_override", "macro_f1": round(macro_over, 4),
                 "override": {c: float(t) for c, t in zip(CATEGORIES, override)}})
    if macro_over >= macro - config.combine.override_max_cost:
        combiner.override = override
        return combiner, th_over, rows, P_over
    return combiner, th, rows, P


def fit_text_severity(X, rec: np.ndarray, Y: np.ndarray, alpha: float = TEXT_SEVERITY_ALPHA) -> Ridge:
    """How grave the text sounds: a ridge regression of the action's rank on the TF-IDF row, fitted on
    rows with a red flag (the only rows where the policy reads it)."""
    rows = Y.any(axis=1)
    target = np.array([RANK[a] for a in rec], dtype=float)
    return Ridge(alpha=alpha).fit(X[rows], target[rows])


def choose_policy(P_oof: np.ndarray, thresholds: dict[str, float], rec: np.ndarray, Y: np.ndarray, fold_list,
                  matrices) -> tuple[AdvicePolicy, list[dict[str, Any]], np.ndarray]:
    """The advice policy with the best cross-validated accuracy on out-of-fold probabilities.

    The margin for "no flag but ambiguous" is chosen on the rows with no flag; the learned branch
    (a flag, none of discrimination/harassment/scam) compares the severity rule with ordinal models
    of several penalties, without and with the text severity score (itself out of fold), each fitted
    on the other folds' rows of that branch. Returns the policy (ordinal fitted on all rows, text
    severity still to be fitted by the caller), the table, and the out-of-fold text severity.
    """
    cut = np.array([thresholds[c] for c in CATEGORIES])
    margin, margin_rows = choose_margin(P_oof, cut, rec)
    flags = P_oof >= cut[None, :]
    severity_oof = np.zeros(len(rec))
    for (train_i, val_i), (X_tr, X_val) in zip(fold_list, matrices):
        severity_oof[val_i] = fit_text_severity(X_tr, rec[train_i], Y[train_i]).predict(X_val)
    y = learned_branch_target(rec)
    candidates = [("severity", None, False)] + [("ordinal", l2, text) for text in (False, True) for l2 in ORDINAL_L2]
    rows = []
    for kind, l2, text in candidates:
        X = policy_features(P_oof, flags, severity_oof if text else None)
        predicted = np.empty(len(rec), dtype=object)
        for train_i, val_i in fold_list:
            if kind == "ordinal":
                branch = train_i[flags[train_i].any(axis=1)]
                model = fit_ordinal(X[branch], y[branch], l2)
                policy = AdvicePolicy(margin, kind, model, np.zeros(1) if text else None)
            else:
                policy = AdvicePolicy(margin, kind)
            decisions = policy.decide(P_oof[val_i], cut, text_severity=severity_oof[val_i] if text else None)
            predicted[val_i] = [d.action for d in decisions]
        accuracy = float((predicted == rec).mean())
        rows.append({"policy": kind, "l2": l2, "text_severity": text, "cv_accuracy": round(accuracy, 4)})
        log.info("advice policy %s l2=%s text=%s -> cv accuracy %.4f", kind, l2, text, accuracy)
    best = max(rows, key=lambda r: r["cv_accuracy"])
    if best["policy"] == "ordinal":
        X = policy_features(P_oof, flags, severity_oof if best["text_severity"] else None)
        branch = flags.any(axis=1)
        policy = AdvicePolicy(margin, "ordinal", fit_ordinal(X[branch], y[branch], best["l2"]),
                              np.zeros(1) if best["text_severity"] else None)
    else:
        policy = AdvicePolicy(margin, "severity")
    return policy, rows + [{"margin_grid": margin_rows, "margin": margin}], severity_oof


def fit_final(texts: list[str], Y: np.ndarray, params: dict[str, Any], seed: int,
              sample_weight: np.ndarray | None = None, encoder: EmbeddingFeatures | None = None):
    """Fit the persisted Pipeline on all of (texts, Y); returns it and the training TF-IDF matrix."""
    union = build_features(params["features"], params["word_ngram_max"], params["min_df"], encoder)
    X = union.fit_transform(np.array(texts, dtype=object))
    cw = None if params["class_weight"] == "none" else params["class_weight"]
    clf = fit_weighted(build_classifier(params["C"], cw, seed), X, Y, sample_weight)
    return Pipeline([("features", union), ("clf", clf)]), X


def _encoder_block(pipeline: Pipeline) -> EncoderBlock | None:
    part = dense_part(pipeline)
    return EncoderBlock(weight=float(part.weight), dimension=int(part.dense_dim)) if part is not None else None


def fold_encoder_weight(coef: np.ndarray, pipeline: Pipeline) -> np.ndarray:
    """Weights fitted on the features' columns (the text severity's ridge), with the encoder block's weight
    folded in as `LinearScorer.from_pipeline` folds it, so they apply to unweighted embeddings."""
    block = _encoder_block(pipeline)
    coef = np.asarray(coef, dtype=float).copy()
    if block is not None:
        coef[len(coef) - block.dimension:] *= block.weight
    return coef


def training_code_sha256() -> str:
    """One digest of the code and config that make a model, so a model built by older code is known stale."""
    import hashlib
    from pathlib import Path

    from redflags.config import DEFAULT_TRAIN_CONFIG

    root = Path(__file__).resolve().parents[1]
    files = sorted([*(root / "model").glob("*.py"), *(root / "training").glob("*.py"), DEFAULT_TRAIN_CONFIG])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def make_bundle(pipeline: Pipeline, policy: AdvicePolicy, combiner: Combiner | str, thresholds: dict[str, float],
                corpus_sha256: str = "", extra: dict[str, Any] | None = None) -> ModelBundle:
    """The persisted model: the pipeline's TF-IDF features and coefficients exported as plain data, the
    whole/sentence combination, thresholds, advice policy and metadata."""
    combiner = Combiner(combiner) if isinstance(combiner, str) else combiner
    scorer = LinearScorer.from_pipeline(pipeline)
    block = _encoder_block(pipeline)
    now = datetime.now(timezone.utc)
    return ModelBundle(
        features=scorer.features, coef=scorer.coef, intercept=scorer.intercept, combiner=combiner,
        thresholds=dict(thresholds), policy=policy, encoder=block,
        metadata={
            "model_version": f"{__version__}+{corpus_sha256[:8] or 'adhoc'}.{now:%Y%m%d%H%M%S}",
            "trained_at": now.isoformat(timespec="seconds"),
            "corpus_sha256": corpus_sha256,
            "training_code_sha256": training_code_sha256(),
            "package_version": __version__,
            "trained_with_sklearn": sklearn.__version__,
            "python_version": platform.python_version(),
            "combine_rule": combiner.rule,
            **({"encoder": {"model_id": block.model_id, "weight": block.weight}} if block is not None else {}),
            "advice_policy": policy.kind,
            "thresholds": dict(thresholds),
            **(extra or {}),
        },
    )


def train_bundle(texts: list[str], Y: np.ndarray, rec: np.ndarray, config: TrainConfig,
                 corpus_sha256: str = "", progress=None, sample_weight: np.ndarray | None = None,
                 embed: EmbeddingCache | None = None) -> tuple[ModelBundle, dict[str, Any], Pipeline]:
    """Fit everything on (texts, Y, rec) and return (bundle, selection report, the fitted pipeline).
    `progress` (a training.progress.TrainingProgress; default silent) is told each step. `sample_weight`
    weighs the classifier fits (the user's extra rows); thresholds, combination and policy treat every row
    alike. With `config.encoder.enabled`, `embed` (default: a new `training.embeddings.EmbeddingCache`)
    encodes every text once, up front, for the encoder block."""
    from redflags.training.progress import TrainingProgress

    started = time.perf_counter()
    progress = progress or TrainingProgress(enabled=False)
    fold_list = folds(Y, rec, config.cv_folds, config.seed)
    fold_encoder = final_encoder = None
    if config.encoder.enabled:
        embed = embed if embed is not None else EmbeddingCache()
        progress.step("encode with the sentence encoder")
        with progress.bar(embed.missing(texts), "encode", " texts") as bar:
            embed(texts, progress=bar)
        fold_encoder = EmbeddingFeatures(embed.subset(texts), config.encoder.weight)
        final_encoder = EmbeddingFeatures(embed, config.encoder.weight)
    else:
        embed = None
    progress.step("cross-validate")
    search, pipes, matrices = cross_validate(texts, Y, fold_list, config, progress=progress,
                                             sample_weight=sample_weight, encoder=fold_encoder)
    progress.step("score sentences out of fold")
    whole, best, n_sentences, split = out_of_fold_scores(texts, fold_list, pipes, embed)
    progress.step("choose combination and thresholds")
    combiner, thresholds, combine_rows, P_oof = choose_combination(Y, whole, best, n_sentences, split, fold_list,
                                                                   config)
    rule = combiner.rule
    override_kept = combiner.override is not None
    progress.step("choose advice policy")
    policy, policy_rows, _ = choose_policy(P_oof, thresholds, rec, Y, fold_list, matrices)
    del matrices

    progress.step("fit final model")
    pipeline, X = fit_final(texts, Y, search.params, config.seed, sample_weight, final_encoder)
    if policy.reads_text:
        severity = fit_text_severity(X, rec, Y)
        policy = dataclasses.replace(policy, text_coef=fold_encoder_weight(severity.coef_, pipeline),
                                     text_intercept=float(severity.intercept_))
    selection = {
        "grid": search.table, "chosen": search.params, "cv_mean_average_precision": search.score,
        "combination": combine_rows, "combine_rule": rule, "override_kept": override_kept, "thresholds": thresholds,
        "advice_policy": policy_rows, "advice_policy_kind": policy.kind, "advice_margin": policy.margin,
        "cv_seconds": round(time.perf_counter() - started, 1),
    }
    bundle = make_bundle(pipeline, policy, combiner, thresholds, corpus_sha256,
                         {"n_train": len(texts), "params": search.params})
    return bundle, selection, pipeline
