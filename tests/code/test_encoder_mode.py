"""The opt-in encoder mode: embeddings beside TF-IDF in one logistic regression (issue 15).

Most tests run a generated encoder (a fixed random projection of word hashes: deterministic, cheap, and
sensitive to every word), so they run without the optional extra; the tests marked `needs_extra` train
and serve a tiny model with the real packaged MiniLM encoder.
"""
from __future__ import annotations

import dataclasses
import hashlib
import pickle
import socket

import numpy as np
import pytest

from redflags.config import ConfigError, TrainConfig
from redflags.model import encoder as encoder_module
from redflags.model.artifact import ArtifactError, load_predictor, save_bundle
from redflags.model.bundle import BundleError
from redflags.model.encoder import DIMENSION, EncoderBlock, extra_installed
from redflags.model.pipeline import EmbeddingFeatures
from redflags.model.policy import AdvicePolicy
from redflags.model.predict import Predictor
from redflags.model.scoring import UNIT_MIN_WORDS, score_texts
from redflags.model.taxonomy import CATEGORIES
from redflags.model.tfidf import LinearScorer, token_sentences
from redflags.training.data import label_matrix
from redflags.training.embeddings import EmbeddingCache, text_key
from redflags.training.train import fit_final, fold_encoder_weight, make_bundle
from tests.tiny import TINY

needs_extra = pytest.mark.skipif(not extra_installed(),
                                 reason="the encoder extra is not installed (pip install -e '.[encoder]')")

LETTER = ("I applied for the warehouse lead role and the first call went fine. The second round was on site. "
          "The manager was late and the tour was short. Then he asked how old I was and said they want young "
          "energy on the team. I answered politely and we moved on. They said they would call by Friday. "
          "Nobody called, so I wrote to them on Monday and got a form reply about other candidates.")


