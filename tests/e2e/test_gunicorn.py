"""The service under real gunicorn: a POST end to end, a killed worker, a tampered model, quiet logs."""
import shutil
import signal
import os
import threading
import time

import pytest
import requests

from redflags.model.artifact import sidecar_path
from tests.e2e.server import Server

pytestmark = pytest.mark.e2e
MARKER = "QQZ-e2e-marker-private-9c1d"


def test_classify_over_http(server):
    r = requests.post(server.url + "/v1/classify", json={"text": "He laughed at my answers and kept checking his phone."},
                      timeout=10)
    assert r.status_code == 200
    assert r.json()["red_flags"][0]["category"] == "disrespect"
    assert requests.get(server.url + "/readyz", timeout=5).json()["status"] == "ready"
    bad = requests.post(server.url + "/v1/classify", data="{", headers={"Content-Type": "application/json"}, timeout=5)
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"


def test_no_text_in_server_logs(server):
    requests.post(server.url + "/v1/classify", json={"text": f"He mocked me. {MARKER}"}, timeout=10)
    requests.post(server.url + "/v1/classify", json={"text": MARKER, "extra": 1}, timeout=10)
    time.sleep(0.5)
    logs = server.logs()
    assert "POST /v1/classify" in logs
    assert MARKER not in logs


def test_killed_worker_is_replaced_and_only_in_flight_requests_fail(tiny_model_path, tmp_path):
    srv = Server(tiny_model_path, tmp_path / "kill.log", workers=2)
    try:
        srv.wait()
        before = srv.worker_pids()
        assert len(before) == 2
        results, stop = [], threading.Event()

        def client():
            session = requests.Session()
            while not stop.is_set():
                try:
                    r = session.post(srv.url + "/v1/classify", json={"text": "He mocked my degree."}, timeout=10)
                    results.append(r.status_code)
                except requests.RequestException:
                    results.append("error")

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        os.kill(before[0], signal.SIGKILL)
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join(timeout=15)
        after = srv.worker_pids()
        assert len(after) == 2 and before[0] not in after
        failures = [r for r in results if r != 200]
        # only requests in flight on the killed worker may fail: at most one per client connection
        assert len(failures) <= 4, failures
        assert results.count(200) > 50
        assert requests.post(srv.url + "/v1/classify", json={"text": "ok"}, timeout=10).status_code == 200
    finally:
        srv.stop()


def test_tampered_model_never_becomes_ready(tiny_model_path, tmp_path):
    path = tmp_path / "model.joblib"
    shutil.copy(tiny_model_path, path)
    shutil.copy(sidecar_path(tiny_model_path), sidecar_path(path))
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    srv = Server(path, tmp_path / "tampered.log", workers=1)
    try:
        srv.wait("/healthz")
        for _ in range(3):
            r = requests.get(srv.url + "/readyz", timeout=5)
            assert r.status_code == 503 and "no verified model" in r.json()["detail"].lower()
            r = requests.post(srv.url + "/v1/classify", json={"text": "He mocked me."}, timeout=5)
            assert r.status_code == 503
            time.sleep(0.2)
        assert "SHA-256 digest mismatch" in srv.logs()
    finally:
        srv.stop()
