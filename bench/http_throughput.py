"""HTTP throughput of /v1/classify under gunicorn (2 workers) against a bare Flask endpoint that
returns a constant under the same server, same run, same load generator (wrk); with a 30-word
survey answer and a 100-word account (real length), with and without evidence.

python -m bench.http_throughput [--seconds 20] [--connections 16]
Needs wrk (Debian package `wrk`; `make bench` installs it).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.common import save
from redflags.config import DEFAULT_MODEL_PATH
from tests.e2e.server import Server

TEXTS = {
    "30_words": ("The recruiter was twenty minutes late, then asked how old my kids were and whether I could start "
                 "tomorrow for less than the posted pay."),
    "100_words": ("Second round for the operations coordinator job, at their office by the station. I got there ten "
                  "minutes early and the receptionist was lovely, offered me a coffee and showed me the meeting room. "
                  "The panel was the ops manager and someone from finance, and the first half was normal questions "
                  "about scheduling, suppliers and the software they use. Then the manager asked how old my kids "
                  "were and whether my husband minded me working late, and said the pay would be lower than the "
                  "ad because it's really more of an admin role. They said they'd let me know by Friday."),
}


def wrk(url: str, seconds: int, connections: int, body: dict | None) -> dict:
    script = None
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if body is not None:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                     f"wrk.body = {json.dumps(json.dumps(body))}\n")
        script.close()
        cmd += ["-s", script.name]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    if script:
        Path(script.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)

    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"requests_per_s": rps, "p50_ms": pct(50), "p99_ms": pct(99),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(map(int, errors.groups())) if errors else 0}


def load_args(seconds: int, connections: int) -> argparse.Namespace:
    """The options of an HTTP load benchmark (shared with bench/load.py); wrk must be installed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=seconds)
    ap.add_argument("--connections", type=int, default=connections)
    ap.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (or make bench)")
    return args


def main() -> None:
    args = load_args(seconds=20, connections=16)
    out = Path(tempfile.mkdtemp())
    srv = Server(Path(args.model), out / "classify.log", workers=2)
    bare = Server(Path(args.model), out / "bare.log", workers=2, app="bench.bare_app:app")
    try:
        srv.wait("/readyz")
        bare.wait("/")
        result = {}
        for name, text in TEXTS.items():
            classify = wrk(srv.url + "/v1/classify", args.seconds, args.connections, {"text": text})
            no_evidence = wrk(srv.url + "/v1/classify", args.seconds, args.connections,
                              {"text": text, "evidence": False})
            constant = wrk(bare.url + "/", args.seconds, args.connections, {"text": text})
            result[name] = {
                "classify": classify, "classify_no_evidence": no_evidence, "bare_constant": constant,
                "ratio_classify_to_bare": round(classify["requests_per_s"] / constant["requests_per_s"], 3),
                "ratio_no_evidence_to_bare": round(no_evidence["requests_per_s"] / constant["requests_per_s"], 3)}
    finally:
        srv.stop()
        bare.stop()
    save("http_throughput", {**result, "workers": 2, "connections": args.connections, "seconds": args.seconds})


if __name__ == "__main__":
    main()
