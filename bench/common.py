"""Helpers shared by the benchmarks: texts of a given length, percentiles, the results file."""
from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

# Words for synthetic survey answers: benchmark input only, never training data.
VOCAB = ("the interview was fine manager asked about my experience salary team office late rude friendly "
         "questions role pay hours remote they said we would start next week recruiter called panel task "
         "project took long waited minutes phone video kids age offer today deadline training fee bank "
         "details check culture weekends family hired part-time commission insulted laughed interrupted "
         "clean trial shift unpaid plan schedule reschedule nobody read resume director owner company").split()


def synthetic_text(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(VOCAB) for _ in range(rng.randint(low, high))]
    out, sentence = [], []
    for w in words:
        sentence.append(w)
        if len(sentence) >= rng.randint(6, 14):
            out.append(" ".join(sentence).capitalize() + ".")
            sentence = []
    if sentence:
        out.append(" ".join(sentence).capitalize() + ".")
    return " ".join(out)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1e3, 3),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e3, 3)}


def timed(fn, repeat: int) -> list[float]:
    fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def save(name: str, result: dict) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
