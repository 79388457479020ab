"""Time `redflags train` on a 2,000-anecdote sample of the corpus (cross-validation included).

python -m bench.train_time [--rows 2000]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.common import save
from redflags.config import DEFAULT_DATA, TrainConfig
from redflags.training.run import run_training


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    sample = pd.read_csv(DEFAULT_DATA, dtype=str, keep_default_na=False).sample(n=args.rows, random_state=0)
    sample.to_csv(work / "sample.csv", index=False)
    start = time.perf_counter()
    metrics = run_training(work / "sample.csv", work / "model.joblib", work / "reports", TrainConfig.from_toml(),
                           echo=lambda *_: None)
    seconds = time.perf_counter() - start
    save("train_time", {"rows": args.rows, "seconds": round(seconds, 1), "under_two_minutes": seconds < 120,
                        "macro_f1_on_sample_split": metrics["model"]["macro_f1"]})


if __name__ == "__main__":
    main()
