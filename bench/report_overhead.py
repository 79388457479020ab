"""What `redflags score --report` adds: seconds and peak memory of the same file scored without and
with the survey report (grouped by a column of 8 values), same run, same model.

python -m bench.report_overhead [--rows 1000000] [--chunksize 5000] [--mix survey] [--engine local]

The target (issue 13) is under 10% more time at 1,000,000 rows and flat memory. Flat memory is read
from the peak PSS of two file sizes (`--rows` and a tenth of it): the report keeps counts only, so
its peak must not grow with the file. The report's evidence phrases need `--evidence`, which costs
scoring time of its own, so both pairs are timed: plain vs --report, and --evidence vs --evidence --report.
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
from pathlib import Path

from bench.batch_scoring import MIXES, run
from bench.common import save, synthetic_text
from redflags.config import DEFAULT_MODEL_PATH

WAVES = [f"wave-{k}" for k in range(8)]


def make_file(path: Path, rows: int, mix: str) -> None:
    rng = random.Random(11)
    lengths = MIXES[mix]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["respondent", "wave", "answer"])
        for i in range(rows):
            writer.writerow([f"r{i}", WAVES[i % len(WAVES)], synthetic_text(rng, *lengths[i % len(lengths)])])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunksize", type=int, default=5000)
    ap.add_argument("--mix", default="survey", choices=list(MIXES))
    ap.add_argument("--engine", default="local", choices=["local", "dask"])
    ap.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    redflags = str(Path(sys.executable).with_name("redflags"))
    result = {"rows": args.rows, "chunksize": args.chunksize, "mix": args.mix, "engine": args.engine}
    for rows in (args.rows // 10, args.rows):
        src = work / f"in_{rows}.csv"
        make_file(src, rows, args.mix)
        base = [redflags, "score", str(src), "-o", str(work / "out.csv"), "--text-column", "answer", "--quiet",
                "--chunksize", str(args.chunksize), "--engine", args.engine, "--model", args.model]
        report = ["--report", str(work / "report.html"), "--group-by", "wave"]
        variants = {"plain": [], "report": report, "evidence": ["--evidence"], "evidence_report": ["--evidence", *report]}
        row = {}
        for name, extra in variants.items():
            secs, rss, pss = run(base + extra)
            row[name] = {"seconds": round(secs, 1), "rows_per_s": round(rows / secs), "peak_rss_mb": round(rss),
                         "peak_pss_mb": round(pss)}
            print(rows, name, row[name], flush=True)
        row["report_overhead"] = round(row["report"]["seconds"] / row["plain"]["seconds"] - 1, 3)
        row["report_overhead_with_evidence"] = round(row["evidence_report"]["seconds"] / row["evidence"]["seconds"] - 1, 3)
        row["evidence_overhead"] = round(row["evidence"]["seconds"] / row["plain"]["seconds"] - 1, 3)
        result[str(rows)] = row
        src.unlink()
    small, large = result[str(args.rows // 10)], result[str(args.rows)]
    result["report_peak_pss_growth_mb"] = large["report"]["peak_pss_mb"] - small["report"]["peak_pss_mb"]
    result["plain_peak_pss_growth_mb"] = large["plain"]["peak_pss_mb"] - small["plain"]["peak_pss_mb"]
    save(f"report_overhead_{args.rows}", result)


if __name__ == "__main__":
    main()
