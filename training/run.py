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
from redflags.training.baselines import text_recommender_accuracy
from redflags.training.evaluate import error_examples, evaluate, evaluate_labelled
from redflags.training.progress import TrainingProgress
from redflags.training.report import headline_table, write_reports
from redflags.training.train import split, train_bundle


def run_training(data: Path, model_path: Path, reports: Path, config: TrainConfig, echo=print,
                 dev: Path | None = None, progress: TrainingProgress | None = None) -> dict[str, Any]:
    """Train on the training split, evaluate on the held-out split (and, if given, on the labelled
    real-account set `dev`, which is only ever scored), save everything; return the metrics.
    `progress` (default: silent) prints the steps and the time left to standard error."""
    started = time.perf_counter()
    progress = progress or TrainingProgress(enabled=False)
    if dev is None or not dev.is_file():
        progress.skip("evaluate real-account dev set")
    progress.step("load")
    corpus = load_anecdotes(data)
    texts, Y, rec = corpus.texts, corpus.Y, corpus.recommendations
    ids = corpus.frame["id"].tolist()
    train_idx, test_idx = split(Y, rec, config.test_size, config.seed)
    echo(f"corpus: {len(corpus)} rows ({corpus.sha256[:12]}); train {len(train_idx)}, held-out {len(test_idx)}")

    bundle, selection, pipeline = train_bundle([texts[i] for i in train_idx], Y[train_idx], rec[train_idx], config,
                                               corpus_sha256=corpus.sha256, progress=progress)
    progress.step("evaluate held-out split")
    predictor = Predictor(bundle)
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
    progress.step("save model and reports")
    meta = save_bundle(bundle, model_path)
    seconds = time.perf_counter() - started
    write_reports(reports, metrics, meta, selection, Y[test_idx], np.array(metrics["test_probabilities"]), errors,
                  {"n_rows": len(corpus), "seed": config.seed, "folds": config.cv_folds,
                   "recall_floor": config.thresholds.recall_floor,
                   "floor_categories": config.thresholds.floor_categories, "seconds": seconds})
    progress.finish()
    echo(headline_table(metrics))
    echo(f"chosen: {selection['chosen']}, combine={selection['combine_rule']}, "
         f"advice policy {selection['advice_policy_kind']} (margin {selection['advice_margin']:.2f})")
    if "real_dev" in metrics:
        d = metrics["real_dev"]["model"]
        echo(f"real-account dev set: macro F1 {d['macro_f1']:.3f}, advice accuracy {d['recommendation_accuracy']:.3f}")
    echo(f"model: {model_path} ({meta['artifact_sha256'][:12]}); reports: {reports}; took {seconds:.1f} s")
    return metrics
