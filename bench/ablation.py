"""What each costly part buys: quality and ms per text with and without character n-grams and
sentence scoring, in one run, on the held-out split and on the real-account dev set.

python -m bench.ablation [--dev ../shared/dev/real_dev.csv] [--variants word+char/sentences,word/whole] [--data CSV]

Each variant is trained by the same `train_bundle` as `make train` (only the config differs) on the
same training split. Speed is measured on the dev set's texts (real length: median about 140 words),
one text per call, as the API sees them, with and without evidence.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

from bench.common import save
from redflags.config import DEFAULT_DATA, DEFAULT_DEV, TrainConfig
from redflags.model.predict import Predictor
from redflags.training.data import load_anecdotes
from redflags.training.evaluate import evaluate, evaluate_labelled
from redflags.training.train import split, train_bundle

VARIANTS = {
    "word+char/sentences": {"features": ("word+char",), "sentences": True},
    "word+char/whole": {"features": ("word+char",), "sentences": False},
    "word/sentences": {"features": ("word",), "sentences": True},
    "word/whole": {"features": ("word",), "sentences": False},
}


def variant_config(base: TrainConfig, features: tuple[str, ...], sentences: bool) -> TrainConfig:
    grid = dataclasses.replace(base.grid, features=features)
    combine = base.combine if sentences else dataclasses.replace(base.combine, candidates=("whole",),
                                                                 sentence_override=False)
    return dataclasses.replace(base, grid=grid, combine=combine)


def ms_per_text(predictor: Predictor, texts: list[str], evidence: bool) -> float:
    predictor.predict(texts[:5], evidence=evidence)  # warm the caches
    start = time.perf_counter()
    for text in texts:
        predictor.predict([text], evidence=evidence)
    return round((time.perf_counter() - start) * 1e3 / len(texts), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", default=str(DEFAULT_DEV))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="labelled corpus (default: %(default)s)")
    args = ap.parse_args()
    base = TrainConfig.from_toml()
    corpus = load_anecdotes(args.data)
    train_idx, test_idx = split(corpus.Y, corpus.recommendations, base.test_size, base.seed)
    texts = corpus.texts
    train_texts, test_texts = [texts[i] for i in train_idx], [texts[i] for i in test_idx]
    dev_texts = load_anecdotes(args.dev, extra_columns=True).texts
    result = {}
    for name in args.variants.split(","):
        config = variant_config(base, **VARIANTS[name])
        started = time.perf_counter()
        bundle, _, _ = train_bundle(train_texts, corpus.Y[train_idx], corpus.recommendations[train_idx], config,
                                 corpus.sha256)
        seconds = time.perf_counter() - started
        predictor = Predictor(bundle)
        held = evaluate(predictor.predict(test_texts, evidence=False), test_texts, corpus.Y[test_idx],
                        corpus.recommendations[test_idx], corpus.Y[train_idx], corpus.recommendations[train_idx])
        dev = evaluate_labelled(predictor, args.dev)
        result[name] = {
            "held_out_macro_f1": held["model"]["macro_f1"],
            "held_out_advice_accuracy": held["model"]["recommendation_accuracy"],
            "dev_macro_f1": dev["model"]["macro_f1"],
            "dev_advice_accuracy": dev["model"]["recommendation_accuracy"],
            "ms_per_dev_text": ms_per_text(predictor, dev_texts, evidence=False),
            "ms_per_dev_text_with_evidence": ms_per_text(predictor, dev_texts, evidence=True),
            "train_seconds": round(seconds, 1),
        }
        print(name, result[name], flush=True)
    save("ablation", result)


if __name__ == "__main__":
    main()
