"""In-process latency of `predict` against `pipeline.predict_proba`, same texts, same run.

python -m bench.predict_latency [--model PATH] [--repeat N]
"""
from __future__ import annotations

import argparse
import random

from bench.common import percentiles, save, synthetic_text, timed
from redflags.config import DEFAULT_MODEL_PATH
from redflags.model.artifact import load_predictor


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    ap.add_argument("--repeat", type=int, default=500)
    args = ap.parse_args()
    predictor = load_predictor(args.model)
    rng = random.Random(1)
    result = {}
    for words in (30, 300):
        text = synthetic_text(rng, words, words)
        rows = {
            "predict": percentiles(timed(lambda: predictor.predict([text]), args.repeat)),
            "predict_no_evidence": percentiles(timed(lambda: predictor.predict([text], evidence=False), args.repeat)),
            "pipeline_predict_proba": percentiles(timed(lambda: predictor.pipeline.predict_proba([text]), args.repeat)),
        }
        rows["speedup_p50"] = round(rows["pipeline_predict_proba"]["p50_ms"] / rows["predict"]["p50_ms"], 2)
        result[f"{words}_words"] = rows
    save("predict_latency", result)


if __name__ == "__main__":
    main()
