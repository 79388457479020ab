"""Load scenario: 32 concurrent clients for 60 seconds against gunicorn with 2 workers (wrk).

python -m bench.load [--seconds 60] [--connections 32]
Reports requests/s and p50/p99 latency; the run must see zero errors (non-2xx or socket errors).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench.common import save
from bench.http_throughput import TEXT, wrk
from redflags.config import DEFAULT_MODEL_PATH
from tests.e2e.server import Server


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (or make bench)")
    srv = Server(Path(args.model), Path(tempfile.mkdtemp()) / "load.log", workers=2)
    try:
        srv.wait("/readyz")
        result = wrk(srv.url + "/v1/classify", args.seconds, args.connections, {"text": TEXT})
    finally:
        srv.stop()
    result.update({"connections": args.connections, "seconds": args.seconds, "workers": 2,
                   "zero_errors": result["non_2xx"] == 0 and result["socket_errors"] == 0})
    save("load", result)
    if not result["zero_errors"]:
        raise SystemExit("errors under load")


if __name__ == "__main__":
    main()
