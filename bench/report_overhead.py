"""What `redflags score --report` adds: time and peak memory of the same file scored without and with
the survey report (grouped by a column of 8 values), same run, same model.

python -m bench.report_overhead [--rows 1000000] [--chunksize 5000] [--mix survey] [--with-evidence]

The target (issue 13) is under 10% more time at 1,000,000 rows, and flat memory. Three readings:
- `attributed`: one in-process run with the report, where the CPU time spent in the report's code
  (`SurveyReport.add` per chunk, `render` at the end) is measured against the whole run's CPU time.
  On a shared machine this is the reading to trust: both parts see the same load.
- `plain` / `report`: the command run twice, wall-clock and CPU seconds (user + system, from wait4)
  and peak RSS/PSS; the CPU ratio is steadier than the wall-clock one when other jobs compete.
- flat memory: peak PSS of the report run at `--rows` and at a tenth of it must not grow.
`--with-evidence` also times `--evidence` with and without the report (the report's evidence
phrases need it; spans cost scoring time of their own, the report's counting does not).
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.batch_scoring import MIXES, _tree_memory_kb
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


def run(cmd: list[str]) -> dict:
    """Wall seconds, CPU seconds (user + system of the process and the children it waited for) and peak
    RSS/PSS (MB) of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_rss = peak_pss = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        rss, pss = _tree_memory_kb(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.2)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(proc.stderr.read().decode()[-2000:])
    proc.stderr.close()
    return {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mb": round(peak_rss / 1024), "peak_pss_mb": round(peak_pss / 1024)}


def attributed(src: Path, out: Path, report: Path, model: str, chunksize: int) -> dict:
    """CPU seconds of the report's own code within one in-process scoring run with the report."""
    from redflags.batch import report as report_module
    from redflags.batch.score import score_file

    spent = {"add": 0.0, "render": 0.0}
    cls = report_module.SurveyReport
    original_add, original_render = cls.add, cls.render

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.process_time() - started
        return wrapper

    cls.add, cls.render = timed("add", original_add), timed("render", original_render)
    try:
        started = time.process_time()
        score_file(str(src), str(out), text_column="answer", model_path=model, chunksize=chunksize, quiet=True,
                   report=str(report), group_by="wave")
        total = time.process_time() - started
    finally:
        cls.add, cls.render = original_add, original_render
    return {"total_cpu_s": round(total, 2), "report_add_cpu_s": round(spent["add"], 2),
            "report_render_cpu_s": round(spent["render"], 2),
            "report_share": round((spent["add"] + spent["render"]) / total, 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunksize", type=int, default=5000)
    ap.add_argument("--mix", default="survey", choices=list(MIXES))
    ap.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    ap.add_argument("--with-evidence", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    redflags = str(Path(sys.executable).with_name("redflags"))
    result = {"rows": args.rows, "chunksize": args.chunksize, "mix": args.mix}
    for rows in (args.rows // 10, args.rows):
        src = work / f"in_{rows}.csv"
        make_file(src, rows, args.mix)
        base = [redflags, "score", str(src), "-o", str(work / "out.csv"), "--text-column", "answer", "--quiet",
                "--chunksize", str(args.chunksize), "--model", args.model]
        report = ["--report", str(work / "report.html"), "--group-by", "wave"]
        variants = {"plain": [], "report": report}
        if args.with_evidence:
            variants.update({"evidence": ["--evidence"], "evidence_report": ["--evidence", *report]})
        row = {name: run(base + extra) for name, extra in variants.items()}
        row["attributed"] = attributed(src, work / "out.csv", work / "report.html", args.model, args.chunksize)
        for name, other in (("report", "plain"), ("evidence_report", "evidence"), ("evidence", "plain")):
            if name in row:
                row[f"{name}_vs_{other}"] = {unit: round(row[name][unit] / row[other][unit] - 1, 3)
                                             for unit in ("wall_s", "cpu_s")}
        print(rows, row, flush=True)
        result[str(rows)] = row
        src.unlink()
    small, large = result[str(args.rows // 10)], result[str(args.rows)]
    result["report_peak_pss_mb"] = {"small": small["report"]["peak_pss_mb"], "large": large["report"]["peak_pss_mb"]}
    result["plain_peak_pss_mb"] = {"small": small["plain"]["peak_pss_mb"], "large": large["plain"]["peak_pss_mb"]}
    save(f"report_overhead_{args.rows}", result)


if __name__ == "__main__":
    main()
