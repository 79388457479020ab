"""`redflags train`: load, split, fit, evaluate on held-out data, write the artifact and the reports."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from redflags.config import TrainConfig
from redflags.model.artifact import save_bundle
from redflags.model.predict import Predictor
from redflags.training.data import load_anecdotes
from redflags.training.extra import aside_figures, extra_section, extra_summary, load_extra
from redflags.training.baselines import text_recommender_accuracy
from redflags.training.evaluate import error_examples, evaluate, evaluate_labelled
from redflags.training.progress import TrainingProgress
from redflags.training.report import headline_table, write_reports
from redflags.training.train import split, train_bundle


def run_training(data: Path, model_path: Path, reports: Path, config: TrainConfig, echo=print,
                 dev: Path | None = None, progress: TrainingProgress | None = None, extra: Path | None = None,
                 extra_weight: float | None = None) -> dict[str, Any]:
    """Train on the training split, evaluate on the held-out split (and, if given, on the labelled
    real-account set `dev`, which is only ever scored), save everything; return the metrics.
    `progress` (default: silent) prints the steps and the time left to standard error.

    `extra`: the user's labelled rows (training/extra.py), added to the training split at `extra_weight`
    (None: automatic) except a part kept aside, on which the model at `model_path` before and the new one
    after are scored."""
    started = time.perf_counter()
    progress = progress or TrainingProgress(enabled=False)
    if dev is None or not dev.is_file():
        progress.skip("evaluate real-account dev set")
    embed = None
    if config.encoder.enabled:   # every text is encoded once, kept beside the model for the next run
        from redflags.training.embeddings import EmbeddingCache, cache_path_for

        embed = EmbeddingCache(cache_path_for(model_path))
    else:
        progress.skip("encode with the sentence encoder")
    progress.step("load")
    corpus = load_anecdotes(data)
    texts, Y, rec = corpus.texts, corpus.Y, corpus.recommendations
    ids = corpus.frame["id"].tolist()
    train_idx, test_idx = split(Y, rec, config.test_size, config.seed)
    echo(f"corpus: {len(corpus)} rows ({corpus.sha256[:12]}); train {len(train_idx)}, held-out {len(test_idx)}")

    fit_texts, fit_Y, fit_rec = [texts[i] for i in train_idx], Y[train_idx], rec[train_idx]
    weights, extra_rows, before = None, None, None
    if extra is not None:
        extra_rows = load_extra(extra, corpus, extra_weight, config.seed, corpus_train_rows=len(train_idx))
        more_texts, more_Y, more_rec = extra_rows.subset(extra_rows.train_idx)
        fit_texts, fit_Y, fit_rec = fit_texts + more_texts, np.vstack([fit_Y, more_Y]), np.concatenate([fit_rec, more_rec])
        weights = np.concatenate([np.ones(len(train_idx)), np.full(len(more_texts), extra_rows.weight)])
        before = _score_aside_before(model_path, extra_rows, Y[train_idx], rec[train_idx])
        echo(f"extra labels: {extra} ({extra_rows.sha256[:12]}): {len(more_texts)} rows trained on at weight "
             f"{extra_rows.weight:g}, {len(extra_rows.aside_idx)} kept aside"
             + (f", {len(extra_rows.skipped)} skipped (same text as a corpus row)" if extra_rows.skipped else ""))

    try:
        bundle, selection, pipeline = train_bundle(fit_texts, fit_Y, fit_rec, config, corpus_sha256=corpus.sha256,
                                                   progress=progress, sample_weight=weights, embed=embed)
    finally:
        if embed is not None:
            embed.save()
    if extra_rows is not None:
        meta = bundle.metadata
        corpus_part = f"+{corpus.sha256[:8]}."
        meta["model_version"] = meta["model_version"].replace(corpus_part, f"{corpus_part}extra-{extra_rows.sha256[:8]}.", 1)
        meta["extra_data"] = extra_rows.record()
    progress.step("evaluate held-out split")
    predictor = Predictor(bundle, embed=embed)
    test_texts = [texts[i] for i in test_idx]
    predictions = predictor.predict(test_texts, evidence=False)
    train_texts = [texts[i] for i in train_idx]
    metrics = evaluate(predictions, test_texts, Y[test_idx], rec[test_idx], Y[train_idx], rec[train_idx],
                       train_texts, config.seed)
    metrics["text_recommender_before"] = {"recommendation_accuracy": text_recommender_accuracy(
        pipeline.named_steps["features"], train_texts, rec[train_idx], test_texts, rec[test_idx],
        config.seed)}
    if dev is not None and dev.is_file():
        progress.step("evaluate real-account dev set")
        metrics["real_dev"] = evaluate_labelled(predictor, dev, train_data=data, config=config)
        metrics["real_dev"].pop("test_probabilities")
    errors = error_examples(predictions, [ids[i] for i in test_idx], Y[test_idx], rec[test_idx])

    model = metrics["model"]
    bundle.metadata["metrics"] = {
        "macro_f1": model["macro_f1"], "micro_f1": model["micro_f1"],
        "recommendation_accuracy": model["recommendation_accuracy"],
        "per_category_f1": {c: v["f1"] for c, v in model["per_category"].items()},
        "baseline_macro_f1": {k: v["macro_f1"] for k, v in metrics["baselines"].items()},
        "n_test": metrics["n_test"],
    }
    if "real_dev" in metrics:
        dev_model = metrics["real_dev"]["model"]
        bundle.metadata["metrics"]["real_dev"] = {
            "macro_f1": dev_model["macro_f1"], "recommendation_accuracy": dev_model["recommendation_accuracy"],
            "rows": metrics["real_dev"]["source"]["rows"]}
    if extra_rows is not None:
        metrics["extra"] = {**extra_rows.record(), "before": before,
                            "after": _score_aside(predictor, extra_rows, Y[train_idx], rec[train_idx])}
        bundle.metadata["metrics"]["extra_aside"] = {k: metrics["extra"][k] for k in ("before", "after")}
    if embed is not None:
        embed.save()
    progress.step("save model and reports")
    meta = save_bundle(bundle, model_path)
    seconds = time.perf_counter() - started
    write_reports(reports, metrics, meta, selection, Y[test_idx], np.array(metrics["test_probabilities"]), errors,
                  {"n_rows": len(corpus), "seed": config.seed, "folds": config.cv_folds,
                   "recall_floor": config.thresholds.recall_floor,
                   "floor_categories": config.thresholds.floor_categories, "seconds": seconds})
    if extra_rows is not None:
        with open(reports / "model_card.md", "a", encoding="utf-8") as card:
            card.write(extra_section(metrics["extra"]))
    progress.finish()
    echo(headline_table(metrics))
    echo(f"chosen: {selection['chosen']}, combine={selection['combine_rule']}, "
         f"advice policy {selection['advice_policy_kind']} (margin {selection['advice_margin']:.2f})")
    if "real_dev" in metrics:
        d = metrics["real_dev"]["model"]
        echo(f"real-account dev set: macro F1 {d['macro_f1']:.3f}, advice accuracy {d['recommendation_accuracy']:.3f}")
    if extra_rows is not None:
        echo(extra_summary(metrics["extra"]))
    echo(f"model: {model_path} ({meta['artifact_sha256'][:12]}); reports: {reports}; took {seconds:.1f} s")
    return metrics


def _score_aside(predictor: Predictor, extra_rows, Y_train: np.ndarray, rec_train: np.ndarray) -> dict[str, Any] | None:
    if not len(extra_rows.aside_idx):
        return None
    texts, Y, rec = extra_rows.subset(extra_rows.aside_idx)
    return aside_figures(predictor, texts, Y, rec, Y_train, rec_train)


def _score_aside_before(model_path: Path, extra_rows, Y_train: np.ndarray, rec_train: np.ndarray) -> dict[str, Any] | None:
    """The kept-aside rows scored by the model that was at `model_path` before this run (None if there was
    none that loads)."""
    from redflags.model.artifact import ArtifactError, load_predictor

    if not len(extra_rows.aside_idx) or not Path(model_path).exists():
        return None
    try:
        previous = load_predictor(model_path)
    except ArtifactError:
        return None
    return _score_aside(previous, extra_rows, Y_train, rec_train)
