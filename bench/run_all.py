"""Run every benchmark in one go and print a summary of the ratios (see bench/README.md).

python -m bench.run_all [--quick]
--quick uses 100,000 rows for batch scoring and 20 s for the load run instead of 1,000,000 and 60 s.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench.common import OUT


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rows = "100000" if args.quick else "1000000"
    steps = [["bench.predict_latency"], ["bench.http_throughput"],
             ["bench.load", "--seconds", "20" if args.quick else "60"],
             ["bench.batch_scoring", "--rows", rows], ["bench.train_time"]]
    for step in steps:
        print(f"== {' '.join(step)}", flush=True)
        subprocess.run([sys.executable, "-m", *step], check=True)
    print("\n== summary")
    for path in sorted(OUT.glob("*.json")):
        print(path.stem, json.dumps(json.loads(path.read_text()))[:300])


if __name__ == "__main__":
    main()
