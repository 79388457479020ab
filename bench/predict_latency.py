"""In-process latency of `predict` against the ten-line script's `pipeline.predict_proba` (word 1-2-gram
TF-IDF + logistic regression trained on the same corpus), same texts, same run.

python -m bench.predict_latency [--model PATH] [--repeat N]
"""
from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import joblib

from bench.batch_scoring import ten_line_model
from bench.common import percentiles, save, synthetic_text, timed
from redflags.config import DEFAULT_MODEL_PATH
from redflags.model.artifact import load_predictor


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    ap.add_argument("--repeat", type=int, default=500)
    args = ap.parse_args()
    predictor = load_predictor(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        ten_line_model(Path(tmp) / "plain.joblib")
        pipeline = joblib.load(Path(tmp) / "plain.joblib")
    rng = random.Random(1)
    result = {}
    for words in (30, 100, 300):
        text = synthetic_text(rng, words, words)
        rows = {
            "predict": percentiles(timed(lambda: predictor.predict([text]), args.repeat)),
            "predict_no_evidence": percentiles(timed(lambda: predictor.predict([text], evidence=False), args.repeat)),
            "probabilities_only": percentiles(timed(lambda: predictor.probabilities([text]), args.repeat)),
            "ten_line_predict_proba": percentiles(timed(lambda: pipeline.predict_proba([text]), args.repeat)),
        }
        rows["speedup_p50"] = round(rows["ten_line_predict_proba"]["p50_ms"] / rows["predict"]["p50_ms"], 2)
        result[f"{words}_words"] = rows
    save("predict_latency", result)


if __name__ == "__main__":
    main()