class GeneratedEncoder:
    """A stand-in encoder: each word a fixed random vector, a text the normalised sum; counts its calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts):
        texts = list(texts)
        self.calls.append(texts)
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[i] += np.random.default_rng(seed).standard_normal(DIMENSION)
            out[i] /= max(np.linalg.norm(out[i]), 1e-12)
        return out


def tiny_encoder_pipeline(embed, weight: float = 0.5):
    texts = [t for t, _, _ in TINY]
    Y = label_matrix([labels for _, labels, _ in TINY])
    params = {"features": "word", "word_ngram_max": 2, "min_df": 1, "C": 20.0, "class_weight": "balanced"}
    return fit_final(texts, Y, params, seed=0, encoder=EmbeddingFeatures(embed, weight))[0]


def tiny_encoder_bundle(embed, combiner="max"):
    return make_bundle(tiny_encoder_pipeline(embed), AdvicePolicy(margin=0.05, kind="severity"), combiner,
                       {c: 0.5 for c in CATEGORIES}, "tiny")


def test_the_exported_scorer_equals_the_pipeline_with_the_encoder_block():
    embed = GeneratedEncoder()
    pipeline = tiny_encoder_pipeline(embed)
    scorer = LinearScorer.from_pipeline(pipeline)
    assert scorer.dense_dim == DIMENSION and scorer.coef.shape == (scorer.n_features + DIMENSION, len(CATEGORIES))
    texts = [t for t, _, _ in TINY] + [LETTER, "", "unknown words only here"]
    np.testing.assert_allclose(scorer.probabilities(texts, embed(texts)), pipeline.predict_proba(texts),
                               rtol=1e-10, atol=1e-12)


def test_the_embeddings_move_the_scores():
    """Direction: the dense block is read, not ignored (zero embeddings give other probabilities)."""
    embed = GeneratedEncoder()
    scorer = LinearScorer.from_pipeline(tiny_encoder_pipeline(embed))
    texts = [t for t, _, _ in TINY]
    with_block = scorer.probabilities(texts, embed(texts))
    without = scorer.probabilities(texts, np.zeros((len(texts), DIMENSION)))
    assert np.abs(with_block - without).max() > 0.01


def test_a_dense_block_of_the_wrong_shape_is_refused():
    embed = GeneratedEncoder()
    scorer = LinearScorer.from_pipeline(tiny_encoder_pipeline(embed))
    with pytest.raises(ValueError, match="dense block"):
        scorer.probabilities(["a text"], None)
    with pytest.raises(ValueError, match="dense block"):
        scorer.probabilities(["a text"], np.zeros((1, 5)))
    with pytest.raises(ValueError, match="dense block"):
        scorer.linear(scorer.encode(["a text"]), scorer.coef)
    with pytest.raises(ValueError, match="needs `embed`"):
        score_texts(scorer, ["a text"])


def test_sentence_rows_carry_their_texts_embedding():
    """A long text is encoded once; each of its sentence rows is the sentence's own TF-IDF beside the text's
    embedding, and the best sentence is the best of those."""
    embed = GeneratedEncoder()
    scorer = LinearScorer.from_pipeline(tiny_encoder_pipeline(embed))
    assert len(LETTER.split()) >= UNIT_MIN_WORDS
    embed.calls.clear()
    scored = score_texts(scorer, [LETTER, "Short and fine."], embed=embed)
    assert embed.calls == [[LETTER, "Short and fine."]]
    sentences = [" ".join(s) for s in token_sentences(scorer.features[0].preprocess(LETTER))]
    assert len(sentences) > 1 and list(scored.split) == [True, False]
    own = scorer.probabilities(sentences, np.repeat(embed([LETTER]), len(sentences), axis=0))
    np.testing.assert_allclose(scored.best_sentence[0], own.max(axis=0), rtol=1e-10)
    np.testing.assert_allclose(scored.embeddings, embed([LETTER, "Short and fine."]))


def test_training_encodes_each_text_once():
    from redflags.config import CombineConfig, EncoderConfig, GridConfig
    from redflags.training.train import train_bundle

    rows = [(f"{text} That was round {i}.", labels, rec) for i in range(4) for text, labels, rec in TINY]
    texts = [t for t, _, _ in rows]
    Y = label_matrix([labels for _, labels, _ in rows])
    rec = np.array([r for _, _, r in rows])
    config = TrainConfig(cv_folds=2, grid=GridConfig(C=(4.0,), min_df=(1,)),
                         combine=CombineConfig(candidates=("whole", "stack")), encoder=EncoderConfig(enabled=True))
    embed = GeneratedEncoder()
    bundle, _, _ = train_bundle(texts, Y, rec, config, embed=EmbeddingCache(encode=embed))
    encoded = [t for call in embed.calls for t in call]
    assert sorted(encoded) == sorted(set(texts))
    assert bundle.encoder == EncoderBlock(weight=config.encoder.weight)


def test_the_bundle_records_and_validates_the_block(tmp_path):
    bundle = tiny_encoder_bundle(GeneratedEncoder())
    assert bundle.encoder == EncoderBlock(weight=0.5) and bundle.feature_set == "tfidf+encoder"
    assert bundle.metadata["encoder"] == {"model_id": EncoderBlock().model_id, "weight": 0.5}
    bundle.validate()
    bad = dataclasses.replace(bundle, coef=bundle.coef[:-1])
    with pytest.raises(BundleError, match="do not fit"):
        bad.validate()
    with pytest.raises(BundleError, match="not the one this code runs"):
        dataclasses.replace(bundle, encoder=EncoderBlock(model_id="other")).validate()
    with pytest.raises(BundleError, match="EncoderBlock"):
        dataclasses.replace(bundle, encoder="minilm").validate()
    meta = save_bundle(bundle, tmp_path / "model.joblib")
    assert meta["features"] == "tfidf+encoder"


def test_a_model_of_the_encoder_mode_without_the_extra_is_a_clear_load_error(tmp_path, monkeypatch):
    path = tmp_path / "model.joblib"
    save_bundle(tiny_encoder_bundle(GeneratedEncoder()), path)
    monkeypatch.setattr(encoder_module, "extra_installed", lambda: False)
    with pytest.raises(ArtifactError, match=r"encoder mode.*\[encoder\]"):
        load_predictor(path)


def test_a_format_3_model_from_before_the_encoder_mode_still_loads(tmp_path, tiny_model_path):
    """Format 3 is format 4 without the encoder block: a model trained before the upgrade keeps serving."""
    import joblib

    from redflags.model.bundle import ModelBundle
    from tests.tiny import tiny_bundle

    bundle = tiny_bundle()
    del bundle.__dict__["encoder"]   # as a format-3 pickle has it: no such attribute at all
    bundle.format = 3
    path = tmp_path / "model.joblib"
    save_bundle(bundle, path)
    assert joblib.load(path).__dict__.get("encoder", "absent") == "absent"
    old = load_predictor(path)
    assert old.features == "tfidf" and isinstance(old.bundle, ModelBundle)
    text = ["They asked me to pay for a training kit and send my bank details by chat."]
    np.testing.assert_allclose(old.probabilities(text), load_predictor(tiny_model_path).probabilities(text))


def test_the_predictor_scores_with_its_encoder_and_travels_without_it():
    embed = GeneratedEncoder()
    predictor = Predictor(tiny_encoder_bundle(embed), embed=embed)
    assert predictor.features == "tfidf+encoder"
    embed.calls.clear()
    texts = ["She asked how old I was and said they want young energy on the team.", LETTER]
    flagged = predictor.predict(texts)
    assert "discrimination" in {f.category for f in flagged[0].red_flags}
    assert any(f.evidence for f in flagged[1].red_flags)
    for flag in flagged[1].red_flags:   # evidence spans are exact slices
        assert all(LETTER[e.start:e.end] == e.text for e in flag.evidence)
    assert embed.calls == [texts]   # evidence reuses the texts' embeddings: no further encoding
    copy = pickle.loads(pickle.dumps(predictor))
    assert copy._embed is None and copy.bundle.encoder == predictor.bundle.encoder


def test_the_text_severity_weights_fold_the_encoder_weight():
    embed = GeneratedEncoder()
    pipeline = tiny_encoder_pipeline(embed, weight=0.5)
    raw = np.arange(LinearScorer.from_pipeline(pipeline).coef.shape[0], dtype=float)
    folded = fold_encoder_weight(raw, pipeline)
    np.testing.assert_array_equal(folded[:-DIMENSION], raw[:-DIMENSION])
    np.testing.assert_array_equal(folded[-DIMENSION:], 0.5 * raw[-DIMENSION:])


def test_the_embedding_cache_encodes_each_text_once_and_survives_a_restart(tmp_path):
    path = tmp_path / "embeddings.npz"
    embed = GeneratedEncoder()
    cache = EmbeddingCache(path, encode=embed)
    first = cache(["a", "b", "a"])
    assert embed.calls == [["a", "b"]] and first.shape == (3, DIMENSION)
    np.testing.assert_array_equal(first[0], first[2])
    cache(["b", "c"])
    assert embed.calls[-1] == ["c"]
    cache.save()
    assert not list(tmp_path.glob(".*tmp"))   # written through a temporary file, then renamed
    again = EmbeddingCache(path, encode=GeneratedEncoder())
    assert len(again) == 3 and again.missing(["a", "b", "c", "d"]) == 1
    np.testing.assert_array_equal(again(["a"])[0], first[0])
    good = path.read_bytes()
    for damaged in (b"not a cache", good[:len(good) // 2]):   # a damaged cache is only a slower run
        path.write_bytes(damaged)
        assert len(EmbeddingCache(path, encode=embed)) == 0


def test_a_digest_ending_in_a_zero_byte_survives_the_cache_file(tmp_path):
    text = next(t for t in (f"text {i}" for i in range(10_000)) if text_key(t).endswith(b"\x00"))
    cache = EmbeddingCache(tmp_path / "embeddings.npz", encode=GeneratedEncoder())
    cache([text, "another"])
    cache.save()
    again = EmbeddingCache(tmp_path / "embeddings.npz", encode=GeneratedEncoder())
    assert again.missing([text, "another"]) == 0


def test_the_config_switch(tmp_path):
    assert TrainConfig().encoder.enabled is False
    good = tmp_path / "on.toml"
    good.write_text("[encoder]\nenabled = true\nweight = 0.5\n")
    config = TrainConfig.from_toml(good)
    assert config.encoder.enabled and config.encoder.weight == 0.5
    for body, message in [("[encoder]\nweight = 0\n", "encoder.weight"), ("[encoder]\nenabled = 1\n", "enabled"),
                          ("[encoder]\nlayers = 3\n", "unknown")]:
        bad = tmp_path / "bad.toml"
        bad.write_text(body)
        with pytest.raises(ConfigError, match=message):
            TrainConfig.from_toml(bad)


@needs_extra
def test_a_tiny_model_with_the_real_encoder_trains_saves_loads_and_scores_offline(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the encoder mode tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    path = tmp_path / "model.joblib"
    save_bundle(tiny_encoder_bundle(EmbeddingCache(threads=1)), path)
    predictor = load_predictor(path, encoder_threads=1)
    # worded unlike any tiny training row: the encoder knows these words, TF-IDF of 24 rows cannot
    result = predictor.predict(["They asked me to wire money for my onboarding equipment via a chat app.",
                                "A calm, well-run interview; they explained the next steps."])
    assert predictor.features == "tfidf+encoder" and len(result) == 2
    assert result[0].scores["scam"] > result[1].scores["scam"]
