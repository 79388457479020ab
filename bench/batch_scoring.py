"""Batch scoring: rows/s and peak memory of `redflags score` (--jobs 1 and 2) against the ten-line
script (pandas read_csv, word 1-2-gram TF-IDF + logistic regression trained on the same corpus,
predict_proba, to_csv; one process) on the same generated file, for three mixes of length, same run.

python -m bench.batch_scoring [--rows 1000000] [--chunksize 5000] [--mixes survey,letters,mixed] [--repeat 1]
Mixes: survey answers (10-80 words), letters (150-400 words), and half of each. Peak memory is read
from /proc while it runs, summed over the process tree (the scorer and its workers): RSS, and PSS,
which shares pages between forked workers instead of counting each copy. Texts are generated from a
small vocabulary: benchmark input of real length, not training data.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import save, synthetic_text
from redflags.config import DEFAULT_MODEL_PATH

PLAIN = r'''
import sys, joblib, pandas as pd
pipeline = joblib.load(sys.argv[3])
out = None
for chunk in pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False, chunksize=int(sys.argv[4])):
    proba = pipeline.predict_proba(chunk["answer"].tolist())
    for k in range(proba.shape[1]):
        chunk[f"p{k}"] = proba[:, k].round(4)
    chunk.to_csv(sys.argv[2], mode="a", header=out is None, index=False)
    out = True
'''


MIXES = {"survey": ((10, 80),), "letters": ((150, 400),), "mixed": ((10, 80), (150, 400))}


def make_file(path: Path, rows: int, mix: str = "survey") -> None:
    rng = random.Random(7)
    lengths = MIXES[mix]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["respondent", "answer"])
        for i in range(rows):
            writer.writerow([f"r{i}", synthetic_text(rng, *lengths[i % len(lengths)])])


def ten_line_model(path: Path) -> None:
    """The ten-line script's model: word 1-2-gram TF-IDF + one-vs-rest logistic regression on the corpus."""
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    from redflags.config import DEFAULT_DATA
    from redflags.training.data import load_anecdotes

    corpus = load_anecdotes(DEFAULT_DATA)
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                          OneVsRestClassifier(LogisticRegression(max_iter=1000)))
    joblib.dump(model.fit(corpus.texts, corpus.Y), path)


def _children(pid: int) -> list[int]:
    """Child processes of `pid`, from /proc (a file read: sampling must not take CPU from a run that uses every
    core, which starting pgrep five times a second did); pgrep where /proc does not list children."""
    tasks = Path(f"/proc/{pid}/task")
    try:
        return [int(c) for task in tasks.iterdir() for c in (task / "children").read_text().split()]
    except FileNotFoundError:
        if tasks.exists():  # the kernel does not list children: ask pgrep
            out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
            return [int(p) for p in out]
        return []   # the process has gone
    except OSError:
        return []


def _tree_memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) summed over the process and its descendants. PSS splits shared pages among the
    processes sharing them, so forked workers are not counted as full copies."""
    rss = pss = 0
    pids, i = [pid], 0
    while i < len(pids):
        pids += _children(pids[i])
        i += 1
    for p in pids:
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def run(cmd: list[str]) -> tuple[float, float, float]:
    """Seconds, peak RSS (MB) and peak PSS (MB) of a command and its children."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_rss = peak_pss = 0
    while proc.poll() is None:
        rss, pss = _tree_memory_kb(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.2)
    if proc.returncode:
        raise SystemExit(proc.stderr.read().decode()[-2000:])
    return time.perf_counter() - start, peak_rss / 1024, peak_pss / 1024


def one_round(src: Path, work: Path, args, redflags: str) -> dict:
    """The ten-line script, then `redflags score --jobs 1` and `--jobs 2`, on the same file, one after another;
    the load average before and after, to tell a quiet run from a shared one."""
    rows = args.rows
    load_before = round(os.getloadavg()[0], 2)
    plain_s, plain_rss, plain_pss = run([sys.executable, "-c", PLAIN, str(src), str(work / "plain.csv"),
                                         str(work / "ten_line.joblib"), str(args.chunksize)])
    (work / "plain.csv").unlink()
    row = {"ten_line_script": {"seconds": round(plain_s, 1), "rows_per_s": round(rows / plain_s),
                               "peak_rss_mb": round(plain_rss), "peak_pss_mb": round(plain_pss)}}
    for jobs in (1, 2):
        secs, rss, pss = run([redflags, "score", str(src), "-o", str(work / f"out{jobs}.csv"), "--text-column",
                              "answer", "--jobs", str(jobs), "--chunksize", str(args.chunksize), "--quiet",
                              "--model", args.model])
        row[f"jobs_{jobs}"] = {"seconds": round(secs, 1), "rows_per_s": round(rows / secs),
                               "peak_rss_mb": round(rss), "peak_pss_mb": round(pss),
                               "speed_vs_ten_line": round(plain_s / secs, 2)}
    row["load_average_before_after"] = [load_before, round(os.getloadavg()[0], 2)]
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunksize", type=int, default=5000)
    ap.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    ap.add_argument("--mixes", default=",".join(MIXES))
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds per mix (each round runs the three commands again); the figures of every round "
                         "are kept, with the median ratios")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    ten_line_model(work / "ten_line.joblib")
    redflags = str(Path(sys.executable).with_name("redflags"))
    result = {"rows": args.rows, "chunksize": args.chunksize, "repeat": args.repeat}
    for mix in args.mixes.split(","):
        src = work / f"{mix}.csv"
        make_file(src, args.rows, mix)
        rounds = []
        for _ in range(args.repeat):
            rounds.append(one_round(src, work, args, redflags))
            print(mix, rounds[-1], flush=True)
        row = rounds[0] if args.repeat == 1 else {
            "rounds": rounds,
            **{f"median_jobs_{j}_speed_vs_ten_line": statistics.median(r[f"jobs_{j}"]["speed_vs_ten_line"]
                                                                       for r in rounds) for j in (1, 2)},
            "max_jobs_2_peak_pss_mb": max(r["jobs_2"]["peak_pss_mb"] for r in rounds)}
        result[mix] = row
        src.unlink()
    save(f"batch_scoring_{args.rows}", result)

if __name__ == "__main__":
    main()
