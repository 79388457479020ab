"""Does `redflags train --extra` help on a population unlike the corpus? Macro F1 on real accounts,
before and after training with half of them as "your labels", for two weights, same run.

python -m bench.extra_labels [--weights 1,3] [--seed 13]

`../shared/dev/real_dev.csv` (real accounts, paraphrased) is split in two with a fixed seed, stratified
on labels and advice: half A plays the user's labelled file, half B is only measured. This is the one
place where rows of that set are trained on, and only for these figures: the split halves live in a
temporary folder, nothing of them is written anywhere else, and the shipped model never sees them.
"Before" is the model trained on the corpus alone (the installed one when it was trained on the same
corpus, else one trained here); "after" adds half A through `run_training(extra=...)` exactly as the
command does (so a quarter of half A is kept aside by that code and only the rest is trained on).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import save
from redflags.config import DEFAULT_DATA, DEFAULT_DEV, DEFAULT_MODEL_PATH, TrainConfig
from redflags.model.artifact import load_predictor, read_sidecar, sha256_of
from redflags.training.data import load_anecdotes
from redflags.training.evaluate import evaluate_labelled
from redflags.training.run import run_training
from redflags.training.train import split


def figures(predictor, path: Path) -> dict:
    metrics = evaluate_labelled(predictor, path, train_data=None)
    model = metrics["model"]
    return {"model_version": predictor.version, "rows": metrics["source"]["rows"], "macro_f1": model["macro_f1"],
            "micro_f1": model["micro_f1"], "recommendation_accuracy": model["recommendation_accuracy"],
            "per_category": {c: {"f1": v["f1"], "support": v["support"]} for c, v in model["per_category"].items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default="1,3", help="comma-separated; 'auto' for the default weight")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--dev", default=str(DEFAULT_DEV))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="extra-bench-"))
    labelled = load_anecdotes(args.dev, extra_columns=True)
    yours_idx, measured_idx = split(labelled.Y, labelled.recommendations, 0.5, args.seed)
    columns = ["id", "text", "labels", "recommendation"]
    yours, measured = work / "yours.csv", work / "measured.csv"
    labelled.frame.iloc[yours_idx][columns].to_csv(yours, index=False)
    labelled.frame.iloc[measured_idx][columns].to_csv(measured, index=False)
    config = TrainConfig.from_toml()
    result = {"dev_rows": len(labelled), "your_labels": len(yours_idx), "measured": len(measured_idx),
              "seed": args.seed}

    base_path = DEFAULT_MODEL_PATH
    if not base_path.exists() or read_sidecar(base_path).get("corpus_sha256") != sha256_of(DEFAULT_DATA):
        base_path = work / "base" / "model.joblib"
        started = time.perf_counter()
        run_training(DEFAULT_DATA, base_path, work / "base_reports", config, echo=lambda *_: None, dev=None)
        result["base_train_seconds"] = round(time.perf_counter() - started)
    result["before"] = figures(load_predictor(base_path), measured)
    result["before"]["held_out_macro_f1"] = read_sidecar(base_path)["metrics"]["macro_f1"]
    print("before", {k: v for k, v in result["before"].items() if k != "per_category"}, flush=True)

    for name in args.weights.split(","):
        weight = None if name == "auto" else float(name)
        out = work / f"w{name}" / "model.joblib"
        started = time.perf_counter()
        metrics = run_training(DEFAULT_DATA, out, work / f"w{name}_reports", config, echo=lambda *_: None,
                               dev=None, extra=yours, extra_weight=weight)
        after = figures(load_predictor(out), measured)
        after["held_out_macro_f1"] = metrics["model"]["macro_f1"]
        after["trained_on"] = metrics["extra"]["trained_on"]
        after["weight"] = metrics["extra"]["weight"]
        after["train_seconds"] = round(time.perf_counter() - started)
        result[f"weight_{name}"] = after
        print(f"weight {name}", {k: v for k, v in after.items() if k != "per_category"}, flush=True)
    save(f"extra_labels_{args.weights.replace(',', '_')}", result)


if __name__ == "__main__":
    main()
