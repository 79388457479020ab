"""Load scenario: 32 concurrent clients for 60 seconds against gunicorn with 2 workers (wrk).

python -m bench.load [--seconds 60] [--connections 32]
With the 100-word account. Reports requests/s and p50/p99 latency; the run must see zero errors (non-2xx or socket errors).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import save
from bench.http_throughput import TEXTS, load_args, wrk
from tests.e2e.server import Server


def main() -> None:
    args = load_args(seconds=60, connections=32)
    srv = Server(Path(args.model), Path(tempfile.mkdtemp()) / "load.log", workers=2)
    try:
        srv.wait("/readyz")
        result = wrk(srv.url + "/v1/classify", args.seconds, args.connections, {"text": TEXTS["100_words"]})
    finally:
        srv.stop()
    result.update({"connections": args.connections, "seconds": args.seconds, "workers": 2,
                   "zero_errors": result["non_2xx"] == 0 and result["socket_errors"] == 0})
    save("load", result)
    if not result["zero_errors"]:
        raise SystemExit("errors under load")


if __name__ == "__main__":
    main()
