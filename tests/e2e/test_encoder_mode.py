"""The opt-in encoder mode end to end, with the network blocked: `redflags train --encoder` on a corpus sample,
then the model served by real gunicorn, which says which features it reads and answers /v1/classify.

The block is a `sitecustomize` on the subprocesses' path that refuses any connection off loopback, so a
hub download or any other fetch would fail the run; the test checks the block itself first.
"""
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import requests

from redflags.config import DEFAULT_DATA
from redflags.model.encoder import extra_installed
from tests.e2e.server import running
from tests.e2e.test_survey_loop import SMALL_CONFIG

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not extra_installed(), reason="the encoder extra is not installed")]

REDFLAGS = str(Path(sys.executable).with_name("redflags"))
NO_NETWORK = '''
import socket
_connect = socket.socket.connect

def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
        raise OSError(f"network blocked by the test: {host}")
    return _connect(self, address)

socket.socket.connect = _loopback_only
'''
SMALL_ENCODER_CONFIG = SMALL_CONFIG + "[encoder]\nenabled = true\n"   # the survey loop's reduced grid


@pytest.fixture(scope="module")
def offline_env(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("offline")
    (folder / "sitecustomize.py").write_text(NO_NETWORK, encoding="utf-8")
    env = {"PYTHONPATH": str(folder), "HF_HUB_OFFLINE": "1"}
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('192.0.2.1', 80), 1)"],
                           env={**os.environ, **env}, capture_output=True, text=True)
    assert "network blocked by the test" in probe.stderr, probe.stderr[-500:]
    return env


@pytest.fixture(scope="module")
def encoder_model(tmp_path_factory, offline_env) -> Path:
    folder = tmp_path_factory.mktemp("encoder-mode")
    corpus = folder / "corpus.csv"
    pd.read_csv(DEFAULT_DATA, dtype=str, keep_default_na=False).sample(n=240, random_state=5).to_csv(corpus, index=False)
    config = folder / "encoder.toml"
    config.write_text(SMALL_ENCODER_CONFIG, encoding="utf-8")
    done = subprocess.run([REDFLAGS, "train", "--data", str(corpus), "--out", str(folder / "model"),
                           "--reports", str(folder / "reports"), "--config", str(config), "--dev", str(folder / "none.csv")],
                          env={**os.environ, **offline_env}, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert list((folder / "model").glob("embeddings-*.npz")), "the embedding cache is kept beside the model"
    return folder / "model" / "model.joblib"


@pytest.fixture(scope="module")
def server(encoder_model, offline_env, tmp_path_factory):
    yield from running(encoder_model, tmp_path_factory.mktemp("logs") / "gunicorn.log",
                       env={**offline_env, "REDFLAGS_ENCODER_THREADS": "1"})


def test_the_served_model_says_it_reads_the_encoder(server):
    info = requests.get(server.url + "/v1/model", timeout=10).json()
    assert info["features"] == "tfidf+encoder"
    assert info["metadata"]["encoder"]["model_id"].startswith("all-MiniLM-L6-v2")
    assert set(info["modes"]) >= {"tfidf", "tfidf+encoder"}


def test_it_classifies_with_evidence(server):
    text = ("The second interview went fine until the manager asked how old I was and whether I planned to have "
            "kids soon. I said I would rather talk about the job. He laughed and said they want young energy.")
    response = requests.post(server.url + "/v1/classify", json={"text": text}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recommendation"]["action"] in {"continue", "proceed_with_caution", "finish_then_withdraw",
                                                 "end_interview"}
    for flag in body["red_flags"]:
        assert all(text[e["start"]:e["end"]] == e["text"] for e in flag["evidence"])
    assert "network blocked" not in server.logs()


def test_batch_scoring_on_dask_workers_equals_one_process(encoder_model, offline_env, tmp_path):
    """Each Dask worker builds its own encoder from the scattered model (an ONNX session does not travel);
    the scored file equals the one-process run row for row."""
    answers = tmp_path / "answers.csv"
    texts = pd.read_csv(DEFAULT_DATA, dtype=str, keep_default_na=False)["text"].sample(n=40, random_state=9).tolist()
    pd.DataFrame({"id": range(len(texts) + 1), "answer": texts + [""]}).to_csv(answers, index=False)
    outputs = {}
    for name, extra in (("local", ["--jobs", "1"]), ("dask", ["--engine", "dask", "--jobs", "2"])):
        out = tmp_path / f"{name}.csv"
        done = subprocess.run([REDFLAGS, "score", str(answers), "-o", str(out), "--text-column", "answer",
                               "--model", str(encoder_model), "--quiet", *extra],
                              env={**os.environ, **offline_env}, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        outputs[name] = pd.read_csv(out, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(outputs["local"], outputs["dask"])
    scored = outputs["local"]
    assert (scored["error"] != "").sum() == 1 and len(scored) == len(texts) + 1   # the blank row kept, marked
