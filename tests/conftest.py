"""Shared fixtures: a tiny model trained in memory (for code and app tests) and the real model."""
from __future__ import annotations

from pathlib import Path

import pytest

from redflags.config import DEFAULT_DATA, DEFAULT_MODEL_PATH, TrainConfig
from redflags.model.artifact import load_predictor, read_sidecar, save_bundle, sha256_of
from redflags.model.predict import Predictor
from tests.tiny import tiny_bundle

@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "model.joblib"
    save_bundle(tiny_bundle(), path)
    return path


@pytest.fixture(scope="session")
def tiny_predictor(tiny_model_path) -> Predictor:
    return load_predictor(tiny_model_path)


@pytest.fixture(scope="session")
def real_model_path(tmp_path_factory) -> Path:
    """The model trained from the real corpus: the artifact `make model` built if it matches the corpus and
    the training code, else one trained here (slow, once per session)."""
    from redflags.training.train import training_code_sha256

    try:
        meta = read_sidecar(DEFAULT_MODEL_PATH)
        if (meta.get("corpus_sha256") == sha256_of(DEFAULT_DATA)
                and meta.get("training_code_sha256") == training_code_sha256()):
            load_predictor(DEFAULT_MODEL_PATH)
            return DEFAULT_MODEL_PATH
    except Exception:  # missing, stale or refused: train a fresh one below
        pass
    from redflags.training.run import run_training

    out = tmp_path_factory.mktemp("real")
    run_training(DEFAULT_DATA, out / "model.joblib", out / "reports", TrainConfig.from_toml(), echo=lambda *_: None)
    return out / "model.joblib"


@pytest.fixture(scope="session")
def real_predictor(real_model_path) -> Predictor:
    return load_predictor(real_model_path)
