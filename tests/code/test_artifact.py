"""Loading refuses a tampered artifact, a missing sidecar and another scikit-learn, saying what to do."""
import json
import shutil

import numpy as np
import pytest

from redflags.model.artifact import ArtifactError, load_predictor, save_bundle, sidecar_path
from tests.tiny import tiny_bundle


@pytest.fixture
def artifact(tmp_path, tiny_model_path):
    path = tmp_path / "model.joblib"
    shutil.copy(tiny_model_path, path)
    shutil.copy(sidecar_path(tiny_model_path), sidecar_path(path))
    return path


def test_round_trip_and_metadata(artifact):
    predictor = load_predictor(artifact)
    meta = json.loads(sidecar_path(artifact).read_text())
    assert predictor.version == meta["model_version"]
    for key in ("trained_at", "corpus_sha256", "sklearn_version", "python_version", "artifact_sha256"):
        assert key in meta


def test_tampered_artifact_is_refused_before_unpickling(artifact, monkeypatch):
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    monkeypatch.setattr("joblib.load", lambda *_: pytest.fail("unpickled a tampered file"))
    with pytest.raises(ArtifactError, match="SHA-256 digest mismatch") as err:
        load_predictor(artifact)
    assert "make train" in str(err.value)


def test_missing_sidecar(artifact):
    sidecar_path(artifact).unlink()
    with pytest.raises(ArtifactError, match="no sidecar"):
        load_predictor(artifact)


def test_missing_artifact(tmp_path):
    with pytest.raises(ArtifactError, match="No model artifact"):
        load_predictor(tmp_path / "none.joblib")


def test_other_sklearn_version_is_refused(artifact):
    side = sidecar_path(artifact)
    meta = json.loads(side.read_text())
    meta["sklearn_version"] = "0.24.2"
    side.write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="made with scikit-learn 0.24.2"):
        load_predictor(artifact)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "m" / "model.joblib"
    save_bundle(tiny_bundle(), path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.joblib", "model.joblib.json"]


def test_unpicklable_artifact_is_an_artifact_error(tmp_path):
    """A file whose digest matches its sidecar but is not a model: refused with a message, not a crash."""
    import hashlib

    import sklearn

    path = tmp_path / "model.joblib"
    path.write_bytes(b"not a pickle at all")
    sidecar_path(path).write_text(json.dumps({"artifact_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                              "sklearn_version": sklearn.__version__}))
    with pytest.raises(ArtifactError, match="could not be unpickled"):
        load_predictor(path)


def test_saved_files_follow_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        save_bundle(tiny_bundle(), tmp_path / "model.joblib")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "model.joblib").stat().st_mode) == 0o644


def test_a_broken_advice_policy_is_refused_at_load_not_mid_request(tmp_path):
    """Unpickling skips the policy's own checks; loading must run them, so no request meets a bad policy."""
    from redflags.model.policy import AdvicePolicy, OrdinalModel

    bundle = tiny_bundle()
    policy = AdvicePolicy(0.0, "severity")
    object.__setattr__(policy, "kind", "ordinal")   # what a hand-edited or older pickle could hold
    object.__setattr__(policy, "ordinal", OrdinalModel(-np.ones(19), np.array([0.0, 1.0])))
    bundle["policy"] = policy
    path = tmp_path / "model.joblib"
    save_bundle(bundle, path)
    with pytest.raises(ArtifactError, match="non-negative"):
        load_predictor(path)
