"""A real gunicorn server on a free loopback port, for end-to-end tests and benchmarks."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, model_path: Path, log_path: Path, workers: int = 2, env: dict | None = None,
                 app: str = "redflags.service.app:create_app()") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        full_env = {**os.environ, "REDFLAGS_MODEL_PATH": str(model_path), "REDFLAGS_LOG_LEVEL": "info",
                    "REDFLAGS_RATE_LIMIT": "100000 per minute", **(env or {})}
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [str(GUNICORN), "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--access-logfile", "-",
             "--graceful-timeout", "5", app],
            env=full_env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, path: str = "/healthz", timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            try:
                if requests.get(self.url + path, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"gunicorn did not answer {path} within {timeout}s")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def logs(self) -> str:
        self.log.flush()
        return self.log_path.read_text()


def running(model_path: Path, log_path: Path, **kwargs):
    """Yield a started Server and stop it afterwards (the body of a server fixture)."""
    srv = Server(model_path, log_path, **kwargs)
    try:
        srv.wait()
        yield srv
    finally:
        srv.stop()
