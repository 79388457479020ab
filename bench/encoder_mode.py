"""The two feature modes side by side (issue 15): quality from each model's own evaluation, and speed and
memory measured here in one run, each mode in its own fresh process.

    python -m bench.encoder_mode --encoder-model model/artifacts/encoder/model.joblib [--write-modes]

Quality: held-out and real-account macro F1 and advice accuracy, as each model's training recorded them
(same corpus, split and seed). Speed: ms per 100-word text (`predict` with evidence, one text per call, as
the API runs it) and batch rows/s (`predict` without evidence or advice on 2,000 texts, half survey answers
of 10-80 words and half letters of 150-400, as batch scoring runs it). Memory: each process's peak RSS.
`--write-modes` stores the table in `model/modes.json`, which `/v1/model` serves beside the model's own.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from bench.common import percentiles, save, synthetic_text, timed
from redflags.config import DEFAULT_MODEL_PATH

MODES_FILE = Path(__file__).resolve().parents[1] / "model" / "modes.json"


def measure(model_path: str, repeat: int, rows: int, threads: int | None) -> dict:
    """In this process: load the model, time it, report peak memory."""
    from redflags.model.artifact import load_predictor, read_sidecar

    started = time.perf_counter()
    predictor = load_predictor(model_path, encoder_threads=threads)
    predictor.predict(["warm up: load the encoder if there is one."])
    load_s = time.perf_counter() - started
    rng = random.Random(7)
    text = synthetic_text(rng, 100, 100)
    batch = [synthetic_text(rng, 10, 80) if i % 2 else synthetic_text(rng, 150, 400) for i in range(rows)]
    single = percentiles(timed(lambda: predictor.predict([text]), repeat))
    started = time.perf_counter()
    predictor.predict(batch, evidence=False, advice=False)
    batch_s = time.perf_counter() - started
    metrics = read_sidecar(model_path).get("metrics", {})
    dev = metrics.get("real_dev", {})
    return {
        "model_version": predictor.version,
        "held_out": {"macro_f1": metrics.get("macro_f1"), "advice_accuracy": metrics.get("recommendation_accuracy")},
        "real_dev": {"macro_f1": dev.get("macro_f1"), "advice_accuracy": dev.get("recommendation_accuracy")},
        "ms_per_100_word_text": single["p50_ms"],
        "ms_per_100_word_text_p99": single["p99_ms"],
        "batch_rows_per_s": round(rows / batch_s, 1),
        "load_and_warm_s": round(load_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL_PATH), help="the default (TF-IDF) mode's model")
    ap.add_argument("--encoder-model", default="model/artifacts/encoder/model.joblib",
                    help="a model trained with `redflags train --encoder --out model/artifacts/encoder` (make train-encoder)")
    ap.add_argument("--repeat", type=int, default=100, help="single-text calls timed per mode")
    ap.add_argument("--rows", type=int, default=2000, help="texts in the batch")
    ap.add_argument("--threads", type=int, default=None, help="encoder threads (default: all cores)")
    ap.add_argument("--write-modes", action="store_true", help="store the table in model/modes.json")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.repeat, args.rows, args.threads)))
        return
    result = {"measured": date.today().isoformat(), "rows": args.rows, "repeat": args.repeat,
              "machine": "2 shared cores, one run; each mode in a fresh process"}
    for mode, path in (("tfidf", args.model), ("tfidf+encoder", args.encoder_model)):
        cmd = [sys.executable, "-m", "bench.encoder_mode", "--child", path, "--repeat", str(args.repeat),
               "--rows", str(args.rows)] + (["--threads", str(args.threads)] if args.threads else [])
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    base, enc = result["tfidf"], result["tfidf+encoder"]
    result["encoder_vs_tfidf"] = {
        "real_dev_macro_f1_gain": round(enc["real_dev"]["macro_f1"] - base["real_dev"]["macro_f1"], 4)
        if enc["real_dev"]["macro_f1"] is not None and base["real_dev"]["macro_f1"] is not None else None,
        "held_out_macro_f1_gain": round(enc["held_out"]["macro_f1"] - base["held_out"]["macro_f1"], 4),
        "slowdown_single": round(enc["ms_per_100_word_text"] / base["ms_per_100_word_text"], 1),
        "slowdown_batch": round(base["batch_rows_per_s"] / enc["batch_rows_per_s"], 1),
    }
    save("encoder_mode", result)
    if args.write_modes:
        MODES_FILE.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
