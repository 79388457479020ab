"""A fresh clone stays clean after first use: `make install`, training into the default model and report
folders, `make serve`, and a pytest run (its caches) leave `git status --porcelain` empty.

Cost: about 2.5 minutes on 2 shared cores, most of it `make install` (pip, from its local cache).
To keep it there, training reads a 900-row sample of the corpus written outside the clone and a
one-candidate config; everything it writes goes to the default places inside the clone, which is
what this test is about. Commands run with cwd = the clone, so defaults resolve to the clone however
the package finds its home.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.server import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
REDUCED_CONFIG = """\
cv_folds = 2
[grid]
C = [4.0]
[combine]
candidates = ["whole"]
sentence_override = false
"""


def _clean_env() -> dict[str, str]:
    """The caller's environment without our settings or a virtualenv, so the clone uses its own."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("REDFLAGS_", "PYTEST_", "VIRTUAL_ENV")) and k != "PYTHONPATH"}


def _run(args: list[str], cwd: Path, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=kwargs.pop("env", _clean_env()), capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _status(clone: Path) -> str:
    return _run(["git", "status", "--porcelain", "--untracked-files=all"], clone, 60).stdout


def _corpus_sample(clone: Path, out: Path, rows: int = 900) -> Path:
    """A fixed random sample of the clone's corpus, outside the clone (training on all of it takes minutes)."""
    import pandas as pd

    frame = pd.read_csv(clone / "data" / "anecdotes.csv", dtype=str, keep_default_na=False)
    frame.sample(rows, random_state=0).to_csv(out, index=False)
    return out


@pytest.mark.timeout(900)
@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make")
def test_a_fresh_clone_stays_clean_after_install_train_serve_and_test(tmp_path):
    if _run(["git", "rev-parse", "--is-inside-work-tree"], REPO, 30).stdout.strip() != "true":
        pytest.skip("not run from a git checkout")
    clone = tmp_path / "clone"
    _run(["git", "clone", "--quiet", str(REPO), str(clone)], tmp_path, 120)
    assert _status(clone) == ""

    _run(["make", "install"], clone, 600)
    bin_dir = clone / ".venv" / "bin"

    config = tmp_path / "reduced.toml"
    config.write_text(REDUCED_CONFIG)
    sample = _corpus_sample(clone, tmp_path / "sample.csv")
    _run([str(bin_dir / "redflags"), "train", "--config", str(config), "--data", str(sample), "--quiet"], clone, 600)
    assert (clone / "model" / "artifacts" / "model.joblib").is_file()       # the default places, in the clone
    assert (clone / "reports" / "metrics.json").is_file()
    assert subprocess.run(["make", "-q", "model"], cwd=clone, env=_clean_env()).returncode == 0, \
        "make thinks the model just trained is stale, so `make serve` would train again"

    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(["make", "serve"], cwd=clone, env={**_clean_env(), "REDFLAGS_PORT": str(port),
                                                                  "REDFLAGS_WORKERS": "1"},
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while True:
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.time() < deadline, "make serve did not answer /healthz in 120 s"
            time.sleep(0.3)
        r = requests.post(url + "/v1/classify", json={"text": "He laughed at my CV and asked how old I was."},
                          timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["red_flags"], "the clone's model found no flag in a plain case"
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        log.close()

    # A small selection with Hypothesis properties, so the pytest and Hypothesis caches are written.
    _run([str(bin_dir / "python"), "-m", "pytest", "-q", "tests/code/test_sentences.py"], clone, 300)
    assert (clone / ".pytest_cache").is_dir() and (clone / ".hypothesis").is_dir()

    assert _status(clone) == "", "a fresh clone is dirty after first use: add these to .gitignore or move them"
